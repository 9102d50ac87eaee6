package sqlstore

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/sqljson"
)

// The open-door cabinet's agreements and sessions (f2fpay.CabinetStore,
// docs/vending.md §12).

const agreementCols = `id, merchant_id, member_id, app_id, external_no, coalesce(agreement_no, ''), state,
	personal_product_code, sign_scene, alipay_user_id, alipay_open_id, signed_at, unsigned_at, created_at, updated_at,
	version`

func scanAgreement(s Scanner) (*f2fpay.Agreement, error) {
	a := new(f2fpay.Agreement)
	err := s.Scan(&a.ID, &a.MerchantID, &a.MemberID, &a.AppID, &a.ExternalNo, &a.AgreementNo, (*string)(&a.State),
		&a.PersonalProductCode, &a.SignScene, &a.AlipayUserID, &a.AlipayOpenID, NullTime{&a.SignedAt},
		NullTime{&a.UnsignedAt}, NullTime{&a.CreatedAt}, NullTime{&a.UpdatedAt}, &a.Version)
	return a, err
}

const cabinetSessionCols = `id, merchant_id, terminal_id, member_id, app_id, state, agreement_id, command_id, items, amount,
	coalesce(out_trade_no, ''), generation, order_id, trade_no, fail_code, fail_reason, attempts, next_check_at,
	created_at, closed_at, paid_at, updated_at, version`

func scanCabinetSession(s Scanner) (*f2fpay.CabinetSession, error) {
	x := new(f2fpay.CabinetSession)
	err := s.Scan(&x.ID, &x.MerchantID, &x.TerminalID, &x.MemberID, &x.AppID, (*string)(&x.State), NullID{&x.AgreementID},
		NullID{&x.CommandID}, sqljson.Column{V: &x.Items}, (*int64)(&x.Amount), &x.OutTradeNo, &x.Generation,
		NullID{&x.OrderID}, &x.TradeNo, &x.FailCode, &x.FailReason, &x.Attempts, NullTime{&x.NextCheckAt},
		NullTime{&x.CreatedAt}, NullTime{&x.ClosedAt}, NullTime{&x.PaidAt}, NullTime{&x.UpdatedAt}, &x.Version)
	if x.Items == nil {
		x.Items = []f2fpay.CabinetItem{}
	}
	return x, err
}

// CreateAgreement inserts a with version 1.
func (c *Core) CreateAgreement(ctx context.Context, a *f2fpay.Agreement) (err error) {
	defer c.Wrap(&err, "create agreement")
	if err := a.Validate(); err != nil {
		return err
	}
	app, err := c.FindApp(ctx, a.AppID)
	if err != nil {
		return err
	}
	if a.MerchantID == 0 {
		a.MerchantID = app.MerchantID
	}
	if app.MerchantID != a.MerchantID {
		return f2fpay.Errorf(f2fpay.EINVALID, "agreement: app %d is not merchant %d's", a.AppID, a.MerchantID)
	}
	now := c.Now()
	var id int64
	err = c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		err := tx.QueryRow(ctx, c.q.CreateAgreement, a.MerchantID, a.MemberID, a.AppID, a.ExternalNo, strArg(a.AgreementNo),
			string(a.State), a.PersonalProductCode, a.SignScene, a.AlipayUserID, a.AlipayOpenID, c.T(a.SignedAt),
			c.T(a.UnsignedAt), c.T(now)).Scan(&id)
		return c.constraint(err, fmt.Sprintf("member %d has a pending or active agreement with app %d already, or the agreement number is used", a.MemberID, a.AppID),
			fmt.Sprintf("agreement: member %d or app %d not found", a.MemberID, a.AppID))
	})
	if err != nil {
		return err
	}
	a.ID, a.CreatedAt, a.UpdatedAt, a.Version = id, now, now, 1
	return nil
}

// FindAgreement returns an agreement by id.
func (c *Core) FindAgreement(ctx context.Context, id int64) (_ *f2fpay.Agreement, err error) {
	defer c.Wrap(&err, "find agreement")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindAgreement, id), scanAgreement, "agreement %d not found", id)
}

// FindAgreementByExternalNo returns the app's agreement with that external number.
func (c *Core) FindAgreementByExternalNo(ctx context.Context, appID int64, externalNo string) (_ *f2fpay.Agreement, err error) {
	defer c.Wrap(&err, "find agreement")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindAgreementByExternalNo, appID, externalNo), scanAgreement,
		"app %d has no agreement %q", appID, externalNo)
}

// LatestAgreement returns the member's newest agreement in the app.
func (c *Core) LatestAgreement(ctx context.Context, memberID, appID int64) (_ *f2fpay.Agreement, err error) {
	defer c.Wrap(&err, "latest agreement")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.LatestAgreement, memberID, appID), scanAgreement,
		"member %d has no withholding agreement with app %d", memberID, appID)
}

