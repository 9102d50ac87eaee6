package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

func TestIdempotencySameAndDifferentBody(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("100.00")
		code := b.Code(buyer.UserID)
		body := []byte(fmt.Sprintf(`{"auth_code":%q,"amount":"12.34","subject":"book"}`, code))
		s1, h1, out1 := b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), "key-1", body)
		if s1 != http.StatusOK || h1.Get("Idempotent-Replayed") != "" {
			t.Fatalf("first: %d %s", s1, out1)
		}
		s2, h2, out2 := b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), "key-1", body)
		if s2 != s1 || !bytes.Equal(out1, out2) || h2.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("repeat: %d %q (replayed=%q), want the stored answer %q", s2, out2, h2.Get("Idempotent-Replayed"), out1)
		}
		var p client.Payment
		b.must(json.Unmarshal(out1, &p))
		if p.State != client.StatePaid {
			t.Fatalf("state %s", p.State)
		}
		if n := b.gw.Count("alipay.trade.pay", p.OutTradeNo); n != 1 {
			t.Fatalf("trade.pay calls = %d, want 1", n)
		}
		if got := b.Balance(buyer.UserID); got != amt("87.66") {
			t.Fatalf("balance = %s, want 87.66 (charged once)", got)
		}

		// Same key, different body (another amount): refused, nothing sent.
		changed := bytes.Replace(body, []byte("12.34"), []byte("99.99"), 1)
		s3, _, out3 := b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), "key-1", changed)
		if s3 != http.StatusUnprocessableEntity {
			t.Fatalf("changed body: status %d: %s", s3, out3)
		}
		if c, msg := errorOf(t, out3); c != client.EINVALID || !strings.Contains(msg, "already used for a different request") || !strings.Contains(msg, "new Idempotency-Key") {
			t.Fatalf("changed body: %s %q", c, msg)
		}
		// Same key on another endpoint: refused too.
		s4, _, _ := b.raw(http.MethodPost, "/v1/payments/qr", b.termAuth(), "key-1", body)
		if s4 != http.StatusUnprocessableEntity {
			t.Fatalf("other endpoint: status %d", s4)
		}
		// Keys are per terminal: another terminal's same key is a new request.
		t2, _ := b.newTerminal("POS-2")
		s5, _, out5 := b.raw(http.MethodPost, "/v1/payments/qr", "Bearer "+t2.APIKey.KeyID+"."+t2.APIKey.Secret, "key-1", []byte(`{"amount":"1.00","subject":"x"}`))
		if s5 != http.StatusOK {
			t.Fatalf("another terminal's key-1: status %d: %s", s5, out5)
		}
		status, _, out := b.raw(http.MethodPost, "/v1/payments/qr", b.termAuth(), "", []byte(`{"amount":"1.00","subject":"x"}`))
		if status != http.StatusBadRequest || !strings.Contains(string(out), "Idempotency-Key is required") {
			t.Fatalf("missing key: %d %s", status, out)
		}
	})
}

