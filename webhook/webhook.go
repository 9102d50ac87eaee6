// Package webhook delivers the outbox — payment and refund events written in the same
// transaction as the state change they announce — to the merchant's own systems as
// signed HTTP POSTs, retrying with backoff for more than 24 hours, surviving restarts,
// and sharing the work between instances through the store's leases and fencing tokens.
//
// # The receiver's side
//
// Webhooks follow Standard Webhooks (https://www.standardwebhooks.com). Each POST carries:
//
//	webhook-id:        evt_…           (stable across retries: dedupe on it)
//	webhook-timestamp: 1715593761      (Unix seconds of this attempt)
//	webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
//
// and, for one more release, the headers of f2fpay's earlier scheme (deprecated):
//
//	F2fpay-Event-Id:   evt_…
//	F2fpay-Event-Type: payment.succeeded
//	F2fpay-Signature:  t=1715593761,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// The key of webhook-signature is SigningKey(secret): a secret "whsec_<base64>" is the
// key it encodes, as Standard Webhooks defines; any other secret is its own bytes.
// The body is {"id","type","version","created_at","data"} (Body, version
// f2fpay.EventSchemaVersion). VerifyStandard (or client.VerifyWebhook, or any Standard
// Webhooks library) checks the signature and the timestamp's freshness; answer any 2xx
// once the event is stored. Delivery is at least once: dedupe on the event id. An order
// has at most one payment.* event and a refund at most one refund.* event, but events
// of one order may arrive out of order after retries. The data is f2fpay.PublicOrder
// or f2fpay.PublicRefund, documented in docs/api.md ("Webhooks").
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/secret"
)

// Header names of Standard Webhooks.
const (
	HeaderWebhookID        = "Webhook-Id"
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	HeaderWebhookSignature = "Webhook-Signature"
)

// Header names of f2fpay's earlier scheme, still sent for one release beside the
// Standard Webhooks headers (deprecated: verify webhook-signature instead).
const (
	HeaderEventID   = "F2fpay-Event-Id"
	HeaderEventType = "F2fpay-Event-Type"
	HeaderSignature = "F2fpay-Signature"
)

// DefaultSchedule is the wait before each retry. It spans a little over 31 hours, so a
// merchant system that is down for a whole day still gets every event.
var DefaultSchedule = []time.Duration{
	30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 8 * time.Hour, 8 * time.Hour,
}

// Store is what delivery needs from storage.
type Store interface {
	f2fpay.EventStore
	FindMerchant(ctx context.Context, id int64) (*f2fpay.Merchant, error)
}

// Config configures a Deliverer.
type Config struct {
	Store Store
	// Box opens the merchants' sealed webhook secrets.
	Box *secret.Box
	// Owner names this instance in leases (host name + pid, say).
	Owner string
	// HTTPClient sends the POSTs; default 10 s timeout.
	HTTPClient *http.Client
	Clock      f2fpay.Clock
	Logger     *slog.Logger
	// Schedule overrides DefaultSchedule.
	Schedule []time.Duration
	// Poll is how often to look for due events; default 1 s.
	Poll time.Duration
	// Gather is how long a Wake waits before claiming, so that the events committed
	// meanwhile leave in one claim rather than one claim (and its writes) each; 20 ms
	// by default, negative for none.
	Gather time.Duration
	// Lease is how long a claimed event belongs to this instance; default 1 min.
	Lease time.Duration
	// Batch is how many events one claim takes; default 32.
	Batch int
	// Concurrency bounds parallel POSTs; default 8.
	Concurrency int
}

// Deliverer sends due events until its context ends.
type Deliverer struct {
	cfg  Config
	wake chan struct{}
}

