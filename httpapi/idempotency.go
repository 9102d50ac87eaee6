package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Idempotency-Key semantics of the terminal API (every POST):
//
//   - the first request with a key runs; its answer is stored with the key;
//   - the same key with the same method, path and body gets the stored answer again,
//     marked "Idempotent-Replayed: true" — a terminal that lost the answer on a weak
//     network retries safely. A stored payment or refund answer that was not final
//     ("still waiting") is answered with the payment's state as it is now: a retry
//     always gets the truth, never a stale "waiting";
//   - the same key with anything else is refused with 422: the terminal has a bug, and
//     guessing which request it meant could charge a buyer for the wrong amount;
//   - a duplicate that arrives while the first is still running waits for its answer
//     (up to IdempotencyWait), then gets 409 "in progress, retry" naming the payment
//     and its status URL — BeginIdempotent lets exactly one of concurrent duplicates
//     run, so a storm never makes two calls;
//   - a key held by a request whose process died (its instance stopped beating,
//     InstanceLease) is taken over by the next retry at once: the retry runs again,
//     meets the order its first run made (same out_trade_no and request key) and
//     answers that order's real state, resolving it with Alipay first when it was left
//     unresolved (docs/api.md, "Retries").
//
// Answers with status 5xx or 409 are not stored: they say "try again" (the database
// or Alipay was unavailable, or the order was busy), and a retry with the same key must
// be able to run. That is safe because a retried payment gets the same out_trade_no
// (the terminal's, or one derived from the key) and the same request key, and the
// engine never pays one out_trade_no twice.

const maxKeyLen = 255

type inflightKey struct {
	terminal int64
	key      string
}

// inflight wakes the duplicates waiting in this process as soon as the first request
// finishes; duplicates on another instance notice by polling the store.
type inflight struct {
	mu sync.Mutex
	m  map[inflightKey]chan struct{}
}

func newInflight() *inflight { return &inflight{m: map[inflightKey]chan struct{}{}} }

func (f *inflight) start(k inflightKey) func() {
	ch := make(chan struct{})
	f.mu.Lock()
	f.m[k] = ch
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		if f.m[k] == ch {
			delete(f.m, k)
		}
		f.mu.Unlock()
		close(ch)
	}
}

func (f *inflight) wait(k inflightKey) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m[k] // nil (blocks forever) when another instance runs it
}

// inProgressError is the 409 of a duplicate whose first request is still running.
type inProgressError struct{ err *f2fpay.Error }

func (e inProgressError) Error() string { return e.err.Error() }
func (e inProgressError) Unwrap() error { return e.err }

func errInProgress(outTradeNo string) error {
	msg := "a request with this Idempotency-Key is still in progress; retry in a moment with the same key and body to get its answer"
	if outTradeNo != "" {
		msg = fmt.Sprintf("a request with this Idempotency-Key is still in progress for payment %s; do not charge the buyer again: "+
			"retry in a moment with the same key and body, or ask GET %s for the payment's state", outTradeNo, statusPath(outTradeNo))
	}
	return inProgressError{f2fpay.Errorf(f2fpay.ECONFLICT, "%s", msg)}
}

func isInProgress(err error) bool {
	var e inProgressError
	return errors.As(err, &e)
}

// statusPath is where a terminal asks for a payment's state.
func statusPath(outTradeNo string) string { return "/v1/payments/" + url.PathEscape(outTradeNo) }

// requestKeyOf identifies a terminal's request by its Idempotency-Key and body (the
// terminal is implied: orders are looked up within its app). The engine keeps it with
// the order the request creates (f2fpay.Order.RequestKey).
func requestKeyOf(key, hash string) string {
	h := sha256.Sum256([]byte(key + "\x00" + hash))
	return hex.EncodeToString(h[:16])
}

// orderNamed is the payment a terminal POST concerns, known before its handler runs:
// the path's out_trade_no, else the body's, else the one derived from the key. It lets
// an "in progress" answer tell the terminal which payment to ask about.
func orderNamed(r *http.Request, t *f2fpay.Terminal, key string, body []byte) string {
	if no := r.PathValue("out_trade_no"); no != "" {
		return no
	}
	var b struct {
		OutTradeNo string `json:"out_trade_no"`
	}
	if json.Unmarshal(body, &b) == nil && b.OutTradeNo != "" {
		return b.OutTradeNo
	}
	return outTradeNoFor(t, key)
}

// requestHash identifies a request for Idempotency-Key comparison.
func requestHash(method, path string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func checkIdempotencyKey(key string) error {
	if key == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "header Idempotency-Key is required on every POST: send a new unique value (e.g. a UUID) for each operation, and the same value when retrying it")
	}
	if len(key) > maxKeyLen {
		return f2fpay.Errorf(f2fpay.EINVALID, "header Idempotency-Key is %d characters long; at most %d are allowed", len(key), maxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return f2fpay.Errorf(f2fpay.EINVALID, "header Idempotency-Key contains a space or non-ASCII character at position %d; use printable ASCII such as a UUID", i)
		}
	}
	return nil
}

