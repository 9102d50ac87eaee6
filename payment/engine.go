package payment

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Engine runs payments for terminals against Alipay. It is safe for concurrent use;
// several engines (in one process or several) may share one Storage.
type Engine struct {
	store   f2fpay.Storage
	clients Clients
	clock   f2fpay.Clock
	log     *slog.Logger
	metrics Metrics
	policy  Policy
	owner   string
	poll    time.Duration
	waiters *waiters
	events  func()
	refresh RefreshPolicy
	// versions is what this engine last wrote of recent orders (see commit).
	versions versionHints
}

// versionHints remembers, for recent orders, the last version this engine committed:
// one slot per order id modulo its size, overwritten freely. commit asks it before a
// compare-and-set: when this engine has itself written a newer version than the copy
// it is given — a notification made the order PAID while trade.pay's answer was on its
// way, most payments on a fast network — the write would miss, so commit reads the
// order first instead of trying. A hint decides nothing: a stale or overwritten slot
// costs the miss it would have saved, never a wrong write, since the compare-and-set
// still decides.
type versionHints struct {
	mu    sync.Mutex
	slots [1024]struct{ id, version int64 }
}

// wrote records that version of order id is committed.
func (h *versionHints) wrote(id, version int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &h.slots[uint64(id)%uint64(len(h.slots))]
	if s.id != id || s.version < version {
		s.id, s.version = id, version
	}
}

// newer reports whether a version of order id newer than version is known committed.
func (h *versionHints) newer(id, version int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.slots[uint64(id)%uint64(len(h.slots))]
	return s.id == id && s.version > version
}

