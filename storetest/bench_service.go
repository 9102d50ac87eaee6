package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/cpustat"
)

// benchService is the store work of one barcode payment as the service does it, call
// for call: the Idempotency-Key record begun, the order created (durable, before
// trade.pay), the outcome with its gateway call and outbox event, the key's answer
// stored, the notification's lookup and history line, and the webhook's claim and
// delivery bookkeeping. Keys and numbers are random as in production (UUID keys,
// key-derived out_trade_no), so index locality is not flattered.
//
// Besides time it reports the CPU the process spent per payment (user+system,
// getrusage) and, on Linux, the bytes it wrote to storage per payment: the two costs
// that group commit, page layout and index choice move, measured without the RSA
// work that dominates — and adds noise to — the end-to-end bench. With PostgreSQL
// these are the client's only; the CPU the whole machine spent per payment (Linux,
// /proc/stat) includes a local server's.
//
// Without idem (ServicePaymentWithoutIdempotency), the Idempotency-Key record is
// neither begun nor completed: the difference between the two is what the record
// costs a payment, and the most that folding it into the order's own writes could
// save (docs/performance.md, "Where the rest goes").
func benchService(b *testing.B, s f2fpay.Storage, workers int, idem bool) {
	ctx := context.Background()
	fx := newFixture(b, s)
	var n atomic.Int64
	response := []byte(`{"out_trade_no":"T1K0123456789abcdef01234567","state":"PAID","amount":"3.50","trade_no":"2026112322001400000000000001","buyer_logon_id":"159****5620","receipt_amount":"3.50","paid_at":"2026-11-23T12:00:00+08:00","created_at":"2026-11-23T12:00:00+08:00"}`)
	pay := func() error {
		i := n.Add(1)
		key := uuid()
		rec := &f2fpay.IdempotencyRecord{TerminalID: fx.terminal.ID, Key: key, RequestHash: hashHex(key)}
		if idem {
			if _, first, err := s.BeginIdempotent(ctx, rec); err != nil || !first {
				return fmt.Errorf("begin idempotent: %v (first %v)", err, first)
			}
		}
		h := sha256.Sum256([]byte(strconv.FormatInt(fx.terminal.ID, 10) + "\x00" + key))
		o := &f2fpay.Order{OutTradeNo: "T" + strconv.FormatInt(fx.terminal.ID, 10) + "K" + hex.EncodeToString(h[:12]),
			MerchantID: fx.merchant.ID, AppID: fx.app.ID, StoreID: fx.store.ID, TerminalID: fx.terminal.ID,
			Kind: f2fpay.KindBarcode, Subject: "cola", TotalAmount: 350, AuthCodeMasked: "2876****3940",
			State: f2fpay.OrderPaying, NextCheckAt: time.Now().Add(time.Minute), PayDeadline: time.Now().Add(time.Minute)}
		if err := s.CreateOrder(ctx, o); err != nil {
			return err
		}
		o.State, o.TradeNo, o.ReceiptAmount, o.BuyerPayAmount, o.PaidAt, o.NextCheckAt = f2fpay.OrderPaid,
			fmt.Sprintf("2026112322001%015d", i), 350, 350, time.Now(), time.Time{}
		call := &f2fpay.GatewayCall{Method: "alipay.trade.pay", Code: "10000", Outcome: "PAID", Latency: time.Millisecond}
		ev := &f2fpay.Event{ID: f2fpay.NewEventID(), Type: f2fpay.EventPaymentSucceeded, Payload: response}
		if err := s.UpdateOrderLazy(ctx, o, []*f2fpay.GatewayCall{call}, ev); err != nil {
			return err
		}
		rec.Done, rec.Status, rec.Response = true, 201, response
		if idem {
			if err := s.CompleteIdempotent(ctx, rec); err != nil {
				return err
			}
		}
		// The notification: find the order, record the line (nothing changes).
		if _, err := s.FindOrder(ctx, o.AppID, o.OutTradeNo); err != nil {
			return err
		}
		if err := s.RecordCall(ctx, &f2fpay.GatewayCall{OrderID: o.ID, Method: "notify", Code: uuid(), Outcome: "TRADE_SUCCESS"}); err != nil {
			return err
		}
		// The webhook: claim what is due (this payment's event, perhaps others'), and
		// record the delivery of what this worker claimed.
		evs, err := s.ClaimEvents(ctx, "bench-"+strconv.FormatInt(i%4, 10), time.Now(), time.Minute, 20)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := s.CompleteEvent(ctx, e, time.Now()); err != nil {
				return err
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	var failed atomic.Bool
	b.ReportAllocs()
	cpu0, w0 := cpustat.Process(), cpustat.WrittenBytes()
	m0, machineOK := cpustat.Machine()
	b.ResetTimer()
	var next atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) && !failed.Load() {
				if err := pay(); err != nil {
					failed.Store(true)
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	payments := float64(n.Load())
	b.ReportMetric(payments/b.Elapsed().Seconds(), "payments/s")
	b.ReportMetric(float64(cpustat.Process()-cpu0)/1e3/payments, "cpu-µs/payment")
	if m, ok := cpustat.Machine(); ok && machineOK {
		b.ReportMetric(float64(m-m0)/1e3/payments, "machine-cpu-µs/payment")
	}
	if w := cpustat.WrittenBytes(); w >= 0 && w0 >= 0 {
		b.ReportMetric(float64(w-w0)/1024/payments, "KiB-written/payment")
	}
}

func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
