package httpapi_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// signNotification builds a notification form from params, signed with key the way
// Alipay signs them (over every field but sign and sign_type).
func signNotification(t *testing.T, params map[string]string, key *rsa.PrivateKey) string {
	t.Helper()
	v := url.Values{}
	for k, x := range params {
		v.Set(k, x)
	}
	v.Set("notify_time", time.Now().In(alipay.Beijing()).Format("2006-01-02 15:04:05"))
	v.Set("sign_type", "RSA2")
	sig, err := alipay.NewKeySigner(key).Sign(context.Background(), alipay.RSA2, alipay.AppendSignContent(nil, v, "sign", "sign_type"))
	if err != nil {
		t.Fatal(err)
	}
	v.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return v.Encode()
}

func (b *bundle) postNotify(appID, form string) (int, string) {
	b.t.Helper()
	res, err := http.Post(b.srv.URL+"/alipay/notify/"+appID, "application/x-www-form-urlencoded; charset=utf-8", strings.NewReader(form))
	b.must(err)
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// TestNotifications: only a verified notification that agrees with the order moves
// money state; the answer is exactly "success" then, and "fail" otherwise.
func TestNotifications(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor()) // only notifications can resolve the order here
		buyer := b.Buyer("100.00")
		p, err := b.client.PayQR(b.ctx, client.QRRequest{Amount: amt("8.00"), Subject: "snack", PayTimeoutSeconds: 50})
		b.must(err)
		b.Fault(alipaysim.Fault{Kind: alipaysim.FaultNotifyDrop})
		if _, err := b.sim.Scan(b.ctx, alipaysim.ScanSpec{BuyerID: buyer.UserID, QRCode: p.QRCode}); err != nil {
			t.Fatal(err)
		}
		var params map[string]string
		eventually(t, "the sandbox to record the notification", func() bool {
			for _, n := range b.sim.Notifications(alipaysim.NotificationFilter{OutTradeNo: p.OutTradeNo}) {
				if n.Status == "TRADE_SUCCESS" {
					params = n.Params
					return true
				}
			}
			return false
		})
		appKey, alipayKey := keys()
		with := func(k, v string) map[string]string {
			c := map[string]string{}
			for a, x := range params {
				c[a] = x
			}
			c[k] = v
			return c
		}
		refused := []struct {
			name, appID, form string
		}{
			{"signed by someone else", b.simApp.AppID, signNotification(t, params, appKey)},
			{"amount changed", b.simApp.AppID, signNotification(t, with("total_amount", "0.01"), alipayKey)},
			{"other seller", b.simApp.AppID, signNotification(t, with("seller_id", "2088999999999999"), alipayKey)},
			{"unknown order", b.simApp.AppID, signNotification(t, with("out_trade_no", "nope"), alipayKey)},
			{"unknown app", "2021999999999999", signNotification(t, params, alipayKey)},
			{"not a form", b.simApp.AppID, "%%%"},
		}
		for _, r := range refused {
			status, body := b.postNotify(r.appID, r.form)
			if body == "success" || status == http.StatusOK {
				t.Fatalf("%s: answered %d %q, want a refusal", r.name, status, body)
			}
			got, err := b.client.Payment(b.ctx, p.OutTradeNo, 0)
			b.must(err)
			if got.State != client.StatePending {
				t.Fatalf("%s moved the order to %s", r.name, got.State)
			}
		}
		valid := signNotification(t, params, alipayKey)
		for i := range 2 { // the second is a duplicate: same answer, no change
			status, body := b.postNotify(b.simApp.AppID, valid)
			if status != http.StatusOK || body != "success" {
				t.Fatalf("valid notification #%d: %d %q", i+1, status, body)
			}
			got, err := b.client.Payment(b.ctx, p.OutTradeNo, 0)
			b.must(err)
			if got.State != client.StatePaid || got.TotalAmount != amt("8.00") {
				t.Fatalf("after valid notification #%d: %+v", i+1, got)
			}
		}
		if !strings.Contains(b.logs.String(), "notification refused") {
			t.Fatal("refused notifications were not logged")
		}
	})
}
