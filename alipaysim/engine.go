package alipaysim

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
)

// engine holds the sandbox's state. One mutex serialises every read-modify-write, and
// every mutation runs in a txn whose changes are committed to the Store before they
// become visible: a failed commit leaves memory untouched. Nothing slow happens under
// the mutex — request signatures are checked before and responses signed after.
type engine struct {
	mu    sync.Mutex
	store Store
	clock Clock
	seed  uint64
	meta  *Meta

	apps     map[string]*App
	buyers   map[string]*Buyer
	byOpenID map[string]string
	byLogon  map[string]string
	codes    map[string]*Code
	trades   map[string]*Trade
	// codesPurged is when purgeCodes last ran (not stored: a restart purges at once).
	codesPurged time.Time
	byOut       map[string]string // app_id + "\x00" + out_trade_no → trade_no
	byQR        map[string]string // QR token → trade_no
	notifs      map[string]*Notification
	notifSeq    uint64
	recs        recordSet // OAuth, accounts, ISV grants, bill links, heartbeats, certificate PKI (records.go)

	faults *faultSet
	// refundWindow: a paid trade finishes this long after payment (Config.RefundWindow;
	// not positive: never).
	refundWindow time.Duration

	deadlines deadlineHeap
	timer     Timer
	timerAt   time.Time
	closed    bool

	// deliver is called (outside the mutex) for every notification attempt that falls due.
	deliver func(n *Notification, at time.Time)
	// busy counts sweeps and deliveries under way, for Sim.Settle.
	busyMu sync.Mutex
	busy   int
}

func newEngine(store Store, clock Clock, seed uint64) *engine {
	return &engine{
		store: store, clock: clock, seed: seed, meta: &Meta{},
		apps: map[string]*App{}, buyers: map[string]*Buyer{}, byOpenID: map[string]string{},
		byLogon: map[string]string{}, codes: map[string]*Code{}, trades: map[string]*Trade{},
		byOut: map[string]string{}, byQR: map[string]string{}, notifs: map[string]*Notification{},
		recs: recordSet{}, faults: newFaultSet(seed),
	}
}

// load installs a stored state and schedules what was pending when the sandbox stopped:
// unpaid trades still expire, 10003 faults still resolve, and notifications whose
// delivery was interrupted are sent again.
func (e *engine) load(st *State) error {
	recs, err := decodeRecords(st.Records)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if st.Meta != nil {
		e.meta = st.Meta
	}
	ch := &Changes{Apps: st.Apps, Buyers: st.Buyers, Codes: st.Codes, Trades: st.Trades, Notifications: st.Notifications}
	e.install(ch)
	for _, r := range recs {
		e.recs.put(r)
	}
	now := e.clock.Now()
	for _, t := range st.Trades {
		e.trackTrade(t)
	}
	for _, n := range st.Notifications {
		if !n.Delivered && !n.GaveUp && !n.Dropped && n.NextAt == nil {
			at := now // an attempt was in flight when the sandbox stopped
			n.NextAt = &at
		}
		e.trackNotification(n)
	}
	e.scheduleLocked()
	return nil
}

func (e *engine) install(c *Changes) {
	if c.Meta != nil {
		e.meta = c.Meta
	}
	for _, a := range c.Apps {
		if a.pub == nil {
			a.pub, _ = alipay.ParsePublicKey(a.PublicKey) // checked at registration
		}
		e.apps[a.AppID] = a
	}
	for _, b := range c.Buyers {
		e.buyers[b.UserID] = b
		e.byOpenID[b.OpenID] = b.UserID
		e.byLogon[b.LogonID] = b.UserID
	}
	for _, x := range c.Codes {
		e.codes[x.Code] = x
	}
	for _, code := range c.DeletedCodes {
		delete(e.codes, code)
	}
	for _, t := range c.Trades {
		e.trades[t.TradeNo] = t
		e.byOut[t.AppID+"\x00"+t.OutTradeNo] = t.TradeNo
		if t.QRToken != "" {
			e.byQR[t.QRToken] = t.TradeNo
		}
	}
	for _, n := range c.Notifications {
		e.notifs[n.NotifyID] = n
		if n.Seq > e.notifSeq {
			e.notifSeq = n.Seq
		}
	}
	for _, r := range c.Records {
		e.recs.put(r.Value.(record))
	}
}

