package console

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
)

// scope is the merchant filter of a staff member: nil for every merchant.
func scope(st *f2fpay.Staff) *int64 {
	if st.MerchantID == 0 {
		return nil
	}
	id := st.MerchantID
	return &id
}

// places names the stores and terminals the staff member may see.
type places struct {
	Stores    []*f2fpay.Store
	Terminals []*f2fpay.Terminal
	store     map[int64]string
	terminal  map[int64]string
}

func (c *Console) places(r *http.Request, st *f2fpay.Staff) (*places, error) {
	ctx := r.Context()
	var merchants []int64
	if st.MerchantID != 0 {
		merchants = []int64{st.MerchantID}
	} else {
		ms, err := c.store.ListMerchants(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			merchants = append(merchants, m.ID)
		}
	}
	p := &places{store: map[int64]string{}, terminal: map[int64]string{}}
	for _, m := range merchants {
		ss, err := c.store.ListStores(ctx, m)
		if err != nil {
			return nil, err
		}
		ts, err := c.store.ListTerminals(ctx, m)
		if err != nil {
			return nil, err
		}
		p.Stores, p.Terminals = append(p.Stores, ss...), append(p.Terminals, ts...)
		for _, s := range ss {
			p.store[s.ID] = s.Name + " (" + s.Code + ")"
		}
		for _, t := range ts {
			p.terminal[t.ID] = t.Name + " (" + t.Code + ")"
		}
	}
	return p, nil
}

func (p *places) StoreName(id int64) string {
	if n, ok := p.store[id]; ok {
		return n
	}
	if id == 0 {
		return "—"
	}
	return "#" + strconv.FormatInt(id, 10)
}

func (p *places) TerminalName(id int64) string {
	if n, ok := p.terminal[id]; ok {
		return n
	}
	if id == 0 {
		return "—"
	}
	return "#" + strconv.FormatInt(id, 10)
}

// summary adds up OrderStats rows.
type summary struct {
	Count, PaidCount, FinalCount int64
	Volume, Refunded             f2fpay.Amount
}

func (s *summary) add(st f2fpay.OrderStats) {
	s.Count += st.Count
	s.Refunded += st.Refunded
	if st.State.Final() {
		s.FinalCount += st.Count
	}
	if st.State == f2fpay.OrderPaid {
		s.PaidCount += st.Count
		s.Volume += st.Total
	}
}

type placeRow struct {
	Store, Terminal string
	summary
}

type dayRow struct {
	Day       string
	Count     int64
	PaidCount int64
	Paid      f2fpay.Amount
}

type overviewView struct {
	From, To      string
	Today, Period summary
	Calls         int64
	P50, P99      time.Duration
	Places        []placeRow
	Days          []dayRow
	// Chart is rendered as JSON by html/template (a script element's context).
	Chart any
}

// paymentMethods are the calls whose latency the overview reports: the ones a
// buyer or cashier waits for.
var paymentMethods = []string{alipay.MethodTradePay, alipay.MethodTradePrecreate, alipay.MethodTradeCreate}

