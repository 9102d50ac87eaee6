package payment

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Policy is the retry schedule. The defaults are the official F2F demo's (5 queries 5 s
// apart, 3 cancel retries 2 s apart), followed by a slower, capped schedule that keeps
// a cancel going until Alipay answers it — the demo gives up after 3 retries and leaves
// the trade unresolved, which is the gap this engine closes.
type Policy struct {
	// QueryInterval separates trade.query calls while a barcode order is WAITING or
	// UNKNOWN.
	QueryInterval time.Duration
	// QueryAttempts × QueryInterval is the default time a buyer has to pay (the pay
	// window) when the terminal gives no deadline: the demo's 5 queries then cancel.
	QueryAttempts int
	// UnknownDelay is the wait before the first query after an unknown pay answer
	// (20000, timeout): long enough for Alipay to have finished what it received.
	UnknownDelay time.Duration
	// CancelInterval separates the first CancelRetries retries of trade.cancel after
	// retry_flag=Y or no answer.
	CancelInterval time.Duration
	CancelRetries  int
	// CancelBackoff is the schedule after those retries; its last entry repeats for as
	// long as Alipay does not answer the cancel.
	CancelBackoff []time.Duration
	// PendingInterval separates queries of QR and JSAPI orders waiting for the buyer
	// (notifications usually resolve them first).
	PendingInterval time.Duration
	// QRWindow is the default time a QR or JSAPI order waits for the buyer before it is
	// closed through Alipay.
	QRWindow time.Duration
	// MaxWindow bounds the deadline a terminal may choose.
	MaxWindow time.Duration
	// RefundBackoff schedules the resolution of refunds whose answer was unknown:
	// refund query, then the same trade.refund again (same out_request_no). The last
	// entry repeats.
	RefundBackoff []time.Duration
	// CallTimeout bounds one call to Alipay.
	CallTimeout time.Duration
	// Handover is how long after a step a request-driven order becomes due for the
	// janitor: if the request (or its process) stops driving it, the janitor takes
	// over that much later. It must exceed CallTimeout so the janitor never queries an
	// order whose trade.pay is still in flight.
	Handover time.Duration
}

// DefaultPolicy returns the defaults described on Policy's fields.
func DefaultPolicy() Policy {
	return Policy{
		QueryInterval:   5 * time.Second,
		QueryAttempts:   5,
		UnknownDelay:    time.Second,
		CancelInterval:  2 * time.Second,
		CancelRetries:   3,
		CancelBackoff:   []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute},
		PendingInterval: 10 * time.Second,
		QRWindow:        5 * time.Minute,
		MaxWindow:       15 * time.Minute,
		RefundBackoff:   []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute},
		CallTimeout:     15 * time.Second,
		Handover:        20 * time.Second,
	}
}

// withDefaults fills zero fields from DefaultPolicy and checks the result.
func (p Policy) withDefaults() (Policy, error) {
	d := DefaultPolicy()
	if p.QueryInterval <= 0 {
		p.QueryInterval = d.QueryInterval
	}
	if p.QueryAttempts <= 0 {
		p.QueryAttempts = d.QueryAttempts
	}
	if p.UnknownDelay <= 0 {
		p.UnknownDelay = d.UnknownDelay
	}
	if p.CancelInterval <= 0 {
		p.CancelInterval = d.CancelInterval
	}
	if p.CancelRetries < 0 {
		return p, errors.New("payment: Policy.CancelRetries must not be negative")
	}
	if p.CancelRetries == 0 {
		p.CancelRetries = d.CancelRetries
	}
	if len(p.CancelBackoff) == 0 {
		p.CancelBackoff = d.CancelBackoff
	}
	if p.PendingInterval <= 0 {
		p.PendingInterval = d.PendingInterval
	}
	if p.QRWindow <= 0 {
		p.QRWindow = d.QRWindow
	}
	if p.MaxWindow <= 0 {
		p.MaxWindow = d.MaxWindow
	}
	if len(p.RefundBackoff) == 0 {
		p.RefundBackoff = d.RefundBackoff
	}
	if p.CallTimeout <= 0 {
		p.CallTimeout = d.CallTimeout
	}
	if p.Handover <= 0 {
		p.Handover = p.CallTimeout + 5*time.Second
	}
	for _, b := range append(append([]time.Duration{}, p.CancelBackoff...), p.RefundBackoff...) {
		if b <= 0 {
			return p, errors.New("payment: Policy backoff entries must be positive durations")
		}
	}
	if p.Handover <= p.CallTimeout {
		return p, fmt.Errorf("payment: Policy.Handover (%v) must exceed CallTimeout (%v), or the janitor could query an order whose trade.pay is still in flight", p.Handover, p.CallTimeout)
	}
	return p, nil
}

