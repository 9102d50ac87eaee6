package alipaysim

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
)

// client is f2fpay's SDK configured for app against the bundle's sandbox.
func (b *bundle) client(app *App, notifyURL string) *alipay.Client {
	b.t.Helper()
	ak, _ := keys(b.t)
	der, _ := x509.MarshalPKCS8PrivateKey(ak)
	c, err := alipay.New(alipay.Config{
		AppID: app.AppID, PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		AlipayPublicKey: b.sim.AlipayPublicKey(), Gateway: b.srv.URL + "/gateway.do", NotifyURL: notifyURL,
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

// otherApp registers a second merchant app with the same key.
func (b *bundle) otherApp() *App {
	b.t.Helper()
	ak, _ := keys(b.t)
	a, err := b.sim.RegisterApp(context.Background(), AppSpec{PublicKey: string(alipay.PublicKeyPEM(&ak.PublicKey))})
	if err != nil {
		b.t.Fatal(err)
	}
	return a
}

func faceInit(t *testing.T, c *alipay.Client) string {
	t.Helper()
	out, err := c.SmilepayInitialize(context.Background(), &alipay.SmilepayInitializeRequest{ApdidToken: "apdid", AppName: "com.alipay.zoloz.smile",
		AppVersion: "4.0.1", BioMetaInfo: "2.3.0:3,-4", MerchantInfo: &alipay.SmilepayMerchantInfo{DeviceNum: "VM-1"}})
	if err != nil {
		t.Fatal(err)
	}
	return out.ZimID
}

func (b *bundle) verifyFace(zim, user, outcome string) *FaceVerifyResult {
	b.t.Helper()
	r, err := b.sim.VerifyFace(context.Background(), FaceVerifySpec{ZimID: zim, UserID: user, Outcome: outcome})
	if err != nil {
		b.t.Fatal(err)
	}
	return r
}

func facePay(out, token, amount string) *alipay.TradePayRequest {
	return &alipay.TradePayRequest{OutTradeNo: out, Scene: alipay.SceneSecurityCode, AuthCode: token, Subject: "cola",
		TotalAmount: amt(amount), TerminalID: "VM-1"}
}

func TestSmilepayInitialize(t *testing.T) {
	b := setup(t)
	c := b.client(b.app, "")
	ctx := context.Background()
	zim := faceInit(t, c)
	if len(zim) != 33 {
		t.Errorf("zim_id %q", zim)
	}
	const meta = `{"apdidToken":"a","appName":"com.alipay.zoloz.smile","appVersion":"4.0.1","bioMetaInfo":"2.3.0:3,-4"}`
	old, err := c.CustomerSmilepayInitialize(ctx, meta)
	if err != nil || old.ZimID == "" || old.ZimID == zim || !strings.Contains(old.Result, `"type":"zimInit"`) {
		t.Fatalf("customer initialize: %+v %v", old, err)
	}
	// Alipay's demo sends the metainfo itself as biz_content.
	m := b.call(alipay.MethodCustomerSmilepayInitialize, meta)
	wantFields(t, m, map[string]string{"code": "10000"})
	if !strings.Contains(m["result"].(string), "zimInitClientData") {
		t.Errorf("demo form: %v", m)
	}
	for _, tt := range []struct {
		method, biz string
	}{
		{alipay.MethodSmilepayInitialize, `{"app_name":"x"}`},
		{alipay.MethodCustomerSmilepayInitialize, `{"zimmetainfo":"not json"}`},
		{alipay.MethodCustomerSmilepayInitialize, `{"zimmetainfo":"{\"appName\":\"x\"}"}`},
	} {
		wantFields(t, b.call(tt.method, tt.biz), map[string]string{"code": "40004", "sub_code": "ACQ.INVALID_PARAMETER"})
	}
	// A failing initialisation (the device must offer the QR instead).
	b.sim.AddFault(Fault{Kind: FaultSystemError, Method: alipay.MethodSmilepayInitialize, Count: 1})
	if _, err := c.SmilepayInitialize(ctx, &alipay.SmilepayInitializeRequest{ApdidToken: "a", AppName: "n", AppVersion: "1", BioMetaInfo: "m"}); !alipay.IsUnknown(err) {
		t.Errorf("system error: %v", err)
	}
}

func TestFaceVerifyAndPay(t *testing.T) {
	b := setup(t)
	c := b.client(b.app, "")
	ctx := context.Background()
	by := b.buyer("100.00")
	zim := faceInit(t, c)

	ok := b.verifyFace(zim, by.UserID, "")
	if ok.Code != "1000" || !alipay.IsFaceToken(ok.FToken) {
		t.Fatalf("verify: %+v", ok)
	}
	res, err := c.TradePay(ctx, facePay("f1", ok.FToken, "3.50"))
	if err != nil || res.Status != alipay.PayPaid || res.Response.BuyerUserID != by.UserID {
		t.Fatalf("face pay: %v %+v", err, res)
	}
	tr, _ := b.sim.TradeByOutTradeNo(b.app.AppID, "f1")
	if tr.Scene != "security_code" || tr.Terminal != "VM-1" {
		t.Errorf("trade %+v", tr)
	}
	// Single use.
	res, _ = c.TradePay(ctx, facePay("f2", ok.FToken, "1.00"))
	if res.Status != alipay.PayFailed || !hasSub(res.Err, alipay.SubPaymentAuthCodeInvalid) {
		t.Errorf("reused ftoken: %+v", res)
	}

	// The device's failures: nothing reaches Alipay, the session stays usable.
	for _, tt := range []struct{ outcome, code, sub string }{
		{FaceWeakLight, "1004", "WEAK_LIGHT"}, {FaceNotRecognised, "1001", "FACE_NOT_RECOGNISED"},
		{FaceCancelled, "1003", "USER_QUIT"}, {FaceTimeout, "1004", "TIMEOUT"}, {FaceOtherMethod, "1005", "OTHER_METHOD"},
	} {
		r := b.verifyFace(zim, by.UserID, tt.outcome)
		if r.Code != tt.code || r.SubCode != tt.sub || r.FToken != "" {
			t.Errorf("%s: %+v", tt.outcome, r)
		}
	}
	// Faults make the next scans fail without the device asking for it.
	for _, kind := range []string{FaultFaceWeakLight, FaultFaceNotRecognised, FaultFaceCancelled} {
		if _, err := b.sim.AddFault(Fault{Kind: kind, AppID: b.app.AppID, Count: 1}); err != nil {
			t.Fatal(err)
		}
		if r := b.verifyFace(zim, by.UserID, ""); r.Code == "1000" {
			t.Errorf("%s did not fire: %+v", kind, r)
		}
	}
	if r := b.verifyFace(zim, by.UserID, ""); r.Code != "1000" {
		t.Errorf("after the faults: %+v", r)
	}
	if _, err := b.sim.AddFault(Fault{Kind: FaultFaceWeakLight, Method: "alipay.trade.pay"}); err == nil {
		t.Error("a face fault accepted a gateway method")
	}

	// Expired ftoken.
	old := b.verifyFace(zim, by.UserID, "")
	b.advance(FaceTokenTTL + time.Second)
	res, _ = c.TradePay(ctx, facePay("f3", old.FToken, "1.00"))
	if res.Status != alipay.PayFailed || !hasSub(res.Err, alipay.SubPaymentAuthCodeInvalid) {
		t.Errorf("expired ftoken: %+v", res)
	}
	// Another merchant's ftoken.
	other := b.otherApp()
	res, _ = b.client(other, "").TradePay(ctx, facePay("f4", b.verifyFace(zim, by.UserID, "").FToken, "1.00"))
	if res.Status != alipay.PayFailed || !hasSub(res.Err, alipay.SubSmilePayMerchantNotMatch) {
		t.Errorf("other merchant: %+v", res)
	}
	// The session itself expires after a day.
	b.advance(FaceSessionTTL)
	if r := b.verifyFace(zim, by.UserID, ""); r.Code != "1004" || r.SubCode != "ZIM_EXPIRED" {
		t.Errorf("expired session: %+v", r)
	}
	if _, err := b.sim.VerifyFace(ctx, FaceVerifySpec{ZimID: "nope", UserID: by.UserID}); err == nil {
		t.Error("unknown zim_id accepted")
	}
	if b.sim.mustBuyer(t, by.UserID).Balance != amt("96.50") {
		t.Errorf("balance %v, want 96.50 (one face payment)", b.sim.mustBuyer(t, by.UserID).Balance)
	}
}

// TestFacePayFaults: a face trade.pay that waits (10003, then resolves) or whose outcome
// is unknown (20000, a lost answer), as the vending engine must handle them.
func TestFacePayFaults(t *testing.T) {
	b := setup(t)
	c := b.client(b.app, "")
	ctx := context.Background()
	by := b.buyer("100.00")
	zim := faceInit(t, c)
	token := func() string { return b.verifyFace(zim, by.UserID, "").FToken }

	b.sim.AddFault(Fault{Kind: FaultPayPending, OutTradeNo: "w1", Delay: Duration(20 * time.Second)})
	res, _ := c.TradePay(ctx, facePay("w1", token(), "5.00"))
	if res.Status != alipay.PayWaiting {
		t.Fatalf("pending: %+v", res)
	}
	b.advance(21 * time.Second)
	if q, err := c.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "w1"}); err != nil || q.TradeStatus != alipay.TradeSuccess {
		t.Errorf("resolved: %v %+v", err, q)
	}

	b.sim.AddFault(Fault{Kind: FaultSystemError, OutTradeNo: "u1", Count: 1})
	res, _ = c.TradePay(ctx, facePay("u1", token(), "5.00"))
	if res.Status != alipay.PayUnknown {
		t.Errorf("20000: %+v", res)
	}
	if _, err := c.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "u1"}); !hasSub(err, alipay.SubTradeNotExist) {
		t.Errorf("nothing happened on 20000: %v", err)
	}

	b.sim.AddFault(Fault{Kind: FaultDropResponse, OutTradeNo: "u2", Count: 1})
	res, _ = c.TradePay(ctx, facePay("u2", token(), "5.00"))
	if res.Status != alipay.PayUnknown {
		t.Errorf("lost answer: %+v", res)
	}
	if cn, err := c.TradeCancel(ctx, alipay.TradeRef{OutTradeNo: "u2"}); err != nil || cn.Action != "refund" {
		t.Errorf("cancel of the paid face trade: %v %+v", err, cn)
	}
	if got := b.sim.mustBuyer(t, by.UserID).Balance; got != amt("95.00") {
		t.Errorf("balance %v, want 95.00: one face charge kept, one refunded by cancel", got)
	}

	// A face-specific refusal: nothing happens, the ftoken stays unspent.
	if _, err := b.sim.AddFault(Fault{Kind: FaultPayRefused, OutTradeNo: "l1", Count: 1, SubCode: alipay.SubProductAmountLimitExceeded}); err != nil {
		t.Fatal(err)
	}
	tok := token()
	res, _ = c.TradePay(ctx, facePay("l1", tok, "5.00"))
	if res.Status != alipay.PayFailed || !hasSub(res.Err, alipay.SubProductAmountLimitExceeded) || res.Response.OutTradeNo != "l1" {
		t.Errorf("pay_refused: %+v", res)
	}
	if res, _ = c.TradePay(ctx, facePay("l2", tok, "5.00")); res.Status != alipay.PayPaid {
		t.Errorf("the ftoken after a refusal: %+v", res)
	}
	for _, bad := range []Fault{{Kind: FaultPayRefused}, {Kind: FaultPayRefused, SubCode: "X"}, {Kind: FaultPayRefused, SubCode: "ACQ.X", Method: "alipay.trade.query"}} {
		if _, err := b.sim.AddFault(bad); err == nil {
			t.Errorf("fault %+v accepted", bad)
		}
	}
}

