package httpapi

import (
	"net/http"
	"time"
)

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe counts, times and logs every request under its route pattern (not its
// path, which would give one time series per order), and gives it a reqInfo for the
// ids the log line carries, starting with the request id (requestid.go).
func (s *Server) observe(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &reqInfo{requestID: requestID(r)}
		w.Header().Set(HeaderRequestID, ri.requestID)
		r = r.WithContext(withInfo(r.Context(), ri))
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		d := time.Since(start)
		s.metrics.observe(route, rec.status, d, isLongPoll(route, r))
		if route == "GET /metrics" || route == "GET /healthz" || route == "GET /readyz" {
			return
		}
		attrs := append([]any{"method", r.Method, "route", route, "status", rec.status, "duration", d}, logAttrs(r)...)
		s.log.InfoContext(r.Context(), "http request", attrs...)
	})
}

// isLongPoll tells a long-poll (a GET of a payment or a sale with wait > 0), whose
// duration is the buyer's, not the service's, from a request measured as latency.
func isLongPoll(route string, r *http.Request) bool {
	if route != "GET /v1/payments/{out_trade_no}" && route != "GET /v1/sales/{id}" {
		return false
	}
	w := r.URL.Query().Get("wait")
	return w != "" && w != "0" && w != "0s"
}