// day parses a date of the period form in the console's zone.
func (c *Console) day(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, c.loc)
	if err != nil {
		return time.Time{}, f2fpay.Errorf(f2fpay.EINVALID, "date %q: use YYYY-MM-DD", s)
	}
	return t, nil
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	now := c.clock.Now().In(c.loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, c.loc)
	q := r.URL.Query()
	from, err := c.day(q.Get("from"), today.AddDate(0, 0, -6))
	if err != nil {
		return err
	}
	last, err := c.day(q.Get("to"), today)
	if err != nil {
		return err
	}
	to := last.AddDate(0, 0, 1)
	if !to.After(from) || to.Sub(from) > 93*24*time.Hour {
		return f2fpay.Errorf(f2fpay.EINVALID, "the period must run forward and last at most 93 days")
	}
	m := scope(s.staff)
	v := overviewView{From: from.Format(time.DateOnly), To: last.Format(time.DateOnly)}

	todayStats, err := c.staff.OrderStats(ctx, f2fpay.OrderStatsFilter{MerchantID: m, From: today, To: today.AddDate(0, 0, 1)})
	if err != nil {
		return err
	}
	for _, st := range todayStats {
		v.Today.add(st)
	}
	pf := f2fpay.OrderStatsFilter{MerchantID: m, From: from, To: to}
	stats, err := c.staff.OrderStats(ctx, pf)
	if err != nil {
		return err
	}
	pl, err := c.places(r, s.staff)
	if err != nil {
		return err
	}
	byPlace := map[[2]int64]*placeRow{}
	var keys [][2]int64
	for _, st := range stats {
		v.Period.add(st)
		k := [2]int64{st.StoreID, st.TerminalID}
		row, ok := byPlace[k]
		if !ok {
			row = &placeRow{Store: pl.StoreName(st.StoreID), Terminal: pl.TerminalName(st.TerminalID)}
			byPlace[k] = row
			keys = append(keys, k)
		}
		row.add(st)
	}
	slices.SortFunc(keys, func(a, b [2]int64) int { return int(byPlace[b].Volume - byPlace[a].Volume) })
	for _, k := range keys {
		v.Places = append(v.Places, *byPlace[k])
	}
	n, lat, err := c.staff.CallLatencies(ctx, pf, paymentMethods, []float64{0.5, 0.99})
	if err != nil {
		return err
	}
	v.Calls, v.P50, v.P99 = n, lat[0], lat[1]

	series, err := c.staff.OrderSeries(ctx, pf, 24*time.Hour)
	if err != nil {
		return err
	}
	byDay := map[string]f2fpay.OrderBucket{}
	for _, b := range series {
		byDay[b.Start.In(c.loc).Format(time.DateOnly)] = b
	}
	chart := struct {
		Labels []string  `json:"labels"`
		Fen    []int64   `json:"fen"` // paid volume per day, in fen; the script shows yuan
		Count  []int64   `json:"count"`
		Names  [2]string `json:"names"`
	}{Names: [2]string{s.lang.t("volume"), s.lang.t("count")}}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		b := byDay[key]
		v.Days = append(v.Days, dayRow{Day: key, Count: b.Count, PaidCount: b.PaidCount, Paid: b.Paid})
		chart.Labels = append(chart.Labels, key[5:])
		chart.Fen = append(chart.Fen, int64(b.Paid))
		chart.Count = append(chart.Count, b.Count)
	}
	v.Chart = chart
	return c.render(w, r, http.StatusOK, "overview", &view{L: s.lang, Staff: s.staff, CSRF: s.sess.CSRFToken, Nav: "overview", Data: v})
}

// pageSize is the number of orders a page of the search shows.
const pageSize = 50

type ordersView struct {
	Q        url.Values
	Places   *places
	States   []f2fpay.OrderState
	Orders   []*f2fpay.Order
	NextPage string
	Paged    bool
	Export   string // the CSV export of the same search
}

var allStates = []f2fpay.OrderState{f2fpay.OrderPaid, f2fpay.OrderFailed, f2fpay.OrderCancelled, f2fpay.OrderClosed,
	f2fpay.OrderPaying, f2fpay.OrderWaiting, f2fpay.OrderUnknown, f2fpay.OrderPending, f2fpay.OrderCancelling}

// orderFilter reads the search form. The staff member's merchant is always applied,
// whatever the form says.
func (c *Console) orderFilter(q url.Values, st *f2fpay.Staff) (f2fpay.OrderFilter, error) {
	f := f2fpay.OrderFilter{MerchantID: scope(st), Limit: pageSize + 1}
	id := func(name string) (*int64, error) {
		s := q.Get(name)
		if s == "" {
			return nil, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "%s %q is not an id", name, s)
		}
		return &n, nil
	}
	amount := func(name string) (*f2fpay.Amount, error) {
		s := strings.TrimSpace(q.Get(name))
		if s == "" {
			return nil, nil
		}
		a, err := f2fpay.ParseAmount(s)
		if err != nil {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "%s: %v", name, err)
		}
		return &a, nil
	}
	var err error
	if f.StoreID, err = id("store"); err != nil {
		return f, err
	}
	if f.TerminalID, err = id("terminal"); err != nil {
		return f, err
	}
	if f.MinAmount, err = amount("min"); err != nil {
		return f, err
	}
	if f.MaxAmount, err = amount("max"); err != nil {
		return f, err
	}
	if b, err := id("before"); err != nil {
		return f, err
	} else if b != nil {
		f.BeforeID = *b
	}
	if f.CreatedFrom, err = c.day(q.Get("from"), time.Time{}); err != nil {
		return f, err
	}
	if to, err := c.day(q.Get("to"), time.Time{}); err != nil {
		return f, err
	} else if !to.IsZero() {
		f.CreatedTo = to.AddDate(0, 0, 1)
	}
	if s := q.Get("state"); s != "" {
		if !f2fpay.OrderState(s).Valid() {
			return f, f2fpay.Errorf(f2fpay.EINVALID, "state %q is not an order state", s)
		}
		f.States = []f2fpay.OrderState{f2fpay.OrderState(s)}
	}
	f.OutTradeNo = strings.TrimSpace(q.Get("out_trade_no"))
	f.TradeNo = strings.TrimSpace(q.Get("trade_no"))
	f.Buyer = strings.TrimSpace(q.Get("buyer"))
	return f, nil
}

