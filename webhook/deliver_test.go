package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/secret"
	"github.com/f2fpay/f2fpay/sqlite"
	"github.com/f2fpay/f2fpay/webhook"
)

type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// bundle is a real SQLite store with a merchant whose webhook endpoint is a test server.
type bundle struct {
	store    *sqlite.DB
	box      *secret.Box
	clock    *manualClock
	merchant *f2fpay.Merchant
	order    *f2fpay.Order
	got      chan received
	status   atomic.Int32 // what the endpoint answers
}

type received struct {
	id, typ, sig string
	body         []byte
	header       http.Header
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	b := &bundle{clock: &manualClock{now: time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)}, got: make(chan received, 64)}
	b.status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.got <- received{r.Header.Get(webhook.HeaderEventID), r.Header.Get(webhook.HeaderEventType), r.Header.Get(webhook.HeaderSignature), body, r.Header.Clone()}
		w.WriteHeader(int(b.status.Load()))
	}))
	t.Cleanup(srv.Close)
	var err error
	if b.box, err = secret.NewBox([]byte("0123456789abcdef0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	if b.store, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "f2fpay.db"), sqlite.Options{Clock: b.clock}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.store.Close() })
	sealed, _ := b.box.Seal("whsec_hook", f2fpay.WebhookSecretPurpose)
	b.merchant = &f2fpay.Merchant{Name: "Hook Mart", WebhookURL: srv.URL, WebhookSecret: sealed}
	if err := b.store.CreateMerchant(ctx, b.merchant); err != nil {
		t.Fatal(err)
	}
	app := &f2fpay.App{MerchantID: b.merchant.ID, AppID: "2021000000000001", Gateway: "http://x/gateway.do", SignType: "RSA2",
		KeyMode: f2fpay.KeyModePublicKey, PrivateKey: "sealed:v1:x", AlipayPublicKey: "MIIB", SellerID: "2088102146225135"}
	if err := b.store.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	st := &f2fpay.Store{MerchantID: b.merchant.ID, Code: "S1", Name: "s"}
	if err := b.store.CreateStore(ctx, st); err != nil {
		t.Fatal(err)
	}
	term := &f2fpay.Terminal{MerchantID: b.merchant.ID, StoreID: st.ID, AppID: app.ID, Code: "POS-1", Kind: f2fpay.TerminalCashier, KeyID: "tk_1", KeyHash: []byte{1}}
	if err := b.store.CreateTerminal(ctx, term); err != nil {
		t.Fatal(err)
	}
	b.order = &f2fpay.Order{OutTradeNo: "o-1", MerchantID: b.merchant.ID, AppID: app.ID, StoreID: st.ID, TerminalID: term.ID,
		Kind: f2fpay.KindBarcode, Subject: "cola", TotalAmount: 350, State: f2fpay.OrderPaid}
	ev := &f2fpay.Event{Type: f2fpay.EventPaymentSucceeded, Payload: json.RawMessage(`{"out_trade_no":"o-1","state":"PAID"}`)}
	if err := b.store.CreateOrder(ctx, b.order, ev); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *bundle) deliverer(t *testing.T, owner string) *webhook.Deliverer {
	d, err := webhook.New(webhook.Config{Store: b.store, Box: b.box, Owner: owner, Clock: b.clock})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeliveryRetriesUntilAccepted(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	d := b.deliverer(t, "instance-a")
	b.status.Store(503)

	for attempt := range 3 {
		if n, err := d.DeliverDue(ctx); err != nil || n != 1 {
			t.Fatalf("attempt %d: claimed %d, %v", attempt, n, err)
		}
		<-b.got
		if n, _ := d.DeliverDue(ctx); n != 0 {
			t.Fatalf("attempt %d: the failed event was due again at once", attempt)
		}
		b.clock.Advance(webhook.DefaultSchedule[attempt])
	}
	b.status.Store(200)
	if n, err := d.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("final attempt: claimed %d, %v", n, err)
	}
	r := <-b.got
	if err := webhook.Verify([]byte("whsec_hook"), r.sig, r.body, b.clock.Now(), 5*time.Minute); err != nil {
		t.Fatalf("webhook signature: %v", err)
	}
	var body struct {
		ID   string          `json:"id"`
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	json.Unmarshal(r.body, &body)
	if body.ID != r.id || body.Type != "payment.succeeded" || string(body.Data) != `{"out_trade_no":"o-1","state":"PAID"}` {
		t.Errorf("body %s headers id=%s", r.body, r.id)
	}
	b.clock.Advance(24 * time.Hour)
	if n, _ := d.DeliverDue(ctx); n != 0 {
		t.Fatal("a delivered event was sent again")
	}
	evs, _ := b.store.ListEvents(ctx, f2fpay.EventFilter{})
	if len(evs) != 1 || evs[0].DeliveredAt.IsZero() || evs[0].Attempts != 3 {
		t.Fatalf("events = %+v", evs[0])
	}
	// Replay sends it again, with the same id for the consumer's dedupe.
	if n, err := b.store.ReplayEvents(ctx, f2fpay.EventFilter{}, b.clock.Now()); err != nil || n != 1 {
		t.Fatalf("replay: %d %v", n, err)
	}
	d.DeliverDue(ctx)
	if again := <-b.got; again.id != r.id {
		t.Errorf("replayed id %s, first %s", again.id, r.id)
	}
}

func TestDeliveryGivesUpAfterTheSchedule(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	d := b.deliverer(t, "instance-a")
	b.status.Store(500)
	for range len(webhook.DefaultSchedule) + 1 {
		if n, _ := d.DeliverDue(ctx); n != 1 {
			t.Fatal("event not due on schedule")
		}
		<-b.got
		b.clock.Advance(9 * time.Hour)
	}
	if n, _ := d.DeliverDue(ctx); n != 0 {
		t.Fatal("a dead event is still attempted")
	}
	evs, _ := b.store.ListEvents(ctx, f2fpay.EventFilter{})
	if evs[0].DeadAt.IsZero() || evs[0].LastError != "HTTP 500" {
		t.Fatalf("event = %+v", evs[0])
	}
}

func TestTwoInstancesDeliverOnce(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	a, c := b.deliverer(t, "instance-a"), b.deliverer(t, "instance-b")
	var wg sync.WaitGroup
	var claimed atomic.Int64
	for _, d := range []*webhook.Deliverer{a, c, a, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := d.DeliverDue(ctx)
			if err != nil {
				t.Error(err)
			}
			claimed.Add(int64(n))
		}()
	}
	wg.Wait()
	if claimed.Load() != 1 || len(b.got) != 1 {
		t.Fatalf("claimed %d, delivered %d, want 1", claimed.Load(), len(b.got))
	}
}

// TestRetryAfterSecretRotation: the sender reads the merchant at every delivery, so a
// retry of an event made before the merchant changed its webhook goes to the new URL,
// signed with the new secret (which the old one no longer verifies), under the same
// event id.
func TestRetryAfterSecretRotation(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	d := b.deliverer(t, "instance-a")
	b.status.Store(503)
	if n, err := d.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("first attempt: claimed %d, %v", n, err)
	}
	first := <-b.got
	if err := webhook.Verify([]byte("whsec_hook"), first.sig, first.body, b.clock.Now(), 5*time.Minute); err != nil {
		t.Fatalf("first attempt's signature: %v", err)
	}

	// The merchant moves its endpoint and rotates its secret.
	moved := make(chan received, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		moved <- received{r.Header.Get(webhook.HeaderEventID), r.Header.Get(webhook.HeaderEventType), r.Header.Get(webhook.HeaderSignature), body, r.Header.Clone()}
	}))
	defer srv.Close()
	sealed, err := b.box.Seal("whsec_rotated", f2fpay.WebhookSecretPurpose)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.UpdateMerchant(ctx, b.merchant.ID, f2fpay.MerchantUpdate{WebhookURL: &srv.URL, WebhookSecret: &sealed}); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(webhook.DefaultSchedule[0])
	if n, err := d.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("retry: claimed %d, %v", n, err)
	}
	var retry received
	select {
	case retry = <-moved:
	case r := <-b.got:
		t.Fatalf("the retry went to the old endpoint: %s", r.id)
	case <-time.After(10 * time.Second):
		t.Fatal("the retry was not delivered")
	}
	if retry.id != first.id || string(retry.body) != string(first.body) {
		t.Fatalf("retry %s %s, first %s %s", retry.id, retry.body, first.id, first.body)
	}
	if err := webhook.Verify([]byte("whsec_rotated"), retry.sig, retry.body, b.clock.Now(), 5*time.Minute); err != nil {
		t.Fatalf("the retry is not signed with the new secret: %v", err)
	}
	if err := webhook.Verify([]byte("whsec_hook"), retry.sig, retry.body, b.clock.Now(), 5*time.Minute); err == nil {
		t.Fatal("the retry still verifies with the old secret")
	}
	if evs, err := b.store.ListEvents(ctx, f2fpay.EventFilter{}); err != nil || len(evs) != 1 || evs[0].DeliveredAt.IsZero() || evs[0].Attempts != 1 { // one failed attempt
		t.Fatalf("after the retry: %+v, %v", *evs[0], err)
	}
}

