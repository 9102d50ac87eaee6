package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/f2fpay/f2fpay"
)

// The reconciliation store (f2fpay.ReconStore): reports, staged bills, entries.

const reconReportCols = `id, app_id, day, status, attempts, lease_owner, lease_until, started_at, finished_at, error,
	bill_trades, bill_refunds, bill_trade_amount, bill_refund_amount, summary`

const reconEntryCols = `id, report_id, app_id, day, class, entry_key, status, out_trade_no, trade_no, out_request_no,
	order_id, bill_amount, local_amount, detail, reason, actions, pending_until, created_at, updated_at`

// jsonList is a JSON text column that is never empty: nil is written as [].
type jsonList struct{ V any }

func (j jsonList) text() (string, error) {
	b, err := json.Marshal(j.V)
	if err != nil {
		return "", err
	}
	if string(b) == "null" {
		return "[]", nil
	}
	return string(b), nil
}

func (j jsonList) Scan(src any) error {
	var b []byte
	switch s := src.(type) {
	case nil:
		return nil
	case string:
		b = []byte(s)
	case []byte:
		b = s
	default:
		return fmt.Errorf("JSON column holds %T, want text", src)
	}
	return json.Unmarshal(b, j.V)
}

func scanReconReport(s Scanner) (*f2fpay.ReconReport, error) {
	r := new(f2fpay.ReconReport)
	err := s.Scan(&r.ID, &r.AppID, &r.Day, (*string)(&r.Status), &r.Attempts, &r.Owner, NullTime{&r.LeaseUntil},
		NullTime{&r.StartedAt}, NullTime{&r.FinishedAt}, &r.Error, &r.BillTrades, &r.BillRefunds,
		(*int64)(&r.BillTradeAmount), (*int64)(&r.BillRefundAmount), jsonList{&r.Summary})
	return r, err
}

func scanReconEntry(s Scanner) (*f2fpay.ReconEntry, error) {
	e := new(f2fpay.ReconEntry)
	err := s.Scan(&e.ID, &e.ReportID, &e.AppID, &e.Day, (*string)(&e.Class), &e.Key, (*string)(&e.Status),
		&e.OutTradeNo, &e.TradeNo, &e.OutRequestNo, NullID{&e.OrderID}, (*int64)(&e.BillAmount),
		(*int64)(&e.LocalAmount), &e.Detail, &e.Reason, jsonList{&e.Actions}, &e.PendingUntil,
		NullTime{&e.CreatedAt}, NullTime{&e.UpdatedAt})
	return e, err
}

// ClaimReconReport creates the report of (appID, day) if needed and leases it to owner.
func (c *Core) ClaimReconReport(ctx context.Context, appID int64, day, owner string, now time.Time, lease time.Duration) (_ *f2fpay.ReconReport, err error) {
	defer c.Wrap(&err, "claim reconciliation report")
	if err := f2fpay.CheckLease(owner, lease); err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	var r *f2fpay.ReconReport
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		if _, err := tx.Exec(ctx, c.q.CreateReconReport, appID, day); err != nil {
			return c.constraint(err, "", fmt.Sprintf("app %d not found", appID))
		}
		var err error
		r, err = scanReconReport(tx.QueryRow(ctx, c.q.ClaimReconReport, appID, day, owner, c.T(now.Add(lease)), c.T(now)))
		if isNoRows(err) {
			var holder string
			var until time.Time
			if err := tx.QueryRow(ctx, c.q.ReconReportHolder, appID, day).Scan(&holder, NullTime{&until}); err != nil {
				return err
			}
			return f2fpay.Errorf(f2fpay.ECONFLICT, "the reconciliation of app %d for %s is being run by %s (its lease ends %s); wait for it or read its report",
				appID, day, holder, until.Format(time.RFC3339))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// FinishReconReport writes a claimed report's outcome and releases its lease.
func (c *Core) FinishReconReport(ctx context.Context, r *f2fpay.ReconReport, owner string, events ...*f2fpay.Event) (err error) {
	defer c.Wrap(&err, "finish reconciliation report")
	sum, err := jsonList{r.Summary}.text()
	if err != nil {
		return err
	}
	now := c.Now()
	var after []func()
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		after = after[:0]
		n, err := tx.Exec(ctx, c.q.FinishReconReport, r.ID, string(r.Status), c.T(now), r.Error, r.BillTrades, r.BillRefunds,
			int64(r.BillTradeAmount), int64(r.BillRefundAmount), sum, owner)
		if err == nil && n != 1 {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "the reconciliation of app %d for %s is no longer held by %s: another run took it over", r.AppID, r.Day, owner)
		}
		if err != nil {
			return err
		}
		return c.insertEvents(ctx, tx, events, eventOwner{}, now, &after)
	})
	if err == nil {
		r.FinishedAt, r.Owner, r.LeaseUntil = now, "", time.Time{}
		for _, f := range after {
			f()
		}
	}
	return err
}

