package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/sqljson"
)

// Members, their identities, sessions and SMS sends (f2fpay.MemberStore), and the
// machines' sales (f2fpay.SaleStore).

const memberCols = `id, merchant_id, phone_sealed, phone_hash, phone_masked, nick_name, avatar, gender, province, city,
	created_at, updated_at, erased_at`

func scanMember(s Scanner) (*f2fpay.Member, error) {
	m := new(f2fpay.Member)
	err := s.Scan(&m.ID, &m.MerchantID, &m.PhoneSealed, &m.PhoneHash, &m.PhoneMasked, &m.NickName, &m.Avatar,
		&m.Gender, &m.Province, &m.City, NullTime{&m.CreatedAt}, NullTime{&m.UpdatedAt}, NullTime{&m.ErasedAt})
	if len(m.PhoneHash) == 0 {
		m.PhoneHash = nil
	}
	return m, err
}

const identityCols = `id, member_id, app_id, coalesce(user_id, ''), coalesce(open_id, ''), linked_at, seen_at`

func scanIdentity(s Scanner) (*f2fpay.MemberIdentity, error) {
	i := new(f2fpay.MemberIdentity)
	err := s.Scan(&i.ID, &i.MemberID, &i.AppID, &i.UserID, &i.OpenID, NullTime{&i.LinkedAt}, NullTime{&i.SeenAt})
	return i, err
}

const sessionCols = `id, token_hash, merchant_id, terminal_id, state, scope, member_id, app_id, user_id, open_id, profile,
	consented, phone_sealed, phone_hash, code_hash, code_expires_at, code_attempts, created_at, updated_at,
	expires_at, version`

func scanSession(s Scanner) (*f2fpay.MemberSession, error) {
	x := new(f2fpay.MemberSession)
	err := s.Scan(&x.ID, &x.TokenHash, &x.MerchantID, NullID{&x.TerminalID}, &x.State, &x.Scope, NullID{&x.MemberID},
		NullID{&x.AppID}, &x.UserID, &x.OpenID, sqljson.Column{V: &x.Profile}, &x.Consented, &x.PhoneSealed,
		&x.PhoneHash, &x.CodeHash, NullTime{&x.CodeExpiresAt}, &x.CodeAttempts, NullTime{&x.CreatedAt},
		NullTime{&x.UpdatedAt}, NullTime{&x.ExpiresAt}, &x.Version)
	if len(x.PhoneHash) == 0 {
		x.PhoneHash = nil
	}
	if len(x.CodeHash) == 0 {
		x.CodeHash = nil
	}
	return x, err
}

const saleCols = `id, merchant_id, terminal_id, out_trade_no, amount, subject, state, member_id, created_at, expires_at`

func scanSale(s Scanner) (*f2fpay.Sale, error) {
	x := new(f2fpay.Sale)
	err := s.Scan(&x.ID, &x.MerchantID, &x.TerminalID, &x.OutTradeNo, (*int64)(&x.Amount), &x.Subject,
		(*string)(&x.State), NullID{&x.MemberID}, NullTime{&x.CreatedAt}, NullTime{&x.ExpiresAt})
	return x, err
}