// UpdateAgreement compares and sets a on its version.
func (c *Core) UpdateAgreement(ctx context.Context, a *f2fpay.Agreement) (err error) {
	defer c.Wrap(&err, "update agreement")
	if err := a.Validate(); err != nil {
		return err
	}
	now := c.Now()
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		n, err := tx.Exec(ctx, c.q.UpdateAgreement, strArg(a.AgreementNo), string(a.State), a.PersonalProductCode,
			a.SignScene, a.AlipayUserID, a.AlipayOpenID, c.T(a.SignedAt), c.T(a.UnsignedAt), c.T(now), a.ID, a.Version)
		if err != nil {
			return c.constraint(err, fmt.Sprintf("agreement number %s belongs to another agreement of the app, or member %d has another live agreement", a.AgreementNo, a.MemberID), "")
		}
		if n == 1 {
			return nil
		}
		return c.versionConflict(ctx, tx, c.q.AgreementVersion, a.ID, a.Version, "agreement")
	})
	if err != nil {
		return err
	}
	a.Version++
	a.UpdatedAt = now
	return nil
}

// versionConflict tells a missing row (ENOTFOUND) from one whose version moved
// (ECONFLICT) after a compare-and-set that wrote nothing.
func (c *Core) versionConflict(ctx context.Context, tx Conn, query string, id, version int64, what string) error {
	var v int64
	if err := tx.QueryRow(ctx, query, id).Scan(&v); isNoRows(err) {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "%s %d not found", what, id)
	} else if err != nil {
		return err
	}
	return f2fpay.Errorf(f2fpay.ECONFLICT, "%s %d changed meanwhile (version %d, this copy has %d); reload it", what, id, v, version)
}

// OpenCabinetSession inserts s OPEN.
func (c *Core) OpenCabinetSession(ctx context.Context, s *f2fpay.CabinetSession) (err error) {
	defer c.Wrap(&err, "open cabinet session")
	if s.MemberID == 0 || s.TerminalID == 0 || s.AppID == 0 || s.MerchantID == 0 {
		return f2fpay.Errorf(f2fpay.EINVALID, "a cabinet session needs a merchant, a cabinet, a member and an app")
	}
	now := c.Now()
	var id int64
	err = c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		err := tx.QueryRow(ctx, c.q.OpenCabinetSession, s.MerchantID, s.TerminalID, s.MemberID, s.AppID,
			IDArg(s.AgreementID), IDArg(s.CommandID), c.T(now)).Scan(&id)
		return c.constraint(err, "the cabinet's door is open for someone already, or this member has an open door elsewhere",
			fmt.Sprintf("cabinet session: merchant %d, cabinet %d, member %d, app %d or agreement %d not found",
				s.MerchantID, s.TerminalID, s.MemberID, s.AppID, s.AgreementID))
	})
	if err != nil {
		return err
	}
	s.ID, s.State, s.CreatedAt, s.UpdatedAt, s.Version = id, f2fpay.CabinetOpen, now, now, 1
	if s.Items == nil {
		s.Items = []f2fpay.CabinetItem{}
	}
	return nil
}

// FindCabinetSession returns a session by id.
func (c *Core) FindCabinetSession(ctx context.Context, id int64) (_ *f2fpay.CabinetSession, err error) {
	defer c.Wrap(&err, "find cabinet session")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindCabinetSession, id), scanCabinetSession, "cabinet session %d not found", id)
}