// New checks cfg and fills defaults.
func New(cfg Config) (*Deliverer, error) {
	if cfg.Store == nil || cfg.Box == nil {
		return nil, errors.New("webhook: Store and Box are required")
	}
	if cfg.Owner == "" {
		return nil, errors.New("webhook: Owner is required (it names this instance in leases)")
	}
	if cfg.HTTPClient == nil {
		// Webhooks go to a few merchant hosts, several at once (Concurrency): keep
		// their connections rather than http.DefaultTransport's two per host.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: tr}
	}
	if cfg.Clock == nil {
		cfg.Clock = f2fpay.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Schedule) == 0 {
		cfg.Schedule = DefaultSchedule
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.Gather == 0 {
		cfg.Gather = 20 * time.Millisecond
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 32
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	return &Deliverer{cfg: cfg, wake: make(chan struct{}, 1)}, nil
}

// Wake makes Run look for due events within Gather rather than at the next poll; call
// it after committing a state change, so webhooks leave within milliseconds.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers events until ctx ends. Events in flight when ctx ends finish (their
// HTTP calls use their own timeout); the leases of unattempted ones simply expire.
func (d *Deliverer) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for {
		for {
			n, err := d.DeliverDue(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil // shutting down: not a failure
				}
				d.cfg.Logger.Error("webhook: claiming events", "err", err)
				break
			}
			if n < d.cfg.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-d.wake:
			if d.cfg.Gather > 0 {
				g := time.NewTimer(d.cfg.Gather)
				select {
				case <-ctx.Done():
					g.Stop()
					return nil
				case <-g.C:
				}
			}
		}
	}
}

// DeliverDue claims one batch of due events, attempts each, and records the outcomes. It
// returns how many events it claimed.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	now := d.cfg.Clock.Now()
	events, err := d.cfg.Store.ClaimEvents(ctx, d.cfg.Owner, now, d.cfg.Lease, d.cfg.Batch)
	if err != nil {
		return 0, err
	}
	sem := make(chan struct{}, d.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, e := range events {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			d.deliver(context.WithoutCancel(ctx), e)
		}()
	}
	wg.Wait()
	return len(events), nil
}

func (d *Deliverer) deliver(ctx context.Context, e *f2fpay.Event) {
	log := d.cfg.Logger.With("event_id", e.ID, "event_type", e.Type, "order_id", e.OrderID, "merchant_id", e.MerchantID)
	m, err := d.cfg.Store.FindMerchant(ctx, e.MerchantID)
	if err != nil {
		d.retry(ctx, log, e, fmt.Sprintf("merchant %d: %v", e.MerchantID, err))
		return
	}
	if m.WebhookURL == "" {
		// Nowhere to send it: the event is completed, not kept for a webhook configured
		// later. Many merchants never set one (their terminals poll), and their events
		// would otherwise stay due forever: claimed and leased at every poll, the
		// outbox growing with every payment. And a webhook set up months later should
		// not start with a flood of stale snapshots; whoever wants the history asks
		// for it with a replay (POST /admin/events/replay with merchant_id and since),
		// which sends completed events too, under their original ids. Completed, not
		// retried to death either: a dead event means a failing endpoint, which this
		// is not. Nothing was sent, so nothing is logged above debug.
		d.complete(ctx, log, e, false)
		return
	}
	key, err := d.cfg.Box.Open(m.WebhookSecret, f2fpay.WebhookSecretPurpose)
	if err != nil {
		d.retry(ctx, log, e, "webhook secret: "+err.Error())
		return
	}
	body, err := Body(e)
	if err != nil {
		d.retry(ctx, log, e, err.Error())
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.WebhookURL, bytes.NewReader(body))
	if err != nil {
		d.retry(ctx, log, e, "webhook URL: "+err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "f2fpay-webhook/1")
	now := d.cfg.Clock.Now()
	req.Header.Set(HeaderWebhookID, e.ID)
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderWebhookSignature, SignStandard(SigningKey(key), e.ID, now, body))
	// Deprecated scheme, kept for one release so that current consumers keep working.
	req.Header.Set(HeaderEventID, e.ID)
	req.Header.Set(HeaderEventType, string(e.Type))
	req.Header.Set(HeaderSignature, Sign([]byte(key), now, body))
	resp, err := d.cfg.HTTPClient.Do(req)
	if err != nil {
		d.retry(ctx, log, e, err.Error())
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		d.retry(ctx, log, e, fmt.Sprintf("HTTP %d", resp.StatusCode))
		return
	}
	d.complete(ctx, log, e, true)
}

// complete records e as done: sent (the endpoint accepted it) or skipped (the merchant
// has no webhook).
func (d *Deliverer) complete(ctx context.Context, log *slog.Logger, e *f2fpay.Event, sent bool) {
	err := d.cfg.Store.CompleteEvent(ctx, e, d.cfg.Clock.Now())
	switch {
	case f2fpay.ErrorCode(err) == f2fpay.ECONFLICT:
		log.Warn("webhook: lease lost before recording delivery; another instance owns the event now")
	case err != nil:
		log.Error("webhook: recording delivery", "err", err)
	case sent:
		log.Info("webhook delivered", "attempt", e.Attempts+1)
	default:
		log.Debug("webhook: the merchant has no webhook_url; event completed without sending")
	}
}

