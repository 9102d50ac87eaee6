package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/sqljson"
)

// Vend orders (f2fpay.VendStore, docs/vending.md §11). The units live in the items
// JSON column, so a unit's state, command and refund id change with the vend's state
// in one compare-and-set on version.

const vendCols = `id, merchant_id, terminal_id, app_id, out_trade_no, pay_kind, face_out_trade_no, total, state, items,
	coalesce(request_key, ''), pay_deadline, paid_at, final_at, next_check_at, created_at, updated_at, version`

func scanVend(s Scanner) (*f2fpay.VendOrder, error) {
	v := new(f2fpay.VendOrder)
	err := s.Scan(&v.ID, &v.MerchantID, &v.TerminalID, &v.AppID, &v.OutTradeNo, (*string)(&v.PayKind), &v.FaceOutTradeNo,
		(*int64)(&v.Total), (*string)(&v.State), sqljson.Column{V: &v.Items}, &v.RequestKey, NullTime{&v.PayDeadline},
		NullTime{&v.PaidAt}, NullTime{&v.FinalAt}, NullTime{&v.NextCheckAt}, NullTime{&v.CreatedAt},
		NullTime{&v.UpdatedAt}, &v.Version)
	return v, err
}

// CreateVendOrder inserts v, or returns the terminal's vend with the same request key.
func (c *Core) CreateVendOrder(ctx context.Context, v *f2fpay.VendOrder) (_ *f2fpay.VendOrder, created bool, err error) {
	defer c.Wrap(&err, "create vend order")
	if err := v.Validate(); err != nil {
		return nil, false, err
	}
	if v.PayDeadline.IsZero() {
		return nil, false, f2fpay.Errorf(f2fpay.EINVALID, "vend order %s: pay deadline is missing", v.OutTradeNo)
	}
	byKey := func() (*f2fpay.VendOrder, error) {
		if v.RequestKey == "" {
			return nil, nil
		}
		x, err := scanVend(c.cfg.Read.QueryRow(ctx, c.q.FindVendByKey, v.TerminalID, v.RequestKey))
		if isNoRows(err) {
			return nil, nil
		}
		return x, err
	}
	if x, err := byKey(); x != nil || err != nil {
		return x, false, err
	}
	now := c.Now()
	var id int64
	err = c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		err := tx.QueryRow(ctx, c.q.CreateVendOrder, v.MerchantID, v.TerminalID, v.AppID, v.OutTradeNo, string(v.PayKind),
			int64(v.Total), string(v.State), sqljson.Column{V: v.Items}, strArg(v.RequestKey), c.T(v.PayDeadline),
			c.T(v.PaidAt), c.T(v.FinalAt), c.T(v.NextCheckAt), c.T(now), v.FaceOutTradeNo).Scan(&id)
		return c.constraint(err, fmt.Sprintf("out_trade_no %s is used by another vend order", v.OutTradeNo),
			fmt.Sprintf("vend order: merchant %d, terminal %d or app %d not found", v.MerchantID, v.TerminalID, v.AppID))
	})
	if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
		// The same request key, concurrently: answer with the vend it made.
		if x, kerr := byKey(); x != nil || kerr != nil {
			return x, false, kerr
		}
	}
	if err != nil {
		return nil, false, err
	}
	v.ID, v.CreatedAt, v.UpdatedAt, v.Version = id, now, now, 1
	return v, true, nil
}

// FindVendOrder returns ENOTFOUND for an unknown id.
func (c *Core) FindVendOrder(ctx context.Context, id int64) (_ *f2fpay.VendOrder, err error) {
	defer c.Wrap(&err, "find vend order")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindVendOrder, id), scanVend, "vend order %d not found", id)
}

// FindVendOrderByTrade returns the vend paid through a payment order.
func (c *Core) FindVendOrderByTrade(ctx context.Context, appID, merchantID int64, outTradeNo string) (_ *f2fpay.VendOrder, err error) {
	defer c.Wrap(&err, "find vend order by trade")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindVendByTrade, appID, merchantID, outTradeNo), scanVend,
		"order %s pays no vend order", outTradeNo)
}

// ListVendOrders returns the matching vends newest first.
func (c *Core) ListVendOrders(ctx context.Context, f f2fpay.VendFilter) (_ []*f2fpay.VendOrder, err error) {
	defer c.Wrap(&err, "list vend orders")
	var w filter
	if f.MerchantID != nil {
		w.where(c.ph, "merchant_id = ", *f.MerchantID)
	}
	if f.TerminalID != nil {
		w.where(c.ph, "terminal_id = ", *f.TerminalID)
	}
	if f.BeforeID > 0 {
		w.where(c.ph, "id < ", f.BeforeID)
	}
	if len(f.States) > 0 {
		w.conds = append(w.conds, "state IN ("+c.ph.list(len(w.args)+1, len(f.States))+")")
		for _, s := range f.States {
			w.args = append(w.args, string(s))
		}
	}
	q := w.sql(c.ph, "id DESC", f.Limit)
	rows, err := c.cfg.Read.Query(ctx, c.q.ListVendOrders+q, w.args...)
	return Collect(rows, err, scanVend)
}

// UpdateVendOrder compares and sets v on its version and releases its lease.
func (c *Core) UpdateVendOrder(ctx context.Context, v *f2fpay.VendOrder) (err error) {
	defer c.Wrap(&err, "update vend order")
	if err := v.Validate(); err != nil {
		return err
	}
	now := c.Now()
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		n, err := tx.Exec(ctx, c.q.UpdateVendOrder, string(v.State), sqljson.Column{V: v.Items}, c.T(v.PaidAt),
			c.T(v.FinalAt), c.T(v.NextCheckAt), c.T(now), v.ID, v.Version, v.OutTradeNo, string(v.PayKind), c.T(v.PayDeadline),
			v.FaceOutTradeNo)
		if err != nil || n == 1 {
			return err
		}
		var ver int64
		if err := tx.QueryRow(ctx, c.q.VendVersion, v.ID).Scan(&ver); isNoRows(err) {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "vend order %d not found", v.ID)
		} else if err != nil {
			return err
		}
		return f2fpay.Errorf(f2fpay.ECONFLICT, "vend order %d changed meanwhile (version %d, this copy has %d); reload it", v.ID, ver, v.Version)
	})
	if err != nil {
		return err
	}
	v.Version++
	v.UpdatedAt = now
	return nil
}

// ClaimDueVendOrders leases due vends that are not final, as ClaimDueOrders does.
func (c *Core) ClaimDueVendOrders(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (_ []*f2fpay.VendOrder, err error) {
	defer c.Wrap(&err, "claim due vend orders")
	out, err := claim(c, ctx, c.q.ClaimDueVendOrders, scanVend, owner, now, lease, limit)
	sort.Slice(out, func(i, j int) bool { return dueBefore(out[i].NextCheckAt, out[i].ID, out[j].NextCheckAt, out[j].ID) })
	return out, err
}
