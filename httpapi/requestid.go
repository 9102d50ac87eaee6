package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
)

// Request ids let support follow one request: a terminal (or the proxy in front of
// the service) may send X-Request-Id; otherwise the service makes one. Either way it
// is echoed in the answer's X-Request-Id header, carried by every log line written
// with the request's context, and put in every error body as "request_id", so a
// cashier's "it failed" comes with something to search the log for.

// HeaderRequestID is the request id's header, read from the request and set on the answer.
const HeaderRequestID = "X-Request-Id"

// maxRequestIDLen bounds an X-Request-Id the service accepts; a longer one (or one
// with spaces or non-ASCII characters) is replaced by an id of the service's own.
const maxRequestIDLen = 128

// validRequestID reports whether id, sent by a client, may be used as it is: 1 to 128
// printable ASCII characters without spaces, so it can be logged and echoed safely.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '!' || id[i] > '~' {
			return false
		}
	}
	return true
}

// newRequestID makes a request id: 16 random bytes in hex.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// requestID returns r's id from X-Request-Id when valid, else a new one.
func requestID(r *http.Request) string {
	if id := r.Header.Get(HeaderRequestID); validRequestID(id) {
		return id
	}
	return newRequestID()
}

// RequestID returns the id of the request ctx belongs to ("" outside a request).
func RequestID(ctx context.Context) string {
	if ri, ok := ctx.Value(reqInfoKey{}).(*reqInfo); ok {
		return ri.requestID
	}
	return ""
}

// LogHandler wraps h so that every record logged with a request's context
// (InfoContext(r.Context(), …) and the like, here or in the engine) carries the
// request's id as "request_id". New wraps Config.Logger's handler with it; serve wraps
// the process's logger, so the engine's lines about a request carry it too.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{h}
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := RequestID(ctx); id != "" {
		rec.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
