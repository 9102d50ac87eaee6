package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/sqljson"
)

// openOrderStates are the states that are not Final: the ones ClaimDueOrders hands to
// the janitor. The conformance suite checks this list against OrderState.Final.
const openOrderStates = `'PAYING', 'WAITING', 'UNKNOWN', 'PENDING', 'CANCELLING'`

const orderCols = `id, out_trade_no, merchant_id, app_id, store_id, terminal_id, kind, subject, body, total_amount,
	auth_code_masked, buyer_id, qr_code, state, trade_no, buyer_user_id, buyer_logon_id, receipt_amount,
	buyer_pay_amount, discount_amount, refunded_amount, fail_code, fail_reason, cancel_action, pay_deadline,
	next_check_at, queries, cancels, paid_at, created_at, updated_at, version,
	merchant_discount_amount, fund_bill_list, voucher_detail_list, request_key`

func scanOrder(s scanner) (*f2fpay.Order, error) {
	o := new(f2fpay.Order)
	err := s.Scan(&o.ID, &o.OutTradeNo, &o.MerchantID, &o.AppID, nullID{&o.StoreID}, nullID{&o.TerminalID},
		(*string)(&o.Kind), &o.Subject, &o.Body, (*int64)(&o.TotalAmount), &o.AuthCodeMasked, &o.BuyerID, &o.QRCode,
		(*string)(&o.State), &o.TradeNo, &o.BuyerUserID, &o.BuyerLogonID, (*int64)(&o.ReceiptAmount),
		(*int64)(&o.BuyerPayAmount), (*int64)(&o.DiscountAmount), (*int64)(&o.RefundedAmount), &o.FailCode,
		&o.FailReason, &o.CancelAction, nullTime{&o.PayDeadline}, nullTime{&o.NextCheckAt}, &o.Queries, &o.Cancels,
		nullTime{&o.PaidAt}, nullTime{&o.CreatedAt}, nullTime{&o.UpdatedAt}, &o.Version,
		(*int64)(&o.MerchantDiscountAmount), sqljson.Column{V: &o.FundBills}, sqljson.Column{V: &o.Vouchers}, &o.RequestKey)
	return o, err
}