// bytesArg is an optional binary value: empty as NULL, so unique indexes skip it.
func bytesArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// strArg is an optional text value: "" as NULL.
func strArg(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreateMember inserts m and its identities in one transaction.
func (c *Core) CreateMember(ctx context.Context, m *f2fpay.Member) (err error) {
	defer c.Wrap(&err, "create member")
	if len(m.Identities) == 0 {
		return f2fpay.Errorf(f2fpay.EINVALID, "a member needs a linked Alipay identity")
	}
	for _, i := range m.Identities {
		if err := c.identityOf(ctx, m.MerchantID, i); err != nil {
			return err
		}
	}
	if err := m.MemberProfile.Validate(); err != nil {
		return err
	}
	now := c.Now()
	var id int64
	ids := make([]int64, len(m.Identities))
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		p := m.MemberProfile
		err := tx.QueryRow(ctx, c.q.CreateMember, m.MerchantID, m.PhoneSealed, bytesArg(m.PhoneHash), m.PhoneMasked,
			p.NickName, p.Avatar, p.Gender, p.Province, p.City, c.T(now)).Scan(&id)
		if err != nil {
			return c.constraint(err, "this phone number belongs to another member already",
				fmt.Sprintf("member: merchant %d not found", m.MerchantID))
		}
		for k, i := range m.Identities {
			if ids[k], err = c.insertIdentity(ctx, tx, id, i, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	m.ID, m.CreatedAt, m.UpdatedAt = id, now, now
	for k, i := range m.Identities {
		i.ID, i.MemberID, i.LinkedAt, i.SeenAt = ids[k], id, now, now
	}
	return nil
}

// identityOf checks an identity and that its app is the merchant's.
func (c *Core) identityOf(ctx context.Context, merchantID int64, i *f2fpay.MemberIdentity) error {
	if err := i.Validate(); err != nil {
		return err
	}
	app, err := c.FindApp(ctx, i.AppID)
	if err != nil {
		return err
	}
	if app.MerchantID != merchantID {
		return f2fpay.Errorf(f2fpay.EINVALID, "identity: app %d is not merchant %d's", i.AppID, merchantID)
	}
	return nil
}

func (c *Core) insertIdentity(ctx context.Context, tx Conn, memberID int64, i *f2fpay.MemberIdentity, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, c.q.InsertIdentity, memberID, i.AppID, strArg(i.UserID), strArg(i.OpenID), c.T(now)).Scan(&id)
	if err != nil {
		return 0, c.constraint(err, "this Alipay account is linked to another member already",
			fmt.Sprintf("identity: member %d or app %d not found", memberID, i.AppID))
	}
	return id, nil
}

// FindMember returns the member with its identities.
func (c *Core) FindMember(ctx context.Context, id int64) (_ *f2fpay.Member, err error) {
	defer c.Wrap(&err, "find member")
	m, err := FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindMember, id), scanMember, "member %d not found", id)
	if err != nil {
		return nil, err
	}
	return m, c.withIdentities(ctx, m)
}

func (c *Core) withIdentities(ctx context.Context, m *f2fpay.Member) error {
	rows, err := c.cfg.Read.Query(ctx, c.q.MemberIdentities, m.ID)
	m.Identities, err = Collect(rows, err, scanIdentity)
	if m.Identities == nil {
		m.Identities = []*f2fpay.MemberIdentity{}
	}
	return err
}

// FindMemberByIdentity looks the user id up first, then the open id.
func (c *Core) FindMemberByIdentity(ctx context.Context, appID int64, userID, openID string) (_ *f2fpay.Member, err error) {
	defer c.Wrap(&err, "find member by identity")
	for _, k := range []struct{ q, v string }{{c.q.MemberByUserID, userID}, {c.q.MemberByOpenID, openID}} {
		if k.v == "" {
			continue
		}
		var id int64
		err := c.cfg.Read.QueryRow(ctx, k.q, appID, k.v).Scan(&id)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return c.FindMember(ctx, id)
	}
	return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no member is linked to this Alipay account")
}

// FindMemberByPhone returns ENOTFOUND when no member of the merchant has the phone.
func (c *Core) FindMemberByPhone(ctx context.Context, merchantID int64, phoneHash []byte) (_ *f2fpay.Member, err error) {
	defer c.Wrap(&err, "find member by phone")
	if len(phoneHash) == 0 {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no member has this phone number")
	}
	m, err := FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindMemberByPhone, merchantID, phoneHash), scanMember, "no member has this phone number")
	if err != nil {
		return nil, err
	}
	return m, c.withIdentities(ctx, m)
}

