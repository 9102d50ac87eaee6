package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/sqljson"
)

// CreateOrder inserts o with version 1 and enqueues events in the same transaction.
func (c *Core) CreateOrder(ctx context.Context, o *f2fpay.Order, events ...*f2fpay.Event) (err error) {
	defer c.Wrap(&err, "create order")
	if err := o.Validate(); err != nil {
		return err
	}
	now := c.Now()
	var id int64
	var after []func()
	run := c.cfg.Tx
	if !anyEvent(events) {
		run = c.cfg.Single
	}
	err = run(ctx, false, func(ctx context.Context, tx Conn) error {
		err := tx.QueryRow(ctx, c.q.CreateOrder,
			o.OutTradeNo, o.MerchantID, o.AppID, IDArg(o.StoreID), IDArg(o.TerminalID), string(o.Kind), o.Subject,
			o.Body, int64(o.TotalAmount), o.AuthCodeMasked, o.BuyerID, o.QRCode, string(o.State), o.TradeNo,
			o.BuyerUserID, o.BuyerLogonID, int64(o.ReceiptAmount), int64(o.BuyerPayAmount), int64(o.DiscountAmount),
			int64(o.RefundedAmount), o.FailCode, o.FailReason, o.CancelAction, c.T(o.PayDeadline),
			c.T(o.NextCheckAt), o.Queries, o.Cancels, c.T(o.PaidAt), c.T(now),
			int64(o.MerchantDiscountAmount), sqljson.Column{V: o.FundBills}, sqljson.Column{V: o.Vouchers}, o.RequestKey).Scan(&id)
		if err != nil {
			return c.constraint(err, fmt.Sprintf("app %d has an order with out_trade_no %s already", o.AppID, o.OutTradeNo),
				fmt.Sprintf("order %s: merchant %d, app %d, store %d or terminal %d not found",
					o.OutTradeNo, o.MerchantID, o.AppID, o.StoreID, o.TerminalID))
		}
		return c.insertEvents(ctx, tx, events, eventOwner{merchantID: o.MerchantID, orderID: id}, now, &after)
	})
	if err != nil {
		return err
	}
	o.ID, o.CreatedAt, o.UpdatedAt, o.Version = id, now, now, 1
	runAfter(after)
	return nil
}

// anyEvent reports whether events holds an event to insert (nil ones are skipped).
func anyEvent(events []*f2fpay.Event) bool {
	for _, e := range events {
		if e != nil {
			return true
		}
	}
	return false
}

// FindOrder returns the app's order with out_trade_no; ENOTFOUND when it has none.
func (c *Core) FindOrder(ctx context.Context, appID int64, outTradeNo string) (_ *f2fpay.Order, err error) {
	defer c.Wrap(&err, "find order")
	rows, err := c.cfg.Read.Query(ctx, c.q.FindOrder, appID, outTradeNo)
	os, err := Collect(rows, err, scanOrder)
	switch {
	case err != nil:
		return nil, err
	case len(os) == 0:
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "order %s not found", outTradeNo)
	case len(os) > 1:
		return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "several merchants of service-provider app %d have an order %s; name the merchant", appID, outTradeNo)
	}
	return os[0], nil
}

// FindOrderByID returns ENOTFOUND for an unknown id.
func (c *Core) FindOrderByID(ctx context.Context, id int64) (_ *f2fpay.Order, err error) {
	defer c.Wrap(&err, "find order")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindOrderByID, id), scanOrder, "order %d not found", id)
}

