package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/httpapi"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

// lossyEngine pays for real, then fails the first answer: the payment happened but
// the Idempotency-Key's answer was not stored (the key is forgotten on a 5xx).
type lossyEngine struct {
	httpapi.Engine
	failed atomic.Bool
}

func (e *lossyEngine) PayBarcode(ctx context.Context, req payment.PayRequest) (*f2fpay.Order, error) {
	o, err := e.Engine.PayBarcode(ctx, req)
	if err == nil && e.failed.CompareAndSwap(false, true) {
		return nil, errors.New("lost after paying: database hiccup")
	}
	return o, err
}

// TestRetryAfterLostAnswerPaysOnce: the client's automatic retry (same key) after a
// 500 reaches the engine with the same derived out_trade_no, and is answered with the
// existing order instead of a second trade.pay.
func TestRetryAfterLostAnswerPaysOnce(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), func(o *options) { o.engine = func(e httpapi.Engine) httpapi.Engine { return &lossyEngine{Engine: e} } })
		buyer := b.Buyer("100.00")
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("7.00"), Subject: "x"})
		b.must(err)
		if p.State != client.StatePaid {
			t.Fatalf("state %s", p.State)
		}
		if n := b.gw.Total("alipay.trade.pay"); n != 1 {
			t.Fatalf("trade.pay sent %d times, want 1", n)
		}
		if got := b.Balance(buyer.UserID); got != amt("93.00") {
			t.Fatalf("balance %s, want 93.00 (charged once)", got)
		}
		if strings.Contains(b.logs.String(), "database hiccup") == false {
			t.Fatal("the internal error was not logged")
		}
	})
}

// TestDuplicateInProgress: a duplicate that outwaits IdempotencyWait gets 409 "in
// progress" with Retry-After; once the first finishes, the same request gets its answer.
func TestDuplicateInProgress(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		entered, withSignal := signalEngine()
		b := setup(t, onDB(kind), withSignal, func(o *options) { o.idemWait = 50 * time.Millisecond })
		b.Fault(alipaysim.Fault{Kind: alipaysim.FaultLatency, Method: "alipay.trade.pay", Latency: alipaysim.Duration(600 * time.Millisecond)})
		buyer := b.Buyer("100.00")
		body := []byte(`{"auth_code":"` + b.Code(buyer.UserID) + `","amount":"5.00","subject":"slow"}`)
		var wg sync.WaitGroup
		var first []byte
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, first = b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), "slow-1", body)
		}()
		within(t, "the first request to reach the engine", entered.pay) // it holds the key, and trade.pay takes 600 ms
		status, h, out := b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), "slow-1", body)
		if status != http.StatusConflict || h.Get("Retry-After") == "" || !strings.Contains(string(out), "still in progress") {
			t.Fatalf("duplicate in progress: %d %s (Retry-After %q)", status, out, h.Get("Retry-After"))
		}
		wg.Wait()
		status, h, out = b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), "slow-1", body)
		if status != 200 || h.Get("Idempotent-Replayed") != "true" || string(out) != string(first) {
			t.Fatalf("after completion: %d %s, want the first answer %s", status, out, first)
		}
		if n := b.gw.Total("alipay.trade.pay"); n != 1 {
			t.Fatalf("trade.pay sent %d times", n)
		}
	})
}
