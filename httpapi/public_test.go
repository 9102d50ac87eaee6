package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/webhook"
)

// engineFields are the order's and refund's record fields that only the engine needs;
// they must not reach the admin API's order answers or webhook payloads.
var engineFields = []string{"next_check_at", "version", "queries", "cancels", "attempts", "lease_owner", "lease_until", "owner", "token"}

// utcTime is the one format the service emits times in: RFC 3339, UTC, "Z".
var utcTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$`)

// timesIn walks a JSON document and returns every string field that looks like a time
// (any RFC 3339 form), by its path.
func timesIn(t *testing.T, doc []byte) map[string]string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("not JSON: %s", doc)
	}
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(path+"."+k, c)
			}
		case []any:
			for i, c := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		case string:
			if _, err := time.Parse(time.RFC3339Nano, x); err == nil {
				out[path] = x
			}
		}
	}
	walk("", v)
	return out
}

// checkTimes fails when a time of doc is not in UTC with "Z" or is the zero time.
func checkTimes(t *testing.T, what string, doc []byte) {
	t.Helper()
	for path, v := range timesIn(t, doc) {
		if !utcTime.MatchString(v) || strings.HasPrefix(v, "0001-01-01") {
			t.Errorf("%s: %s = %q, want a set time in UTC (…Z)", what, path, v)
		}
	}
}

// checkPublic fails when obj (an order or refund as shown outside) has an engine field.
func checkPublic(t *testing.T, what string, obj json.RawMessage) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatalf("%s: not an object: %s", what, obj)
	}
	for _, f := range engineFields {
		if _, ok := m[f]; ok {
			t.Errorf("%s has the engine field %q: %s", what, f, obj)
		}
	}
}

// field returns the string field name of a JSON object.
func field(t *testing.T, obj []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatalf("not an object: %s", obj)
	}
	s, _ := m[name].(string)
	return s
}

// TestOneTimeFormatAndPublicOrders: the same instant reads the same on every path that
// shows it — the terminal's pay answer, its status query, the admin API and the webhook
// payload, for a payment resolved by the pay answer (barcode) and one resolved by
// Alipay's notification (QR), and for a refund — always UTC with "Z". The admin API and
// the webhooks show orders and refunds without the engine's fields and without zero
// times.
func TestOneTimeFormatAndPublicOrders(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor()) // the QR payment is resolved by the notification only
		buyer := b.Buyer("100.00")
		admin := "Bearer " + adminToken

		get := func(what, path, auth string) []byte {
			t.Helper()
			status, _, out := b.raw(http.MethodGet, path, auth, "", nil)
			if status != http.StatusOK {
				t.Fatalf("%s: %d %s", what, status, out)
			}
			checkTimes(t, what, out)
			return out
		}
		// events returns the webhook bodies of an order's events, by type, exactly as
		// the webhook sender would POST them, after checking the admin API's listing.
		events := func(no string) map[string][]byte {
			t.Helper()
			out := get("admin events", "/admin/events?out_trade_no="+no, admin)
			var list struct {
				Events []struct {
					Payload json.RawMessage `json:"payload"`
				} `json:"events"`
			}
			b.must(json.Unmarshal(out, &list))
			for _, e := range list.Events {
				checkPublic(t, "admin event payload", e.Payload)
			}
			o, err := b.db.FindOrder(b.ctx, b.app.ID, no)
			b.must(err)
			evs, err := b.db.ListEvents(b.ctx, f2fpay.EventFilter{OrderID: &o.ID})
			b.must(err)
			bodies := map[string][]byte{}
			for _, e := range evs {
				body, err := webhook.Body(e)
				b.must(err)
				checkTimes(t, "webhook "+string(e.Type), body)
				var w struct {
					Data json.RawMessage `json:"data"`
				}
				b.must(json.Unmarshal(body, &w))
				checkPublic(t, "webhook "+string(e.Type), w.Data)
				bodies[string(e.Type)] = w.Data
			}
			return bodies
		}
		// adminOrder returns the order and its refunds as GET /admin/orders/{no} shows
		// them, and checks the listing shows the same order.
		adminOrder := func(no string) (json.RawMessage, []json.RawMessage) {
			t.Helper()
			var d struct {
				Order   json.RawMessage   `json:"order"`
				Refunds []json.RawMessage `json:"refunds"`
			}
			b.must(json.Unmarshal(get("admin order", "/admin/orders/"+no, admin), &d))
			checkPublic(t, "admin order", d.Order)
			for _, r := range d.Refunds {
				checkPublic(t, "admin refund", r)
			}
			var l struct {
				Orders []json.RawMessage `json:"orders"`
			}
			b.must(json.Unmarshal(get("admin orders", "/admin/orders?terminal_id="+itoa(b.term.ID), admin), &l))
			found := false
			for _, o := range l.Orders {
				checkPublic(t, "admin listed order", o)
				if field(t, o, "out_trade_no") == no {
					found = true
					if a, b := field(t, o, "paid_at"), field(t, d.Order, "paid_at"); a != b {
						t.Errorf("admin listing paid_at %q, admin order %q", a, b)
					}
				}
			}
			if !found {
				t.Fatalf("%s not in the admin listing", no)
			}
			return d.Order, d.Refunds
		}
		same := func(what string, values map[string]string) {
			t.Helper()
			var first string
			for path, v := range values {
				if v == "" {
					t.Errorf("%s: %s has none", what, path)
				}
				if first == "" {
					first = v
				}
				if v != first {
					t.Errorf("%s differs by path: %v", what, values)
					return
				}
			}
			if !strings.HasSuffix(first, "Z") {
				t.Errorf("%s %q is not in UTC", what, first)
			}
		}

		// Paid by the pay answer.
		status, _, payAnswer := b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), "t-bar",
			fmt.Appendf(nil, `{"auth_code":%q,"amount":"20.00","subject":"tea","wait_seconds":10}`, b.Code(buyer.UserID)))
		if status != http.StatusOK || field(t, payAnswer, "state") != "PAID" {
			t.Fatalf("barcode: %d %s", status, payAnswer)
		}
		checkTimes(t, "pay answer", payAnswer)
		bar := field(t, payAnswer, "out_trade_no")
		order, _ := adminOrder(bar)
		same("barcode paid_at", map[string]string{
			"pay answer":   field(t, payAnswer, "paid_at"),
			"status query": field(t, get("status", "/v1/payments/"+bar, b.termAuth()), "paid_at"),
			"admin order":  field(t, order, "paid_at"),
			"webhook":      field(t, events(bar)["payment.succeeded"], "paid_at"),
		})

		// Refunded: refunded_at the same everywhere too.
		status, _, refundAnswer := b.raw(http.MethodPost, "/v1/payments/"+bar+"/refunds", b.termAuth(), "t-ref", []byte(`{"refund_id":"r1","amount":"5.00"}`))
		if status != http.StatusOK || field(t, refundAnswer, "state") != "SUCCEEDED" {
			t.Fatalf("refund: %d %s", status, refundAnswer)
		}
		checkTimes(t, "refund answer", refundAnswer)
		_, refunds := adminOrder(bar)
		if len(refunds) != 1 {
			t.Fatalf("admin refunds: %s", refunds)
		}
		refundEvent := events(bar)["refund.succeeded"]
		if field(t, refundEvent, "out_trade_no") != bar || field(t, refundEvent, "amount") != "5.00" {
			t.Errorf("refund event payload: %s", refundEvent)
		}
		same("refunded_at", map[string]string{
			"refund answer": field(t, refundAnswer, "refunded_at"),
			"refund status": field(t, get("refund status", "/v1/payments/"+bar+"/refunds/r1", b.termAuth()), "refunded_at"),
			"admin refund":  field(t, refunds[0], "refunded_at"),
			"webhook":       field(t, refundEvent, "refunded_at"),
		})

		// Paid by the notification: the QR's buyer scans, the sandbox notifies.
		status, _, qrAnswer := b.raw(http.MethodPost, "/v1/payments/qr", b.termAuth(), "t-qr", []byte(`{"amount":"3.00","subject":"gum","pay_timeout_seconds":60}`))
		if status != http.StatusOK || field(t, qrAnswer, "state") != "PENDING" {
			t.Fatalf("qr: %d %s", status, qrAnswer)
		}
		checkTimes(t, "qr answer", qrAnswer)
		qr := field(t, qrAnswer, "out_trade_no")
		if _, err := b.sim.Scan(b.ctx, alipaysim.ScanSpec{BuyerID: buyer.UserID, QRCode: field(t, qrAnswer, "qr_code")}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		defer cancel()
		if f, err := b.client.WaitFinal(ctx, qr, 5*time.Second); err != nil || f.State != client.StatePaid {
			t.Fatalf("qr outcome: %+v %v", f, err)
		}
		order, _ = adminOrder(qr)
		if field(t, order, "pay_deadline") == "" || field(t, order, "created_at") == "" {
			t.Errorf("admin order lacks its set times: %s", order)
		}
		same("qr paid_at", map[string]string{
			"status query": field(t, get("status", "/v1/payments/"+qr, b.termAuth()), "paid_at"),
			"admin order":  field(t, order, "paid_at"),
			"webhook":      field(t, events(qr)["payment.succeeded"], "paid_at"),
		})
	})
}
