package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
)

// script answers requests in order with the given statuses and records what came.
type script struct {
	mu       sync.Mutex
	statuses []int
	keys     []string
	auths    []string
	bodies   []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	s.keys = append(s.keys, r.Header.Get("Idempotency-Key"))
	s.auths = append(s.auths, r.Header.Get("Authorization"))
	s.bodies = append(s.bodies, string(b))
	st := s.statuses[0]
	if len(s.statuses) > 1 {
		s.statuses = s.statuses[1:]
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case st == 409:
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(st)
		io.WriteString(w, `{"error":{"code":"conflict","message":"still in progress"}}`)
	case st >= 300:
		w.WriteHeader(st)
		io.WriteString(w, `{"error":{"code":"invalid","message":"amount: bad"}}`)
	default:
		io.WriteString(w, `{"out_trade_no":"T1","state":"PAID","final":true,"total_amount":"88.88"}`)
	}
}

func TestRetriesReuseTheKey(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
		calls    int
		code     string
	}{
		{"ok at once", []int{200}, 1, ""},
		{"5xx then ok", []int{503, 500, 200}, 3, ""},
		{"in progress then ok", []int{409, 200}, 2, ""},
		{"4xx is final", []int{400, 200}, 1, client.EINVALID},
		{"gives up", []int{502}, 3, client.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{statuses: tt.statuses}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c := client.NewClient(srv.URL, "tk_1", "sec", nil)
			c.RetryDelay = time.Millisecond
			p, err := c.PayBarcode(context.Background(), client.BarcodeRequest{AuthCode: "28", Amount: f2fpay.MustParseAmount("88.88"), Subject: "x"})
			if len(s.keys) != tt.calls {
				t.Fatalf("%d calls, want %d", len(s.keys), tt.calls)
			}
			for _, k := range s.keys {
				if k == "" || k != s.keys[0] {
					t.Fatalf("keys %q: want one non-empty key reused", s.keys)
				}
			}
			if s.auths[0] != "Bearer tk_1.sec" {
				t.Fatalf("Authorization %q", s.auths[0])
			}
			if s.bodies[0] != `{"auth_code":"28","amount":"88.88","subject":"x"}` {
				t.Fatalf("body %s: amounts must be strings", s.bodies[0])
			}
			if tt.code == "" {
				if err != nil || p.State != client.StatePaid || p.TotalAmount != f2fpay.MustParseAmount("88.88") {
					t.Fatalf("p=%+v err=%v", p, err)
				}
				return
			}
			var e *client.Error
			if client.ErrorCode(err) != tt.code || !errors.As(err, &e) || e.Message == "" || e.Status < 400 {
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
		})
	}
}

// TestKeysDifferPerCall: two calls are two operations; a given key is used as is; a
// refund's key follows its refund id, so a repeated refund is the same request.
func TestKeysDifferPerCall(t *testing.T) {
	s := &script{statuses: []int{200}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := client.NewClient(srv.URL, "k", "s", nil)
	ctx := context.Background()
	c.PayQR(ctx, client.QRRequest{Amount: 1, Subject: "a"})
	c.PayQR(ctx, client.QRRequest{Amount: 1, Subject: "a"})
	c.PayQR(ctx, client.QRRequest{Amount: 1, Subject: "a", IdempotencyKey: "mine"})
	c.Refund(ctx, "T1", client.RefundRequest{RefundID: "r1", Amount: 1})
	c.Refund(ctx, "T1", client.RefundRequest{RefundID: "r1", Amount: 1})
	if s.keys[0] == s.keys[1] || s.keys[2] != "mine" || s.keys[3] != s.keys[4] || s.keys[3] == "" {
		t.Fatalf("keys %q", s.keys)
	}
}

// TestRetryAfter: a Retry-After in seconds or as an HTTP date is waited for, capped at
// MaxRetryAfter; without one the pause is jittered around RetryDelay.
func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		name     string
		header   func() string
		min, max time.Duration
	}{
		{"seconds", func() string { return "1" }, 900 * time.Millisecond, 3 * time.Second},
		{"HTTP date", func() string { return time.Now().Add(2 * time.Second).UTC().Format(http.TimeFormat) }, 900 * time.Millisecond, 4 * time.Second},
		{"capped", func() string { return "3600" }, 200 * time.Millisecond, 2 * time.Second},
		{"none: jittered backoff", func() string { return "" }, 25 * time.Millisecond, 2 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var times []time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				times = append(times, time.Now())
				n := len(times)
				mu.Unlock()
				if n == 1 {
					if h := tt.header(); h != "" {
						w.Header().Set("Retry-After", h)
					}
					w.WriteHeader(http.StatusServiceUnavailable)
					io.WriteString(w, `{"error":{"code":"unavailable","message":"busy"}}`)
					return
				}
				io.WriteString(w, `{"out_trade_no":"T1","state":"PAID","final":true}`)
			}))
			defer srv.Close()
			c := client.NewClient(srv.URL, "k", "s", nil)
			c.RetryDelay, c.MaxRetryAfter = 50*time.Millisecond, 300*time.Millisecond
			if tt.name != "capped" {
				c.MaxRetryAfter = 10 * time.Second
			}
			if _, err := c.Payment(context.Background(), "T1", 0); err != nil {
				t.Fatal(err)
			}
			if len(times) != 2 {
				t.Fatalf("%d attempts", len(times))
			}
			if gap := times[1].Sub(times[0]); gap < tt.min || gap > tt.max {
				t.Errorf("retried after %v, want between %v and %v", gap, tt.min, tt.max)
			}
		})
	}
}

// TestJitter: the pauses of many clients failing together spread out.
func TestJitter(t *testing.T) {
	var mu sync.Mutex
	first := map[string]time.Time{}
	var gaps []time.Duration
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get("Authorization")
		if t0, ok := first[id]; ok {
			gaps = append(gaps, time.Since(t0))
			io.WriteString(w, `{"out_trade_no":"T1","state":"PAID","final":true}`)
			return
		}
		first[id] = time.Now()
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client.NewClient(srv.URL, "k", string(rune('a'+i)), nil)
			c.RetryDelay = 100 * time.Millisecond
			c.Payment(context.Background(), "T1", 0)
		}()
	}
	wg.Wait()
	lo, hi := time.Hour, time.Duration(0)
	for _, g := range gaps {
		lo, hi = min(lo, g), max(hi, g)
	}
	if len(gaps) != 20 || lo < 45*time.Millisecond || hi-lo < 20*time.Millisecond {
		t.Errorf("%d retries between %v and %v: want them spread over 50–150 ms", len(gaps), lo, hi)
	}
}