// CreateOrder inserts o with version 1 and enqueues events in the same transaction.
func (db *DB) CreateOrder(ctx context.Context, o *f2fpay.Order, events ...*f2fpay.Event) (err error) {
	defer wrap(&err, "create order")
	if err := o.Validate(); err != nil {
		return err
	}
	now := db.now()
	var id int64
	var after []func()
	err = db.inTx(ctx, func(ctx context.Context, tx *wtx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO orders (out_trade_no, merchant_id, app_id, store_id, terminal_id,
	kind, subject, body, total_amount, auth_code_masked, buyer_id, qr_code, state, trade_no, buyer_user_id,
	buyer_logon_id, receipt_amount, buyer_pay_amount, discount_amount, refunded_amount, fail_code, fail_reason,
	cancel_action, pay_deadline, next_check_at, queries, cancels, paid_at, created_at, updated_at, version,
	merchant_discount_amount, fund_bill_list, voucher_detail_list, request_key)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
	?23, ?24, ?25, ?26, ?27, ?28, ?29, ?29, 1,
	?30, ?31, ?32, ?33)
RETURNING id`,
			o.OutTradeNo, o.MerchantID, o.AppID, idArg(o.StoreID), idArg(o.TerminalID), string(o.Kind), o.Subject,
			o.Body, int64(o.TotalAmount), o.AuthCodeMasked, o.BuyerID, o.QRCode, string(o.State), o.TradeNo,
			o.BuyerUserID, o.BuyerLogonID, int64(o.ReceiptAmount), int64(o.BuyerPayAmount), int64(o.DiscountAmount),
			int64(o.RefundedAmount), o.FailCode, o.FailReason, o.CancelAction, timeArg(o.PayDeadline),
			timeArg(o.NextCheckAt), o.Queries, o.Cancels, timeArg(o.PaidAt), now.UnixMicro(),
			int64(o.MerchantDiscountAmount), sqljson.Column{V: o.FundBills}, sqljson.Column{V: o.Vouchers}, o.RequestKey).Scan(&id)
		if err != nil {
			return constraint(err, fmt.Sprintf("app %d has an order with out_trade_no %s already", o.AppID, o.OutTradeNo),
				fmt.Sprintf("order %s: merchant %d, app %d, store %d or terminal %d not found",
					o.OutTradeNo, o.MerchantID, o.AppID, o.StoreID, o.TerminalID))
		}
		return insertEvents(ctx, tx, events, eventOwner{merchantID: o.MerchantID, orderID: id}, now, &after)
	})
	if err != nil {
		return err
	}
	o.ID, o.CreatedAt, o.UpdatedAt, o.Version = id, now, now, 1
	for _, f := range after {
		f()
	}
	return nil
}

// FindOrder returns the app's order with out_trade_no; ENOTFOUND when it has none.
func (db *DB) FindOrder(ctx context.Context, appID int64, outTradeNo string) (_ *f2fpay.Order, err error) {
	defer wrap(&err, "find order")
	return findOne(db.read.QueryRowContext(ctx, `SELECT `+orderCols+` FROM orders WHERE app_id = ?1 AND out_trade_no = ?2`, appID, outTradeNo),
		scanOrder, "order %s not found", outTradeNo)
}

// FindOrderByID returns ENOTFOUND for an unknown id.
func (db *DB) FindOrderByID(ctx context.Context, id int64) (_ *f2fpay.Order, err error) {
	defer wrap(&err, "find order")
	return findOne(db.read.QueryRowContext(ctx, `SELECT `+orderCols+` FROM orders WHERE id = ?1`, id),
		scanOrder, "order %d not found", id)
}

// ListOrders returns the matching orders, newest first.
func (db *DB) ListOrders(ctx context.Context, f f2fpay.OrderFilter) (_ []*f2fpay.Order, err error) {
	defer wrap(&err, "list orders")
	var where []string
	var args []any
	if f.MerchantID != nil {
		args = append(args, *f.MerchantID)
		where = append(where, fmt.Sprintf("merchant_id = ?%d", len(args)))
	}
	if f.AppID != nil {
		args = append(args, *f.AppID)
		where = append(where, fmt.Sprintf("app_id = ?%d", len(args)))
	}
	if f.TerminalID != nil {
		args = append(args, *f.TerminalID)
		where = append(where, fmt.Sprintf("terminal_id = ?%d", len(args)))
	}
	if f.OutTradeNo != "" {
		args = append(args, f.OutTradeNo)
		where = append(where, fmt.Sprintf("out_trade_no = ?%d", len(args)))
	}
	if f.BeforeID > 0 {
		args = append(args, f.BeforeID)
		where = append(where, fmt.Sprintf("id < ?%d", len(args)))
	}
	if len(f.States) > 0 {
		where = append(where, "state IN ("+inList(len(args)+1, len(f.States))+")")
		for _, s := range f.States {
			args = append(args, string(s))
		}
	}
	q := `SELECT ` + orderCols + ` FROM orders`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += fmt.Sprintf(" LIMIT ?%d", len(args))
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	return collect(rows, err, scanOrder)
}

// UpdateOrder compares and sets o on its Version, appends calls and enqueues events,
// all in one transaction; it releases any lease on the order.
func (db *DB) UpdateOrder(ctx context.Context, o *f2fpay.Order, calls []*f2fpay.GatewayCall, events ...*f2fpay.Event) (err error) {
	defer wrap(&err, "update order")
	return db.updateOrder(ctx, false, o, calls, events)
}

// UpdateOrderLazy is UpdateOrder without waiting for the fsync (writer.go).
func (db *DB) UpdateOrderLazy(ctx context.Context, o *f2fpay.Order, calls []*f2fpay.GatewayCall, events ...*f2fpay.Event) (err error) {
	defer wrap(&err, "update order")
	return db.updateOrder(ctx, true, o, calls, events)
}

func (db *DB) updateOrder(ctx context.Context, lazy bool, o *f2fpay.Order, calls []*f2fpay.GatewayCall, events []*f2fpay.Event) (err error) {
	if err := o.Validate(); err != nil {
		return err
	}
	now := db.now()
	var after []func()
	err = db.w.do(ctx, lazy, func(ctx context.Context, tx *wtx) error {
		if err := updateOrder(ctx, tx, o, now); err != nil {
			return err
		}
		if err := insertCalls(ctx, tx, calls, o.ID, 0, now, &after); err != nil {
			return err
		}
		return insertEvents(ctx, tx, events, eventOwner{merchantID: o.MerchantID, orderID: o.ID}, now, &after)
	})
	if err != nil {
		return err
	}
	o.Version++
	o.UpdatedAt = now
	for _, f := range after {
		f()
	}
	return nil
}

// updateOrder writes o's mutable fields if o.Version is the stored one. Identity,
// ownership and the total amount never change after creation.
func updateOrder(ctx context.Context, tx *wtx, o *f2fpay.Order, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE orders SET state = ?1, trade_no = ?2, buyer_user_id = ?3,
	buyer_logon_id = ?4, receipt_amount = ?5, buyer_pay_amount = ?6, discount_amount = ?7, refunded_amount = ?8,
	fail_code = ?9, fail_reason = ?10, cancel_action = ?11, qr_code = ?12, buyer_id = ?13, pay_deadline = ?14,
	next_check_at = ?15, queries = ?16, cancels = ?17, paid_at = ?18, updated_at = ?19, version = version + 1,
	lease_owner = '', lease_until = NULL,
	merchant_discount_amount = ?22, fund_bill_list = ?23, voucher_detail_list = ?24
WHERE id = ?20 AND version = ?21`,
		string(o.State), o.TradeNo, o.BuyerUserID, o.BuyerLogonID, int64(o.ReceiptAmount), int64(o.BuyerPayAmount),
		int64(o.DiscountAmount), int64(o.RefundedAmount), o.FailCode, o.FailReason, o.CancelAction, o.QRCode,
		o.BuyerID, timeArg(o.PayDeadline), timeArg(o.NextCheckAt), o.Queries, o.Cancels, timeArg(o.PaidAt),
		now.UnixMicro(), o.ID, o.Version,
		int64(o.MerchantDiscountAmount), sqljson.Column{V: o.FundBills}, sqljson.Column{V: o.Vouchers})
	if err != nil {
		return constraint(err, "", "")
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 1 {
		return nil
	}
	var v int64
	err = tx.QueryRowContext(ctx, `SELECT version FROM orders WHERE id = ?1`, o.ID).Scan(&v)
	if err == sql.ErrNoRows {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "order %d (%s) not found", o.ID, o.OutTradeNo)
	} else if err != nil {
		return err
	}
	return f2fpay.Errorf(f2fpay.ECONFLICT, "order %s changed meanwhile (version %d, this copy has %d); reload it and decide again",
		o.OutTradeNo, v, o.Version)
}

