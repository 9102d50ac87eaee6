package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/secret"
	"github.com/f2fpay/f2fpay/webhook"
)

// endpoint is a merchant's webhook receiver that counts, per event id, the POSTs it
// got and the ones it accepted; it refuses (503) the first attempt of the events
// fail names, and takes delay to answer an attempt of the events slow names.
type endpoint struct {
	t      *testing.T
	secret []byte
	fail   func(outTradeNo string) bool
	slow   func(outTradeNo string, attempt int) time.Duration

	mu       sync.Mutex
	posts    map[string]int // event id → POSTs
	accepted map[string]int // event id → 2xx answers
}

func (p *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := webhook.Verify(p.secret, r.Header.Get(webhook.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		p.t.Errorf("webhook signature: %v", err)
	}
	var ev struct {
		ID   string `json:"id"`
		Data struct {
			OutTradeNo string `json:"out_trade_no"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != r.Header.Get(webhook.HeaderEventID) {
		p.t.Errorf("webhook body %s (id header %s): %v", body, r.Header.Get(webhook.HeaderEventID), err)
	}
	p.mu.Lock()
	p.posts[ev.ID]++
	attempt := p.posts[ev.ID]
	p.mu.Unlock()
	if p.slow != nil {
		time.Sleep(p.slow(ev.Data.OutTradeNo, attempt))
	}
	if attempt == 1 && p.fail != nil && p.fail(ev.Data.OutTradeNo) {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	p.mu.Lock()
	p.accepted[ev.ID]++
	p.mu.Unlock()
}

// claimCount counts the events an instance claimed.
type claimCount struct {
	f2fpay.Storage
	n atomic.Int64
}

func (c *claimCount) ClaimEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*f2fpay.Event, error) {
	evs, err := c.Storage.ClaimEvents(ctx, owner, now, lease, limit)
	c.n.Add(int64(len(evs)))
	return evs, err
}

// pgOutbox is a PostgreSQL schema holding a merchant whose webhook URL is ep, and n
// orders with one event each; it returns the instance's store and the sealing box.
func pgOutbox(t *testing.T, ep *endpoint, n int) (string, f2fpay.Storage, *secret.Box) {
	t.Helper()
	ctx := context.Background()
	schema := testdb.NewSchema(t)
	db := testdb.Open(t, testdb.Postgres, testdb.Options{Schema: schema})
	srv := httptest.NewServer(ep)
	t.Cleanup(srv.Close)
	box, err := secret.NewBox([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal(string(ep.secret), f2fpay.WebhookSecretPurpose)
	if err != nil {
		t.Fatal(err)
	}
	m := &f2fpay.Merchant{Name: "Hook Mart", WebhookURL: srv.URL, WebhookSecret: sealed}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.CreateMerchant(ctx, m))
	app := &f2fpay.App{MerchantID: m.ID, AppID: "2021000000000001", Gateway: "http://x/gateway.do", SignType: "RSA2",
		KeyMode: f2fpay.KeyModePublicKey, PrivateKey: "sealed:v1:x", AlipayPublicKey: "MIIB", SellerID: "2088102146225135"}
	must(db.CreateApp(ctx, app))
	st := &f2fpay.Store{MerchantID: m.ID, Code: "S1", Name: "s"}
	must(db.CreateStore(ctx, st))
	term := &f2fpay.Terminal{MerchantID: m.ID, StoreID: st.ID, AppID: app.ID, Code: "POS-1", Kind: f2fpay.TerminalCashier, KeyID: "tk_1", KeyHash: []byte{1}}
	must(db.CreateTerminal(ctx, term))
	for i := range n {
		out := fmt.Sprintf("o-%03d", i)
		o := &f2fpay.Order{OutTradeNo: out, MerchantID: m.ID, AppID: app.ID, StoreID: st.ID, TerminalID: term.ID,
			Kind: f2fpay.KindBarcode, Subject: "cola", TotalAmount: 350, State: f2fpay.OrderPaid}
		ev := &f2fpay.Event{Type: f2fpay.EventPaymentSucceeded, Payload: json.RawMessage(`{"out_trade_no":"` + out + `","state":"PAID"}`)}
		must(db.CreateOrder(ctx, o, ev))
	}
	return schema, db, box
}

// TestTwoInstancesShareThePostgresOutbox: two instances, each with its own pool on one
// PostgreSQL schema, deliver the outbox at once (FOR UPDATE SKIP LOCKED): every event
// is accepted by the merchant exactly once, a refused first attempt is retried once by
// whichever instance claims it next, both instances take part, and the stored delivery
// state matches what the endpoint saw.
func TestTwoInstancesShareThePostgresOutbox(t *testing.T) {
	t.Parallel()
	testdb.DSN(t)
	const n = 80
	ep := &endpoint{t: t, secret: []byte("whsec_pg"), posts: map[string]int{}, accepted: map[string]int{},
		fail: func(out string) bool { var i int; fmt.Sscanf(out, "o-%d", &i); return i%4 == 0 },
		// A few milliseconds per POST keeps both instances busy at the same time.
		slow: func(string, int) time.Duration { return 3 * time.Millisecond },
	}
	schema, first, box := pgOutbox(t, ep, n)
	stores := []*claimCount{{Storage: first}, {Storage: testdb.Open(t, testdb.Postgres, testdb.Options{Schema: schema})}}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, s := range stores {
		d, err := webhook.New(webhook.Config{Store: s, Box: box, Owner: fmt.Sprintf("instance-%d", i),
			Schedule: []time.Duration{30 * time.Millisecond}, Poll: 5 * time.Millisecond, Lease: time.Minute, Batch: 8, Concurrency: 4})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); d.Run(ctx) }()
	}
	deadline := time.Now().Add(30 * time.Second)
	var evs []*f2fpay.Event
	for {
		var err error
		if evs, err = first.ListEvents(context.Background(), f2fpay.EventFilter{Undelivered: true}); err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if len(evs) > 0 {
		t.Fatalf("%d events still undelivered after 30 s", len(evs))
	}
	t.Logf("events claimed: instance-0 %d, instance-1 %d", stores[0].n.Load(), stores[1].n.Load())
	for i, s := range stores {
		if s.n.Load() == 0 {
			t.Errorf("instance %d claimed no event: the test did not share the work", i)
		}
	}
	if got := stores[0].n.Load() + stores[1].n.Load(); got != n+n/4 {
		t.Errorf("%d claims in all, want %d: one per attempt", got, n+n/4)
	}

	evs, err := first.ListEvents(context.Background(), f2fpay.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != n {
		t.Fatalf("%d events stored, want %d", len(evs), n)
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for _, e := range evs {
		var p struct {
			OutTradeNo string `json:"out_trade_no"`
		}
		json.Unmarshal(e.Payload, &p)
		wantPosts := 1
		if ep.fail(p.OutTradeNo) {
			wantPosts = 2
		}
		if ep.accepted[e.ID] != 1 || ep.posts[e.ID] != wantPosts {
			t.Errorf("event %s (%s): accepted %d times in %d POSTs, want once in %d", e.ID, p.OutTradeNo, ep.accepted[e.ID], ep.posts[e.ID], wantPosts)
		}
		if e.DeliveredAt.IsZero() || !e.DeadAt.IsZero() || e.Attempts != wantPosts-1 {
			t.Errorf("event %s (%s): stored delivered %v, dead %v, %d failed attempts; want delivered after %d", e.ID, p.OutTradeNo,
				e.DeliveredAt, e.DeadAt, e.Attempts, wantPosts-1)
		}
		if wantPosts == 2 && e.LastError != "HTTP 503" {
			t.Errorf("event %s: last error %q, want HTTP 503", e.ID, e.LastError)
		}
	}
	if len(ep.posts) != n {
		t.Errorf("the endpoint saw %d event ids, want %d", len(ep.posts), n)
	}
}

// TestExpiredLeaseIsFencedOnPostgres: an instance whose lease runs out while its POST
// hangs (a paused process) is overtaken by the other instance, which delivers the
// event; the late outcome of the first is refused by the fencing token and does not
// overwrite the record — the event stays delivered, by the second instance's attempt.
// (Delivery is at least once: the merchant dedupes on the event id.)
func TestExpiredLeaseIsFencedOnPostgres(t *testing.T) {
	t.Parallel()
	testdb.DSN(t)
	ep := &endpoint{t: t, secret: []byte("whsec_pg"), posts: map[string]int{}, accepted: map[string]int{},
		// The first attempt hangs past the lease, then is refused: a late failure that
		// must not undo the second instance's delivery.
		fail: func(string) bool { return true },
		slow: func(_ string, attempt int) time.Duration {
			if attempt == 1 {
				return 1500 * time.Millisecond
			}
			return 0
		},
	}
	schema, first, box := pgOutbox(t, ep, 1)
	second := testdb.Open(t, testdb.Postgres, testdb.Options{Schema: schema})
	newDeliverer := func(s f2fpay.Storage, owner string) *webhook.Deliverer {
		d, err := webhook.New(webhook.Config{Store: s, Box: box, Owner: owner, Lease: 200 * time.Millisecond,
			Schedule: []time.Duration{time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b := newDeliverer(first, "instance-a"), newDeliverer(second, "instance-b")
	ctx := context.Background()
	done := make(chan int)
	go func() {
		n, err := a.DeliverDue(ctx)
		if err != nil {
			t.Error(err)
		}
		done <- n
	}()
	// b finds nothing while a's lease lives (a's POST has arrived: a claimed before),
	// then takes the event over once the lease has run out, long before a's POST ends.
	for arrived, limit := false, time.Now().Add(10*time.Second); !arrived; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(limit) {
			t.Fatal("a's POST did not arrive within 10 s")
		}
		ep.mu.Lock()
		arrived = len(ep.posts) == 1
		ep.mu.Unlock()
	}
	if n, err := b.DeliverDue(ctx); err != nil || n != 0 {
		t.Fatalf("b claimed %d events under a's live lease (%v)", n, err)
	}
	time.Sleep(300 * time.Millisecond)
	if n, err := b.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("b claimed %d events after a's lease expired, want 1 (%v)", n, err)
	}
	if n := <-done; n != 1 {
		t.Fatalf("a claimed %d events, want 1", n)
	}
	evs, err := second.ListEvents(ctx, f2fpay.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	e := evs[0]
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.posts[e.ID] != 2 || ep.accepted[e.ID] != 1 {
		t.Errorf("endpoint: %d POSTs, %d accepted; want 2 and 1", ep.posts[e.ID], ep.accepted[e.ID])
	}
	if e.DeliveredAt.IsZero() || e.Attempts != 0 || e.LastError != "" {
		t.Errorf("stored: delivered %v, %d failed attempts, last error %q; want delivered, the late failure dropped",
			e.DeliveredAt, e.Attempts, e.LastError)
	}
}
