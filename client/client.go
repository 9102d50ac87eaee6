// Package client is a typed Go client for the f2fpay terminal API (/v1): what a
// cashier's POS or a vending machine links to take barcode, QR and JSAPI payments,
// long-poll their outcome, cancel, close and refund.
//
// Every POST carries an Idempotency-Key. The client makes one per call (or takes the
// caller's, for a terminal that persists it across its own restarts) and reuses it
// on its own retries, so a request whose answer was lost on a weak network is retried
// without ever charging the buyer twice. Errors from the service are *Error values
// with the service's code and a message a cashier can read.
//
// The client authenticates with the terminal's API key, sent as a bearer token or,
// with SignRequests, used to sign every request (HMAC-SHA256 with a timestamp and a
// nonce) so that the secret never travels.
//
// A second, small type, AdminClient, covers the admin API (/admin).
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Error codes the service answers with (the f2fpay error model).
const (
	ECONFLICT       = "conflict"
	EINTERNAL       = "internal"
	EINVALID        = "invalid"
	ENOTFOUND       = "not_found"
	EUNAUTHORIZED   = "unauthorized"
	EUNAVAILABLE    = "unavailable"
	ENOTIMPLEMENTED = "not_implemented"
)

// Error is an error answer of the service.
type Error struct {
	Status  int    // HTTP status
	Code    string // one of the E… codes
	Message string // for people: what was wrong and what to do
}

func (e *Error) Error() string {
	return fmt.Sprintf("f2fpay: %d %s: %s", e.Status, e.Code, e.Message)
}

// ErrorCode returns the code of err if it is an *Error, "" otherwise.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Client calls the terminal API with one terminal's API key. It is safe for
// concurrent use; set its fields before the first call.
type Client struct {
	base   string
	keyID  string
	secret string
	hc     *http.Client
	// Retries is how many times a request is resent after a transport error, a 5xx
	// or a 409 "in progress" answer, with the same Idempotency-Key; default 2.
	Retries int
	// RetryDelay is the first pause between attempts, doubled each time; default 300 ms.
	// Each pause is drawn between half and one and a half times that, so terminals
	// that failed together (a service restart) do not all retry in the same instant.
	// An answer with Retry-After (seconds or an HTTP date) is retried after the time
	// it names instead, at most MaxRetryAfter.
	RetryDelay time.Duration
	// MaxRetryAfter caps the wait a Retry-After header asks for; default 10 s.
	MaxRetryAfter time.Duration
	// SignRequests signs every request with the secret (F2FPAY-HMAC-SHA256: a
	// timestamp, a fresh nonce, the method, path, Idempotency-Key and body) instead of
	// sending the secret as a bearer token, so that the secret never travels and a
	// captured request cannot be replayed. Each attempt, retries included, is signed
	// anew. The terminal's clock must be within 5 minutes of the service's.
	SignRequests bool
	// AcceptLanguage, when set, is sent as Accept-Language: "zh-CN" has the service
	// answer payments' messages and the common errors in Chinese (what the cashier
	// reads); English otherwise.
	AcceptLanguage string
}

// NewClient returns a client for the service at baseURL (e.g. "http://127.0.0.1:8080")
// authenticating as the terminal whose API key is keyID and secret. hc may be nil: a
// client with a 90 s timeout, longer than the longest wait the service grants (60 s),
// so a request lost on the network does not hang the till for ever. A client of your
// own needs a Timeout above the longest wait you ask for, too.
func NewClient(baseURL, keyID, secret string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	return &Client{
		base: strings.TrimRight(baseURL, "/"), keyID: keyID, secret: secret, hc: hc,
		Retries: 2, RetryDelay: 300 * time.Millisecond, MaxRetryAfter: 10 * time.Second,
	}
}

// DefaultTimeout bounds each request of a client made with a nil *http.Client.
const DefaultTimeout = 90 * time.Second

// authorize sets the Authorization header of one attempt.
type authorize func(req *http.Request, body []byte)

func bearer(token string) authorize {
	return func(req *http.Request, _ []byte) { req.Header.Set("Authorization", "Bearer "+token) }
}