// idempotent wraps a terminal POST handler with Idempotency-Key semantics.
func (s *Server) idempotent(next http.HandlerFunc) http.HandlerFunc {
	return s.serveErrors(func(w http.ResponseWriter, r *http.Request) error {
		t := terminalOf(r.Context())
		key := r.Header.Get("Idempotency-Key")
		if err := checkIdempotencyKey(key); err != nil {
			return err
		}
		body, err := s.readBody(w, r)
		if err != nil {
			return err
		}
		rec := &f2fpay.IdempotencyRecord{
			TerminalID:  t.ID,
			Key:         key,
			RequestHash: requestHash(r.Method, r.URL.Path, body),
			CreatedAt:   s.clock.Now(),
			Owner:       s.instance,
		}
		ri := infoOf(r.Context())
		ri.requestKey = requestKeyOf(key, rec.RequestHash)
		named := orderNamed(r, t, key, body)
		ik := inflightKey{t.ID, key}
		ctx := r.Context()
		deadline := time.Now().Add(s.idemWait)
		for {
			stored, fresh, err := s.store.BeginIdempotent(ctx, rec)
			if err != nil {
				return err
			}
			if fresh {
				s.runIdempotent(w, r, next, rec, ik, body)
				return nil
			}
			if stored.RequestHash != rec.RequestHash {
				return withStatus(http.StatusUnprocessableEntity, f2fpay.EINVALID,
					"Idempotency-Key %q was already used for a different request (another body, endpoint or amount); send a new Idempotency-Key for a new operation, or resend exactly the original request", key)
			}
			if stored.Done {
				s.replay(w, r, stored)
				return nil
			}
			// In progress: still running here or on another instance, or its process
			// died. A dead holder's key is taken over at once.
			if s.abandoned(ctx, stored) {
				took, err := s.store.TakeOverIdempotent(ctx, rec, stored.Owner)
				if err != nil && f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
					return err
				}
				if took {
					s.log.WarnContext(ctx, "took over an idempotency key whose instance stopped", append(logAttrs(r), "instance", stored.Owner, "age", s.clock.Now().Sub(stored.CreatedAt))...)
					s.runIdempotent(w, r, next, rec, ik, body)
					return nil
				}
				continue // another retry took it, or it ended meanwhile: look again
			}
			wait := time.Until(deadline)
			if wait <= 0 {
				ri.outTradeNo = named
				return errInProgress(named)
			}
			poll := time.NewTimer(min(wait, 100*time.Millisecond))
			select {
			case <-ctx.Done():
				poll.Stop()
				return f2fpay.Errorf(f2fpay.EUNAVAILABLE, "request cancelled while waiting for the earlier request with the same Idempotency-Key; retry with the same key")
			case <-s.inflight.wait(ik):
				poll.Stop()
			case <-poll.C:
			}
		}
	})
}

// abandoned reports whether an in-progress record's request died with its process:
// its instance has not beaten for InstanceLease (counting from the record's start, so
// an instance that has not beaten yet is not taken for dead). A record of this
// instance is running here. A record that names no instance (written before records
// did) is abandoned after IdempotencyStale.
func (s *Server) abandoned(ctx context.Context, rec *f2fpay.IdempotencyRecord) bool {
	now := s.clock.Now()
	switch rec.Owner {
	case s.instance:
		return false
	case "":
		return now.Sub(rec.CreatedAt) > s.idemStale
	}
	seen, err := s.store.InstanceSeen(ctx, rec.Owner)
	if err != nil {
		s.log.ErrorContext(ctx, "reading an instance's heartbeat", "instance", rec.Owner, "err", err.Error())
		return false
	}
	if seen.Before(rec.CreatedAt) {
		seen = rec.CreatedAt
	}
	return now.Sub(seen) > s.lease
}

