package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/f2fpay/f2fpay"
)

// healthz says the process is alive and serving; it touches nothing else, so a slow
// database does not get a healthy process restarted.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// Drain makes /readyz answer 503 "draining" from now on, so that a load balancer
// stops sending terminals here before the process stops accepting connections.
// Everything else is served as before; the caller shuts the server down afterwards.
func (s *Server) Drain() { s.draining.Store(true) }

// readyz says whether the service can take payments: it is not draining and the
// database answers. A load balancer stops sending terminals here while it does not.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		return f2fpay.Errorf(f2fpay.EUNAVAILABLE, "draining: this instance is shutting down")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.WarnContext(r.Context(), "readiness check failed", "err", err.Error())
		return f2fpay.Errorf(f2fpay.EUNAVAILABLE, "database not reachable")
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}
