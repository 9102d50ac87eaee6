package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	validatorerrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
)

// liveChecker validates every request that reaches the API server, and its answer,
// against docs/openapi.yaml, and remembers which route patterns it saw.
type liveChecker struct {
	t  testing.TB
	v  validator.Validator
	mu sync.Mutex
	// seen counts validated exchanges by route pattern, and statuses by pattern.
	seen     map[string]map[int]int
	problems []string
}

func newLiveChecker(t testing.TB) *liveChecker {
	spec, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("docs/openapi.yaml: %s: %s", e.Message, e.Reason)
		}
		t.FailNow()
	}
	return &liveChecker{t: t, v: v, seen: map[string]map[int]int{}}
}

func (c *liveChecker) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		// Answer the client first: a long-poll's caller must not wait for validation.
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())

		pattern := r.Pattern
		if pattern == "" || pattern == "/" || strings.HasPrefix(pattern, "/m/") || strings.HasPrefix(pattern, "/console/") {
			return // not an API route: the fallback's 404/405, the HTML pages
		}
		req := r.Clone(r.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.URL.Host, req.URL.Scheme = r.Host, "http"
		res := rec.Result()
		// A request the test sends wrong on purpose (X-Test-Invalid-Request) has only
		// its answer checked.
		check := func() (bool, []*validatorerrors.ValidationError) { return c.v.ValidateHttpRequestResponse(req, res) }
		if r.Header.Get("X-Test-Invalid-Request") != "" {
			check = func() (bool, []*validatorerrors.ValidationError) { return c.v.ValidateHttpResponse(req, res) }
		}
		var msgs []string
		if ok, errs := check(); !ok {
			for _, e := range errs {
				m := e.Message + ": " + e.Reason
				for _, se := range e.SchemaValidationErrors {
					m += fmt.Sprintf(" [%s %s]", se.FieldPath, se.Reason)
				}
				msgs = append(msgs, m)
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.seen[pattern] == nil {
			c.seen[pattern] = map[int]int{}
		}
		c.seen[pattern][rec.Code]++
		for _, m := range msgs {
			c.problems = append(c.problems, fmt.Sprintf("%s (%s %s → %d): %s\n\trequest %s\n\tanswer %s",
				pattern, r.Method, r.URL.RequestURI(), rec.Code, m, clip(body), clip(rec.Body.Bytes())))
		}
	})
}

