package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/f2fpay/f2fpay"
)

const refundCols = `id, order_id, out_request_no, amount, reason, state, fail_code, fail_reason, refunded_at,
	next_check_at, attempts, created_at, updated_at, version`

func scanRefund(s scanner) (*f2fpay.Refund, error) {
	r := new(f2fpay.Refund)
	err := s.Scan(&r.ID, &r.OrderID, &r.OutRequestNo, (*int64)(&r.Amount), &r.Reason, (*string)(&r.State),
		&r.FailCode, &r.FailReason, nullTime{&r.RefundedAt}, nullTime{&r.NextCheckAt}, &r.Attempts,
		nullTime{&r.CreatedAt}, nullTime{&r.UpdatedAt}, &r.Version)
	return r, err
}

// CreateRefund inserts r with version 1 and enqueues events in the same transaction.
func (db *DB) CreateRefund(ctx context.Context, r *f2fpay.Refund, events ...*f2fpay.Event) (err error) {
	defer wrap(&err, "create refund")
	if err := r.Validate(); err != nil {
		return err
	}
	now := db.now()
	var id int64
	var after []func()
	err = db.inTx(ctx, func(tx querier) error {
		err := tx.QueryRow(ctx, `INSERT INTO refunds (order_id, out_request_no, amount, reason, state, fail_code,
	fail_reason, refunded_at, next_check_at, attempts, created_at, updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1) RETURNING id`,
			r.OrderID, r.OutRequestNo, int64(r.Amount), r.Reason, string(r.State), r.FailCode, r.FailReason,
			timeArg(r.RefundedAt), timeArg(r.NextCheckAt), r.Attempts, now).Scan(&id)
		if err != nil {
			return constraint(err, fmt.Sprintf("order %d has a refund with out_request_no %s already", r.OrderID, r.OutRequestNo),
				fmt.Sprintf("refund %s: order %d not found", r.OutRequestNo, r.OrderID))
		}
		owner, err := refundOwner(ctx, tx, r.OrderID, id, nil, events)
		if err != nil {
			return err
		}
		return insertEvents(ctx, tx, events, owner, now, &after)
	})
	if err != nil {
		return err
	}
	r.ID, r.CreatedAt, r.UpdatedAt, r.Version = id, now, now, 1
	for _, f := range after {
		f()
	}
	return nil
}

// refundOwner is whom a refund's events belong to; the merchant is looked up only
// when an event does not name it.
func refundOwner(ctx context.Context, tx querier, orderID, refundID int64, order *f2fpay.Order, events []*f2fpay.Event) (eventOwner, error) {
	owner := eventOwner{orderID: orderID, refundID: refundID}
	if order != nil {
		owner.merchantID = order.MerchantID
		return owner, nil
	}
	for _, e := range events {
		if e != nil && e.MerchantID == 0 {
			err := tx.QueryRow(ctx, `SELECT merchant_id FROM orders WHERE id = $1`, orderID).Scan(&owner.merchantID)
			if errors.Is(err, pgx.ErrNoRows) {
				return owner, f2fpay.Errorf(f2fpay.ENOTFOUND, "order %d not found", orderID)
			}
			return owner, err
		}
	}
	return owner, nil
}

// FindRefund returns ENOTFOUND when the order has no refund with that out_request_no.
func (db *DB) FindRefund(ctx context.Context, orderID int64, outRequestNo string) (_ *f2fpay.Refund, err error) {
	defer wrap(&err, "find refund")
	return findOne(db.pool.QueryRow(ctx, `SELECT `+refundCols+` FROM refunds WHERE order_id = $1 AND out_request_no = $2`,
		orderID, outRequestNo), scanRefund, "order %d has no refund %s", orderID, outRequestNo)
}

// ListRefunds returns an order's refunds, oldest first.
func (db *DB) ListRefunds(ctx context.Context, orderID int64) (_ []*f2fpay.Refund, err error) {
	defer wrap(&err, "list refunds")
	rows, err := db.pool.Query(ctx, `SELECT `+refundCols+` FROM refunds WHERE order_id = $1 ORDER BY id`, orderID)
	return collect(rows, err, scanRefund)
}

