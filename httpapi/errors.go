package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/f2fpay/f2fpay"
)

// errorBody is the JSON shape of every error answer:
// {"error": {"code": "invalid", "message": "amount: ...", "request_id": "..."}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// OutTradeNo and StatusURL name the payment a terminal's 409 is about (in
	// progress, number already used), so the terminal asks for its state instead of
	// charging the buyer again.
	OutTradeNo string `json:"out_trade_no,omitempty"`
	StatusURL  string `json:"status_url,omitempty"`
	// RequestID is the request's id (also its X-Request-Id answer header), for the
	// operator to find the request in the log. A replayed answer (Idempotency-Key)
	// carries the id of the request that made it.
	RequestID string `json:"request_id,omitempty"`
}

// statusError carries an explicit status for the few answers whose status the code
// alone does not decide (422 for a reused Idempotency-Key, 413 for an oversized body).
type statusError struct {
	status int
	err    *f2fpay.Error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

func withStatus(status int, code, format string, args ...any) error {
	return &statusError{status: status, err: f2fpay.Errorf(code, format, args...)}
}

// statusOf maps an error code to its HTTP status. This is the only place in f2fpay
// where that happens.
func statusOf(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	switch f2fpay.ErrorCode(err) {
	case f2fpay.EINVALID:
		return http.StatusBadRequest
	case f2fpay.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case f2fpay.ENOTFOUND:
		return http.StatusNotFound
	case f2fpay.ECONFLICT:
		return http.StatusConflict
	case f2fpay.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case f2fpay.ENOTIMPLEMENTED:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// handlerFunc is an endpoint: it answers with writeJSON (or writes its own answer)
// and returns nil, or returns an error without having written anything, which
// serveErrors answers. Endpoints never write an error answer themselves.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// serveErrors adapts h to net/http: the error h returns is answered by writeError,
// so an endpoint's error exit is a plain return and its status is decided here.
func (s *Server) serveErrors(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, s.log, err)
		}
	}
}

// writeError answers err as JSON. Internal errors are logged with their detail and
// answered with a generic message, so nothing about the database or a key leaks.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := statusOf(err)
	code := f2fpay.ErrorCode(err)
	msg := f2fpay.ErrorMessage(err)
	if code == f2fpay.EINTERNAL {
		log.ErrorContext(r.Context(), "internal error", append(logAttrs(r), "err", err.Error())...)
		msg = "internal error; the details are in the service's log under this request_id, retry later or contact the operator with it"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="f2fpay"`)
		if strings.HasPrefix(r.URL.Path, "/v1/") { // terminals may also sign (signature.go)
			w.Header().Add("WWW-Authenticate", SignatureScheme+` realm="f2fpay"`)
		}
	}
	if status == http.StatusServiceUnavailable || (status == http.StatusConflict && isInProgress(err)) {
		w.Header().Set("Retry-After", "1")
	}
	if code != f2fpay.EINTERNAL && strings.HasPrefix(r.URL.Path, "/v1/") && requestLang(r) == langZH {
		// The cashier's language (i18n.go), for every error of the terminal API —
		// authentication, idempotency and body limits included, not only the
		// handlers'. The code, and so the status, stays.
		msg = zhMessage(code, msg)
	}
	detail := errorDetail{Code: code, Message: msg, RequestID: RequestID(r.Context())}
	if ri := infoOf(r.Context()); status == http.StatusConflict && ri.terminal != nil && ri.outTradeNo != "" {
		detail.OutTradeNo, detail.StatusURL = ri.outTradeNo, statusPath(ri.outTradeNo)
	}
	writeJSON(w, status, errorBody{Error: detail})
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