// ListOrders returns the matching orders, newest first.
func (c *Core) ListOrders(ctx context.Context, f f2fpay.OrderFilter) (_ []*f2fpay.Order, err error) {
	defer c.Wrap(&err, "list orders")
	var w filter
	if f.MerchantID != nil {
		w.where(c.ph, "merchant_id = ", *f.MerchantID)
	}
	if f.AppID != nil {
		w.where(c.ph, "app_id = ", *f.AppID)
	}
	if f.TerminalID != nil {
		w.where(c.ph, "terminal_id = ", *f.TerminalID)
	}
	if f.StoreID != nil {
		w.where(c.ph, "store_id = ", *f.StoreID)
	}
	if f.OutTradeNo != "" {
		w.where(c.ph, "out_trade_no = ", f.OutTradeNo)
	}
	if f.TradeNo != "" {
		w.where(c.ph, "trade_no = ", f.TradeNo)
	}
	// A buyer's user id is a PID (2088 and 12 digits), which no logon id (a masked
	// phone number or e-mail address) is: one column is searched, so that its index
	// (buyer, id) serves both the lookup and the newest-first order (an OR of the
	// two columns made both databases walk the merchant's whole history instead).
	switch {
	case f.Buyer != "" && f2fpay.IsPID(f.Buyer):
		w.where(c.ph, "buyer_user_id = ", f.Buyer)
	case f.Buyer != "":
		w.where(c.ph, "buyer_logon_id = ", f.Buyer)
	}
	if !f.CreatedFrom.IsZero() {
		w.where(c.ph, "created_at >= ", c.cfg.Time(f.CreatedFrom))
	}
	if !f.CreatedTo.IsZero() {
		w.where(c.ph, "created_at < ", c.cfg.Time(f.CreatedTo))
	}
	if f.MinAmount != nil {
		w.where(c.ph, "total_amount >= ", int64(*f.MinAmount))
	}
	if f.MaxAmount != nil {
		w.where(c.ph, "total_amount <= ", int64(*f.MaxAmount))
	}
	// Within a time range the newest come first by creation time, then id: the
	// (merchant_id, created_at) and (created_at) indexes then serve the range and the
	// order together. Ordered by id alone, both databases walked back through every
	// order newer than the range first (p99 150–220 ms for a day ten days back at a
	// million orders, storetest.BenchmarkOrderSearch). Ids and creation times grow
	// together, so the order is the same but for orders made in the same instant.
	ranged := !f.CreatedFrom.IsZero() || !f.CreatedTo.IsZero()
	switch {
	case f.BeforeID > 0 && ranged:
		w.args = append(w.args, f.BeforeID)
		n := c.ph.arg(len(w.args))
		w.conds = append(w.conds, "(created_at, id) < (SELECT created_at, id FROM orders WHERE id = "+n+")")
	case f.BeforeID > 0:
		w.where(c.ph, "id < ", f.BeforeID)
	}
	if len(f.States) > 0 {
		w.conds = append(w.conds, "state IN ("+c.ph.list(len(w.args)+1, len(f.States))+")")
		for _, s := range f.States {
			w.args = append(w.args, string(s))
		}
	}
	order := "id DESC"
	if ranged {
		order = "created_at DESC, id DESC"
	}
	q := w.sql(c.ph, order, f.Limit)
	rows, err := c.cfg.Read.Query(ctx, c.q.ListOrders+q, w.args...)
	return Collect(rows, err, scanOrder)
}

// filter builds the WHERE, ORDER BY and LIMIT of a listing.
type filter struct {
	conds []string
	args  []any
}

// where adds the condition cond followed by the placeholder of v.
func (w *filter) where(p placeholders, cond string, v any) {
	w.args = append(w.args, v)
	w.conds = append(w.conds, cond+p.arg(len(w.args)))
}

// sql renders the clauses; limit 0 is no limit.
func (w *filter) sql(p placeholders, orderBy string, limit int) string {
	q := ""
	if len(w.conds) > 0 {
		q = " WHERE " + strings.Join(w.conds, " AND ")
	}
	q += " ORDER BY " + orderBy
	if limit > 0 {
		w.args = append(w.args, limit)
		q += " LIMIT " + p.arg(len(w.args))
	}
	return q
}

// UpdateOrder compares and sets o on its Version, appends calls and enqueues events,
// all in one transaction; it releases any lease on the order.
func (c *Core) UpdateOrder(ctx context.Context, o *f2fpay.Order, calls []*f2fpay.GatewayCall, events ...*f2fpay.Event) (err error) {
	defer c.Wrap(&err, "update order")
	return c.updateOrder(ctx, false, o, calls, events)
}

// UpdateOrderLazy is UpdateOrder without waiting for the commit's flush to disk.
func (c *Core) UpdateOrderLazy(ctx context.Context, o *f2fpay.Order, calls []*f2fpay.GatewayCall, events ...*f2fpay.Event) (err error) {
	defer c.Wrap(&err, "update order")
	return c.updateOrder(ctx, true, o, calls, events)
}