func (c *Client) authorize() authorize {
	auth := bearer(c.keyID + "." + c.secret)
	if c.SignRequests {
		auth = func(req *http.Request, body []byte) {
			SignRequest(req, body, c.keyID, c.secret, time.Now(), NewNonce())
		}
	}
	if c.AcceptLanguage == "" {
		return auth
	}
	return func(req *http.Request, body []byte) {
		req.Header.Set("Accept-Language", c.AcceptLanguage) // not signed: it changes only the wording
		auth(req, body)
	}
}

// NewIdempotencyKey returns a fresh random key (128 bits, hex).
func NewIdempotencyKey() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("client: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// meta is what an answer says besides its body: whether it came from the service's
// idempotency store (a repeated request) rather than a fresh execution, and how long
// its Retry-After header asks to wait (hasRetryAfter when it had one).
type meta struct {
	replayed      bool
	retryAfter    time.Duration
	hasRetryAfter bool
}

// retryPolicy is how do retries: how often, the first pause (doubled each time,
// jittered), and the cap on a Retry-After wait.
type retryPolicy struct {
	retries  int
	delay    time.Duration
	maxAfter time.Duration
}

// pause is the wait before retry number attempt+1: the service's Retry-After when it
// sent one (capped), else delay·2^attempt drawn from [½, 1½) of it.
func (p retryPolicy) pause(attempt int, m meta) time.Duration {
	if m.hasRetryAfter {
		return min(m.retryAfter, p.maxAfter)
	}
	d := p.delay << attempt
	if d <= 0 {
		return 0
	}
	return d/2 + mrand.N(d)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// do sends one logical request, retrying it with the same Idempotency-Key.
func do(ctx context.Context, hc *http.Client, auth authorize, method, u, key string, in, out any, policy retryPolicy) (meta, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return meta{}, err
		}
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		m, err, retry := once(ctx, hc, auth, method, u, key, body, out)
		if err == nil || !retry || attempt >= policy.retries {
			return m, err
		}
		lastErr = err
		t := time.NewTimer(policy.pause(attempt, m))
		select {
		case <-ctx.Done():
			t.Stop()
			return meta{}, fmt.Errorf("%w (last error: %v)", ctx.Err(), lastErr)
		case <-t.C:
		}
	}
}

func once(ctx context.Context, hc *http.Client, auth authorize, method, u, key string, body []byte, out any) (meta, error, bool) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return meta{}, err, false
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	auth(req, body) // last: a signature covers the Idempotency-Key
	res, err := hc.Do(req)
	if err != nil {
		// The request may or may not have reached the service: retrying with the same
		// key is exactly what the key is for.
		return meta{}, err, ctx.Err() == nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return meta{}, err, ctx.Err() == nil
	}
	m := meta{replayed: res.Header.Get("Idempotent-Replayed") == "true"}
	m.retryAfter, m.hasRetryAfter = parseRetryAfter(res.Header.Get("Retry-After"), time.Now())
	if res.StatusCode >= 300 {
		var eb struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		e := &Error{Status: res.StatusCode}
		if json.Unmarshal(b, &eb) == nil && eb.Error.Code != "" {
			e.Code, e.Message = eb.Error.Code, eb.Error.Message
		} else {
			e.Code, e.Message = EINTERNAL, fmt.Sprintf("unexpected answer: %.200s", b)
		}
		retry := res.StatusCode >= 500 || (res.StatusCode == http.StatusConflict && res.Header.Get("Retry-After") != "")
		return m, e, retry
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return m, fmt.Errorf("client: decoding the answer: %w", err), false
		}
	}
	return m, nil, false
}

func (c *Client) post(ctx context.Context, path, key string, in, out any) error {
	if key == "" {
		key = NewIdempotencyKey()
	}
	_, err := do(ctx, c.hc, c.authorize(), http.MethodPost, c.base+path, key, in, out, c.policy())
	return err
}

func (c *Client) policy() retryPolicy {
	return retryPolicy{retries: c.Retries, delay: c.RetryDelay, maxAfter: c.MaxRetryAfter}
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	_, err := do(ctx, c.hc, c.authorize(), http.MethodGet, c.base+path, "", nil, out, c.policy())
	return err
}

func esc(s string) string { return url.PathEscape(s) }