// TestIdempotencyStorm: 50 goroutines send the same 10 payment requests 1–5 times
// each, 5% of them with a changed body. Exactly one order per key, exactly one
// trade.pay per out_trade_no (counted at the sandbox), every buyer charged once, every
// answer to a key's original body the same, every changed body refused with 422 (or,
// when it came first, accepted as that key's request and the originals refused).
func TestIdempotencyStorm(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		// Slow trade.pay down so that duplicates overlap with the request that runs.
		b.Fault(alipaysim.Fault{Kind: alipaysim.FaultLatency, Method: "alipay.trade.pay", Latency: alipaysim.Duration(150 * time.Millisecond)})
		const keys = 10
		type req struct {
			key  string
			body []byte
		}
		var originals [keys]req
		for i := range keys {
			buyer := b.Buyer("100.00")
			originals[i] = req{fmt.Sprintf("storm-%d", i), []byte(fmt.Sprintf(`{"auth_code":%q,"amount":"%d.00","subject":"storm","wait_seconds":20}`, b.Code(buyer.UserID), i+1))}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		var work []req
		for i := range keys {
			for range 1 + rng.IntN(5) {
				r := originals[i]
				if rng.Float64() < 0.05 {
					r.body = bytes.Replace(r.body, []byte(`"storm"`), []byte(`"changed"`), 1)
				}
				work = append(work, r)
			}
		}
		// Make sure both kinds occur whatever the draw.
		work = append(work, req{originals[0].key, bytes.Replace(originals[0].body, []byte(`"storm"`), []byte(`"changed"`), 1)})
		rng.Shuffle(len(work), func(i, j int) { work[i], work[j] = work[j], work[i] })

		type answer struct {
			key, body string
			status    int
			out       []byte
		}
		answers := make(chan answer, len(work))
		var next sync.Mutex
		pos := 0
		var replayed atomic.Int64
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					next.Lock()
					if pos >= len(work) {
						next.Unlock()
						return
					}
					r := work[pos]
					pos++
					next.Unlock()
					status, h, out := b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), r.key, r.body)
					if h.Get("Idempotent-Replayed") == "true" {
						replayed.Add(1)
					}
					answers <- answer{r.key, string(r.body), status, out}
				}
			}()
		}
		wg.Wait()
		close(answers)

		// Per key: all 200 answers identical, and for one body only; others 422.
		type seen struct {
			body string
			out  []byte
		}
		ok := map[string]seen{}
		for a := range answers {
			switch a.status {
			case http.StatusOK:
				if s, dup := ok[a.key]; dup && (s.body != a.body || !bytes.Equal(s.out, a.out)) {
					t.Fatalf("key %s answered differently:\n%s\n%s", a.key, s.out, a.out)
				}
				ok[a.key] = seen{a.body, a.out}
			case http.StatusUnprocessableEntity:
			default:
				t.Fatalf("key %s: status %d: %s", a.key, a.status, a.out)
			}
		}
		if len(ok) != keys {
			t.Fatalf("%d keys answered 200, want %d", len(ok), keys)
		}
		orders, err := b.admin.ListOrders(b.ctx, nil)
		b.must(err)
		if len(orders) != keys {
			t.Fatalf("%d orders, want exactly %d (one per key)", len(orders), keys)
		}
		for _, o := range orders {
			if n := b.gw.Count("alipay.trade.pay", o.OutTradeNo); n != 1 {
				t.Fatalf("order %s: trade.pay sent %d times, want 1", o.OutTradeNo, n)
			}
			if o.State != client.StatePaid {
				t.Fatalf("order %s is %s", o.OutTradeNo, o.State)
			}
		}
		if replayed.Load() == 0 {
			t.Fatal("no duplicate was answered from the idempotency store")
		}
		t.Logf("%d requests, %d answered from the store", len(work), replayed.Load())
		if n := b.gw.Total("alipay.trade.pay"); n != keys {
			t.Fatalf("trade.pay reached the sandbox %d times, want %d", n, keys)
		}
	})
}

// TestIdempotencyPurge: records older than the retention are deleted; a retry of a
// payment after that is not a replay, yet it finds the same order (its out_trade_no
// derives from the key), and Alipay is asked to pay only once.
func TestIdempotencyPurge(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), func(o *options) { o.idemKeep = time.Second })
		buyer := b.Buyer("100.00")
		body := []byte(fmt.Sprintf(`{"auth_code":%q,"amount":"5.00","subject":"tea"}`, b.Code(buyer.UserID)))
		s1, _, out1 := b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), "purge-1", body)
		if s1 != http.StatusOK {
			t.Fatalf("first: %d %s", s1, out1)
		}
		if n, err := b.server.PurgeIdempotencyOnce(b.ctx); err != nil || n != 0 {
			t.Fatalf("purge within the retention deleted %d (%v), want 0", n, err)
		}
		_, h, _ := b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), "purge-1", body)
		if h.Get("Idempotent-Replayed") != "true" {
			t.Fatal("a retry within the retention was not a replay")
		}
		b.clock.Advance(1100 * time.Millisecond) // past the retention
		if n, err := b.server.PurgeIdempotencyOnce(b.ctx); err != nil || n != 1 {
			t.Fatalf("purge after the retention deleted %d (%v), want 1", n, err)
		}
		s2, h2, out2 := b.raw(http.MethodPost, "/v1/payments/barcode", b.termAuth(), "purge-1", body)
		if s2 != http.StatusOK || h2.Get("Idempotent-Replayed") != "" {
			t.Fatalf("retry after the purge: %d, replayed %q: %s", s2, h2.Get("Idempotent-Replayed"), out2)
		}
		var p1, p2 client.Payment
		json.Unmarshal(out1, &p1)
		json.Unmarshal(out2, &p2)
		if p1.OutTradeNo == "" || p2.OutTradeNo != p1.OutTradeNo || p2.State != client.StatePaid {
			t.Errorf("after the purge the retry answered %+v, want the first order %s PAID", p2, p1.OutTradeNo)
		}
		if n := b.gw.Count("alipay.trade.pay", p1.OutTradeNo); n != 1 {
			t.Errorf("trade.pay sent %d times for %s", n, p1.OutTradeNo)
		}
	})
}