// New checks cfg and returns an Engine. Start the janitor with RunJanitor.
func New(cfg Config) (*Engine, error) {
	if cfg.Storage == nil {
		return nil, errors.New("payment: Config.Storage is required")
	}
	if cfg.Clients == nil {
		return nil, errors.New("payment: Config.Clients is required (e.g. payment.NewAppClients(box, ...))")
	}
	p, err := cfg.Policy.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Engine{
		store: cfg.Storage, clients: cfg.Clients, clock: cfg.Clock, log: cfg.Logger,
		metrics: cfg.Metrics, policy: p, owner: cfg.Owner, poll: cfg.WaitPoll, waiters: newWaiters(), events: cfg.EventsCommitted,
		refresh: cfg.Refresh.withDefaults(),
	}
	if e.clock == nil {
		e.clock = f2fpay.SystemClock{}
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.metrics == nil {
		e.metrics = noMetrics{}
	}
	if e.owner == "" {
		e.owner = "engine-" + randomHex(6)
	}
	if e.poll <= 0 {
		e.poll = time.Second
	}
	return e, nil
}

// Policy returns the retry schedule in effect (defaults filled in).
func (e *Engine) Policy() Policy { return e.policy }

// Owner returns the lease owner name of this engine's janitor.
func (e *Engine) Owner() string { return e.owner }

// now is the engine's clock to the microsecond, the precision both stores keep: an
// order the engine answers with is then the order a later read returns, to the byte
// (a replayed answer is compared with a fresh one, and deadlines must not move).
func (e *Engine) now() time.Time { return e.clock.Now().Truncate(time.Microsecond) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("payment: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// detached returns a context for recording an answer: it outlives the caller's
// cancellation (an answer Alipay gave must be written even when the terminal has hung
// up), bounded so a stuck database cannot hold the goroutine forever.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// orderEvent returns the event announcing that o reached a final state.
func (e *Engine) orderEvent(o *f2fpay.Order) *f2fpay.Event {
	var t f2fpay.EventType
	switch o.State {
	case f2fpay.OrderPaid:
		t = f2fpay.EventPaymentSucceeded
	case f2fpay.OrderFailed:
		t = f2fpay.EventPaymentFailed
	case f2fpay.OrderClosed:
		t = f2fpay.EventPaymentClosed
	case f2fpay.OrderCancelled:
		t = f2fpay.EventPaymentCancelled
	default:
		return nil
	}
	// The payload is the order's public representation (f2fpay.PublicOrder), never the
	// record itself: the record's engine fields are no contract.
	payload, _ := json.Marshal(o.Public())
	now := e.now()
	return &f2fpay.Event{
		ID: eventID("order", o.ID, t), Type: t, MerchantID: o.MerchantID, OrderID: o.ID,
		Payload: payload, CreatedAt: now, NextAttemptAt: now,
	}
}

// eventID names the event of an order's or a refund's final state. An order or refund
// reaches a final state once, so the name is the event's identity: if a power cut
// loses a lazily committed PAID and the janitor learns it again from Alipay, the event
// it writes again is the same event for webhook consumers, who dedupe by id — even if
// the first one was delivered before the cut.
func eventID(kind string, id int64, t f2fpay.EventType) string {
	h := sha256.Sum256([]byte(kind + "/" + strconv.FormatInt(id, 10) + "/" + string(t)))
	return "evt_" + hex.EncodeToString(h[:12])
}

func (e *Engine) refundEvent(o *f2fpay.Order, r *f2fpay.Refund) *f2fpay.Event {
	var t f2fpay.EventType
	switch r.State {
	case f2fpay.RefundSucceeded:
		t = f2fpay.EventRefundSucceeded
	case f2fpay.RefundFailed:
		t = f2fpay.EventRefundFailed
	default:
		return nil
	}
	payload, _ := json.Marshal(r.Public(o))
	now := e.now()
	return &f2fpay.Event{
		ID: eventID("refund", r.ID, t), Type: t, MerchantID: o.MerchantID, OrderID: o.ID, RefundID: r.ID,
		Payload: payload, CreatedAt: now, NextAttemptAt: now,
	}
}

// errSkip, returned by a transition, means the order as it now stands needs no write.
var errSkip = errors.New("payment: nothing to write")

// commit applies fn to the stored order and writes the result with calls, plus the
// event of a newly reached final state, as one compare-and-set. On a version conflict
// it reloads the order and applies fn again: fn must compute the new state from the
// order it is given (an answer from Alipay applied to the order as it now stands),
// never from what the caller saw earlier. fn returns errSkip when nothing is to be
// written; commit then returns the fresh order, and still records calls.
func (e *Engine) commit(ctx context.Context, o *f2fpay.Order, calls []*f2fpay.GatewayCall, fn func(n *f2fpay.Order) error) (*f2fpay.Order, error) {
	ctx, cancel := detached(ctx)
	defer cancel()
	if e.versions.newer(o.ID, o.Version) {
		// This engine wrote the order since o was read: start from the order as it
		// is (if it cannot be read, the compare-and-set below tells).
		if fresh, err := e.store.FindOrderByID(ctx, o.ID); err == nil {
			o = fresh
		}
	}
	for attempt := 0; ; attempt++ {
		n := *o
		from := n.State
		err := fn(&n)
		if errors.Is(err, errSkip) {
			for _, c := range calls {
				c.OrderID = o.ID
				if rerr := e.store.RecordCall(ctx, c); rerr != nil {
					return nil, rerr
				}
			}
			return o, nil
		}
		if err != nil {
			return nil, err
		}
		for _, c := range calls {
			c.OrderID = o.ID
		}
		var events []*f2fpay.Event
		if !from.Final() && n.State.Final() {
			n.NextCheckAt = time.Time{}
			if ev := e.orderEvent(&n); ev != nil {
				events = append(events, ev)
			}
		}
		// Only the intent (CreateOrder) and the words of Alipay that a query cannot
		// give back need to be on disk before anyone hears of them. An order paid, or
		// moved between states that are not final, is committed without waiting for
		// the flush: if a power cut loses it, the order is back in its earlier durable
		// state, not final and due, and the janitor asks Alipay again — which answers
		// the same (a paid trade stays paid; its event keeps its id, eventID). A
		// failure, cancel or close is flushed, so no query is needed to learn it again.
		if n.State == f2fpay.OrderPaid || !n.State.Final() {
			err = e.store.UpdateOrderLazy(ctx, &n, calls, events...)
		} else {
			err = e.store.UpdateOrder(ctx, &n, calls, events...)
		}
		if err == nil {
			e.versions.wrote(n.ID, n.Version)
			e.eventsCommitted(events)
			if from != n.State {
				e.metrics.OrderTransition(n.Kind, from, n.State)
				e.log.Info("order state", "out_trade_no", n.OutTradeNo, "order_id", n.ID, "terminal_id", n.TerminalID,
					"from", from, "to", n.State, "fail_code", n.FailCode)
				e.waiters.signal(n.ID)
			}
			return &n, nil
		}
		if f2fpay.ErrorCode(err) != f2fpay.ECONFLICT || attempt >= 20 {
			return nil, err
		}
		if o, err = e.store.FindOrderByID(ctx, o.ID); err != nil {
			return nil, err
		}
	}
}

type merchantScopeKey struct{}

// ForMerchant scopes the engine's lookups of orders by number (Order, WaitOrder,
// Cancel, Close, Refund, Refunds, RefundStatus, History) to one merchant: numbers are
// unique per app and merchant (docs/orders.md), and a service provider's app serves
// several merchants, who may use the same numbers. The terminal API scopes every
// request to its terminal's merchant. Without it a lookup is by app alone, which is
// ECONFLICT when several merchants of the app hold the number.
func ForMerchant(ctx context.Context, merchantID int64) context.Context {
	return context.WithValue(ctx, merchantScopeKey{}, merchantID)
}

// scopedMerchant is the merchant of ForMerchant, 0 when ctx names none (an app's own
// calls: e.client then acts for the app's owner, or refuses a service provider's app).
func scopedMerchant(ctx context.Context) int64 {
	m, _ := ctx.Value(merchantScopeKey{}).(int64)
	return m
}

// load returns the app's order with out_trade_no (appID is the service's id of the
// app: order numbers are unique per app and merchant, docs/orders.md), within the
// merchant of ForMerchant when ctx names one.
func (e *Engine) load(ctx context.Context, appID int64, outTradeNo string) (*f2fpay.Order, error) {
	if outTradeNo == "" {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "out_trade_no is required")
	}
	var o *f2fpay.Order
	var err error
	if m, ok := ctx.Value(merchantScopeKey{}).(int64); ok {
		o, err = e.store.FindMerchantOrder(ctx, appID, m, outTradeNo)
	} else {
		o, err = e.store.FindOrder(ctx, appID, outTradeNo)
	}
	if err != nil {
		if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
			return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no order with out_trade_no %q", outTradeNo)
		}
		return nil, err
	}
	return o, nil
}

// retried is a creation whose out_trade_no the app has already. The same terminal
// request sent again (same RequestKey: its answer was lost in a crash, or its
// idempotency record in a power cut) gets that order; anything else is a reuse of the
// number, refused with ECONFLICT — with words that keep a cashier from charging the
// buyer twice.
func (e *Engine) retried(ctx context.Context, appID, merchantID, terminalID int64, outTradeNo, requestKey string) (*f2fpay.Order, error) {
	o, err := e.store.FindMerchantOrder(ctx, appID, merchantID, outTradeNo)
	if err != nil {
		if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
			// Deleted between the insert and the read: impossible today (orders are
			// never deleted), and not worth a guess.
			return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "out_trade_no %q is already used; retry the request", outTradeNo)
		}
		return nil, err
	}
	if requestKey != "" && o.RequestKey == requestKey && o.TerminalID == terminalID {
		e.log.InfoContext(ctx, "a retried request found its order", "out_trade_no", o.OutTradeNo, "order_id", o.ID, "state", o.State)
		return o, nil
	}
	return nil, &f2fpay.Error{Code: f2fpay.ECONFLICT, Message: fmt.Sprintf("out_trade_no %q is already used by an earlier payment; "+
		"look up that payment's state before charging the buyer again; a new payment needs a new out_trade_no", outTradeNo)}
}

// Order returns the app's order with out_trade_no (ENOTFOUND when there is none).
func (e *Engine) Order(ctx context.Context, appID int64, outTradeNo string) (*f2fpay.Order, error) {
	return e.load(ctx, appID, outTradeNo)
}

// History returns every gateway call made for an order, oldest first.
func (e *Engine) History(ctx context.Context, appID int64, outTradeNo string) ([]*f2fpay.GatewayCall, error) {
	o, err := e.load(ctx, appID, outTradeNo)
	if err != nil {
		return nil, err
	}
	return e.store.OrderCalls(ctx, o.ID)
}

// eventsCommitted tells the outbox's deliverer, if any, that events are waiting.
func (e *Engine) eventsCommitted(events []*f2fpay.Event) {
	if len(events) > 0 && e.events != nil {
		e.events()
	}
}