// RunHeartbeat records this instance's heartbeat every InstanceLease/5 until ctx
// ends, so other instances (and this one after a restart, under a new name) can tell
// its requests from those of a dead process. serve runs it.
func (s *Server) RunHeartbeat(ctx context.Context) {
	t := time.NewTicker(s.lease / 5)
	defer t.Stop()
	for {
		if err := s.store.BeatInstance(ctx, s.instance, s.clock.Now()); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "recording the instance's heartbeat", "instance", s.instance, "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Instance returns the name this server's requests hold Idempotency-Keys under.
func (s *Server) Instance() string { return s.instance }

func (s *Server) runIdempotent(w http.ResponseWriter, r *http.Request, next http.HandlerFunc, rec *f2fpay.IdempotencyRecord, ik inflightKey, body []byte) {
	done := s.inflight.start(ik)
	defer done()
	// The answer is recorded even when the terminal hung up: its retry must find it.
	bg := context.WithoutCancel(r.Context())
	buf := &bufferedResponse{header: http.Header{}}
	completed := false
	defer func() {
		if !completed {
			// A panic: forget the key so a retry can run (the panic propagates).
			s.store.DeleteIdempotent(bg, rec.TerminalID, rec.Key)
		}
	}()
	r.Body = io.NopCloser(bytes.NewReader(body))
	next(buf, r)
	if buf.status == 0 {
		buf.status = http.StatusOK
	}
	if buf.status >= 500 || buf.status == http.StatusConflict {
		if err := s.store.DeleteIdempotent(bg, rec.TerminalID, rec.Key); err != nil {
			s.log.ErrorContext(r.Context(), "forgetting an idempotency key failed", append(logAttrs(r), "err", err.Error())...)
		}
	} else {
		rec.Done = true
		rec.Status = buf.status
		rec.Response = buf.body.Bytes()
		if err := s.store.CompleteIdempotent(bg, rec); err != nil {
			// The effect happened but its answer is not stored: say so rather than
			// answer, since a retry would run again (safely: same out_trade_no) — the
			// terminal must retry with the same key. Answered here, before the
			// duplicates waiting for this key are woken (done).
			completed = true
			s.store.DeleteIdempotent(bg, rec.TerminalID, rec.Key)
			writeError(w, r, s.log, err)
			return
		}
	}
	completed = true
	for k, v := range buf.header {
		w.Header()[k] = v
	}
	w.WriteHeader(buf.status)
	w.Write(buf.body.Bytes())
}

// replay answers a request with its stored answer. A payment or refund answer that
// was not final is answered with the state as it is now — the terminal asked again
// because it still wants to know, and the stored "waiting" may be long over.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, rec *f2fpay.IdempotencyRecord) {
	s.metrics.replays.WithLabelValues(r.Pattern).Inc()
	if rec.Status == http.StatusOK {
		if v, ok := s.current(r, rec.Response); ok {
			w.Header().Set("Idempotent-Replayed", "true")
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("Content-Length", strconv.Itoa(len(rec.Response)))
	w.WriteHeader(rec.Status)
	w.Write(rec.Response)
}

// current is the present view of a stored answer that was not final: the payment (or
// refund) it showed, read again. ok is false when the answer was final, is not a
// payment or refund, or cannot be read again (then the stored answer is replayed).
func (s *Server) current(r *http.Request, stored []byte) (any, bool) {
	var a struct {
		OutTradeNo string `json:"out_trade_no"`
		RefundID   string `json:"refund_id"`
		Final      *bool  `json:"final"`
	}
	if json.Unmarshal(stored, &a) != nil || a.Final == nil || *a.Final || a.OutTradeNo == "" {
		return nil, false
	}
	t := terminalOf(r.Context())
	o, err := s.findForTerminal(r.Context(), t, a.OutTradeNo)
	if err != nil || o.MerchantID != t.MerchantID || (o.TerminalID != t.ID && !s.seesAll(r.Context(), t)) {
		return nil, false
	}
	if a.RefundID == "" {
		return s.payment(r, o), true
	}
	rf, err := s.engine.RefundStatus(r.Context(), o.AppID, o.OutTradeNo, a.RefundID)
	if err != nil {
		return nil, false
	}
	return showRefund(a.RefundID, o, rf), true
}

// bufferedResponse holds a handler's answer until it is stored with its key.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// purgeBatch bounds one delete, so a sweep never holds the database's write lock for
// long however many records expired.
const purgeBatch = 1000

// PurgeIdempotency deletes the idempotency records older than the retention, at once
// and then every interval, until ctx ends. Several instances may run it together:
// deleting is idempotent.
func (s *Server) PurgeIdempotency(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.PurgeIdempotencyOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "purging idempotency records", "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PurgeIdempotencyOnce deletes every record older than the retention, a batch at a
// time, and returns how many.
func (s *Server) PurgeIdempotencyOnce(ctx context.Context) (int, error) {
	cut := s.clock.Now().Add(-s.idemKeep)
	total := 0
	for {
		n, err := s.store.PurgeIdempotent(ctx, cut, purgeBatch)
		total += n
		if err != nil || n < purgeBatch {
			if total > 0 {
				s.log.InfoContext(ctx, "idempotency records purged", "count", total, "older_than", cut)
			}
			return total, err
		}
	}
}

// randomName is 12 random hex digits, for an instance that was given no name.
func randomName() string {
	b := make([]byte, 6)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
