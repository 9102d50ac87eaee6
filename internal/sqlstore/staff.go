package sqlstore

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// The operator console's staff, sessions and audit log (f2fpay.StaffStore), and the
// sums of its overview.

const staffCols = `id, login, name, role, merchant_id, password_hash, disabled, failed_logins, locked_until,
	created_at, updated_at`

func scanStaff(s Scanner) (*f2fpay.Staff, error) {
	st := new(f2fpay.Staff)
	err := s.Scan(&st.ID, &st.Login, &st.Name, (*string)(&st.Role), &st.MerchantID, &st.PasswordHash, &st.Disabled,
		&st.FailedLogins, NullTime{&st.LockedUntil}, NullTime{&st.CreatedAt}, NullTime{&st.UpdatedAt})
	return st, err
}

const staffSessionCols = `id, staff_id, csrf_token, ip, created_at, expires_at`

func scanStaffSession(s Scanner) (*f2fpay.StaffSession, error) {
	ss := new(f2fpay.StaffSession)
	err := s.Scan(&ss.ID, &ss.StaffID, &ss.CSRFToken, &ss.IP, NullTime{&ss.CreatedAt}, NullTime{&ss.ExpiresAt})
	return ss, err
}

const auditCols = `id, at, staff_id, staff_login, merchant_id, action, target, detail, ip`

func scanAudit(s Scanner) (*f2fpay.AuditEntry, error) {
	e := new(f2fpay.AuditEntry)
	err := s.Scan(&e.ID, NullTime{&e.At}, &e.StaffID, &e.StaffLogin, &e.MerchantID, &e.Action, &e.Target, &e.Detail, &e.IP)
	return e, err
}

// durable ends a write that must be on disk when it returns.
func (c *Core) durable(err *error) {
	if *err == nil && c.cfg.Flush != nil {
		*err = c.cfg.Flush()
	}
}

// CreateStaff inserts s; a login taken already is ECONFLICT.
func (c *Core) CreateStaff(ctx context.Context, s *f2fpay.Staff) (err error) {
	defer c.Wrap(&err, "create staff")
	if err := s.Validate(); err != nil {
		return err
	}
	defer c.durable(&err)
	now := c.Now()
	err = c.cfg.Autocommit.QueryRow(ctx, c.q.CreateStaff, s.Login, s.Name, string(s.Role), s.MerchantID, s.PasswordHash,
		c.T(now)).Scan(&s.ID)
	if err != nil {
		return c.constraint(err, "staff login "+s.Login+" is taken", "staff "+s.Login+": not found")
	}
	s.CreatedAt, s.UpdatedAt = now, now
	return nil
}

// FindStaff returns ENOTFOUND for an unknown id.
func (c *Core) FindStaff(ctx context.Context, id int64) (_ *f2fpay.Staff, err error) {
	defer c.Wrap(&err, "find staff")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindStaff, id), scanStaff, "staff %d not found", id)
}

// FindStaffByLogin returns ENOTFOUND for an unknown login.
func (c *Core) FindStaffByLogin(ctx context.Context, login string) (_ *f2fpay.Staff, err error) {
	defer c.Wrap(&err, "find staff")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindStaffByLogin, login), scanStaff, "staff %q not found", login)
}

// ListStaff returns every staff member, oldest first.
func (c *Core) ListStaff(ctx context.Context) (_ []*f2fpay.Staff, err error) {
	defer c.Wrap(&err, "list staff")
	rows, err := c.cfg.Read.Query(ctx, c.q.ListStaff)
	return Collect(rows, err, scanStaff)
}

// LoginFailed counts a failure in one statement, so that concurrent guesses cannot
// each read the count before the other's increment.
func (c *Core) LoginFailed(ctx context.Context, id int64, max int, lockUntil time.Time) (_ *f2fpay.Staff, err error) {
	defer c.Wrap(&err, "login failed")
	if max < 1 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "login failed: max %d is not positive", max)
	}
	defer c.durable(&err)
	return FindOne(c.cfg.Autocommit.QueryRow(ctx, c.q.LoginFailed, id, max, c.T(lockUntil), c.T(c.Now())),
		scanStaff, "staff %d not found", id)
}

