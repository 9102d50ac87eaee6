package payment_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
)

// countGateway counts the requests that reach the sandbox.
func countGateway(n *atomic.Int64) option {
	return func(o *options) {
		o.gateway = func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				next.ServeHTTP(w, r)
			})
		}
	}
}

// TestLengthsCountedAsAlipay: the engine counts lengths as Alipay does (GBK bytes, 2
// per Chinese character; alipay/limits.go) and refuses what Alipay would refuse before
// the order is recorded or the buyer's code is sent. A 100-character Chinese subject
// passed the old rune count and then failed at Alipay with the code spent; a
// 128-character one is Alipay's maximum and pays.
func TestLengthsCountedAsAlipay(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	b := setup(t, countGateway(&calls))
	ctx := context.Background()
	by := b.Buyer("100.00")
	han := func(n int) string { return strings.Repeat("汉", n) }
	for name, c := range map[string]struct {
		mod  func(*payment.PayRequest)
		want string
	}{
		"subject of 129 Chinese characters": {func(r *payment.PayRequest) { r.Subject = han(129) }, "subject is too long for Alipay: 258 bytes"},
		"subject of 257 ASCII":              {func(r *payment.PayRequest) { r.Subject = strings.Repeat("s", 257) }, "at most 256"},
		"subject not UTF-8":                 {func(r *payment.PayRequest) { r.Subject = "tea\xff" }, "subject is not valid UTF-8"},
		"body of 65 Chinese characters":     {func(r *payment.PayRequest) { r.Body = han(65) }, "body is too long for Alipay: 130 bytes"},
		"operator_id of 15 Chinese":         {func(r *payment.PayRequest) { r.OperatorID = han(15) }, "operator_id is too long for Alipay: 30 bytes"},
		"operator_id of 29 ASCII":           {func(r *payment.PayRequest) { r.OperatorID = strings.Repeat("o", 29) }, "at most 28"},
	} {
		r := payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(by.UserID), Amount: 100, Subject: "tea"}
		c.mod(&r)
		_, err := b.engine.PayBarcode(ctx, r)
		if errCode(err) != f2fpay.EINVALID || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want EINVALID with %q", name, err, c.want)
		}
	}
	if _, err := b.engine.PrecreateQR(ctx, payment.QRRequest{TerminalID: b.term.ID, Amount: 100, Subject: "tea", OperatorID: han(15)}); errCode(err) != f2fpay.EINVALID {
		t.Errorf("QR with a long operator_id: %v", err)
	}
	if orders, _ := b.db.ListOrders(ctx, f2fpay.OrderFilter{}); len(orders) != 0 || calls.Load() != 0 {
		t.Fatalf("refused requests left %d orders and %d gateway calls", len(orders), calls.Load())
	}

	for _, subject := range []string{han(100), han(128)} {
		o, err := b.engine.PayBarcode(ctx, payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(by.UserID), Amount: 100,
			Subject: subject, Body: han(64), OperatorID: han(14)})
		if err != nil || o.State != f2fpay.OrderPaid {
			t.Fatalf("subject of %d Chinese characters: %v %v", len([]rune(subject)), o, err)
		}
	}

	o, err := b.engine.PayBarcode(ctx, payment.PayRequest{TerminalID: b.term.ID, AuthCode: b.Code(by.UserID), Amount: 500, Subject: "tea"})
	if err != nil || o.State != f2fpay.OrderPaid {
		t.Fatal(o, err)
	}
	if _, err := b.engine.Refund(ctx, payment.RefundRequest{AppID: b.app.ID, OutTradeNo: o.OutTradeNo, RefundID: "r1", Amount: 100, Reason: han(129)}); errCode(err) != f2fpay.EINVALID || !strings.Contains(err.Error(), "reason is too long for Alipay") {
		t.Errorf("refund reason of 129 Chinese characters: %v", err)
	}
	if r, err := b.engine.Refund(ctx, payment.RefundRequest{AppID: b.app.ID, OutTradeNo: o.OutTradeNo, RefundID: "r2", Amount: 100, Reason: han(128)}); err != nil || r.State != f2fpay.RefundSucceeded {
		t.Errorf("refund reason of 128 Chinese characters: %v %v", r, err)
	}
	// The longest refund_id the service accepts (60) still makes an out_request_no
	// Alipay accepts.
	if err := alipay.LimitOutRequestNo.Check(payment.OutRequestNo(strings.Repeat("r", 60))); err != nil {
		t.Error(err)
	}
}
