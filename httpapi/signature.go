package httpapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Signed terminal requests: the second way for a terminal to authenticate, for
// devices whose traffic may be seen (a vending machine on a shared network, a proxy
// that logs headers). The secret never travels; each request carries
//
//	Authorization: F2FPAY-HMAC-SHA256 key_id=<key id>,ts=<unix seconds>,nonce=<nonce>,sig=<hex>
//
// where sig is HMAC-SHA256, keyed with the terminal's API secret, over the lines
//
//	F2FPAY-HMAC-SHA256
//	<method>
//	<path and query, as sent>
//	<ts>
//	<nonce>
//	<Idempotency-Key header, or empty>
//	<hex SHA-256 of the body>
//
// joined by "\n". A request is refused when its timestamp is more than
// SignatureWindow away from the service's clock, or when its nonce was seen within
// that window — a captured request cannot be sent again.
//
// The nonces are remembered per instance, in memory. Behind a load balancer a copy
// sent to another instance within the window gets through authentication, and that
// is why the Idempotency-Key is signed: every POST needs one, so such a copy can only
// be the same operation under the same key, which gets the stored answer of the first
// and runs nothing again; a copied GET reads what the original already showed. Keeping
// the nonces in the database would stop those copies too, at the price of a write on
// every request, reads included; the idempotency store already holds what matters.
//
// Package client signs (client.SignRequest) with its own copy of StringToSign, as any
// terminal would: both are tested against the worked example in docs/api.md.
const (
	SignatureScheme = "F2FPAY-HMAC-SHA256"
	// SignatureWindow is how far a signed request's timestamp may be from the
	// service's clock, either way.
	SignatureWindow = 5 * time.Minute
)

// StringToSign is what a terminal signs: the lines listed at SignatureScheme.
// requestURI is the path and query as sent ("/v1/payments/T1?wait=30s").
func StringToSign(method, requestURI string, ts int64, nonce, idempotencyKey string, body []byte) string {
	sum := sha256.Sum256(body)
	return strings.Join([]string{SignatureScheme, method, requestURI, strconv.FormatInt(ts, 10), nonce, idempotencyKey,
		hex.EncodeToString(sum[:])}, "\n")
}

// Sign returns the hex HMAC-SHA256 of stringToSign under secret: the sig parameter.
func Sign(secret, stringToSign string) string { return hex.EncodeToString(mac(secret, stringToSign)) }

func mac(secret, stringToSign string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return m.Sum(nil)
}

// signedAuth is a parsed F2FPAY-HMAC-SHA256 Authorization header.
type signedAuth struct {
	keyID, nonce string
	ts           int64
	sig          []byte
}

const signatureUsage = "send Authorization: " + SignatureScheme + " key_id=<key id>,ts=<Unix time in seconds>,nonce=<16 to 64 random letters, digits, '-' or '_'>,sig=<HMAC-SHA256 as 64 hex digits>; docs/api.md shows what to sign"

func parseSignedAuth(params string) (*signedAuth, error) {
	bad := func(format string, args ...any) error {
		return f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "malformed %s credentials: %s; %s", SignatureScheme, fmt.Sprintf(format, args...), signatureUsage)
	}
	seen := map[string]string{}
	for _, part := range strings.Split(params, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k == "" {
			return nil, bad("%q is not name=value", strings.TrimSpace(part))
		}
		switch k {
		case "key_id", "ts", "nonce", "sig":
		default:
			return nil, bad("unknown parameter %q", k)
		}
		if _, dup := seen[k]; dup {
			return nil, bad("%s is given twice", k)
		}
		seen[k] = v
	}
	for _, k := range []string{"key_id", "ts", "nonce", "sig"} {
		if seen[k] == "" {
			return nil, bad("%s is missing", k)
		}
	}
	a := &signedAuth{keyID: seen["key_id"], nonce: seen["nonce"]}
	ts, err := strconv.ParseInt(seen["ts"], 10, 64)
	if err != nil || ts <= 0 {
		return nil, bad("ts %q is not a Unix time in seconds", seen["ts"])
	}
	a.ts = ts
	if n := len(a.nonce); n < 16 || n > 64 || strings.IndexFunc(a.nonce, func(c rune) bool {
		return !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_')
	}) >= 0 {
		return nil, bad("nonce must be 16 to 64 letters, digits, '-' or '_', new for every request (e.g. 16 random bytes in hex)")
	}
	if a.sig, err = hex.DecodeString(seen["sig"]); err != nil || len(a.sig) != sha256.Size {
		return nil, bad("sig must be the HMAC-SHA256 as 64 hex digits")
	}
	return a, nil
}

