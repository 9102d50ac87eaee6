package sqlstore

import (
	"context"
	"time"

	"github.com/f2fpay/f2fpay"
)

// The console's refund approvals, refund thresholds and single-use login tokens
// (f2fpay.RefundApprovalStore, migration 0019).

const approvalCols = `id, merchant_id, order_id, out_trade_no, refund_id, amount, reason, state, requested_by,
	requested_login, decided_by, decided_login, decided_at, created_at`

func scanApproval(s Scanner) (*f2fpay.RefundApproval, error) {
	a := new(f2fpay.RefundApproval)
	err := s.Scan(&a.ID, &a.MerchantID, &a.OrderID, &a.OutTradeNo, &a.RefundID, (*int64)(&a.Amount), &a.Reason,
		(*string)(&a.State), &a.RequestedBy, &a.RequestedLogin, &a.DecidedBy, &a.DecidedLogin,
		NullTime{&a.DecidedAt}, NullTime{&a.CreatedAt})
	return a, err
}

// RequestRefundApproval inserts a pending approval; a RefundID asked already fills a
// with the stored one.
func (c *Core) RequestRefundApproval(ctx context.Context, a *f2fpay.RefundApproval) (err error) {
	defer c.Wrap(&err, "request refund approval")
	if a.RefundID == "" || a.Amount <= 0 || a.OrderID == 0 || a.RequestedBy == 0 {
		return f2fpay.Errorf(f2fpay.EINVALID, "refund approval: a refund id, an order, a positive amount and who asks are required")
	}
	defer c.durable(&err)
	if _, err = c.cfg.Autocommit.Exec(ctx, c.q.RequestRefundApproval, a.MerchantID, a.OrderID, a.OutTradeNo, a.RefundID,
		int64(a.Amount), a.Reason, a.RequestedBy, a.RequestedLogin, c.T(c.Now())); err != nil {
		return c.constraint(err, "refund approval exists already", "refund approval: order not found")
	}
	got, err := FindOne(c.cfg.Autocommit.QueryRow(ctx, c.q.FindRefundApprovalByRefundID, a.RefundID), scanApproval,
		"refund approval %s not found", a.RefundID)
	if err != nil {
		return err
	}
	*a = *got
	return nil
}

// FindRefundApproval returns ENOTFOUND for an unknown id.
func (c *Core) FindRefundApproval(ctx context.Context, id int64) (_ *f2fpay.RefundApproval, err error) {
	defer c.Wrap(&err, "find refund approval")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindRefundApproval, id), scanApproval, "refund approval %d not found", id)
}

// ListRefundApprovals returns the matching approvals, newest first.
func (c *Core) ListRefundApprovals(ctx context.Context, f f2fpay.RefundApprovalFilter) (_ []*f2fpay.RefundApproval, err error) {
	defer c.Wrap(&err, "list refund approvals")
	var w filter
	if f.MerchantID != nil {
		w.where(c.ph, "merchant_id = ", *f.MerchantID)
	}
	if f.OrderID != nil {
		w.where(c.ph, "order_id = ", *f.OrderID)
	}
	if f.State != "" {
		w.where(c.ph, "state = ", string(f.State))
	}
	rows, err := c.cfg.Read.Query(ctx, c.q.ListRefundApprovals+w.sql(c.ph, "id DESC", f.Limit), w.args...)
	return Collect(rows, err, scanApproval)
}

// DecideRefundApproval decides a pending approval in one conditional UPDATE: of two
// staff members deciding at once, one wins and the other is told.
func (c *Core) DecideRefundApproval(ctx context.Context, id int64, state f2fpay.ApprovalState, by *f2fpay.Staff) (_ *f2fpay.RefundApproval, err error) {
	defer c.Wrap(&err, "decide refund approval")
	if state != f2fpay.ApprovalApproved && state != f2fpay.ApprovalRejected {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "refund approval %d: decision %q is not approved or rejected", id, state)
	}
	defer c.durable(&err)
	a, err := FindOne(c.cfg.Autocommit.QueryRow(ctx, c.q.DecideRefundApproval, id, string(state), by.ID, by.Login, c.T(c.Now())),
		scanApproval, "refund approval %d not found", id)
	if f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
		return a, err
	}
	a, err = FindOne(c.cfg.Autocommit.QueryRow(ctx, c.q.FindRefundApproval, id), scanApproval, "refund approval %d not found", id)
	switch {
	case err != nil:
		return nil, err
	case a.RequestedBy == by.ID:
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "refund approval %d: %s asked for this refund, so another staff member must decide it", id, by.Login)
	case a.State == state && a.DecidedBy == by.ID:
		return a, nil
	}
	return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "refund approval %d was %s by %s already", id, a.State, a.DecidedLogin)
}

// RefundApprovalAbove returns the merchant's threshold, if it has one.
func (c *Core) RefundApprovalAbove(ctx context.Context, merchantID int64) (_ f2fpay.Amount, _ bool, err error) {
	defer c.Wrap(&err, "refund approval threshold")
	var n int64
	err = c.cfg.Read.QueryRow(ctx, c.q.RefundApprovalAbove, merchantID).Scan(&n)
	if isNoRows(err) {
		return 0, false, nil
	}
	return f2fpay.Amount(n), err == nil, err
}

// SetRefundApprovalAbove sets or (negative) removes the merchant's threshold.
func (c *Core) SetRefundApprovalAbove(ctx context.Context, merchantID int64, limit f2fpay.Amount) (err error) {
	defer c.Wrap(&err, "set refund approval threshold")
	defer c.durable(&err)
	if limit < 0 {
		_, err = c.cfg.Autocommit.Exec(ctx, c.q.DeleteRefundApprovalAbove, merchantID)
		return err
	}
	_, err = c.cfg.Autocommit.Exec(ctx, c.q.SetRefundApprovalAbove, merchantID, int64(limit), c.T(c.Now()))
	return err
}

// CreateLoginToken inserts a single-use login token; an unknown staff member is
// ENOTFOUND.
func (c *Core) CreateLoginToken(ctx context.Context, t *f2fpay.StaffLoginToken) (err error) {
	defer c.Wrap(&err, "create login token")
	if t.ID == "" || t.StaffID == 0 || t.ExpiresAt.IsZero() {
		return f2fpay.Errorf(f2fpay.EINVALID, "login token: id, staff and expiry are required")
	}
	defer c.durable(&err)
	now := c.Now()
	if _, err = c.cfg.Autocommit.Exec(ctx, c.q.CreateLoginToken, t.ID, t.StaffID, c.T(now), c.T(t.ExpiresAt)); err != nil {
		return c.constraint(err, "login token exists already", "login token: staff not found")
	}
	t.CreatedAt = now
	return nil
}

// UseLoginToken spends a token in one conditional UPDATE.
func (c *Core) UseLoginToken(ctx context.Context, id string, now time.Time) (_ *f2fpay.StaffLoginToken, err error) {
	defer c.Wrap(&err, "use login token")
	defer c.durable(&err)
	t := &f2fpay.StaffLoginToken{ID: id}
	err = c.cfg.Autocommit.QueryRow(ctx, c.q.UseLoginToken, id, c.T(now)).Scan(&t.StaffID, NullTime{&t.CreatedAt}, NullTime{&t.ExpiresAt})
	if isNoRows(err) {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "the login link is unknown, used already or expired")
	}
	return t, err
}
