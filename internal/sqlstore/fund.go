package sqlstore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/sqljson"
)

const fundRuleCols = `id, merchant_id, store_id, terminal_id, mode, receivers, settle_delay_ms, created_at, updated_at`

func scanFundRule(s Scanner) (*f2fpay.FundRule, error) {
	r := new(f2fpay.FundRule)
	var delay int64
	err := s.Scan(&r.ID, &r.MerchantID, NullID{&r.StoreID}, NullID{&r.TerminalID}, (*string)(&r.Mode),
		sqljson.Column{V: &r.Receivers}, &delay, NullTime{&r.CreatedAt}, NullTime{&r.UpdatedAt})
	r.SettleDelay = time.Duration(delay) * time.Millisecond
	return r, err
}

const settlementCols = `id, order_id, merchant_id, state, receivers, delay_ms, final, out_request_no, shares,
	base_amount, settle_no, attempts, last_error, due_at, created_at, updated_at, version`

func scanSettlement(s Scanner) (*f2fpay.Settlement, error) {
	x := new(f2fpay.Settlement)
	var delay int64
	err := s.Scan(&x.ID, &x.OrderID, &x.MerchantID, (*string)(&x.State), sqljson.Column{V: &x.Receivers}, &delay,
		&x.Final, &x.OutRequestNo, sqljson.Column{V: &x.Shares}, (*int64)(&x.Base), &x.SettleNo, &x.Attempts,
		&x.LastError, NullTime{&x.DueAt}, NullTime{&x.CreatedAt}, NullTime{&x.UpdatedAt}, &x.Version)
	x.Delay = time.Duration(delay) * time.Millisecond
	return x, err
}

func scanRelation(s Scanner) (*f2fpay.RoyaltyRelation, error) {
	r := new(f2fpay.RoyaltyRelation)
	err := s.Scan(&r.AppID, &r.Account, &r.Name, &r.OutRequestNo, NullTime{&r.BoundAt})
	return r, err
}

// SaveFundRule checks r, that its store or terminal is the merchant's and that every
// receiver is bound to every app of the merchant, then replaces the scope's rule — the
// checks and the write in one transaction, so a refused rule writes nothing.
func (c *Core) SaveFundRule(ctx context.Context, r *f2fpay.FundRule) (err error) {
	defer c.Wrap(&err, "save fund rule")
	if err := r.Validate(); err != nil {
		return err
	}
	if r.StoreID != 0 {
		s, err := c.FindStore(ctx, r.StoreID)
		if err != nil || s.MerchantID != r.MerchantID {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "merchant %d has no store %d", r.MerchantID, r.StoreID)
		}
	} else {
		t, err := c.FindTerminal(ctx, r.TerminalID)
		if err != nil || t.MerchantID != r.MerchantID {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "merchant %d has no terminal %d", r.MerchantID, r.TerminalID)
		}
	}
	now := c.Now()
	var id int64
	created := now
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		for _, x := range r.Receivers {
			rows, err := tx.Query(ctx, c.q.UnboundApps, r.MerchantID, x.Account)
			apps, err := Collect(rows, err, func(s Scanner) (string, error) {
				var a string
				return a, s.Scan(&a)
			})
			if err != nil {
				return err
			}
			if len(apps) > 0 {
				return f2fpay.Errorf(f2fpay.EINVALID, "receiver %s is not bound to app %s: bind it (alipay.trade.royalty.relation.bind) before a rule names it",
					x.Account, strings.Join(apps, ", "))
			}
		}
		err := tx.QueryRow(ctx, c.q.UpdateFundRule, string(r.Mode), sqljson.Column{V: r.Receivers}, r.SettleDelay.Milliseconds(),
			c.T(now), r.MerchantID, IDArg(r.StoreID), IDArg(r.TerminalID)).Scan(&id, NullTime{&created})
		if !isNoRows(err) {
			return err
		}
		created = now
		err = tx.QueryRow(ctx, c.q.InsertFundRule, r.MerchantID, IDArg(r.StoreID), IDArg(r.TerminalID), string(r.Mode),
			sqljson.Column{V: r.Receivers}, r.SettleDelay.Milliseconds(), c.T(now)).Scan(&id)
		return c.constraint(err, "the store or terminal has a fund rule already", fmt.Sprintf("fund rule: merchant %d, store or terminal not found", r.MerchantID))
	})
	if err != nil {
		return err
	}
	r.ID, r.CreatedAt, r.UpdatedAt = id, created, now
	return nil
}

// FindFundRule returns the rule set on that store (storeID) or terminal (terminalID).
func (c *Core) FindFundRule(ctx context.Context, storeID, terminalID int64) (_ *f2fpay.FundRule, err error) {
	defer c.Wrap(&err, "find fund rule")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindFundRule, IDArg(storeID), IDArg(terminalID)), scanFundRule,
		"no fund rule on store %d / terminal %d", storeID, terminalID)
}

// FundRuleFor returns the terminal's rule, else its store's.
func (c *Core) FundRuleFor(ctx context.Context, t *f2fpay.Terminal) (_ *f2fpay.FundRule, err error) {
	defer c.Wrap(&err, "find fund rule")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FundRuleFor, t.ID, IDArg(t.StoreID)), scanFundRule,
		"terminal %s has no fund rule", t.Code)
}