// logSink collects what the deliverer logs, at every level.
type logSink struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// levels returns the level of each logged record whose message is msg.
func (s *logSink) levels(msg string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(s.buf.String()), "\n") {
		var rec struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
			out = append(out, rec.Level)
		}
	}
	return out
}

// TestNoWebhookCompletesQuietly: an event of a merchant without a webhook is completed
// without a POST and without "webhook delivered" (that line means the merchant's
// endpoint accepted it); it is not attempted again, and a replay after the merchant sets
// a webhook sends it under its id. An event that is sent still logs "webhook delivered".
func TestNoWebhookCompletesQuietly(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	sink := &logSink{}
	d, err := webhook.New(webhook.Config{Store: b.store, Box: b.box, Owner: "instance-a", Clock: b.clock,
		Logger: slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	url := b.merchant.WebhookURL
	none := ""
	if _, err := b.store.UpdateMerchant(ctx, b.merchant.ID, f2fpay.MerchantUpdate{WebhookURL: &none, WebhookSecret: &none}); err != nil {
		t.Fatal(err)
	}
	if n, err := d.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("claimed %d, %v", n, err)
	}
	if len(b.got) != 0 {
		t.Fatal("a POST without a webhook_url")
	}
	if lv := sink.levels("webhook delivered"); len(lv) != 0 {
		t.Fatalf("\"webhook delivered\" logged with nothing sent: %v", lv)
	}
	for _, lv := range sink.levels("webhook: the merchant has no webhook_url; event completed without sending") {
		if lv != "DEBUG" {
			t.Fatalf("the skipped event is logged at %s", lv)
		}
	}
	b.clock.Advance(48 * time.Hour)
	if n, _ := d.DeliverDue(ctx); n != 0 {
		t.Fatal("a completed event without a webhook was claimed again")
	}
	evs, _ := b.store.ListEvents(ctx, f2fpay.EventFilter{})
	if len(evs) != 1 || evs[0].DeliveredAt.IsZero() || !evs[0].DeadAt.IsZero() || evs[0].Attempts != 0 {
		t.Fatalf("event = %+v", evs[0])
	}

	// The merchant sets a webhook and asks for the history.
	sealed, _ := b.box.Seal("whsec_hook", f2fpay.WebhookSecretPurpose)
	if _, err := b.store.UpdateMerchant(ctx, b.merchant.ID, f2fpay.MerchantUpdate{WebhookURL: &url, WebhookSecret: &sealed}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.store.ReplayEvents(ctx, f2fpay.EventFilter{MerchantID: &b.merchant.ID}, b.clock.Now()); err != nil || n != 1 {
		t.Fatalf("replay: %d %v", n, err)
	}
	if n, err := d.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("after replay: claimed %d, %v", n, err)
	}
	if r := <-b.got; r.id != evs[0].ID {
		t.Fatalf("replayed %s, want %s", r.id, evs[0].ID)
	}
	if lv := sink.levels("webhook delivered"); len(lv) != 1 || lv[0] != "INFO" {
		t.Fatalf("\"webhook delivered\" after a real delivery: %v", lv)
	}
}