func (c *Console) orders(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	f, err := c.orderFilter(q, s.staff)
	if err != nil {
		return err
	}
	os, err := c.store.ListOrders(r.Context(), f)
	if err != nil {
		return err
	}
	pl, err := c.places(r, s.staff)
	if err != nil {
		return err
	}
	v := ordersView{Q: q, Places: pl, States: allStates, Paged: f.BeforeID > 0}
	exp := url.Values{}
	for k, vs := range q {
		if k != "before" {
			exp[k] = vs
		}
	}
	v.Export = "/console/orders.csv?" + exp.Encode()
	if len(os) > pageSize {
		os = os[:pageSize]
		next := url.Values{}
		for k, vs := range q {
			if k != "before" {
				next[k] = vs
			}
		}
		next.Set("before", strconv.FormatInt(os[len(os)-1].ID, 10))
		v.NextPage = "/console/orders?" + next.Encode()
	}
	v.Orders = os
	return c.render(w, r, http.StatusOK, "orders", &view{L: s.lang, Staff: s.staff, CSRF: s.sess.CSRFToken, Nav: "orders", Data: v})
}

type orderView struct {
	Order     *f2fpay.Order
	Places    *places
	Calls     []*f2fpay.GatewayCall
	Refunds   []*f2fpay.Refund
	Events    []*f2fpay.Event
	Approvals []*f2fpay.RefundApproval
	// ApprovalAbove is the merchant's threshold (HasThreshold): a refund of more waits
	// for a second person.
	ApprovalAbove f2fpay.Amount
	HasThreshold  bool
	Asked         *f2fpay.RefundApproval
	CanDecide     bool
	Steps         []step
	CanRefund     bool
	Refundable    f2fpay.Amount
	RefundID      string
	Done          *f2fpay.Refund
	Problem       string
}

// findOrder loads an order the staff member may see; another merchant's order is
// ENOTFOUND, as if it did not exist.
func (c *Console) findOrder(r *http.Request, st *f2fpay.Staff) (*f2fpay.Order, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no order %q", r.PathValue("id"))
	}
	o, err := c.store.FindOrderByID(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if !st.Sees(o.MerchantID) {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "order %d not found", id)
	}
	return o, nil
}

func (c *Console) order(w http.ResponseWriter, r *http.Request, s *session) error {
	o, err := c.findOrder(r, s.staff)
	if err != nil {
		return err
	}
	return c.renderOrder(w, r, s, o, http.StatusOK, "")
}

func (c *Console) renderOrder(w http.ResponseWriter, r *http.Request, s *session, o *f2fpay.Order, status int, problem string) error {
	ctx := r.Context()
	v := orderView{Order: o, Problem: problem}
	var err error
	if v.Calls, err = c.store.OrderCalls(ctx, o.ID); err != nil {
		return err
	}
	if v.Refunds, err = c.store.ListRefunds(ctx, o.ID); err != nil {
		return err
	}
	oid := o.ID
	if v.Events, err = c.store.ListEvents(ctx, f2fpay.EventFilter{OrderID: &oid, Limit: 100}); err != nil {
		return err
	}
	if v.Places, err = c.places(r, s.staff); err != nil {
		return err
	}
	if v.Approvals, err = c.approval.ListRefundApprovals(ctx, f2fpay.RefundApprovalFilter{OrderID: &oid, Limit: 100}); err != nil {
		return err
	}
	if v.ApprovalAbove, v.HasThreshold, err = c.approval.RefundApprovalAbove(ctx, o.MerchantID); err != nil {
		return err
	}
	asked := r.URL.Query().Get("approval")
	for _, a := range v.Approvals {
		if strconv.FormatInt(a.ID, 10) == asked {
			v.Asked = a
		}
	}
	v.CanDecide = s.staff.Role.CanRefund() && c.refunder != nil
	v.Steps = timeline(s.lang, &v)
	v.Refundable = o.TotalAmount - o.RefundedAmount
	for _, rf := range v.Refunds {
		if !rf.State.Final() {
			v.Refundable -= rf.Amount
		}
		if done := r.URL.Query().Get("refund"); done != "" && rf.OutRequestNo == payment.OutRequestNo(done) {
			v.Done = rf
		}
	}
	v.CanRefund = s.staff.Role.CanRefund() && c.refunder != nil && o.State == f2fpay.OrderPaid && v.Refundable > 0
	// A refund id per form: submitting the same form twice (a double click, a resent
	// POST) refunds once, because the engine keys the refund on it.
	b := make([]byte, 12)
	rand.Read(b)
	v.RefundID = "console-" + hex.EncodeToString(b)
	return c.render(w, r, status, "order", &view{L: s.lang, Staff: s.staff, CSRF: s.sess.CSRFToken, Nav: "orders", Data: v})
}