// ListMembers returns a page of a merchant's members with their identities.
func (c *Core) ListMembers(ctx context.Context, f f2fpay.MemberFilter) (_ []*f2fpay.Member, err error) {
	defer c.Wrap(&err, "list members")
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := c.cfg.Read.Query(ctx, c.q.ListMembers, f.MerchantID, f.AfterID, limit)
	ms, err := Collect(rows, err, scanMember)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if err := c.withIdentities(ctx, m); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// LinkIdentity adds an identity (and the profile) to a live member.
func (c *Core) LinkIdentity(ctx context.Context, memberID int64, i *f2fpay.MemberIdentity, profile *f2fpay.MemberProfile) (err error) {
	defer c.Wrap(&err, "link identity")
	if err := i.Validate(); err != nil {
		return err
	}
	if profile != nil {
		if err := profile.Validate(); err != nil {
			return err
		}
	}
	app, err := c.FindApp(ctx, i.AppID)
	if err != nil {
		return err
	}
	now := c.Now()
	var id int64
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		var merchantID int64
		if err := tx.QueryRow(ctx, c.q.LiveMember, memberID).Scan(&merchantID); err != nil {
			if isNoRows(err) {
				return f2fpay.Errorf(f2fpay.ENOTFOUND, "member %d not found (or erased)", memberID)
			}
			return err
		}
		if app.MerchantID != merchantID {
			return f2fpay.Errorf(f2fpay.EINVALID, "identity: app %d is not merchant %d's", i.AppID, merchantID)
		}
		var err error
		if id, err = c.insertIdentity(ctx, tx, memberID, i, now); err != nil {
			return err
		}
		if profile != nil {
			p := profile
			_, err = tx.Exec(ctx, c.q.SetMemberProfile, p.NickName, p.Avatar, p.Gender, p.Province, p.City, c.T(now), memberID)
		}
		return err
	})
	if err != nil {
		return err
	}
	i.ID, i.MemberID, i.LinkedAt, i.SeenAt = id, memberID, now, now
	return nil
}

// TouchIdentity stamps a sign-in and fills a missing user id or open id.
func (c *Core) TouchIdentity(ctx context.Context, identityID int64, userID, openID string) (err error) {
	defer c.Wrap(&err, "touch identity")
	n, err := c.cfg.Autocommit.Exec(ctx, c.q.TouchIdentity, c.T(c.Now()), strArg(userID), strArg(openID), identityID)
	if err != nil {
		return c.constraint(err, "this Alipay account is linked to another member already", "")
	}
	if n == 0 {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "identity %d not found", identityID)
	}
	return c.flush()
}

func (c *Core) flush() error {
	if c.cfg.Flush != nil {
		return c.cfg.Flush()
	}
	return nil
}

// UnlinkIdentity deletes one identity and signs the member out everywhere.
func (c *Core) UnlinkIdentity(ctx context.Context, memberID, identityID int64) (err error) {
	defer c.Wrap(&err, "unlink identity")
	return c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		n, err := tx.Exec(ctx, c.q.DeleteIdentity, identityID, memberID)
		if err != nil {
			return err
		}
		if n == 0 {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "member %d has no identity %d", memberID, identityID)
		}
		_, err = tx.Exec(ctx, c.q.SignOutMember, memberID)
		return err
	})
}

// EraseMember drops the person and keeps the row.
func (c *Core) EraseMember(ctx context.Context, id int64) (err error) {
	defer c.Wrap(&err, "erase member")
	now := c.Now()
	return c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		n, err := tx.Exec(ctx, c.q.EraseMember, id, c.T(now))
		if err != nil {
			return err
		}
		if n == 0 {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "member %d not found", id)
		}
		if _, err := tx.Exec(ctx, c.q.DeleteIdentities, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, c.q.SignOutMember, id)
		return err
	})
}