// UpdateRefund compares and sets r (and order, when given) on their versions, appends
// calls and enqueues events in one transaction; leases on both are released.
func (db *DB) UpdateRefund(ctx context.Context, r *f2fpay.Refund, order *f2fpay.Order, calls []*f2fpay.GatewayCall, events ...*f2fpay.Event) (err error) {
	defer wrap(&err, "update refund")
	if err := r.Validate(); err != nil {
		return err
	}
	if order != nil {
		if err := order.Validate(); err != nil {
			return err
		}
		if order.ID != r.OrderID {
			return f2fpay.Errorf(f2fpay.EINVALID, "refund %s belongs to order %d, not to order %d", r.OutRequestNo, r.OrderID, order.ID)
		}
	}
	now := db.now()
	var after []func()
	err = db.inTx(ctx, func(tx querier) error {
		res, err := tx.Exec(ctx, `UPDATE refunds SET state = $1, fail_code = $2, fail_reason = $3, refunded_at = $4,
	next_check_at = $5, attempts = $6, updated_at = $7, version = version + 1, lease_owner = '', lease_until = NULL
WHERE id = $8 AND version = $9`,
			string(r.State), r.FailCode, r.FailReason, timeArg(r.RefundedAt), timeArg(r.NextCheckAt), r.Attempts,
			now, r.ID, r.Version)
		if err != nil {
			return err
		}
		if n := res.RowsAffected(); n != 1 {
			var v int64
			err := tx.QueryRow(ctx, `SELECT version FROM refunds WHERE id = $1`, r.ID).Scan(&v)
			if errors.Is(err, pgx.ErrNoRows) {
				return f2fpay.Errorf(f2fpay.ENOTFOUND, "refund %d (%s) not found", r.ID, r.OutRequestNo)
			} else if err != nil {
				return err
			}
			return f2fpay.Errorf(f2fpay.ECONFLICT, "refund %s changed meanwhile (version %d, this copy has %d); reload it and decide again",
				r.OutRequestNo, v, r.Version)
		}
		if order != nil {
			if err := updateOrder(ctx, tx, order, now); err != nil {
				return err
			}
		}
		if err := insertCalls(ctx, tx, calls, r.OrderID, r.ID, now, &after); err != nil {
			return err
		}
		owner, err := refundOwner(ctx, tx, r.OrderID, r.ID, order, events)
		if err != nil {
			return err
		}
		return insertEvents(ctx, tx, events, owner, now, &after)
	})
	if err != nil {
		return err
	}
	r.Version++
	r.UpdatedAt = now
	if order != nil {
		order.Version++
		order.UpdatedAt = now
	}
	for _, f := range after {
		f()
	}
	return nil
}

// ClaimDueRefunds leases up to limit due, unleased refunds in PENDING or UNKNOWN, as
// ClaimDueOrders does for orders.
func (db *DB) ClaimDueRefunds(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (_ []*f2fpay.Refund, err error) {
	defer wrap(&err, "claim due refunds")
	if err := f2fpay.CheckLease(owner, lease); err != nil || limit <= 0 {
		return nil, err
	}
	var out []*f2fpay.Refund
	err = db.inLazyTx(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `UPDATE refunds SET lease_owner = $1, lease_until = $2
WHERE id IN (
	SELECT id FROM refunds
	WHERE state IN ('PENDING', 'UNKNOWN')
		AND (next_check_at IS NULL OR next_check_at <= $3)
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY next_check_at NULLS FIRST, id
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
RETURNING `+refundCols, owner, now.Add(lease), now, limit)
		out, err = collect(rows, err, scanRefund)
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return dueBefore(out[i].NextCheckAt, out[i].ID, out[j].NextCheckAt, out[j].ID) })
	return out, nil
}