// maxReason bounds a refund's reason (Alipay's refund_reason is 256 characters).
const maxReason = 256

func (c *Console) refund(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.staff.Role.CanRefund() || c.refunder == nil {
		c.record(r.Context(), r, s.staff, s.staff.MerchantID, "refund_refused", "order "+r.PathValue("id"), "role "+string(s.staff.Role))
		return errForbidden
	}
	o, err := c.findOrder(r, s.staff)
	if err != nil {
		return err
	}
	form := r.PostForm
	refundID := form.Get("refund_id")
	reason := strings.TrimSpace(form.Get("reason"))
	amount, err := f2fpay.ParseAmount(strings.TrimSpace(form.Get("amount")))
	if err != nil {
		return c.renderOrder(w, r, s, o, http.StatusBadRequest, fmt.Sprintf("%s: %v", s.lang.t("refund.amount"), err))
	}
	if reason == "" || len([]rune(reason)) > maxReason {
		return c.renderOrder(w, r, s, o, http.StatusBadRequest, fmt.Sprintf("%s: 1–%d", s.lang.t("refund.reason"), maxReason))
	}
	target := "order " + o.OutTradeNo
	detail := fmt.Sprintf("amount %s, refund_id %s, reason %q", amount, refundID, reason)
	if refundID == "" || len(refundID) > 64 {
		return f2fpay.Errorf(f2fpay.EINVALID, "the form has no refund_id; reload the order page and try again")
	}
	limit, ok, err := c.approval.RefundApprovalAbove(r.Context(), o.MerchantID)
	if err != nil {
		return err
	}
	if ok && amount > limit {
		return c.askApproval(w, r, s, o, refundID, amount, reason, detail)
	}
	// The entry is written before the refund is sent: a refund the log does not show
	// must not happen.
	if err := c.record(r.Context(), r, s.staff, o.MerchantID, "refund", target, detail); err != nil {
		return err
	}
	rf, err := c.refunder.Refund(r.Context(), payment.RefundRequest{
		AppID: o.AppID, OutTradeNo: o.OutTradeNo, RefundID: refundID, Amount: amount, Reason: reason,
	})
	if err != nil {
		switch f2fpay.ErrorCode(err) {
		case f2fpay.EINVALID, f2fpay.ECONFLICT:
			c.record(r.Context(), r, s.staff, o.MerchantID, "refund_refused", target, f2fpay.ErrorMessage(err))
			return c.renderOrder(w, r, s, o, http.StatusConflict, f2fpay.ErrorMessage(err))
		}
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/console/orders/%d?refund=%s#refunds", o.ID, url.QueryEscape(refundID)), http.StatusSeeOther)
	_ = rf
	return nil
}

type auditView struct {
	Entries  []*f2fpay.AuditEntry
	NextPage string
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.staff.Role.CanAudit() {
		return errForbidden
	}
	f := f2fpay.AuditFilter{MerchantID: scope(s.staff), Limit: pageSize + 1}
	if b := r.URL.Query().Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil {
			return f2fpay.Errorf(f2fpay.EINVALID, "before %q is not an id", b)
		}
		f.BeforeID = n
	}
	es, err := c.staff.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	v := auditView{Entries: es}
	if len(es) > pageSize {
		v.Entries = es[:pageSize]
		v.NextPage = fmt.Sprintf("/console/audit?before=%d", es[pageSize-1].ID)
	}
	return c.render(w, r, http.StatusOK, "audit", &view{L: s.lang, Staff: s.staff, CSRF: s.sess.CSRFToken, Nav: "audit", Data: v})
}