// DeleteFundRule removes the rule of a store or terminal; ENOTFOUND when there is none.
func (c *Core) DeleteFundRule(ctx context.Context, storeID, terminalID int64) (err error) {
	defer c.Wrap(&err, "delete fund rule")
	var n int64
	err = c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		n, err = tx.Exec(ctx, c.q.DeleteFundRule, IDArg(storeID), IDArg(terminalID))
		return err
	})
	if err == nil && n == 0 {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "no fund rule on store %d / terminal %d", storeID, terminalID)
	}
	return err
}

// SaveRoyaltyRelation records a binding; an existing one is kept as it is.
func (c *Core) SaveRoyaltyRelation(ctx context.Context, r *f2fpay.RoyaltyRelation) (err error) {
	defer c.Wrap(&err, "save royalty relation")
	if !f2fpay.IsPID(r.Account) {
		return f2fpay.Errorf(f2fpay.EINVALID, "royalty relation: %q is not an Alipay user id", r.Account)
	}
	if r.BoundAt.IsZero() {
		r.BoundAt = c.Now()
	}
	return c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		_, err := tx.Exec(ctx, c.q.SaveRoyaltyRelation, r.AppID, r.Account, r.Name, r.OutRequestNo, c.T(r.BoundAt))
		return c.constraint(err, "", fmt.Sprintf("royalty relation: app %d not found", r.AppID))
	})
}

// ListRoyaltyRelations returns an app's bound receivers, oldest first.
func (c *Core) ListRoyaltyRelations(ctx context.Context, appID int64) (_ []*f2fpay.RoyaltyRelation, err error) {
	defer c.Wrap(&err, "list royalty relations")
	rows, err := c.cfg.Read.Query(ctx, c.q.ListRoyaltyRelations, appID)
	return Collect(rows, err, scanRelation)
}

func checkSettlement(s *f2fpay.Settlement) error {
	switch s.State {
	case f2fpay.SettlementWaiting, f2fpay.SettlementSettling, f2fpay.SettlementSettled, f2fpay.SettlementNone, f2fpay.SettlementFailed:
	default:
		return f2fpay.Errorf(f2fpay.EINVALID, "settlement: state %q is not a settlement state", s.State)
	}
	if s.Base < 0 {
		return f2fpay.Errorf(f2fpay.EINVALID, "settlement: base amount %v is negative", s.Base)
	}
	return nil
}

// CreateSettlement inserts s, durably: it is the promise that a frozen trade is settled.
func (c *Core) CreateSettlement(ctx context.Context, s *f2fpay.Settlement) (err error) {
	defer c.Wrap(&err, "create settlement")
	if err := checkSettlement(s); err != nil {
		return err
	}
	now := c.Now()
	var id int64
	err = c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		err := tx.QueryRow(ctx, c.q.CreateSettlement, s.OrderID, s.MerchantID, string(s.State), sqljson.Column{V: s.Receivers},
			s.Delay.Milliseconds(), s.Final, s.OutRequestNo, sqljson.Column{V: s.Shares}, int64(s.Base), s.SettleNo,
			s.Attempts, s.LastError, c.T(s.DueAt), c.T(now)).Scan(&id)
		return c.constraint(err, fmt.Sprintf("order %d has a settlement already", s.OrderID),
			fmt.Sprintf("settlement: order %d or merchant %d not found", s.OrderID, s.MerchantID))
	})
	if err != nil {
		return err
	}
	s.ID, s.CreatedAt, s.UpdatedAt, s.Version = id, now, now, 1
	return nil
}

// FindSettlement returns an order's settlement; ENOTFOUND when it has none.
func (c *Core) FindSettlement(ctx context.Context, orderID int64) (_ *f2fpay.Settlement, err error) {
	defer c.Wrap(&err, "find settlement")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindSettlement, orderID), scanSettlement, "order %d has no settlement", orderID)
}

// UpdateSettlement compares and sets s on its version and releases its lease.
func (c *Core) UpdateSettlement(ctx context.Context, s *f2fpay.Settlement) (err error) {
	defer c.Wrap(&err, "update settlement")
	if err := checkSettlement(s); err != nil {
		return err
	}
	now := c.Now()
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		n, err := tx.Exec(ctx, c.q.UpdateSettlement, string(s.State), s.Final, s.OutRequestNo, sqljson.Column{V: s.Shares},
			int64(s.Base), s.SettleNo, s.Attempts, s.LastError, c.T(s.DueAt), c.T(now), s.ID, s.Version)
		if err != nil || n == 1 {
			return err
		}
		var v int64
		if err := tx.QueryRow(ctx, c.q.SettlementVersion, s.ID).Scan(&v); isNoRows(err) {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "settlement %d not found", s.ID)
		} else if err != nil {
			return err
		}
		return f2fpay.Errorf(f2fpay.ECONFLICT, "settlement of order %d changed meanwhile (version %d, this copy has %d); reload it", s.OrderID, v, s.Version)
	})
	if err != nil {
		return err
	}
	s.Version++
	s.UpdatedAt = now
	return nil
}

// ClaimDueSettlements leases due settlements that are not final, as ClaimDueOrders does.
func (c *Core) ClaimDueSettlements(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (_ []*f2fpay.Settlement, err error) {
	defer c.Wrap(&err, "claim due settlements")
	out, err := claim(c, ctx, c.q.ClaimDueSettlements, scanSettlement, owner, now, lease, limit)
	sort.Slice(out, func(i, j int) bool { return dueBefore(out[i].DueAt, out[i].ID, out[j].DueAt, out[j].ID) })
	return out, err
}