// errNotUpdated: the compare-and-set of an order matched no row.
var errNotUpdated = errors.New("order not updated")

func (c *Core) updateOrder(ctx context.Context, lazy bool, o *f2fpay.Order, calls []*f2fpay.GatewayCall, events []*f2fpay.Event) (err error) {
	if err := o.Validate(); err != nil {
		return err
	}
	now := c.Now()
	var after []func()
	// One Batch for the whole change: one round trip (and one for COMMIT) on
	// PostgreSQL. When the compare-and-set matched nothing, the transaction is rolled
	// back and the reason found afterwards: a statement after it may have failed and
	// aborted the transaction.
	var updated int64 = -1 // stays -1 when the UPDATE itself fails
	err = c.cfg.Tx(ctx, lazy, func(ctx context.Context, tx Conn) error {
		stmts := make([]Stmt, 1, 1+len(calls)+len(events))
		stmts[0] = c.updateOrderStmt(o, now, &updated)
		stmts = c.appendCalls(stmts, calls, o.ID, 0, now, &after)
		stmts, err := c.appendEvents(stmts, events, eventOwner{merchantID: o.MerchantID, orderID: o.ID}, now, &after)
		if err != nil {
			return err
		}
		err = tx.Batch(ctx, stmts)
		if updated == 0 {
			return errNotUpdated
		}
		return err
	})
	if errors.Is(err, errNotUpdated) {
		return c.orderNotUpdated(ctx, c.cfg.Read, o)
	}
	if err != nil {
		return err
	}
	o.Version++
	o.UpdatedAt = now
	runAfter(after)
	return nil
}

// updateOrderStmt writes o's mutable fields if o.Version is the stored one; *updated
// receives the number of rows it changed. Identity, ownership and the total amount
// never change after creation.
func (c *Core) updateOrderStmt(o *f2fpay.Order, now time.Time, updated *int64) Stmt {
	return Stmt{Query: c.q.UpdateOrder, Args: []any{
		string(o.State), o.TradeNo, o.BuyerUserID, o.BuyerLogonID, int64(o.ReceiptAmount), int64(o.BuyerPayAmount),
		int64(o.DiscountAmount), int64(o.RefundedAmount), o.FailCode, o.FailReason, o.CancelAction, o.QRCode,
		o.BuyerID, c.T(o.PayDeadline), c.T(o.NextCheckAt), o.Queries, o.Cancels, c.T(o.PaidAt),
		c.T(now), o.ID, o.Version,
		int64(o.MerchantDiscountAmount), sqljson.Column{V: o.FundBills}, sqljson.Column{V: o.Vouchers}},
		Exec: func(n int64, err error) error {
			if err != nil {
				return c.constraint(err, "", "")
			}
			*updated = n
			return nil
		}}
}

// updateOrderIn runs updateOrderStmt in tx and says why when it matched nothing.
func (c *Core) updateOrderIn(ctx context.Context, tx Conn, o *f2fpay.Order, now time.Time) error {
	var updated int64
	if err := tx.Batch(ctx, []Stmt{c.updateOrderStmt(o, now, &updated)}); err != nil {
		return err
	}
	if updated == 1 {
		return nil
	}
	return c.orderNotUpdated(ctx, tx, o)
}

// orderNotUpdated says why o's compare-and-set matched nothing: ENOTFOUND or
// ECONFLICT with the stored version.
func (c *Core) orderNotUpdated(ctx context.Context, q Conn, o *f2fpay.Order) error {
	var v int64
	err := q.QueryRow(ctx, c.q.OrderVersion, o.ID).Scan(&v)
	if isNoRows(err) {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "order %d (%s) not found", o.ID, o.OutTradeNo)
	} else if err != nil {
		return err
	}
	return f2fpay.Errorf(f2fpay.ECONFLICT, "order %s changed meanwhile (version %d, this copy has %d); reload it and decide again",
		o.OutTradeNo, v, o.Version)
}

