package alipaysim

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
)

// TestFlowsThroughAlipayClient drives the sandbox with f2fpay's own SDK, the typed
// alipay.Client, as the payment service will.
func TestFlowsThroughAlipayClient(t *testing.T) {
	b := setup(t)
	ak, _ := keys(t)
	der, _ := x509.MarshalPKCS8PrivateKey(ak)
	c, err := alipay.New(alipay.Config{
		AppID: b.app.AppID, PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		AlipayPublicKey: b.sim.AlipayPublicKey(), Gateway: b.srv.URL + "/gateway.do",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rcv := newReceiver(t)
	by := b.buyer("50.00")

	res, err := c.TradePay(ctx, &alipay.TradePayRequest{OutTradeNo: "cl1", AuthCode: b.code(by.UserID), Subject: "tea", TotalAmount: amt("12.50")},
		alipay.WithNotifyURL(rcv.srv.URL))
	if err != nil || res.Status != alipay.PayPaid {
		t.Fatalf("pay: %v %+v", err, res)
	}
	if res.Response.ReceiptAmount != amt("12.50") || res.Response.BuyerUserID != by.UserID {
		t.Errorf("pay response %+v", res.Response)
	}
	res, err = c.TradePay(ctx, &alipay.TradePayRequest{OutTradeNo: "cl2", AuthCode: "289999999999999999", Subject: "tea", TotalAmount: amt("1.00")})
	if err != nil || res.Status != alipay.PayFailed {
		t.Errorf("bad code: %v %+v", err, res)
	}
	q, err := c.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "cl1"})
	if err != nil || string(q.TradeStatus) != TradeSuccess {
		t.Errorf("query: %v %+v", err, q)
	}
	rf, err := c.TradeRefund(ctx, &alipay.TradeRefundRequest{OutTradeNo: "cl1", RefundAmount: amt("2.50"), OutRequestNo: "r1"})
	if err != nil || rf.FundChange != "Y" || rf.RefundFee != amt("2.50") {
		t.Errorf("refund: %v %+v", err, rf)
	}
	cn, err := c.TradeCancel(ctx, alipay.TradeRef{OutTradeNo: "cl1"})
	if err != nil || cn.Action != "refund" {
		t.Errorf("cancel: %v %+v", err, cn)
	}
	// A lost answer reads as unknown, never as failed.
	b.sim.AddFault(Fault{Kind: FaultDropResponse, OutTradeNo: "cl3", Count: 1})
	res, err = c.TradePay(ctx, &alipay.TradePayRequest{OutTradeNo: "cl3", AuthCode: b.code(by.UserID), Subject: "tea", TotalAmount: amt("1.00")})
	if err != nil || res.Status != alipay.PayUnknown {
		t.Errorf("dropped answer: %v %+v", err, res)
	}
	// The client verifies the sandbox's notifications.
	b.settle()
	got := rcv.received()
	if len(got) != 3 {
		t.Fatalf("%d notifications, want 3 (paid, partial refund, cancel)", len(got))
	}
	for _, form := range got {
		if _, err := c.VerifyNotification(form); err != nil {
			t.Errorf("client refuses the sandbox's notification: %v", err)
		}
	}
}