// payWindow is the default time a barcode buyer has to pay.
func (p Policy) payWindow() time.Duration { return time.Duration(p.QueryAttempts) * p.QueryInterval }

// cancelDelay is the wait after the n-th unanswered cancel (n ≥ 1).
func (p Policy) cancelDelay(n int) time.Duration {
	if n <= p.CancelRetries {
		return p.CancelInterval
	}
	i := n - p.CancelRetries - 1
	if i >= len(p.CancelBackoff) {
		i = len(p.CancelBackoff) - 1
	}
	return p.CancelBackoff[i]
}

// refundDelay is the wait after the n-th unresolved refund attempt (n ≥ 1).
func (p Policy) refundDelay(n int) time.Duration {
	i := n - 1
	if i < 0 {
		i = 0
	}
	if i >= len(p.RefundBackoff) {
		i = len(p.RefundBackoff) - 1
	}
	return p.RefundBackoff[i]
}

// Metrics receives what the engine does; the HTTP/ops layer implements it with
// Prometheus. Implementations must be safe for concurrent use and fast: they are
// called on the payment path.
type Metrics interface {
	// GatewayCall is one call to Alipay: method, code ("10000", "40004", "" when no
	// answer arrived), outcome (PAID, WAITING, UNKNOWN, ...) and latency.
	GatewayCall(method, code, outcome string, latency time.Duration)
	// OrderTransition is a committed change of an order's state.
	OrderTransition(kind f2fpay.OrderKind, from, to f2fpay.OrderState)
	// RefundTransition is a committed change of a refund's state.
	RefundTransition(from, to f2fpay.RefundState)
}

type noMetrics struct{}

func (noMetrics) GatewayCall(string, string, string, time.Duration)                      {}
func (noMetrics) OrderTransition(f2fpay.OrderKind, f2fpay.OrderState, f2fpay.OrderState) {}
func (noMetrics) RefundTransition(f2fpay.RefundState, f2fpay.RefundState)                {}

// Config configures an Engine.
type Config struct {
	// Storage persists everything; required.
	Storage f2fpay.Storage
	// Clients turns an app into a ready Alipay client; required (usually *AppClients).
	Clients Clients
	// Clock stamps times and deadlines; SystemClock when nil.
	Clock f2fpay.Clock
	// Logger receives structured logs carrying order and terminal ids; discarded when nil.
	Logger *slog.Logger
	// Metrics is optional.
	Metrics Metrics
	// Policy is the retry schedule; zero fields take DefaultPolicy's values.
	Policy Policy
	// Owner names this engine in janitor leases; a random id when empty. Give each
	// instance its own.
	Owner string
	// WaitPoll is how often WaitOrder re-reads the store, for changes made by other
	// instances; default 1 s. Changes made by this engine wake waiters at once.
	WaitPoll time.Duration
	// EventsCommitted, when set, is called after a commit that enqueued outbox events,
	// so a webhook deliverer can send them at once instead of at its next poll. It must
	// not block.
	EventsCommitted func()
	// Refresh says when the app_auth_tokens of merchants' authorisations are renewed
	// (RunRefresher); zero fields take their defaults.
	Refresh RefreshPolicy
}
