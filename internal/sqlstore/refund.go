package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/f2fpay/f2fpay"
)

// CreateRefund inserts r with version 1 and enqueues events in the same transaction.
func (c *Core) CreateRefund(ctx context.Context, r *f2fpay.Refund, events ...*f2fpay.Event) (err error) {
	defer c.Wrap(&err, "create refund")
	if err := r.Validate(); err != nil {
		return err
	}
	now := c.Now()
	var id int64
	var after []func()
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		err := tx.QueryRow(ctx, c.q.CreateRefund,
			r.OrderID, r.OutRequestNo, int64(r.Amount), r.Reason, string(r.State), r.FailCode, r.FailReason,
			c.T(r.RefundedAt), c.T(r.NextCheckAt), r.Attempts, c.T(now)).Scan(&id)
		if err != nil {
			return c.constraint(err, fmt.Sprintf("order %d has a refund with out_request_no %s already", r.OrderID, r.OutRequestNo),
				fmt.Sprintf("refund %s: order %d not found", r.OutRequestNo, r.OrderID))
		}
		owner, err := c.refundOwner(ctx, tx, r.OrderID, id, nil, events)
		if err != nil {
			return err
		}
		return c.insertEvents(ctx, tx, events, owner, now, &after)
	})
	if err != nil {
		return err
	}
	r.ID, r.CreatedAt, r.UpdatedAt, r.Version = id, now, now, 1
	runAfter(after)
	return nil
}

// refundOwner is whom a refund's events belong to; the merchant is looked up only
// when an event does not name it.
func (c *Core) refundOwner(ctx context.Context, tx Conn, orderID, refundID int64, order *f2fpay.Order, events []*f2fpay.Event) (eventOwner, error) {
	owner := eventOwner{orderID: orderID, refundID: refundID}
	if order != nil {
		owner.merchantID = order.MerchantID
		return owner, nil
	}
	for _, e := range events {
		if e != nil && e.MerchantID == 0 {
			err := tx.QueryRow(ctx, c.q.OrderMerchant, orderID).Scan(&owner.merchantID)
			if isNoRows(err) {
				return owner, f2fpay.Errorf(f2fpay.ENOTFOUND, "order %d not found", orderID)
			}
			return owner, err
		}
	}
	return owner, nil
}

// FindRefund returns ENOTFOUND when the order has no refund with that out_request_no.
func (c *Core) FindRefund(ctx context.Context, orderID int64, outRequestNo string) (_ *f2fpay.Refund, err error) {
	defer c.Wrap(&err, "find refund")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindRefund, orderID, outRequestNo),
		scanRefund, "order %d has no refund %s", orderID, outRequestNo)
}

// ListRefunds returns an order's refunds, oldest first.
func (c *Core) ListRefunds(ctx context.Context, orderID int64) (_ []*f2fpay.Refund, err error) {
	defer c.Wrap(&err, "list refunds")
	rows, err := c.cfg.Read.Query(ctx, c.q.ListRefunds, orderID)
	return Collect(rows, err, scanRefund)
}

// UpdateRefund compares and sets r (and order, when given) on their versions, appends
// calls and enqueues events in one transaction; leases on both are released.
func (c *Core) UpdateRefund(ctx context.Context, r *f2fpay.Refund, order *f2fpay.Order, calls []*f2fpay.GatewayCall, events ...*f2fpay.Event) (err error) {
	defer c.Wrap(&err, "update refund")
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
	now := c.Now()
	var after []func()
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		n, err := tx.Exec(ctx, c.q.UpdateRefund,
			string(r.State), r.FailCode, r.FailReason, c.T(r.RefundedAt), c.T(r.NextCheckAt), r.Attempts,
			c.T(now), r.ID, r.Version)
		if err != nil {
			return err
		}
		if n != 1 {
			var v int64
			err := tx.QueryRow(ctx, c.q.RefundVersion, r.ID).Scan(&v)
			if isNoRows(err) {
				return f2fpay.Errorf(f2fpay.ENOTFOUND, "refund %d (%s) not found", r.ID, r.OutRequestNo)
			} else if err != nil {
				return err
			}
			return f2fpay.Errorf(f2fpay.ECONFLICT, "refund %s changed meanwhile (version %d, this copy has %d); reload it and decide again",
				r.OutRequestNo, v, r.Version)
		}
		if order != nil {
			if err := c.updateOrderIn(ctx, tx, order, now); err != nil {
				return err
			}
		}
		if err := tx.Batch(ctx, c.appendCalls(nil, calls, r.OrderID, r.ID, now, &after)); err != nil {
			return err
		}
		owner, err := c.refundOwner(ctx, tx, r.OrderID, r.ID, order, events)
		if err != nil {
			return err
		}
		return c.insertEvents(ctx, tx, events, owner, now, &after)
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
	runAfter(after)
	return nil
}

// ClaimDueRefunds leases up to limit due, unleased refunds in PENDING or UNKNOWN, as
// ClaimDueOrders does for orders.
func (c *Core) ClaimDueRefunds(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (_ []*f2fpay.Refund, err error) {
	defer c.Wrap(&err, "claim due refunds")
	out, err := claim(c, ctx, c.q.ClaimDueRefunds, scanRefund, owner, now, lease, limit)
	sort.Slice(out, func(i, j int) bool { return dueBefore(out[i].NextCheckAt, out[i].ID, out[j].NextCheckAt, out[j].ID) })
	return out, err
}
