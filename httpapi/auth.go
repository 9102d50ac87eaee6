package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/payment"
)

// reqInfo is what a request has learned about itself, for logs and metrics: the
// middleware puts an empty one in the context, authentication fills the terminal,
// handlers the order.
type reqInfo struct {
	requestID  string // requestid.go
	terminal   *f2fpay.Terminal
	outTradeNo string
	refundID   string
	admin      bool
	// requestKey identifies the terminal's request (its Idempotency-Key and body); the
	// engine stores it with the order it creates (f2fpay.Order.RequestKey).
	requestKey string
}

type reqInfoKey struct{}

func infoOf(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(reqInfoKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

func terminalOf(ctx context.Context) *f2fpay.Terminal { return infoOf(ctx).terminal }

// logAttrs are the ids a log line about r carries: terminal, order, refund — never a
// key, a secret or a body.
func logAttrs(r *http.Request) []any {
	ri := infoOf(r.Context())
	var a []any
	if ri.terminal != nil {
		a = append(a, "terminal_id", ri.terminal.ID, "merchant_id", ri.terminal.MerchantID)
	}
	if ri.outTradeNo != "" {
		a = append(a, "out_trade_no", ri.outTradeNo)
	}
	if ri.refundID != "" {
		a = append(a, "refund_id", ri.refundID)
	}
	if ri.admin {
		a = append(a, "admin", true)
	}
	return a
}

// HashSecret is how a terminal's API secret is stored for bearer tokens: its SHA-256.
// The secret is 32 random bytes, so a plain hash is enough (no password stretching is
// needed for a value that cannot be guessed). Signed requests need the secret itself,
// which is kept sealed beside the hash (f2fpay.Terminal.SigningSecret).
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// dummyHash is compared against when the key id is unknown, so an unknown key and a
// wrong secret take the same time.
var dummyHash = HashSecret("f2fpay: no such terminal key")

// terminalAuth authenticates a terminal by either scheme — "Authorization: Bearer
// <key_id>.<secret>" against the terminal's stored hash, or a request signed with the
// secret (signature.go) — and refuses disabled terminals.
func (s *Server) terminalAuth(next http.HandlerFunc) http.HandlerFunc {
	return s.serveErrors(func(w http.ResponseWriter, r *http.Request) error {
		t, err := s.authenticateTerminal(w, r)
		if err != nil {
			return err
		}
		infoOf(r.Context()).terminal = t
		// The engine finds orders by number within the terminal's merchant: one
		// service provider's app serves several merchants (docs/orders.md).
		next(w, r.WithContext(payment.ForMerchant(r.Context(), t.MerchantID)))
		return nil
	})
}

func (s *Server) authenticateTerminal(w http.ResponseWriter, r *http.Request) (*f2fpay.Terminal, error) {
	if scheme, params, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, SignatureScheme) {
		return s.authenticateSigned(w, r, params)
	}
	token, ok := bearer(r)
	if !ok {
		return nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "missing credentials; send the header Authorization: Bearer <key_id>.<secret> with the terminal's API key, or sign the request (Authorization: %s ..., see docs/api.md)", SignatureScheme)
	}
	keyID, sec, ok := strings.Cut(token, ".")
	if !ok || keyID == "" || sec == "" {
		return nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "malformed API key; send Authorization: Bearer <key_id>.<secret>, the key id and secret joined by a dot, as shown when the terminal was created")
	}
	t, err := s.store.FindTerminalByKeyID(r.Context(), keyID)
	switch f2fpay.ErrorCode(err) {
	case "":
	case f2fpay.ENOTFOUND:
		subtle.ConstantTimeCompare(HashSecret(sec), dummyHash)
		return nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "API key not recognised; check the key id and secret, or ask the operator for a new key")
	default:
		return nil, err
	}
	if subtle.ConstantTimeCompare(HashSecret(sec), t.KeyHash) != 1 {
		s.log.WarnContext(r.Context(), "terminal authentication failed", "terminal_id", t.ID, "key_id", keyID)
		return nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "API key not recognised; check the key id and secret, or ask the operator for a new key")
	}
	if t.Disabled {
		return nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "terminal %q is disabled; ask the operator to enable it", t.Code)
	}
	if t.SignedOnly {
		// Checked after the secret, so only the key's holder learns the terminal's
		// settings.
		s.log.WarnContext(r.Context(), "bearer token refused: the terminal accepts only signed requests", "terminal_id", t.ID, "key_id", keyID)
		return nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "terminal %q accepts only signed requests: sign each request with the key (Authorization: %s key_id=...,ts=...,nonce=...,sig=..., see docs/api.md; the Go client does with SignRequests) instead of sending it as a bearer token", t.Code, SignatureScheme)
	}
	return t, nil
}

// adminAuth checks the admin token with a constant-time compare. An empty configured
// token disables the admin API entirely rather than accepting an empty header.
func (s *Server) adminAuth(next http.HandlerFunc) http.HandlerFunc {
	return s.serveErrors(func(w http.ResponseWriter, r *http.Request) error {
		token, ok := bearer(r)
		if len(s.admin) == 0 {
			return f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "the admin API is disabled: the service was started without an admin token")
		}
		if !ok || subtle.ConstantTimeCompare([]byte(token), s.admin) != 1 {
			return f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "admin token missing or wrong; send Authorization: Bearer <admin token>")
		}
		infoOf(r.Context()).admin = true
		next(w, r)
		return nil
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func withInfo(ctx context.Context, ri *reqInfo) context.Context {
	return context.WithValue(ctx, reqInfoKey{}, ri)
}