func (e *engine) trackTrade(t *Trade) {
	switch {
	case t.Status == WaitBuyerPay:
		heap.Push(&e.deadlines, deadline{at: t.ExpiresAt, kind: "trade", id: t.TradeNo})
		if t.ResolveAt != nil {
			heap.Push(&e.deadlines, deadline{at: *t.ResolveAt, kind: "trade", id: t.TradeNo})
		}
	case t.Status == TradeSuccess && t.PaidAt != nil && e.refundWindow > 0:
		// Pushed again by each change of a paid trade (a partial refund): the extra
		// deadlines find it finished, or not yet due, and do nothing.
		heap.Push(&e.deadlines, deadline{at: t.PaidAt.Add(e.refundWindow), kind: "finish", id: t.TradeNo})
	}
}

func (e *engine) trackNotification(n *Notification) {
	if n.NextAt != nil && !n.Delivered && !n.GaveUp && !n.Dropped {
		heap.Push(&e.deadlines, deadline{at: *n.NextAt, kind: "notify", id: n.NotifyID})
	}
}

// update runs fn in a transaction. If fn returns an error nothing changes; otherwise its
// changes are committed to the store and then installed. Business failures that change
// nothing are not errors: fn reports them through its own result.
func (e *engine) update(ctx context.Context, fn func(t *txn) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.begin()
	if err := fn(t); err != nil {
		return err
	}
	return e.commitLocked(ctx, t)
}

func (e *engine) begin() *txn {
	m := *e.meta
	t := &txn{e: e, now: e.clock.Now(), meta: &m}
	t.ids = idgen{seed: e.seed, meta: t.meta}
	return t
}

func (e *engine) commitLocked(ctx context.Context, t *txn) error {
	ch := t.changes()
	if ch.empty() {
		return nil
	}
	if err := e.store.Commit(context.WithoutCancel(ctx), ch); err != nil {
		return err
	}
	e.install(ch)
	for _, tr := range ch.Trades {
		e.trackTrade(tr)
	}
	for _, n := range ch.Notifications {
		e.trackNotification(n)
	}
	e.scheduleLocked()
	return nil
}

// view runs fn with the state locked, for reads.
func (e *engine) view(fn func(t *txn)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn(e.begin())
}

// scheduleLocked arms one timer for the earliest deadline.
func (e *engine) scheduleLocked() {
	if e.closed || e.deadlines.Len() == 0 {
		return
	}
	at := e.deadlines[0].at
	if e.timer != nil {
		if !e.timerAt.After(at) {
			return
		}
		e.timer.Stop()
	}
	e.timerAt = at
	e.timer = e.clock.AfterFunc(at.Sub(e.clock.Now()), e.sweep)
}

func (e *engine) busyAdd(n int) {
	e.busyMu.Lock()
	e.busy += n
	e.busyMu.Unlock()
}

// sweep handles every deadline that has passed: expiring trades, resolving faults,
// finishing trades whose refund window is over, and starting notification attempts.
func (e *engine) sweep() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.timer = nil
	t := e.begin()
	for e.deadlines.Len() > 0 && !e.deadlines[0].at.After(t.now) {
		d := heap.Pop(&e.deadlines).(deadline)
		t.popped = append(t.popped, d)
		switch d.kind {
		case "trade":
			t.expireOrResolve(d.id)
		case "notify":
			t.startAttempt(d.id)
		case "finish":
			t.finishTrade(d.id)
		}
	}
	err := e.commitLocked(context.Background(), t)
	due := t.attempts
	e.scheduleLocked()
	if err != nil {
		// The store refused; retry the sweep shortly rather than lose a deadline.
		for _, d := range t.popped {
			heap.Push(&e.deadlines, d)
		}
		due = nil
		e.clock.AfterFunc(time.Second, e.sweep)
	}
	e.busyAdd(len(due)) // before unlocking, so Settle never sees a gap
	e.mu.Unlock()
	for _, a := range due {
		go func() {
			defer e.busyAdd(-1)
			e.deliver(a.n, a.at)
		}()
	}
}

func (e *engine) shutdown() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
}

type deadline struct {
	at   time.Time
	kind string
	id   string
}

type deadlineHeap []deadline

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlineHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)        { *h = append(*h, x.(deadline)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	*h = old[:len(old)-1]
	return d
}
