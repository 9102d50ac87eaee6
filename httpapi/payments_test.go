package httpapi_test

import (
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/client"
)

func TestBarcodePaid(t *testing.T) {
	b := setup(t)
	buyer := b.buyer("100.00")
	p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.code(buyer.UserID), Amount: amt("88.88"), Subject: "coffee", WaitSeconds: 10})
	b.must(err)
	if p.State != client.StatePaid || !p.Final || p.TradeNo == "" || p.TotalAmount != amt("88.88") {
		t.Fatalf("payment = %+v, want PAID 88.88 with a trade_no", p)
	}
	if got := b.balance(buyer.UserID); got != amt("11.12") {
		t.Fatalf("buyer balance = %s, want 11.12", got)
	}
	again, err := b.client.Payment(b.ctx, p.OutTradeNo, 0)
	b.must(err)
	if again.State != client.StatePaid || again.TradeNo != p.TradeNo {
		t.Fatalf("GET payment = %+v", again)
	}
	if n := b.gw.count("alipay.trade.pay", p.OutTradeNo); n != 1 {
		t.Fatalf("trade.pay calls = %d, want 1", n)
	}
	_ = time.Second
}