// ListCabinetSessions returns the matching sessions, newest first.
func (c *Core) ListCabinetSessions(ctx context.Context, f f2fpay.CabinetSessionFilter) (_ []*f2fpay.CabinetSession, err error) {
	defer c.Wrap(&err, "list cabinet sessions")
	var w filter
	if f.MerchantID != 0 {
		w.where(c.ph, "merchant_id = ", f.MerchantID)
	}
	if f.MemberID != 0 {
		w.where(c.ph, "member_id = ", f.MemberID)
	}
	if f.TerminalID != 0 {
		w.where(c.ph, "terminal_id = ", f.TerminalID)
	}
	if !f.CreatedBefore.IsZero() {
		w.where(c.ph, "created_at < ", c.cfg.Time(f.CreatedBefore))
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
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := c.cfg.Read.Query(ctx, c.q.ListCabinetSessions+w.sql(c.ph, "id DESC", limit), w.args...)
	return Collect(rows, err, scanCabinetSession)
}

// CloseCabinetSession records the door closed, once.
func (c *Core) CloseCabinetSession(ctx context.Context, id int64, cl f2fpay.CabinetClose) (_ *f2fpay.CabinetSession, closed bool, err error) {
	defer c.Wrap(&err, "close cabinet session")
	var sum f2fpay.Amount
	for _, it := range cl.Items {
		if it.Count <= 0 || it.Price < 0 || it.Amount != it.Price*f2fpay.Amount(it.Count) {
			return nil, false, f2fpay.Errorf(f2fpay.EINVALID, "cabinet item %s: count %d at %s is not %s", it.Slot, it.Count, it.Price, it.Amount)
		}
		sum += it.Amount
	}
	if sum != cl.Amount {
		return nil, false, f2fpay.Errorf(f2fpay.EINVALID, "cabinet items add up to %s, not %s", sum, cl.Amount)
	}
	state, gen := f2fpay.CabinetEmpty, 0
	outTradeNo, next := any(nil), any(nil)
	if cl.Amount > 0 {
		if cl.OutTradeNo == "" {
			return nil, false, f2fpay.Errorf(f2fpay.EINVALID, "cabinet session %d: a charge needs an out_trade_no", id)
		}
		state, gen, outTradeNo, next = f2fpay.CabinetCharging, 1, cl.OutTradeNo, c.T(cl.NextCheckAt)
	}
	items := cl.Items
	if items == nil {
		items = []f2fpay.CabinetItem{}
	}
	now := c.Now()
	var s *f2fpay.CabinetSession
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		n, err := tx.Exec(ctx, c.q.CloseCabinetSession, string(state), sqljson.Column{V: items}, int64(cl.Amount), outTradeNo,
			gen, next, c.T(now), id)
		if err != nil {
			return c.constraint(err, fmt.Sprintf("out_trade_no %v names another cabinet session of the app", outTradeNo), "")
		}
		closed = n == 1
		s, err = FindOne(tx.QueryRow(ctx, c.q.FindCabinetSession, id), scanCabinetSession, "cabinet session %d not found", id)
		if err != nil || closed {
			return err
		}
		switch s.State {
		case f2fpay.CabinetOpen, f2fpay.CabinetAbandoned:
			return fmt.Errorf("session %d is %s but was not closed", id, s.State)
		}
		if !sameItems(s.Items, items) {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "cabinet session %d was closed already with other items (%s in all); a door is reported closed once", id, s.Amount)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return s, closed, nil
}

// sameItems compares two reports line by line, in slot order.
func sameItems(a, b []f2fpay.CabinetItem) bool {
	if len(a) != len(b) {
		return false
	}
	sorted := func(x []f2fpay.CabinetItem) []f2fpay.CabinetItem {
		y := append([]f2fpay.CabinetItem(nil), x...)
		sort.Slice(y, func(i, j int) bool { return y[i].Slot < y[j].Slot })
		return y
	}
	return reflect.DeepEqual(sorted(a), sorted(b))
}

// UpdateCabinetSession compares and sets s on its version and releases its lease.
func (c *Core) UpdateCabinetSession(ctx context.Context, s *f2fpay.CabinetSession) (err error) {
	defer c.Wrap(&err, "update cabinet session")
	if !s.State.Valid() {
		return f2fpay.Errorf(f2fpay.EINVALID, "cabinet session %d: state %q is not a session state", s.ID, s.State)
	}
	now := c.Now()
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		n, err := tx.Exec(ctx, c.q.UpdateCabinetSession, string(s.State), IDArg(s.AgreementID), IDArg(s.CommandID),
			strArg(s.OutTradeNo), s.Generation, IDArg(s.OrderID), s.TradeNo, s.FailCode, s.FailReason, s.Attempts,
			c.T(s.NextCheckAt), c.T(s.ClosedAt), c.T(s.PaidAt), c.T(now), s.ID, s.Version)
		if err != nil {
			return c.constraint(err, fmt.Sprintf("out_trade_no %s names another cabinet session of the app, or the cabinet or member has another open session", s.OutTradeNo),
				fmt.Sprintf("cabinet session %d: agreement %d or order %d not found", s.ID, s.AgreementID, s.OrderID))
		}
		if n == 1 {
			return nil
		}
		return c.versionConflict(ctx, tx, c.q.CabinetSessionVersion, s.ID, s.Version, "cabinet session")
	})
	if err != nil {
		return err
	}
	s.Version++
	s.UpdatedAt = now
	return nil
}

// ClaimDueCabinetSessions leases due CHARGING and DEBT sessions, as ClaimDueOrders does.
func (c *Core) ClaimDueCabinetSessions(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (_ []*f2fpay.CabinetSession, err error) {
	defer c.Wrap(&err, "claim due cabinet sessions")
	out, err := claim(c, ctx, c.q.ClaimDueCabinetSessions, scanCabinetSession, owner, now, lease, limit)
	sort.Slice(out, func(i, j int) bool {
		return dueBefore(out[i].NextCheckAt, out[i].ID, out[j].NextCheckAt, out[j].ID)
	})
	return out, err
}