// insertCalls appends gateway calls; a call without OrderID (or RefundID) belongs to
// the order (refund) being updated. IDs are set on the calls after the commit.
func insertCalls(ctx context.Context, tx *wtx, calls []*f2fpay.GatewayCall, orderID, refundID int64, now time.Time, after *[]func()) error {
	for _, c := range calls {
		if c == nil {
			continue
		}
		oid, rid, at := c.OrderID, c.RefundID, c.At.UTC().Truncate(time.Microsecond)
		if oid == 0 {
			oid = orderID
		}
		if rid == 0 {
			rid = refundID
		}
		if c.At.IsZero() {
			at = now
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO gateway_calls (order_id, refund_id, method, code, sub_code, message,
	outcome, latency_ns, at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id`,
			oid, idArg(rid), c.Method, c.Code, c.SubCode, c.Message, c.Outcome, int64(c.Latency), at.UnixMicro()).Scan(&id)
		if err != nil {
			return constraint(err, "", fmt.Sprintf("gateway call %s: order %d or refund %d not found", c.Method, oid, rid))
		}
		*after = append(*after, func() { c.ID, c.OrderID, c.RefundID, c.At = id, oid, rid, at })
	}
	return nil
}

// RecordCall appends c to its order's history; ENOTFOUND for an unknown order.
func (db *DB) RecordCall(ctx context.Context, c *f2fpay.GatewayCall) (err error) {
	defer wrap(&err, "record call")
	var after []func()
	err = db.inLazyTx(ctx, func(ctx context.Context, tx *wtx) error {
		return insertCalls(ctx, tx, []*f2fpay.GatewayCall{c}, c.OrderID, c.RefundID, db.now(), &after)
	})
	if err != nil {
		return err
	}
	for _, f := range after {
		f()
	}
	return nil
}

const callCols = `id, order_id, refund_id, method, code, sub_code, message, outcome, latency_ns, at`

func scanCall(s scanner) (*f2fpay.GatewayCall, error) {
	c := new(f2fpay.GatewayCall)
	err := s.Scan(&c.ID, &c.OrderID, nullID{&c.RefundID}, &c.Method, &c.Code, &c.SubCode, &c.Message, &c.Outcome,
		(*int64)(&c.Latency), nullTime{&c.At})
	return c, err
}

// OrderCalls returns an order's calls in the order they were recorded (none for an
// unknown order).
func (db *DB) OrderCalls(ctx context.Context, orderID int64) (_ []*f2fpay.GatewayCall, err error) {
	defer wrap(&err, "order calls")
	rows, err := db.read.QueryContext(ctx, `SELECT `+callCols+` FROM gateway_calls WHERE order_id = ?1 ORDER BY id`, orderID)
	return collect(rows, err, scanCall)
}

// ClaimDueOrders leases up to limit due, unleased, non-final orders, earliest
// NextCheckAt first. It is one UPDATE ... RETURNING in a BEGIN IMMEDIATE transaction:
// the single writer lock is what keeps two claimers from taking the same order.
func (db *DB) ClaimDueOrders(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (_ []*f2fpay.Order, err error) {
	defer wrap(&err, "claim due orders")
	if err := f2fpay.CheckLease(owner, lease); err != nil || limit <= 0 {
		return nil, err
	}
	var out []*f2fpay.Order
	err = db.inLazyTx(ctx, func(ctx context.Context, tx *wtx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE orders SET lease_owner = ?1, lease_until = ?2
WHERE id IN (
	SELECT id FROM orders
	WHERE state IN (`+openOrderStates+`)
		AND (next_check_at IS NULL OR next_check_at <= ?3)
		AND (lease_until IS NULL OR lease_until <= ?3)
	ORDER BY next_check_at NULLS FIRST, id
	LIMIT ?4)
RETURNING `+orderCols, owner, now.Add(lease).UnixMicro(), now.UnixMicro(), limit)
		out, err = collect(rows, err, scanOrder)
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return dueBefore(out[i].NextCheckAt, out[i].ID, out[j].NextCheckAt, out[j].ID) })
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
func (db *DB) CountOrdersByState(ctx context.Context) (_ map[f2fpay.OrderState]int64, err error) {
	defer wrap(&err, "count orders")
	rows, err := db.read.QueryContext(ctx, `SELECT state, count(*) FROM orders GROUP BY state`)
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