// LoginSucceeded resets the failure count.
func (c *Core) LoginSucceeded(ctx context.Context, id int64) (err error) {
	defer c.Wrap(&err, "login succeeded")
	_, err = c.cfg.Autocommit.Exec(ctx, c.q.LoginSucceeded, id, c.T(c.Now()))
	return err
}

// CreateSession inserts s; an unknown staff member is ENOTFOUND.
func (c *Core) CreateSession(ctx context.Context, s *f2fpay.StaffSession) (err error) {
	defer c.Wrap(&err, "create session")
	if s.ID == "" || s.CSRFToken == "" || s.ExpiresAt.IsZero() {
		return f2fpay.Errorf(f2fpay.EINVALID, "session: id, CSRF token and expiry are required")
	}
	defer c.durable(&err)
	now := c.Now()
	if _, err = c.cfg.Autocommit.Exec(ctx, c.q.CreateSession, s.ID, s.StaffID, s.CSRFToken, s.IP, c.T(now), c.T(s.ExpiresAt)); err != nil {
		return c.constraint(err, "session exists already", "session: staff not found")
	}
	s.CreatedAt = now
	return nil
}

// FindSession returns a session that has not expired at now.
func (c *Core) FindSession(ctx context.Context, id string, now time.Time) (_ *f2fpay.StaffSession, err error) {
	defer c.Wrap(&err, "find session")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindSession, id, c.T(now)), scanStaffSession, "no such session")
}

// DeleteSession removes a session.
func (c *Core) DeleteSession(ctx context.Context, id string) (err error) {
	defer c.Wrap(&err, "delete session")
	defer c.durable(&err)
	_, err = c.cfg.Autocommit.Exec(ctx, c.q.DeleteSession, id)
	return err
}

// AppendAudit adds e to the audit log, durably: an action that happened must not
// vanish from the log in a power cut.
func (c *Core) AppendAudit(ctx context.Context, e *f2fpay.AuditEntry) (err error) {
	defer c.Wrap(&err, "append audit")
	if e.Action == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "audit entry without an action")
	}
	defer c.durable(&err)
	at := e.At
	if at.IsZero() {
		at = c.Now()
	}
	at = at.UTC().Truncate(time.Microsecond)
	if err = c.cfg.Autocommit.QueryRow(ctx, c.q.AppendAudit, c.T(at), e.StaffID, e.StaffLogin, e.MerchantID, e.Action,
		e.Target, e.Detail, e.IP).Scan(&e.ID); err != nil {
		return err
	}
	e.At = at
	return nil
}

// ListAudit returns the matching entries, newest first.
func (c *Core) ListAudit(ctx context.Context, f f2fpay.AuditFilter) (_ []*f2fpay.AuditEntry, err error) {
	defer c.Wrap(&err, "list audit")
	var w filter
	if f.MerchantID != nil {
		w.where(c.ph, "merchant_id = ", *f.MerchantID)
	}
	if f.BeforeID > 0 {
		w.where(c.ph, "id < ", f.BeforeID)
	}
	q := w.sql(c.ph, "id DESC", f.Limit)
	rows, err := c.cfg.Read.Query(ctx, c.q.ListAudit+q, w.args...)
	return Collect(rows, err, scanAudit)
}

// statsWhere selects the orders of f; col prefixes the orders' columns ("o." in a join).
func (c *Core) statsWhere(w *filter, f f2fpay.OrderStatsFilter, col string) {
	if f.MerchantID != nil {
		w.where(c.ph, col+"merchant_id = ", *f.MerchantID)
	}
	if !f.From.IsZero() {
		w.where(c.ph, col+"created_at >= ", c.cfg.Time(f.From))
	}
	if !f.To.IsZero() {
		w.where(c.ph, col+"created_at < ", c.cfg.Time(f.To))
	}
}