func (d *Deliverer) retry(ctx context.Context, log *slog.Logger, e *f2fpay.Event, reason string) {
	dead := e.Attempts >= len(d.cfg.Schedule)
	next := d.cfg.Clock.Now()
	if !dead {
		next = next.Add(d.cfg.Schedule[e.Attempts])
	}
	err := d.cfg.Store.RetryEvent(ctx, e, next, reason, dead)
	switch {
	case f2fpay.ErrorCode(err) == f2fpay.ECONFLICT:
		log.Warn("webhook: lease lost before recording a failed attempt")
	case err != nil:
		log.Error("webhook: recording failed attempt", "err", err)
	case dead:
		log.Error("webhook: giving up; replay it once the endpoint works", "attempts", e.Attempts+1, "reason", reason)
	default:
		log.Warn("webhook: delivery failed, will retry", "attempt", e.Attempts+1, "next", next, "reason", reason)
	}
}

// Body is the JSON a webhook POSTs: the event's id, type, the schema version
// (f2fpay.EventSchemaVersion), its time and its data.
func Body(e *f2fpay.Event) ([]byte, error) {
	payload := e.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	return json.Marshal(struct {
		ID        string           `json:"id"`
		Type      f2fpay.EventType `json:"type"`
		Version   string           `json:"version"`
		CreatedAt time.Time        `json:"created_at"`
		Data      json.RawMessage  `json:"data"`
	}{e.ID, e.Type, f2fpay.EventSchemaVersion, e.CreatedAt.UTC(), payload})
}

// SecretPrefix starts a webhook secret in Standard Webhooks' format: the prefix, then
// the key in standard base64.
const SecretPrefix = "whsec_"

// SigningKey is the HMAC key of webhook-signature for a merchant's webhook secret: a
// secret "whsec_<standard base64>" is the key it encodes (what Standard Webhooks
// libraries do with it); any other secret — one a merchant chose, or one the service
// made before it made them in this format (whsec_ and 43 base64url characters, which
// do not decode as standard base64) — is its own bytes, as in F2fpay-Signature.
func SigningKey(secret string) []byte {
	if rest, ok := strings.CutPrefix(secret, SecretPrefix); ok {
		if k, err := base64.StdEncoding.DecodeString(rest); err == nil && len(k) > 0 {
			return k
		}
	}
	return []byte(secret)
}

// SignStandard returns the webhook-signature header value: "v1," and the base64
// HMAC-SHA256, keyed with key (SigningKey of the secret), of id, ".", the Unix
// timestamp, "." and the exact body.
func SignStandard(key []byte, id string, t time.Time, body []byte) string {
	return "v1," + standardMAC(key, id, strconv.FormatInt(t.Unix(), 10), body)
}

func standardMAC(key []byte, id, ts string, body []byte) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// VerifyStandard checks a received webhook by Standard Webhooks: webhook-signature
// (any of its space-separated "v1,…" values, for secret rotation) over webhook-id,
// webhook-timestamp and the exact body, keyed with SigningKey(secret), and a timestamp
// within tolerance of now.
func VerifyStandard(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sigs := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("%w: webhook-id, webhook-timestamp and webhook-signature are required", ErrSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: webhook-timestamp %q is not a number", ErrSignature, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp is %s away from now (tolerance %s)", ErrSignature, d.Round(time.Second), tolerance)
	}
	want := standardMAC(SigningKey(secret), id, ts, body)
	for _, s := range strings.Fields(sigs) {
		if v, sig, ok := strings.Cut(s, ","); ok && v == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", ErrSignature)
}

// Sign returns the F2fpay-Signature header value for body sent at t (the deprecated
// scheme; secret is the merchant's secret as given, its bytes the key).
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret []byte, ts string, body []byte) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// ErrSignature is wrapped by Verify's failures.
var ErrSignature = errors.New("webhook: signature verification failed")

// Verify checks a received webhook: the header's HMAC over the timestamp and the exact
// body, and that the timestamp is within tolerance of now (a captured webhook cannot be
// replayed later). Several v1 values are accepted, for secret rotation.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if ts == "" || len(sigs) == 0 {
		return fmt.Errorf("%w: header %q lacks t= or v1=", ErrSignature, header)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not a number", ErrSignature, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp is %s away from now (tolerance %s)", ErrSignature, d.Round(time.Second), tolerance)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", ErrSignature)
}