// UpdateReconSummary rewrites a report's status and summary.
func (c *Core) UpdateReconSummary(ctx context.Context, r *f2fpay.ReconReport) (err error) {
	defer c.Wrap(&err, "update reconciliation summary")
	sum, err := jsonList{r.Summary}.text()
	if err != nil {
		return err
	}
	return c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		_, err := tx.Exec(ctx, c.q.UpdateReconSummary, r.ID, string(r.Status), sum)
		return err
	})
}

// FindReconReport returns the report of (appID, day) with its entries.
func (c *Core) FindReconReport(ctx context.Context, appID int64, day string) (_ *f2fpay.ReconReport, err error) {
	defer c.Wrap(&err, "find reconciliation report")
	r, err := FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindReconReport, appID, day), scanReconReport,
		"app %d has no reconciliation report for %s", appID, day)
	if err != nil {
		return nil, err
	}
	if r.Entries, err = c.ReconEntries(ctx, r.ID); err != nil {
		return nil, err
	}
	return r, nil
}

// ListReconReports returns reports, the latest day first.
func (c *Core) ListReconReports(ctx context.Context, f f2fpay.ReconFilter) (_ []*f2fpay.ReconReport, err error) {
	defer c.Wrap(&err, "list reconciliation reports")
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rows, err := c.cfg.Read.Query(ctx, c.q.ListReconReports, f.AppID, string(f.Status), f.Limit, f.From, f.To)
	return Collect(rows, err, scanReconReport)
}

// FindReconReportByID returns a report with its entries.
func (c *Core) FindReconReportByID(ctx context.Context, id int64) (_ *f2fpay.ReconReport, err error) {
	defer c.Wrap(&err, "find reconciliation report")
	r, err := FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindReconReportByID, id), scanReconReport,
		"reconciliation report %d not found", id)
	if err != nil {
		return nil, err
	}
	if r.Entries, err = c.ReconEntries(ctx, r.ID); err != nil {
		return nil, err
	}
	return r, nil
}

// CountOpenReconEntries counts the open entries by class.
func (c *Core) CountOpenReconEntries(ctx context.Context) (_ map[f2fpay.ReconClass]int, err error) {
	defer c.Wrap(&err, "count open reconciliation entries")
	out := map[f2fpay.ReconClass]int{}
	err = c.stream(ctx, c.q.CountOpenReconEntries, nil, func(s Scanner) error {
		var class string
		var n int
		if err := s.Scan(&class, &n); err != nil {
			return err
		}
		out[f2fpay.ReconClass(class)] = n
		return nil
	})
	return out, err
}

// ClearBillRows drops a report's staged rows.
func (c *Core) ClearBillRows(ctx context.Context, reportID int64) (err error) {
	defer c.Wrap(&err, "clear bill rows")
	return c.cfg.Single(ctx, true, func(ctx context.Context, tx Conn) error {
		_, err := tx.Exec(ctx, c.q.ClearBillRows, reportID)
		return err
	})
}

// AddBillRows stages rows in one transaction.
func (c *Core) AddBillRows(ctx context.Context, reportID int64, rows []f2fpay.ReconBillRow) (err error) {
	defer c.Wrap(&err, "stage bill rows")
	stmts := make([]Stmt, len(rows))
	for i := range rows {
		r := &rows[i]
		stmts[i] = Stmt{Query: c.q.InsertBillRow, Args: []any{reportID, r.Line, r.Kind, r.TradeNo, r.OutTradeNo, r.OutRequestNo,
			int64(r.OrderAmount), int64(r.Receipt), int64(r.MerchantDiscount), int64(r.VoucherAmount), int64(r.ServiceFee), c.T(r.Finished)}}
	}
	return c.cfg.Tx(ctx, true, func(ctx context.Context, tx Conn) error { return tx.Batch(ctx, stmts) })
}