func TestFaceVerifyEndpoint(t *testing.T) {
	b := setup(t)
	by := b.buyer("10.00")
	zim := faceInit(t, b.client(b.app, ""))
	post := func(body string) (int, map[string]any) {
		resp, err := http.Post(b.srv.URL+"/sandbox/face/verify", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if st, m := post(`{"zim_id":"` + zim + `","user_id":"` + by.LogonID + `"}`); st != 200 || m["code"] != "1000" || !strings.HasPrefix(m["ftoken"].(string), "fp") {
		t.Errorf("ok: %d %v", st, m)
	}
	if st, m := post(`{"zim_id":"` + zim + `","user_id":"` + by.UserID + `","outcome":"weak_light"}`); st != 200 || m["code"] != "1004" || m["ftoken"] != nil {
		t.Errorf("weak light: %d %v", st, m)
	}
	for _, bad := range []string{`{}`, `{"zim_id":"` + zim + `","user_id":"x","outcome":"dark"}`, `{"zim_id":"x","user_id":"` + by.UserID + `"}`, `{"zim":1}`} {
		if st, _ := post(bad); st < 400 {
			t.Errorf("%s: %d", bad, st)
		}
	}
}

func hasSub(err error, sub string) bool {
	var e *alipay.Error
	return errors.As(err, &e) && e.SubCode == sub
}

func (s *Sim) mustBuyer(t *testing.T, id string) *Buyer {
	t.Helper()
	b, err := s.Buyer(id)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