func (w *filter) whereSQL() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// OrderStats adds up the selected orders by store, terminal and state.
func (c *Core) OrderStats(ctx context.Context, f f2fpay.OrderStatsFilter) (_ []f2fpay.OrderStats, err error) {
	defer c.Wrap(&err, "order stats")
	var w filter
	c.statsWhere(&w, f, "")
	rows, err := c.cfg.Read.Query(ctx, c.q.OrderStats+w.whereSQL()+" GROUP BY store_id, terminal_id, state", w.args...)
	return Collect(rows, err, func(s Scanner) (f2fpay.OrderStats, error) {
		var st f2fpay.OrderStats
		err := s.Scan(&st.StoreID, &st.TerminalID, (*string)(&st.State), &st.Count, (*int64)(&st.Total), (*int64)(&st.Refunded))
		return st, err
	})
}

// OrderSeries adds up the selected orders in buckets from f.From.
func (c *Core) OrderSeries(ctx context.Context, f f2fpay.OrderStatsFilter, bucket time.Duration) (_ []f2fpay.OrderBucket, err error) {
	defer c.Wrap(&err, "order series")
	if f.From.IsZero() || bucket < time.Microsecond {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "order series: a start and a bucket of at least 1µs are required")
	}
	from := f.From.UTC().Truncate(time.Microsecond)
	w := filter{args: []any{c.cfg.Time(from), bucket.Microseconds()}}
	c.statsWhere(&w, f, "")
	rows, err := c.cfg.Read.Query(ctx, c.q.OrderSeries+w.whereSQL()+" GROUP BY bucket ORDER BY bucket", w.args...)
	return Collect(rows, err, func(s Scanner) (f2fpay.OrderBucket, error) {
		var b f2fpay.OrderBucket
		var n int64
		err := s.Scan(&n, &b.Count, &b.PaidCount, (*int64)(&b.Paid))
		b.Start = from.Add(time.Duration(n) * bucket)
		return b, err
	})
}

// CallLatencies counts the calls, then reads the latency at each quantile's rank with
// an OFFSET: nothing is sorted in memory however many calls the period holds, and
// both databases answer it the same way (SQLite has no percentile function).
func (c *Core) CallLatencies(ctx context.Context, f f2fpay.OrderStatsFilter, methods []string, qs []float64) (n int64, out []time.Duration, err error) {
	defer c.Wrap(&err, "call latencies")
	var w filter
	if f.MerchantID != nil {
		w.where(c.ph, "o.merchant_id = ", *f.MerchantID)
	}
	if !f.From.IsZero() {
		w.where(c.ph, "g.at >= ", c.cfg.Time(f.From))
	}
	if !f.To.IsZero() {
		w.where(c.ph, "g.at < ", c.cfg.Time(f.To))
	}
	if len(methods) > 0 {
		w.conds = append(w.conds, "g.method IN ("+c.ph.list(len(w.args)+1, len(methods))+")")
		for _, m := range methods {
			w.args = append(w.args, m)
		}
	}
	where := w.whereSQL()
	if err := c.cfg.Read.QueryRow(ctx, c.q.CallCount+where, w.args...).Scan(&n); err != nil {
		return 0, nil, err
	}
	out = make([]time.Duration, len(qs))
	if n == 0 {
		return 0, out, nil
	}
	for i, q := range qs {
		// Nearest rank: the ceil(q·n)-th smallest, counted from 1.
		rank := int64(math.Ceil(q * float64(n)))
		rank = max(1, min(rank, n))
		args := append(append([]any(nil), w.args...), rank-1)
		var ns int64
		if err := c.cfg.Read.QueryRow(ctx, c.q.CallLatencyAt+where+" ORDER BY g.latency_ns LIMIT 1 OFFSET "+c.ph.arg(len(args)), args...).Scan(&ns); err != nil {
			return 0, nil, err
		}
		out[i] = time.Duration(ns)
	}
	return n, out, nil
}