// stream runs query on the read pool and hands each row to scan.
func (c *Core) stream(ctx context.Context, query string, args []any, scan func(Scanner) error) error {
	rows, err := c.cfg.Read.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// MatchBillTrades streams the staged 交易 rows joined with the app's orders.
func (c *Core) MatchBillTrades(ctx context.Context, reportID, appID int64, fn func(*f2fpay.ReconTradeMatch) error) (err error) {
	defer c.Wrap(&err, "match bill trades")
	return c.stream(ctx, c.q.MatchBillTrades, []any{reportID, appID}, func(s Scanner) error {
		var m f2fpay.ReconTradeMatch
		var o f2fpay.Order
		var vouchers string
		r := &m.Row
		if err := s.Scan(&r.Line, &r.TradeNo, &r.OutTradeNo, (*int64)(&r.OrderAmount), (*int64)(&r.Receipt),
			(*int64)(&r.MerchantDiscount), (*int64)(&r.VoucherAmount), (*int64)(&r.ServiceFee), NullTime{&r.Finished},
			&m.Earlier, &o.ID, (*string)(&o.State), &o.TradeNo, (*int64)(&o.TotalAmount), (*int64)(&o.ReceiptAmount),
			(*int64)(&o.MerchantDiscountAmount), &vouchers, &o.CancelAction, NullTime{&o.PaidAt}); err != nil {
			return err
		}
		r.Kind = "trade"
		if o.ID != 0 {
			if vouchers != "" {
				if err := json.Unmarshal([]byte(vouchers), &o.Vouchers); err != nil {
					return fmt.Errorf("order %d: vouchers: %w", o.ID, err)
				}
			}
			o.AppID, o.OutTradeNo = appID, r.OutTradeNo
			m.Order = &o
		}
		return fn(&m)
	})
}

// MatchBillRefunds streams the staged 退款 rows joined with the app's orders and refunds.
func (c *Core) MatchBillRefunds(ctx context.Context, reportID, appID int64, fn func(*f2fpay.ReconRefundMatch) error) (err error) {
	defer c.Wrap(&err, "match bill refunds")
	return c.stream(ctx, c.q.MatchBillRefunds, []any{reportID, appID}, func(s Scanner) error {
		var m f2fpay.ReconRefundMatch
		r := &m.Row
		if err := s.Scan(&r.Line, &r.TradeNo, &r.OutTradeNo, &r.OutRequestNo, (*int64)(&r.OrderAmount), (*int64)(&r.Receipt),
			NullTime{&r.Finished}, &m.Earlier, &m.OrderID, (*string)(&m.OrderState), &m.CancelAction, &m.RefundID,
			(*string)(&m.RefundState), (*int64)(&m.RefundAmount)); err != nil {
			return err
		}
		r.Kind = "refund"
		return fn(&m)
	})
}

// UnbilledOrders streams the app's orders paid in [from, to) that the bill lacks.
func (c *Core) UnbilledOrders(ctx context.Context, reportID, appID int64, from, to time.Time, fn func(*f2fpay.Order) error) (err error) {
	defer c.Wrap(&err, "unbilled orders")
	return c.stream(ctx, c.q.UnbilledOrders, []any{appID, c.T(from), c.T(to), reportID}, func(s Scanner) error {
		o := &f2fpay.Order{AppID: appID, State: f2fpay.OrderPaid}
		if err := s.Scan(&o.ID, &o.OutTradeNo, &o.TradeNo, (*int64)(&o.TotalAmount), NullTime{&o.PaidAt}); err != nil {
			return err
		}
		return fn(o)
	})
}

// UnbilledRefunds streams the app's refunds made in [from, to) that the bill lacks.
func (c *Core) UnbilledRefunds(ctx context.Context, reportID, appID int64, from, to time.Time, fn func(*f2fpay.ReconUnbilledRefund) error) (err error) {
	defer c.Wrap(&err, "unbilled refunds")
	return c.stream(ctx, c.q.UnbilledRefunds, []any{appID, c.T(from), c.T(to), reportID}, func(s Scanner) error {
		u := &f2fpay.ReconUnbilledRefund{Refund: &f2fpay.Refund{State: f2fpay.RefundSucceeded}}
		r := u.Refund
		if err := s.Scan(&r.ID, &r.OrderID, &r.OutRequestNo, (*int64)(&r.Amount), NullTime{&r.RefundedAt}, &u.OutTradeNo, &u.TradeNo); err != nil {
			return err
		}
		return fn(u)
	})
}

// BillHasRow reports whether the staged rows list the trade or refund.
func (c *Core) BillHasRow(ctx context.Context, reportID int64, kind, outTradeNo, outRequestNo string) (_ bool, err error) {
	defer c.Wrap(&err, "bill row")
	var n int64
	err = c.cfg.Read.QueryRow(ctx, c.q.BillHasRow, reportID, outTradeNo, kind, outRequestNo).Scan(&n)
	return n > 0, err
}

// AddReconEntry records e unless its report has it already.
func (c *Core) AddReconEntry(ctx context.Context, e *f2fpay.ReconEntry) (_ bool, err error) {
	defer c.Wrap(&err, "add reconciliation entry")
	actions, err := jsonList{e.Actions}.text()
	if err != nil {
		return false, err
	}
	now := c.Now()
	var n int64
	err = c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		var err error
		n, err = tx.Exec(ctx, c.q.AddReconEntry, e.ReportID, e.AppID, e.Day, string(e.Class), e.Key, string(e.Status),
			e.OutTradeNo, e.TradeNo, e.OutRequestNo, IDArg(e.OrderID), int64(e.BillAmount), int64(e.LocalAmount),
			e.Detail, e.Reason, actions, e.PendingUntil, c.T(now))
		return c.constraint(err, "", fmt.Sprintf("reconciliation report %d not found", e.ReportID))
	})
	if err == nil && n == 1 {
		e.CreatedAt, e.UpdatedAt = now, now
	}
	return n == 1, err
}