// CreateMemberSession inserts a session with version 1.
func (c *Core) CreateMemberSession(ctx context.Context, s *f2fpay.MemberSession) (err error) {
	defer c.Wrap(&err, "create member session")
	if len(s.TokenHash) == 0 || s.ExpiresAt.IsZero() {
		return f2fpay.Errorf(f2fpay.EINVALID, "a session needs a token hash and an expiry")
	}
	now := c.Now()
	var id int64
	err = c.cfg.Single(ctx, true, func(ctx context.Context, tx Conn) error {
		return tx.QueryRow(ctx, c.q.CreateMemberSession, s.TokenHash, s.MerchantID, IDArg(s.TerminalID), s.State, s.Scope,
			c.T(now), c.T(s.ExpiresAt)).Scan(&id)
	})
	if err != nil {
		return c.constraint(err, "session token in use", fmt.Sprintf("session: merchant %d or terminal %d not found", s.MerchantID, s.TerminalID))
	}
	s.ID, s.CreatedAt, s.UpdatedAt, s.Version = id, now, now, 1
	return nil
}

// FindMemberSession returns ENOTFOUND for an unknown or expired session.
func (c *Core) FindMemberSession(ctx context.Context, tokenHash []byte) (_ *f2fpay.MemberSession, err error) {
	defer c.Wrap(&err, "find member session")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindMemberSession, tokenHash, c.T(c.Now())), scanSession, "session not found or expired")
}

// UpdateMemberSession is a compare-and-set on Version.
func (c *Core) UpdateMemberSession(ctx context.Context, s *f2fpay.MemberSession) (err error) {
	defer c.Wrap(&err, "update member session")
	now := c.Now()
	var n int64
	err = c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		var err error
		n, err = tx.Exec(ctx, c.q.UpdateMemberSession, s.State, s.Scope, IDArg(s.MemberID), IDArg(s.AppID), s.UserID,
			s.OpenID, sqljson.Column{V: s.Profile}, s.Consented, s.PhoneSealed, bytesArg(s.PhoneHash),
			bytesArg(s.CodeHash), c.T(s.CodeExpiresAt), s.CodeAttempts, c.T(now), c.T(s.ExpiresAt), s.ID, s.Version)
		return err
	})
	if err != nil {
		return c.constraint(err, "", fmt.Sprintf("session %d: member %d or app %d not found", s.ID, s.MemberID, s.AppID))
	}
	if n == 0 {
		return f2fpay.Errorf(f2fpay.ECONFLICT, "the session changed meanwhile (another tab?); start again from the machine's QR code")
	}
	s.UpdatedAt = now
	s.Version++
	return nil
}

// DeleteMemberSession signs a browser out; an unknown id is not an error.
func (c *Core) DeleteMemberSession(ctx context.Context, id int64) (err error) {
	defer c.Wrap(&err, "delete member session")
	return c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		_, err := tx.Exec(ctx, c.q.DeleteMemberSession, id)
		return err
	})
}

// RecordSMSSend notes a code sent.
func (c *Core) RecordSMSSend(ctx context.Context, s f2fpay.SMSSend) (err error) {
	defer c.Wrap(&err, "record sms send")
	if s.SentAt.IsZero() {
		s.SentAt = c.Now()
	}
	return c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		_, err := tx.Exec(ctx, c.q.RecordSMSSend, s.MerchantID, s.PhoneHash, s.Client, c.T(s.SentAt))
		return err
	})
}

// CountSMSSends counts a merchant's sends since then, to the phone and by the client.
func (c *Core) CountSMSSends(ctx context.Context, merchantID int64, phoneHash []byte, client string, since time.Time) (toPhone, byClient int, err error) {
	defer c.Wrap(&err, "count sms sends")
	var p, cl int64
	err = c.cfg.Read.QueryRow(ctx, c.q.CountSMSSends, merchantID, phoneHash, client, c.T(since)).Scan(&p, &cl)
	return int(p), int(cl), err
}

