package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// WebhookTolerance is how far a webhook's timestamp may be from the receiver's clock
// in VerifyWebhook (Standard Webhooks' usual five minutes): a captured webhook cannot
// be replayed later.
const WebhookTolerance = 5 * time.Minute

// ErrWebhookSignature is wrapped by VerifyWebhook's refusals.
var ErrWebhookSignature = errors.New("f2fpay: webhook signature verification failed")

// WebhookEvent is a verified webhook's body (docs/api.md, "Webhooks").
type WebhookEvent struct {
	// ID is stable across retries and replays: store it and ignore repeats.
	ID   string `json:"id"`
	Type string `json:"type"` // payment.succeeded, refund.failed, …
	// Version is the schema of the body, f2fpay.EventSchemaVersion ("2026-12-01").
	Version   string    `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	// Data is the order (payment.*) or the refund (refund.*); see Order and Refund.
	Data json.RawMessage `json:"data"`
}

// Order decodes the data of a payment.* event.
func (e *WebhookEvent) Order() (*f2fpay.PublicOrder, error) {
	if !strings.HasPrefix(e.Type, "payment.") {
		return nil, fmt.Errorf("f2fpay: a %s event carries no order", e.Type)
	}
	var o f2fpay.PublicOrder
	if err := json.Unmarshal(e.Data, &o); err != nil {
		return nil, fmt.Errorf("f2fpay: webhook %s: decoding the order: %w", e.ID, err)
	}
	return &o, nil
}

// Refund decodes the data of a refund.* event.
func (e *WebhookEvent) Refund() (*f2fpay.PublicRefund, error) {
	if !strings.HasPrefix(e.Type, "refund.") {
		return nil, fmt.Errorf("f2fpay: a %s event carries no refund", e.Type)
	}
	var r f2fpay.PublicRefund
	if err := json.Unmarshal(e.Data, &r); err != nil {
		return nil, fmt.Errorf("f2fpay: webhook %s: decoding the refund: %w", e.ID, err)
	}
	return &r, nil
}

// VerifyWebhook checks a webhook f2fpay sent to the merchant's endpoint and returns
// its event. header is the request's header, body its exact bytes (read it whole
// before decoding anything), secret the merchant's webhook secret as the admin API
// took or made it, now the receiver's clock (time.Now()).
//
// The scheme is Standard Webhooks: webhook-signature holds "v1,<base64 HMAC-SHA256>"
// values (space-separated) over webhook-id, ".", webhook-timestamp, "." and the body;
// the key is the base64 after "whsec_" for a secret in that format, else the secret's
// own bytes. A timestamp more than WebhookTolerance from now is refused, and so is a
// body whose id is not webhook-id. While rotating secrets, try the new one, then the
// old.
func VerifyWebhook(secret string, header http.Header, body []byte, now time.Time) (*WebhookEvent, error) {
	id, ts, sigs := header.Get("Webhook-Id"), header.Get("Webhook-Timestamp"), header.Get("Webhook-Signature")
	if id == "" || ts == "" || sigs == "" {
		return nil, fmt.Errorf("%w: webhook-id, webhook-timestamp and webhook-signature are required", ErrWebhookSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: webhook-timestamp %q is not a number", ErrWebhookSignature, ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > WebhookTolerance || d < -WebhookTolerance {
		return nil, fmt.Errorf("%w: timestamp is %s away from now (tolerance %s)", ErrWebhookSignature, d.Round(time.Second), WebhookTolerance)
	}
	key := []byte(secret)
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if k, err := base64.StdEncoding.DecodeString(rest); err == nil && len(k) > 0 {
			key = k
		}
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	want := m.Sum(nil)
	ok := false
	for _, s := range strings.Fields(sigs) {
		v, sig, _ := strings.Cut(s, ",")
		got, err := base64.StdEncoding.DecodeString(sig)
		if v == "v1" && err == nil && hmac.Equal(got, want) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: no v1 signature matches", ErrWebhookSignature)
	}
	var e WebhookEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("f2fpay: webhook %s: the body is not an event: %w", id, err)
	}
	if e.ID != id {
		return nil, fmt.Errorf("%w: the body's id %q is not webhook-id %q", ErrWebhookSignature, e.ID, id)
	}
	return &e, nil
}