func clip(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

// TestOpenAPILiveAnswers drives every route of server.go through the whole service
// (the test bundle: real store, engine, sandbox) and checks each request and each
// answer against docs/openapi.yaml with a validator of its own (libopenapi-validator):
// parameters, bodies, statuses, content types and schemas.
func TestOpenAPILiveAnswers(t *testing.T) {
	lc := newLiveChecker(t)
	b := setup(t, func(o *options) { o.wrap = lc.wrap })
	ctx := b.ctx
	admin := "Bearer " + adminToken
	adm := func(method, path, body string, header ...string) (int, []byte) {
		t.Helper()
		var rb []byte
		if body != "" {
			rb = []byte(body)
		}
		status, _, out := b.rawAt(b.srv.URL, method, path, admin, "", rb, header...)
		return status, out
	}
	invalid := []string{"X-Test-Invalid-Request", "1"}
	term := func(method, path, body string, header ...string) (int, []byte) {
		t.Helper()
		var rb []byte
		if body != "" {
			rb = []byte(body)
		}
		key := ""
		if method == "POST" {
			key = fmt.Sprintf("k-%d", time.Now().UnixNano())
		}
		status, _, out := b.rawAt(b.srv.URL, method, path, b.termAuth(), key, rb, header...)
		return status, out
	}
	m := fmt.Sprint(b.merchID)

	// Terminal API: a paid barcode payment, refunded; QR payments cancelled and closed.
	buyer := b.Buyer("100.00")
	p, err := b.client.PayBarcode(ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("8.88"), Subject: "coffee", WaitSeconds: 10})
	b.must(err)
	b.must2(b.client.Payment(ctx, p.OutTradeNo, 0))
	term("GET", "/v1/payments/"+p.OutTradeNo+"?wait=1s", "")
	b.must2(b.client.Refund(ctx, p.OutTradeNo, client.RefundRequest{RefundID: "R1", Amount: amt("1.00"), Reason: "spilt"}))
	b.must2(b.client.RefundStatus(ctx, p.OutTradeNo, "R1"))
	term("GET", "/v1/payments/"+p.OutTradeNo+"/refunds/NOPE", "")
	term("GET", "/v1/payments/NOPE", "")
	term("POST", "/v1/payments/barcode", `{"amount":"1.00","subject":"x"}`, invalid...) // 400: no auth_code
	q1, err := b.client.PayQR(ctx, client.QRRequest{Amount: amt("2.00"), Subject: "qr"})
	b.must(err)
	b.must2(b.client.Cancel(ctx, q1.OutTradeNo))
	q2, err := b.client.PayQR(ctx, client.QRRequest{Amount: amt("2.00"), Subject: "qr"})
	b.must(err)
	b.must2(b.client.Close(ctx, q2.OutTradeNo))
	term("POST", "/v1/payments/"+p.OutTradeNo+"/close", "") // 409: paid
	q3, err := b.client.PayQR(ctx, client.QRRequest{Amount: amt("2.00"), Subject: "qr png"})
	b.must(err)
	term("GET", "/v1/payments/"+q3.OutTradeNo+"/qr.png", "")
	term("GET", "/v1/payments/"+p.OutTradeNo+"/qr.png", "") // 400: a barcode payment
	term("POST", "/v1/payments/jsapi", `{"amount":"3.00","subject":"jsapi","buyer_id":"`+buyer.UserID+`"}`)
	term("POST", "/v1/payments/"+p.OutTradeNo+"/final", "")
	status, out := term("POST", "/v1/sales", `{"amount":"3.50","subject":"cola"}`)
	sale := "1"
	if status == http.StatusCreated {
		sale = regexp.MustCompile(`"id":(\d+)`).FindStringSubmatch(string(out))[1]
	}
	term("GET", "/v1/sales/"+sale, "")
	term("POST", "/v1/sales/"+sale+"/cancel", "")
	// A vending machine's vend: created, read, a report refused before payment, cancelled.
	vm, _ := b.vendMachine("VM-LIVE")
	vmAuth := "Bearer " + vm.APIKey.KeyID + "." + vm.APIKey.Secret
	_, _, out = b.rawAt(b.srv.URL, "POST", "/v1/vends", vmAuth, "k-vend-1", []byte(`{"items":[{"slot":"A1","quantity":1,"price":"3.00"}]}`))
	vendID := "1"
	if m := regexp.MustCompile(`"id":(\d+)`).FindStringSubmatch(string(out)); m != nil {
		vendID = m[1]
	}
	b.rawAt(b.srv.URL, "GET", "/v1/vends/"+vendID+"?wait=1s", vmAuth, "", nil)
	b.rawAt(b.srv.URL, "POST", "/v1/vends/"+vendID+"/items/1/report", vmAuth, "k-vend-2", []byte(`{"outcome":"delivered"}`)) // 409: not paid
	b.rawAt(b.srv.URL, "POST", "/v1/vends/"+vendID+"/cancel", vmAuth, "k-vend-3", nil)
	term("POST", "/v1/vends", `{"items":[{"slot":"A1","quantity":1,"price":"3.00"}]}`) // 400: a cashier terminal
	// A face vend: a face session refused (an ordinary machine), a face payment, a fallback.
	b.rawAt(b.srv.URL, "POST", "/v1/face/initialize", vmAuth, "", []byte(`{"metainfo":"{}"}`)) // 400: no face camera
	b.must(b.db.PutDevice(ctx, &f2fpay.Device{TerminalID: vm.ID, MerchantID: b.merchID, Machine: f2fpay.MachineFace,
		Slots: []f2fpay.Slot{{Code: "A1", GoodsID: "cola", Name: "可乐", Price: 300, Stock: 10}}}))
	_, _, out = b.rawAt(b.srv.URL, "POST", "/v1/vends", vmAuth, "k-vend-4", []byte(`{"items":[{"slot":"A1","quantity":1,"price":"3.00"}],"pay":"face"}`))
	faceVend := "1"
	if m := regexp.MustCompile(`"id":(\d+)`).FindStringSubmatch(string(out)); m != nil {
		faceVend = m[1]
	}
	b.rawAt(b.srv.URL, "POST", "/v1/vends/"+faceVend+"/face", vmAuth, "k-vend-5", []byte(`{"ftoken":"fp-nope"}`))
	b.rawAt(b.srv.URL, "POST", "/v1/vends/"+faceVend+"/fallback", vmAuth, "k-vend-6", []byte(`{}`))

	// Alipay's side.
	b.rawAt(b.srv.URL, "POST", "/alipay/notify/"+b.simApp.AppID, "", "", []byte("notify_id=x&sign=y"), "Content-Type", "application/x-www-form-urlencoded")
	b.rawAt(b.srv.URL, "GET", "/alipay/app-auth?app_auth_code=x&state=y", "", "", nil)

	// Admin API.
	adm("GET", "/admin/merchants", "")
	adm("GET", "/admin/merchants/"+m, "")
	adm("GET", "/admin/merchants/999999", "")
	adm("PATCH", "/admin/merchants/"+m, `{"name":"Test Coffee 2"}`)
	adm("POST", "/admin/merchants", `{"name":"x","webhook_secret":"short"}`, invalid...) // 400
	adm("GET", "/admin/merchants/"+m+"/apps", "")
	app := fmt.Sprint(b.app.ID)
	adm("GET", "/admin/apps/"+app, "")
	adm("PATCH", "/admin/apps/"+app, `{"name":"main 2"}`)
	adm("POST", "/admin/merchants/"+m+"/apps", `{"app_id":"`+b.simApp.AppID+`","private_key":"x","seller_id":"2088000000000001"}`)
	adm("POST", "/admin/apps/"+app+"/authorizations/link", `{"merchant_id":`+m+`,"redirect_uri":"https://pay.example/alipay/app-auth"}`)
	adm("POST", "/admin/apps/"+app+"/authorizations", `{"merchant_id":`+m+`,"app_auth_code":"nope"}`)
	adm("GET", "/admin/apps/"+app+"/authorizations", "")
	adm("GET", "/admin/merchants/"+m+"/stores", "")
	adm("POST", "/admin/merchants/999999/stores", `{"code":"S9","name":"nowhere"}`) // 404
	adm("GET", "/admin/merchants/"+m+"/terminals", "")
	tid := fmt.Sprint(b.term.ID)
	adm("GET", "/admin/terminals/"+tid, "")
	adm("PATCH", "/admin/terminals/"+tid, `{"signed_only":false}`)
	b.newTerminal("POS-2")
	adm("POST", "/admin/terminals/"+tid+"/disable", "")
	adm("POST", "/admin/terminals/"+tid+"/enable", "")
	adm("POST", "/admin/terminals/"+tid+"/rotate-key", "")
	store := fmt.Sprint(b.store.ID)
	for _, owner := range []string{"/admin/stores/" + store, "/admin/terminals/" + tid} {
		adm("GET", owner+"/fund-rule", "")
		adm("PUT", owner+"/fund-rule", `{"mode":"collection"}`)
		adm("GET", owner+"/fund-rule", "")
		adm("DELETE", owner+"/fund-rule", "")
	}
	adm("GET", "/admin/orders?merchant_id="+m+"&limit=10", "")
	adm("GET", "/admin/orders/"+p.OutTradeNo, "")
	adm("POST", "/admin/orders/"+p.OutTradeNo+"/refunds", `{"refund_id":"bo-1","amount":"0.50","reason":"goodwill"}`)
	adm("POST", "/admin/orders/NOPE/refunds", `{"refund_id":"bo-2","amount":"0.50"}`) // 404
	adm("GET", "/admin/events?merchant_id="+m, "")
	adm("POST", "/admin/events/replay", `{"merchant_id":`+m+`}`)
	adm("POST", "/admin/reconciliations", `{"app_id":`+app+`,"date":"2000-01-01"}`)
	adm("GET", "/admin/reconciliations?app_id="+app, "")
	adm("GET", "/admin/reconciliations/999999", "")
	adm("GET", "/admin/merchants/"+m+"/members", "")
	adm("GET", "/admin/members/999999", "")
	adm("DELETE", "/admin/members/999999/identities/1", "")
	adm("POST", "/admin/members/999999/erase", "")
	adm("GET", "/admin/vends?merchant_id="+m+"&limit=10", "")
	adm("GET", "/admin/vends/"+vendID, "")
	// The open-door cabinet: unknown sessions, a notification that does not verify.
	adm("GET", "/admin/cabinet-sessions?merchant_id="+m+"&state=DEBT,CHARGING", "")
	adm("GET", "/admin/cabinet-sessions?state=LOST", "", invalid...) // 400
	adm("GET", "/admin/cabinet-sessions/999999", "")
	adm("POST", "/admin/cabinet-sessions/999999/refunds", `{"refund_id":"d-1","amount":"1.00","reason":"dispute"}`)
	term("POST", "/v1/cabinet/sessions/999999/close", `{"items":[{"slot":"A1","count":2}]}`)
	term("GET", "/v1/cabinet/sessions/999999", "")
	b.rawAt(b.srv.URL, "POST", "/alipay/agreements/notify/"+b.simApp.AppID, "", "", []byte("notify_id=x&sign=y"), "Content-Type", "application/x-www-form-urlencoded")
	b.raw("GET", "/admin/merchants", "Bearer wrong", "", nil) // 401

	// The device channel (device_test.go): a vending machine described, commanded,
	// polled and acknowledging; a cashier's poll (404), an expired command's ack (409).
	dvm, _ := b.vendingMachine("VM-OA")
	dvmAuth := "Bearer " + dvm.APIKey.KeyID + "." + dvm.APIKey.Secret
	dvid := fmt.Sprint(dvm.ID)
	adm("GET", "/admin/terminals/"+dvid+"/device", "")
	adm("PUT", "/admin/terminals/"+dvid+"/device", `{"machine":"face","site":"gate","slots":[{"code":"A1","goods_id":"cola","name":"可乐","price":"3.50","stock":5}]}`)
	adm("PUT", "/admin/terminals/"+tid+"/device", `{"machine":"face"}`) // 400: a cashier terminal
	cmd, _, err := b.devices.Enqueue(ctx, dvm.ID, "dispense", "oa:1", map[string]any{"slot": "A1"}, time.Minute)
	b.must(err)
	old, _, err := b.devices.Enqueue(ctx, dvm.ID, "show_qr", "oa:2", nil, time.Millisecond)
	b.must(err)
	b.rawAt(b.srv.URL, "GET", "/v1/device/commands?wait=1", dvmAuth, "", nil)
	b.rawAt(b.srv.URL, "POST", fmt.Sprintf("/v1/device/commands/%d/ack", cmd.ID), dvmAuth, "", []byte(`{"result":{"dispensed":true}}`))
	b.rawAt(b.srv.URL, "POST", fmt.Sprintf("/v1/device/commands/%d/ack", old.ID), dvmAuth, "", nil)
	term("GET", "/v1/device/commands", "")
	b.rawAt(b.srv.URL, "POST", "/v1/device/heartbeat", vmAuth, "", []byte(`{"status":"normal","errors":["E1"],"temperature":4.5,"door":"closed","trades":[{"out_trade_no":"T1","seconds":3,"status":"S"}]}`))
	b.rawAt(b.srv.URL, "POST", "/v1/device/heartbeat", vmAuth, "", []byte(`{"status":"melting"}`), invalid...) // 400
	adm("GET", "/admin/devices?merchant_id="+m+"&limit=10", "")

	// Operations and documents.
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/", "/docs/api.md", "/docs/openapi.yaml"} {
		b.raw("GET", path, "", "", nil)
	}

	lc.mu.Lock()
	defer lc.mu.Unlock()
	for _, p := range lc.problems {
		t.Error(p)
	}
	// Every route of server.go was checked at least once.
	src, err := os.ReadFile("server.go")
	b.must(err)
	var missing []string
	for _, r := range regexp.MustCompile(`"((?:GET|POST|PUT|PATCH|DELETE) /[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		if lc.seen[r[1]] == nil {
			missing = append(missing, r[1])
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("routes not exercised: %v", missing)
	}
	if testing.Verbose() {
		var lines []string
		for p, st := range lc.seen {
			lines = append(lines, fmt.Sprintf("%s %v", p, st))
		}
		sort.Strings(lines)
		t.Logf("checked:\n%s", strings.Join(lines, "\n"))
	}
}

// must2 fails the test on err, ignoring the value.
func (b *bundle) must2(_ any, err error) {
	b.t.Helper()
	b.must(err)
}