// appendCalls appends the INSERTs of gateway calls to stmts; a call without OrderID
// (or RefundID) belongs to the order (refund) being updated. IDs are set on the calls
// after the commit.
func (c *Core) appendCalls(stmts []Stmt, calls []*f2fpay.GatewayCall, orderID, refundID int64, now time.Time, after *[]func()) []Stmt {
	for _, gc := range calls {
		if gc == nil {
			continue
		}
		oid, rid, at := gc.OrderID, gc.RefundID, gc.At.UTC().Truncate(time.Microsecond)
		if oid == 0 {
			oid = orderID
		}
		if rid == 0 {
			rid = refundID
		}
		if gc.At.IsZero() {
			at = now
		}
		stmts = append(stmts, Stmt{Query: c.q.InsertCall,
			Args: []any{oid, IDArg(rid), gc.Method, gc.Code, gc.SubCode, gc.Message, gc.Outcome, int64(gc.Latency), c.T(at)},
			Scan: func(row Scanner) error {
				var id int64
				if err := row.Scan(&id); err != nil {
					return c.constraint(err, "", fmt.Sprintf("gateway call %s: order %d or refund %d not found", gc.Method, oid, rid))
				}
				*after = append(*after, func() { gc.ID, gc.OrderID, gc.RefundID, gc.At = id, oid, rid, at })
				return nil
			}})
	}
	return stmts
}

// RecordCall appends c to its order's history; ENOTFOUND for an unknown order.
func (c *Core) RecordCall(ctx context.Context, gc *f2fpay.GatewayCall) (err error) {
	defer c.Wrap(&err, "record call")
	var after []func()
	err = c.cfg.Single(ctx, true, func(ctx context.Context, tx Conn) error {
		return tx.Batch(ctx, c.appendCalls(nil, []*f2fpay.GatewayCall{gc}, gc.OrderID, gc.RefundID, c.Now(), &after))
	})
	if err != nil {
		return err
	}
	runAfter(after)
	return nil
}

// OrderCalls returns an order's calls in the order they were recorded (none for an
// unknown order).
func (c *Core) OrderCalls(ctx context.Context, orderID int64) (_ []*f2fpay.GatewayCall, err error) {
	defer c.Wrap(&err, "order calls")
	rows, err := c.cfg.Read.Query(ctx, c.q.OrderCalls, orderID)
	return Collect(rows, err, scanCall)
}

// ClaimDueOrders leases up to limit due, unleased, non-final orders, earliest
// NextCheckAt first, in one UPDATE ... RETURNING (the store's queries.sql says what
// keeps two claimers from taking the same order).
func (c *Core) ClaimDueOrders(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (_ []*f2fpay.Order, err error) {
	defer c.Wrap(&err, "claim due orders")
	out, err := claim(c, ctx, c.q.ClaimDueOrders, scanOrder, owner, now, lease, limit)
	sort.Slice(out, func(i, j int) bool { return dueBefore(out[i].NextCheckAt, out[i].ID, out[j].NextCheckAt, out[j].ID) })
	return out, err
}

// claim runs a claim statement ($1 owner, $2 lease end, $3 now, $4 limit) in a lazy
// transaction.
func claim[T any](c *Core, ctx context.Context, query string, scan func(Scanner) (T, error), owner string, now time.Time, lease time.Duration, limit int) (out []T, err error) {
	if err := f2fpay.CheckLease(owner, lease); err != nil || limit <= 0 {
		return nil, err
	}
	err = c.cfg.Tx(ctx, true, func(ctx context.Context, tx Conn) error {
		rows, err := tx.Query(ctx, query, owner, c.T(now.Add(lease)), c.T(now), limit)
		out, err = Collect(rows, err, scan)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// dueBefore orders claimed rows as the claim picked them: no NextCheckAt first, then
// by NextCheckAt, then by id. (RETURNING gives no order.)
func dueBefore(ta time.Time, ida int64, tb time.Time, idb int64) bool {
	if !ta.Equal(tb) {
		return ta.IsZero() || (!tb.IsZero() && ta.Before(tb))
	}
	return ida < idb
}

// CountOrdersByState counts orders per state; states without orders are absent.
func (c *Core) CountOrdersByState(ctx context.Context) (_ map[f2fpay.OrderState]int64, err error) {
	defer c.Wrap(&err, "count orders")
	rows, err := c.cfg.Read.Query(ctx, c.q.CountOrdersByState)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[f2fpay.OrderState]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		m[f2fpay.OrderState(s)] = n
	}
	return m, rows.Err()
}