// UpdateReconEntry writes e's status, reason and actions.
func (c *Core) UpdateReconEntry(ctx context.Context, e *f2fpay.ReconEntry) (err error) {
	defer c.Wrap(&err, "update reconciliation entry")
	actions, err := jsonList{e.Actions}.text()
	if err != nil {
		return err
	}
	now := c.Now()
	err = c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		n, err := tx.Exec(ctx, c.q.UpdateReconEntry, e.ID, string(e.Status), e.Reason, actions, c.T(now))
		if err == nil && n != 1 {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "reconciliation entry %d not found", e.ID)
		}
		return err
	})
	if err == nil {
		e.UpdatedAt = now
	}
	return err
}

// ReconEntries returns a report's entries.
func (c *Core) ReconEntries(ctx context.Context, reportID int64) (_ []*f2fpay.ReconEntry, err error) {
	defer c.Wrap(&err, "reconciliation entries")
	rows, err := c.cfg.Read.Query(ctx, c.q.ReconEntries, reportID)
	return Collect(rows, err, scanReconEntry)
}

// PendingReconEntries returns the app's pending entries of days before day.
func (c *Core) PendingReconEntries(ctx context.Context, appID int64, day string) (_ []*f2fpay.ReconEntry, err error) {
	defer c.Wrap(&err, "pending reconciliation entries")
	rows, err := c.cfg.Read.Query(ctx, c.q.PendingReconEntries, appID, day)
	return Collect(rows, err, scanReconEntry)
}

// AppFeeRate returns the app's agreed fee rate in basis points.
func (c *Core) AppFeeRate(ctx context.Context, appID int64) (_ int, _ bool, err error) {
	defer c.Wrap(&err, "app fee rate")
	var bp int
	err = c.cfg.Read.QueryRow(ctx, c.q.AppFeeRate, appID).Scan(&bp)
	if isNoRows(err) {
		return 0, false, nil
	}
	return bp, err == nil, err
}

// SetAppFeeRate sets the app's agreed fee rate in basis points (0 to 10000).
func (c *Core) SetAppFeeRate(ctx context.Context, appID int64, bp int) (err error) {
	defer c.Wrap(&err, "set app fee rate")
	if bp < 0 || bp > 10000 {
		return f2fpay.Errorf(f2fpay.EINVALID, "fee rate %d basis points is not between 0 and 10000 (0.6%% is 60)", bp)
	}
	return c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		_, err := tx.Exec(ctx, c.q.SetAppFeeRate, appID, bp)
		return c.constraint(err, "", fmt.Sprintf("app %d not found", appID))
	})
}
