package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Benchmark measures the store's share of one payment and of the janitor's claims.
// open returns a fresh, empty, migrated store and arranges its Close.
//
// The service's budget: one barcode payment costs at least one RSA-2048 signature
// (~1–1.5 ms on a small machine) plus Alipay's round trip; the store work per
// payment should stay small beside that.
func Benchmark(b *testing.B, open func(tb testing.TB) f2fpay.Storage) {
	b.Run("Payment", func(b *testing.B) { benchPayment(b, open(b), false) })
	b.Run("PaymentParallel", func(b *testing.B) { benchPayment(b, open(b), true) })
	b.Run("ServicePayment", func(b *testing.B) { benchService(b, open(b), 16, true) })
	b.Run("ServicePaymentWithoutIdempotency", func(b *testing.B) { benchService(b, open(b), 16, false) })
	b.Run("ClaimDueOrders", func(b *testing.B) { benchClaim(b, open(b)) })
	b.Run("FindOrder", func(b *testing.B) { benchFind(b, open(b)) })
}

// benchPayment is one payment's store cost: CreateOrder (PAYING, the intent recorded
// before calling Alipay), then UpdateOrder to PAID with its gateway call and outbox
// event. Two write transactions, each durable (fsync on SQLite).
func benchPayment(b *testing.B, s f2fpay.Storage, parallel bool) {
	ctx := context.Background()
	fx := newFixture(b, s)
	var n atomic.Int64
	pay := func() error {
		i := n.Add(1)
		o := &f2fpay.Order{OutTradeNo: fmt.Sprintf("bench-%d", i), MerchantID: fx.merchant.ID, AppID: fx.app.ID,
			StoreID: fx.store.ID, TerminalID: fx.terminal.ID, Kind: f2fpay.KindBarcode, Subject: "cola", TotalAmount: 350,
			State: f2fpay.OrderPaying, NextCheckAt: time.Now().Add(time.Minute)}
		if err := s.CreateOrder(ctx, o); err != nil {
			return err
		}
		o.State, o.TradeNo, o.ReceiptAmount, o.PaidAt, o.NextCheckAt = f2fpay.OrderPaid, fmt.Sprint("2025", i), 350, time.Now(), time.Time{}
		call := &f2fpay.GatewayCall{Method: "alipay.trade.pay", Code: "10000", Outcome: "PAID", Latency: time.Millisecond}
		ev := &f2fpay.Event{Type: f2fpay.EventPaymentSucceeded, Payload: []byte(`{"out_trade_no":"x","total_amount":"3.50"}`)}
		return s.UpdateOrder(ctx, o, []*f2fpay.GatewayCall{call}, ev)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := pay(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for b.Loop() {
			if err := pay(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "payments/s")
}

// benchClaim claims 10 of 1,000 open orders among 10,000 final ones, as the janitor
// does each tick; moving the clock past the lease makes the same orders due again.
func benchClaim(b *testing.B, s f2fpay.Storage) {
	ctx := context.Background()
	fx := newFixture(b, s)
	for i := range 11000 {
		st := f2fpay.OrderPaid
		if i%11 == 0 {
			st = f2fpay.OrderWaiting
		}
		o := fx.order(st)
		o.NextCheckAt = base.Add(-time.Duration(i) * time.Millisecond)
		if err := s.CreateOrder(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	now := base
	b.ReportAllocs()
	b.ResetTimer()
	claims := 0
	for b.Loop() {
		got, err := s.ClaimDueOrders(ctx, "bench", now, time.Second, 10)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) == 0 {
			now = now.Add(2 * time.Second) // all leased: let the leases expire
		}
		claims++
	}
	b.ReportMetric(float64(claims)/b.Elapsed().Seconds(), "claims/s")
}

// benchFind is the read path of a status poll.
func benchFind(b *testing.B, s f2fpay.Storage) {
	ctx := context.Background()
	fx := newFixture(b, s)
	o := fx.createOrder(b, f2fpay.OrderPaid)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.FindOrder(ctx, o.AppID, o.OutTradeNo); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
