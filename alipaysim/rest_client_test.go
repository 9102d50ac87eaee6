package alipaysim_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/money"
	"github.com/f2fpay/f2fpay/alipaysim"
)

// The SDK's REST client against the sandbox, end to end. These tests live here, not in
// alipay/, so that the SDK's own tests import nothing outside the SDK: an SDK user's
// go mod tidy also resolves the tests of the packages it imports, and a test in alipay/
// importing the sandbox would pull SQLite into every SDK user's go.sum.
type restBundle struct {
	sim *alipaysim.Sim
	srv *httptest.Server
	c   *alipay.Client
}

func restSetup(t *testing.T) *restBundle {
	t.Helper()
	ctx := context.Background()
	sim, err := alipaysim.New(ctx, alipaysim.Config{Clock: alipaysim.NewManualClock(time.Now()), Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); sim.Close() })
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	app, err := sim.RegisterApp(ctx, alipaysim.AppSpec{PublicKey: string(alipay.PublicKeyPEM(&key.PublicKey))})
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	c, err := alipay.New(alipay.Config{
		AppID: app.AppID, PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		AlipayPublicKey: sim.AlipayPublicKey(), Protocol: alipay.ProtocolREST, Endpoint: srv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &restBundle{sim: sim, srv: srv, c: c}
}

func (b *restBundle) buyer(t *testing.T, balance string, threshold string) (*alipaysim.Buyer, func() string) {
	t.Helper()
	spec := alipaysim.BuyerSpec{Balance: money.MustParse(balance), PayPassword: "123456"}
	if threshold != "" {
		th := money.MustParse(threshold)
		spec.PasswordThreshold = &th
	}
	by, err := b.sim.CreateBuyer(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return by, func() string {
		code, err := b.sim.IssuePaymentCode(context.Background(), by.UserID)
		if err != nil {
			t.Fatal(err)
		}
		return code.Code
	}
}

// TradePay over REST reads the same four outcomes as over gateway.do.
func TestRESTTradePayOutcomes(t *testing.T) {
	b := restSetup(t)
	_, code := b.buyer(t, "100.00", "")
	_, carefulCode := b.buyer(t, "100.00", "10.00")
	_, poorCode := b.buyer(t, "0.50", "")
	tests := []struct {
		name  string
		out   string
		code  func() string
		amt   string
		fault *alipaysim.Fault
		want  alipay.PayStatus
		sub   string
	}{
		{"paid", "p1", code, "5.00", nil, alipay.PayPaid, ""},
		{"waiting for the password", "p2", carefulCode, "20.00", nil, alipay.PayWaiting, ""},
		{"balance too low", "p3", poorCode, "5.00", nil, alipay.PayFailed, alipay.SubBuyerBalanceNotEnough},
		{"bad code", "p4", func() string { return "289999999999999999" }, "1.00", nil, alipay.PayFailed, alipay.SubPaymentAuthCodeInvalid},
		{"system error", "p5", code, "1.00", &alipaysim.Fault{Kind: alipaysim.FaultSystemError}, alipay.PayUnknown, alipay.SubSystemError},
		{"forged signature", "p6", code, "1.00", &alipaysim.Fault{Kind: alipaysim.FaultBadSignature}, alipay.PayUnknown, ""},
		{"answer lost", "p7", code, "1.00", &alipaysim.Fault{Kind: alipaysim.FaultDropResponse}, alipay.PayUnknown, ""},
		{"answer cut short", "p8", code, "1.00", &alipaysim.Fault{Kind: alipaysim.FaultMalformedJSON}, alipay.PayUnknown, ""},
		{"proxy 502", "p9", code, "1.00", &alipaysim.Fault{Kind: alipaysim.FaultHTTP502}, alipay.PayUnknown, ""},
		{"pending fault", "p10", code, "1.00", &alipaysim.Fault{Kind: alipaysim.FaultPayPending, Delay: alipaysim.Duration(time.Minute)}, alipay.PayWaiting, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != nil {
				f := *tc.fault
				f.OutTradeNo, f.Count = tc.out, 1
				if _, err := b.sim.AddFault(f); err != nil {
					t.Fatal(err)
				}
			}
			res, err := b.c.TradePay(context.Background(), &alipay.TradePayRequest{OutTradeNo: tc.out, AuthCode: tc.code(), Subject: "tea", TotalAmount: money.MustParse(tc.amt)})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.want {
				t.Fatalf("status %v, want %v (err %v)", res.Status, tc.want, res.Err)
			}
			if tc.sub != "" && !alipay.HasSubCode(res.Err, tc.sub) {
				t.Errorf("err %v, want sub_code %s", res.Err, tc.sub)
			}
			if tc.want == alipay.PayPaid && (res.Response.GmtPayment.IsZero() || res.Response.TradeNo == "") {
				t.Errorf("paid response %+v", res.Response)
			}
			if tc.want == alipay.PayWaiting && res.Response.TradeNo == "" {
				t.Errorf("waiting response without trade_no: %+v", res.Response)
			}
		})
	}
}

// The rest of the typed API over REST, against the same engine.
func TestRESTTypedAPI(t *testing.T) {
	b := restSetup(t)
	by, code := b.buyer(t, "100.00", "")
	ctx := context.Background()
	if res, err := b.c.TradePay(ctx, &alipay.TradePayRequest{OutTradeNo: "a1", AuthCode: code(), Subject: "tea", TotalAmount: money.MustParse("10.00")}); err != nil || res.Status != alipay.PayPaid {
		t.Fatalf("pay: %v %+v", err, res)
	}
	q, err := b.c.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "a1"})
	if err != nil || q.TradeStatus != alipay.TradeSuccess || q.TotalAmount != money.MustParse("10.00") {
		t.Fatalf("query: %v %+v", err, q)
	}
	if _, err := b.c.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "none"}); !alipay.HasSubCode(err, alipay.SubTradeNotExist) || alipay.IsUnknown(err) {
		t.Errorf("query of nothing: %v", err)
	}
	rf, err := b.c.TradeRefund(ctx, &alipay.TradeRefundRequest{OutTradeNo: "a1", RefundAmount: money.MustParse("3.00"), OutRequestNo: "r1"})
	if err != nil || rf.FundChange != "Y" || rf.RefundFee != money.MustParse("3.00") {
		t.Fatalf("refund: %v %+v", err, rf)
	}
	if _, err := b.c.TradeRefund(ctx, &alipay.TradeRefundRequest{OutTradeNo: "a1", RefundAmount: money.MustParse("30.00"), OutRequestNo: "r2"}); !alipay.HasSubCode(err, alipay.SubRefundAmountExceeded) {
		t.Errorf("over-refund: %v", err)
	}
	rq, err := b.c.TradeFastpayRefundQuery(ctx, &alipay.RefundQueryRequest{OutTradeNo: "a1", OutRequestNo: "r1"})
	if err != nil || !rq.Refunded() {
		t.Errorf("refund query: %v %+v", err, rq)
	}
	pc, err := b.c.TradePrecreate(ctx, &alipay.TradePrecreateRequest{OutTradeNo: "a2", Subject: "qr", TotalAmount: money.MustParse("2.00")})
	if err != nil || pc.QRCode == "" {
		t.Fatalf("precreate: %v %+v", err, pc)
	}
	cr, err := b.c.TradeCreate(ctx, &alipay.TradeCreateRequest{OutTradeNo: "a3", Subject: "js", TotalAmount: money.MustParse("2.00"), BuyerID: by.UserID})
	if err != nil || cr.TradeNo == "" {
		t.Fatalf("create: %v %+v", err, cr)
	}
	if cl, err := b.c.TradeClose(ctx, &alipay.TradeCloseRequest{OutTradeNo: "a3"}); err != nil || cl.TradeNo != cr.TradeNo {
		t.Errorf("close: %v %+v", err, cl)
	}
	if cn, err := b.c.TradeCancel(ctx, alipay.TradeRef{OutTradeNo: "a1"}); err != nil || cn.Action != "refund" {
		t.Errorf("cancel: %v %+v", err, cn)
	}
	if _, err := b.c.Call(ctx, alipay.MethodSystemOauthToken, nil, nil, alipay.WithParam("grant_type", "authorization_code")); err == nil {
		t.Error("top-level parameters over REST were accepted")
	}
}
