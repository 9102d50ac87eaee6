package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
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
//     network retries safely;
//   - the same key with anything else is refused with 422: the terminal has a bug, and
//     guessing which request it meant could charge a buyer for the wrong amount;
//   - a duplicate that arrives while the first is still running waits for its answer
//     (up to IdempotencyWait), then gets 409 "in progress, retry" — BeginIdempotent
//     lets exactly one of concurrent duplicates run, so a storm never makes two calls.
//
// Answers with status 5xx or 409 are not stored: they say "try again" (the database
// or Alipay was unavailable, or the order was busy), and a retry with the same key must
// be able to run. That is safe because a retried payment without out_trade_no gets the
// same out_trade_no (derived from the key), and the engine never pays one out_trade_no
// twice.

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

var errInProgress = f2fpay.Errorf(f2fpay.ECONFLICT, "a request with this Idempotency-Key is still in progress; retry in a moment with the same key and body to get its answer")

func isInProgress(err error) bool { return errors.Is(err, errInProgress) }

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
	return func(w http.ResponseWriter, r *http.Request) {
		t := terminalOf(r.Context())
		key := r.Header.Get("Idempotency-Key")
		if err := checkIdempotencyKey(key); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		body, err := s.readBody(w, r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		rec := &f2fpay.IdempotencyRecord{
			TerminalID:  t.ID,
			Key:         key,
			RequestHash: requestHash(r.Method, r.URL.Path, body),
			CreatedAt:   s.clock.Now(),
		}
		ik := inflightKey{t.ID, key}
		ctx := r.Context()
		deadline := time.Now().Add(s.idemWait)
		tookOver := false
		for {
			stored, fresh, err := s.store.BeginIdempotent(ctx, rec)
			if err != nil {
				writeError(w, r, s.log, err)
				return
			}
			if fresh {
				s.runIdempotent(w, r, next, rec, ik, body)
				return
			}
			if stored.RequestHash != rec.RequestHash {
				writeError(w, r, s.log, withStatus(http.StatusUnprocessableEntity, f2fpay.EINVALID,
					"Idempotency-Key %q was already used for a different request (another body, endpoint or amount); send a new Idempotency-Key for a new operation, or resend exactly the original request", key))
				return
			}
			if stored.Done {
				replay(w, stored)
				return
			}
			// In progress: the request that holds the key died with its process, or is
			// still running here or on another instance.
			if !tookOver && s.clock.Now().Sub(stored.CreatedAt) > s.idemStale {
				tookOver = true
				s.log.WarnContext(ctx, "taking over a stale idempotency key", append(logAttrs(r), "age", s.clock.Now().Sub(stored.CreatedAt))...)
				if err := s.store.DeleteIdempotent(ctx, t.ID, key); err != nil {
					writeError(w, r, s.log, err)
					return
				}
				continue
			}
			wait := time.Until(deadline)
			if wait <= 0 {
				writeError(w, r, s.log, errInProgress)
				return
			}
			poll := time.NewTimer(min(wait, 100*time.Millisecond))
			select {
			case <-ctx.Done():
				poll.Stop()
				writeError(w, r, s.log, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "request cancelled while waiting for the earlier request with the same Idempotency-Key; retry with the same key"))
				return
			case <-s.inflight.wait(ik):
				poll.Stop()
			case <-poll.C:
			}
		}
	}
}

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
			// terminal must retry with the same key.
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

func replay(w http.ResponseWriter, rec *f2fpay.IdempotencyRecord) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("Content-Length", strconv.Itoa(len(rec.Response)))
	w.WriteHeader(rec.Status)
	w.Write(rec.Response)
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