// CreateSale cancels the terminal's open sales and inserts s, in one transaction.
func (c *Core) CreateSale(ctx context.Context, s *f2fpay.Sale) (err error) {
	defer c.Wrap(&err, "create sale")
	if s.Amount <= 0 || s.OutTradeNo == "" || s.ExpiresAt.IsZero() {
		return f2fpay.Errorf(f2fpay.EINVALID, "a sale needs an amount, an out_trade_no and an expiry")
	}
	now := c.Now()
	var id int64
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		if _, err := tx.Exec(ctx, c.q.CancelOpenSales, s.TerminalID); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, c.q.CreateSale, s.MerchantID, s.TerminalID, s.OutTradeNo, int64(s.Amount), s.Subject,
			c.T(now), c.T(s.ExpiresAt)).Scan(&id)
		if err != nil {
			return c.constraint(err, fmt.Sprintf("out_trade_no %s is used by another sale", s.OutTradeNo),
				fmt.Sprintf("sale: merchant %d or terminal %d not found", s.MerchantID, s.TerminalID))
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.ID, s.State, s.CreatedAt, s.MemberID = id, f2fpay.SaleOpen, now, 0
	return nil
}

// FindSale returns ENOTFOUND for an unknown id.
func (c *Core) FindSale(ctx context.Context, id int64) (_ *f2fpay.Sale, err error) {
	defer c.Wrap(&err, "find sale")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindSale, id), scanSale, "sale %d not found", id)
}

// OpenSale returns the terminal's newest open, unexpired sale.
func (c *Core) OpenSale(ctx context.Context, terminalID int64, now time.Time) (_ *f2fpay.Sale, err error) {
	defer c.Wrap(&err, "open sale")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.OpenSale, terminalID, c.T(now)), scanSale, "the machine has nothing to pay right now")
}

// TakeSale is a compare-and-set OPEN → TAKEN.
func (c *Core) TakeSale(ctx context.Context, id, memberID int64) (_ *f2fpay.Sale, err error) {
	defer c.Wrap(&err, "take sale")
	return c.saleCAS(ctx, id, "this sale is being paid by someone else, or was cancelled or expired", c.q.TakeSale, id, memberID, c.T(c.Now()))
}

// CancelSale is a compare-and-set OPEN → CANCELLED.
func (c *Core) CancelSale(ctx context.Context, id int64) (_ *f2fpay.Sale, err error) {
	defer c.Wrap(&err, "cancel sale")
	return c.saleCAS(ctx, id, fmt.Sprintf("sale %d is not open any more", id), c.q.CancelSale, id)
}

// ExpireSales moves open sales past their expiry to EXPIRED, up to limit.
func (c *Core) ExpireSales(ctx context.Context, now time.Time, limit int) (int, error) {
	return c.batch(ctx, "expire sales", c.q.ExpireSales, now, limit)
}

// PurgeMemberSessions deletes expired sessions, up to limit.
func (c *Core) PurgeMemberSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	return c.batch(ctx, "purge member sessions", c.q.PurgeMemberSessions, before, limit)
}

// PurgeSMSSends deletes send records older than before, up to limit.
func (c *Core) PurgeSMSSends(ctx context.Context, before time.Time, limit int) (int, error) {
	return c.batch(ctx, "purge sms sends", c.q.PurgeSMSSends, before, limit)
}

// batch runs a housekeeping statement taking (time, limit) and returns the rows it touched.
func (c *Core) batch(ctx context.Context, what, q string, at time.Time, limit int) (n int, err error) {
	defer c.Wrap(&err, what)
	if limit <= 0 {
		return 0, nil
	}
	err = c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		m, err := tx.Exec(ctx, q, c.T(at), limit)
		n = int(m)
		return err
	})
	return n, err
}

func (c *Core) saleCAS(ctx context.Context, id int64, conflict, q string, args ...any) (*f2fpay.Sale, error) {
	var s *f2fpay.Sale
	err := c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		var err error
		s, err = scanSale(tx.QueryRow(ctx, q, args...))
		return err
	})
	if isNoRows(err) {
		if _, ferr := c.FindSale(ctx, id); ferr != nil {
			return nil, ferr
		}
		return nil, &f2fpay.Error{Code: f2fpay.ECONFLICT, Message: conflict}
	}
	return s, err
}
