package httpapi

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/f2fpay/f2fpay"
)

// NotificationHandler applies Alipay's asynchronous notifications.
type NotificationHandler interface {
	HandleNotification(ctx context.Context, appID string, body []byte) error
}

// maxNotifyBytes bounds a notification body: real ones are a few KiB (fund_bill_list,
// voucher_detail_list included).
const maxNotifyBytes = 64 << 10

// postNotify receives POST /alipay/notify/{app_id}. Alipay reads exactly "success" as
// the acknowledgement and retries on anything else (8 times over 25 hours), so
// "success" is written only when the engine has verified and committed the
// notification; every refusal is logged and answered "fail", so a notification that
// failed for a transient reason (database busy) comes again.
func (s *Server) postNotify(w http.ResponseWriter, r *http.Request) {
	appID := r.PathValue("app_id")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxNotifyBytes))
	if err != nil {
		s.log.WarnContext(r.Context(), "notification unreadable", "app_id", appID, "err", err.Error())
		s.metrics.notification.WithLabelValues("fail").Inc()
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "fail")
		return
	}
	// The commit must not be cut short by Alipay hanging up: a committed change answered
	// "fail" is harmless (it is re-applied as a snapshot), a half-done one is not.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 15*time.Second)
	defer cancel()
	if err := s.engine.HandleNotification(ctx, appID, body); err != nil {
		code := f2fpay.ErrorCode(err)
		level := s.log.WarnContext
		if code == f2fpay.EINTERNAL || code == f2fpay.EUNAVAILABLE {
			level = s.log.ErrorContext
		}
		level(r.Context(), "notification refused", "app_id", appID, "code", code, "err", err.Error())
		s.metrics.notification.WithLabelValues("fail").Inc()
		w.WriteHeader(statusOf(err))
		io.WriteString(w, "fail")
		return
	}
	s.metrics.notification.WithLabelValues("success").Inc()
	io.WriteString(w, "success")
}