// authenticateSigned checks a signed request: the timestamp, the terminal's key and
// signing secret, the signature over the request as received, the nonce, and last
// whether the terminal is enabled (so that an unsigned request learns nothing about
// it). The body is read here, bounded like every body, and put back for the handler.
func (s *Server) authenticateSigned(w http.ResponseWriter, r *http.Request, params string) (*f2fpay.Terminal, error) {
	a, err := parseSignedAuth(params)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if d := now.Sub(time.Unix(a.ts, 0)); d > SignatureWindow || d < -SignatureWindow {
		dir := "behind"
		if d < 0 {
			dir, d = "ahead of", -d
		}
		return nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "ts %d is %s %s the service's clock (now %d); a signed request must be sent within %s of its timestamp: check the terminal's clock (NTP), and sign each attempt anew",
			a.ts, d.Round(time.Second), dir, now.Unix(), SignatureWindow)
	}
	t, err := s.store.FindTerminalByKeyID(r.Context(), a.keyID)
	switch f2fpay.ErrorCode(err) {
	case "":
	case f2fpay.ENOTFOUND:
		return nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "API key not recognised; check the key id and secret, or ask the operator for a new key")
	default:
		return nil, err
	}
	if t.SigningSecret == "" {
		return nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "terminal %q cannot sign requests: its key was made before signed requests existed or without a master key; send it as Authorization: Bearer <key_id>.<secret>, or ask the operator to rotate the key (POST /admin/terminals/%d/rotate-key)", t.Code, t.ID)
	}
	if s.box == nil {
		return nil, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "the service has no master key configured, so it cannot check signed requests; send the key as Authorization: Bearer <key_id>.<secret>")
	}
	sec, err := s.box.Open(t.SigningSecret, f2fpay.TerminalSigningPurpose(t.KeyID))
	if err != nil {
		return nil, fmt.Errorf("terminal %d: opening the signing secret: %w", t.ID, err)
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sts := StringToSign(r.Method, r.URL.RequestURI(), a.ts, a.nonce, r.Header.Get("Idempotency-Key"), body)
	if !hmac.Equal(mac(sec, sts), a.sig) {
		s.log.WarnContext(r.Context(), "terminal signature mismatch", "terminal_id", t.ID, "key_id", t.KeyID)
		return nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "signature does not match: sign with the terminal's API secret, over exactly the request sent (method, path and query, Idempotency-Key, body); the service computed it over %q", sts)
	}
	switch s.nonces.add(a.keyID+"\x00"+a.nonce, time.Unix(a.ts, 0).Add(SignatureWindow), now) {
	case nonceReplayed:
		return nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "nonce %q was already used within the last %s: this request was sent before; make a new nonce (and signature) for every request, retries included", a.nonce, SignatureWindow)
	case nonceFull:
		return nil, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "too many signed requests in the last %s for this instance to remember their nonces; retry in a moment", SignatureWindow)
	}
	if t.Disabled {
		return nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "terminal %q is disabled; ask the operator to enable it", t.Code)
	}
	return t, nil
}

// nonceCache remembers the nonces of signed requests until their timestamps leave the
// window, when the timestamp check refuses a copy anyway. It is bounded: when full of
// nonces still in their window it refuses new ones (fail closed) rather than forget
// one early and let its request be replayed. Entries are grouped by expiry in
// buckets of nonceBucket, so forgetting is dropping whole buckets.
type nonceCache struct {
	mu      sync.Mutex
	max     int
	seen    map[string]int64   // nonce → its bucket
	buckets map[int64][]string // bucket → its nonces
}

const nonceBucket = 30 * time.Second

type nonceResult int

const (
	nonceFresh nonceResult = iota
	nonceReplayed
	nonceFull
)

func newNonceCache(max int) *nonceCache {
	return &nonceCache{max: max, seen: map[string]int64{}, buckets: map[int64][]string{}}
}

// add records nonce, needed until expires, unless it is known already.
func (c *nonceCache) add(nonce string, expires, now time.Time) nonceResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A bucket is dropped once its end has passed: every nonce in it has expired.
	for b, list := range c.buckets {
		if time.Unix(0, b).Add(nonceBucket).Before(now) {
			for _, n := range list {
				delete(c.seen, n)
			}
			delete(c.buckets, b)
		}
	}
	if _, ok := c.seen[nonce]; ok {
		return nonceReplayed
	}
	if len(c.seen) >= c.max {
		return nonceFull
	}
	b := expires.Truncate(nonceBucket).UnixNano()
	c.seen[nonce] = b
	c.buckets[b] = append(c.buckets[b], nonce)
	return nonceFresh
}

func (c *nonceCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
