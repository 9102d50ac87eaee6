// Package recon reconciles (对账) one app's Beijing day against Alipay's trade bill:
// it asks for the bill's URL, downloads the zip to disk within the URL's 30 s, stages
// the rows in the database as alipay/bill reads them, joins them there with the
// service's orders and refunds, records each difference as an entry of a closed list of
// classes, and — when asked to repair — checks each with Alipay and applies what
// Alipay confirms through the payment engine. docs/reconciliation.md is the manual.
package recon

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/bill"
	"github.com/f2fpay/f2fpay/payment"
)

// DefaultFeeRate is the fee, in basis points of 商家实收, assumed for an app without an
// agreed rate (ReconStore.SetAppFeeRate): 0.6%, the standard rate of 当面付.
const DefaultFeeRate = 60

// Engine is what reconciliation needs of the payment engine (payment.Engine).
type Engine interface {
	Reconcile(ctx context.Context, appID int64, outTradeNo, outRequestNo string) (*f2fpay.Order, *payment.AlipayWord, error)
}

// Clients gives an app's Alipay client (payment.AppClients).
type Clients interface {
	Client(ctx context.Context, app *f2fpay.App) (*payment.AppClient, error)
}

// Config tunes a Reconciler.
type Config struct {
	Store   f2fpay.Storage
	Engine  Engine
	Clients Clients
	// Owner names this run's holder of a day (an instance's owner id).
	Owner string
	Clock f2fpay.Clock
	Log   *slog.Logger
	// Dir holds the downloaded zip while a run reads it; the system's temp dir when empty.
	Dir string
	// MaxBillBytes caps a download; 512 MiB when zero.
	MaxBillBytes int64
	// DownloadTimeout bounds the download; 30 s (the URL's life) when zero.
	DownloadTimeout time.Duration
	// PendingWindow: a one-sided entry this close to midnight goes to the pending
	// pool and is matched again against the next two days' bills; 10 minutes when zero.
	PendingWindow time.Duration
	// Lease is how long a run holds a day; 30 minutes when zero. A run that dies
	// leaves the day to the next run once it ends.
	Lease time.Duration
	// Batch is how many rows are staged per transaction; 1,000 when zero.
	Batch int
	// Progress, when set, is told how far a run is: stage "download" in bytes,
	// "stage" and "match" in rows (total -1 when unknown), "repair" in entries.
	Progress func(stage string, done, total int64)
	// Metrics, when set, is told how each run ended and how long it took.
	Metrics Metrics
}

// Metrics receives the outcome of each run: the report's status (balanced, open,
// pending), "failed", or "not_ready" (Alipay has no bill yet); httpapi.ReconMetrics
// implements it.
type Metrics interface {
	ReconRun(outcome string, d time.Duration)
}

// Reconciler runs reconciliations.
type Reconciler struct{ cfg Config }

// New returns a Reconciler.
func New(cfg Config) *Reconciler {
	if cfg.Clock == nil {
		cfg.Clock = f2fpay.SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.MaxBillBytes = cmp.Or(cfg.MaxBillBytes, 512<<20)
	cfg.DownloadTimeout = cmp.Or(cfg.DownloadTimeout, 30*time.Second)
	cfg.PendingWindow = cmp.Or(cfg.PendingWindow, 10*time.Minute)
	cfg.Lease = cmp.Or(cfg.Lease, 30*time.Minute)
	cfg.Batch = cmp.Or(cfg.Batch, 1000)
	cfg.Owner = cmp.Or(cfg.Owner, "recon")
	if cfg.Progress == nil {
		cfg.Progress = func(string, int64, int64) {}
	}
	return &Reconciler{cfg: cfg}
}

// NotReadyError is Alipay saying the day's bill does not exist yet (isp.bill_not_exist):
// the run could not start; ask again later.
type NotReadyError struct{ Reason string }

func (e *NotReadyError) Error() string {
	return "Alipay has no bill for the day yet: " + e.Reason + " (bills are ready the next day, usually before 09:00 Beijing time)"
}

// ParseDay checks a yyyy-MM-dd day and returns its span in Beijing time.
func ParseDay(day string) (from, to time.Time, err error) {
	d, err := time.ParseInLocation("2006-01-02", day, bill.Location())
	if err != nil || len(day) != 10 {
		return time.Time{}, time.Time{}, f2fpay.Errorf(f2fpay.EINVALID, "day %q is not a date: write yyyy-MM-dd, e.g. 2026-03-14 (a Beijing day)", day)
	}
	return d, d.AddDate(0, 0, 1), nil
}

// Options of one run.
type Options struct {
	// Repair checks every entry with Alipay and applies what Alipay confirms; without
	// it the run only reports.
	Repair bool
}

// Reconcile runs Run for the admin API (httpapi.Reconciler): a bill Alipay has not
// made yet, or cannot be read, is EUNAVAILABLE with the reason, so the operator reads
// it rather than an internal error.
func (r *Reconciler) Reconcile(ctx context.Context, appID int64, day string, repair bool) (*f2fpay.ReconReport, error) {
	rep, err := r.Run(ctx, appID, day, Options{Repair: repair})
	var nr *NotReadyError
	var be *BillError
	switch {
	case errors.As(err, &nr):
		return rep, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "%s", nr.Error())
	case errors.As(err, &be):
		return rep, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "%s", be.Error())
	}
	return rep, err
}

// run is one reconciliation in progress.
type run struct {
	*Reconciler
	app      *f2fpay.App
	rep      *f2fpay.ReconReport
	day      string
	from, to time.Time
	feeRate  int
}

// Run reconciles app (the service's id of the app) for day (yyyy-MM-dd, Beijing). It
// returns the day's report with its entries. A *NotReadyError means Alipay has no bill
// yet; other errors mean the run could not finish (the report says failed, and a run
// started again begins where this one left the entries).
func (r *Reconciler) Run(ctx context.Context, appID int64, day string, opts Options) (*f2fpay.ReconReport, error) {
	from, to, err := ParseDay(day)
	if err != nil {
		return nil, err
	}
	st := r.cfg.Store
	app, err := st.FindApp(ctx, appID)
	if err != nil {
		return nil, err
	}
	rn := &run{Reconciler: r, app: app, day: day, from: from, to: to}
	bp, ok, err := st.AppFeeRate(ctx, app.ID)
	if err != nil {
		return nil, err
	}
	rn.feeRate = DefaultFeeRate
	if ok {
		rn.feeRate = bp
	}
	rep, err := st.ClaimReconReport(ctx, app.ID, day, r.cfg.Owner, r.cfg.Clock.Now(), r.cfg.Lease)
	if err != nil {
		return nil, err
	}
	rn.rep = rep
	start := time.Now()
	err = rn.do(ctx, opts)
	if r.cfg.Metrics != nil {
		outcome := string(rep.Status)
		var nr *NotReadyError
		if errors.As(err, &nr) {
			outcome = "not_ready"
		} else if err != nil {
			outcome = string(f2fpay.ReconFailed)
		}
		r.cfg.Metrics.ReconRun(outcome, time.Since(start))
	}
	if err != nil {
		rep.Status, rep.Error = f2fpay.ReconFailed, f2fpay.ErrorMessage(err)
		var nr *NotReadyError
		if errors.As(err, &nr) {
			rep.Error = err.Error()
		}
		if ferr := st.FinishReconReport(context.WithoutCancel(ctx), rep, r.cfg.Owner); ferr != nil {
			r.cfg.Log.Error("recording a failed reconciliation", "app_id", app.AppID, "day", day, "err", ferr)
		}
		_ = st.ClearBillRows(context.WithoutCancel(ctx), rep.ID)
		return rep, err
	}
	return rep, nil
}

func (rn *run) do(ctx context.Context, opts Options) error {
	st := rn.cfg.Store
	path, err := rn.download(ctx)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	if err := st.ClearBillRows(ctx, rn.rep.ID); err != nil {
		return err
	}
	if err := rn.stage(ctx, path); err != nil {
		return err
	}
	if err := rn.detect(ctx); err != nil {
		return err
	}
	if err := rn.settlePending(ctx, opts); err != nil {
		return err
	}
	entries, err := st.ReconEntries(ctx, rn.rep.ID)
	if err != nil {
		return err
	}
	if opts.Repair {
		if err := rn.repairAll(ctx, entries); err != nil {
			return err
		}
	}
	rn.rep.Summarize(entries)
	rn.rep.Entries = entries
	if err := st.ClearBillRows(ctx, rn.rep.ID); err != nil {
		return err
	}
	var events []*f2fpay.Event
	if p, ok := rn.rep.OpenEntries(rn.app.AppID); ok {
		payload, err := json.Marshal(p)
		if err != nil {
			return err
		}
		events = append(events, &f2fpay.Event{ID: openEventID(rn.rep), Type: f2fpay.EventReconOpenEntries,
			MerchantID: rn.app.MerchantID, Payload: payload})
	}
	return st.FinishReconReport(ctx, rn.rep, rn.cfg.Owner, events...)
}

// openEventID names the reconciliation.open_entries event of a report's attempt: the
// run that closes the day enqueues it with the report, in one transaction, so a run
// killed before that sends nothing and the run started again sends it once.
func openEventID(r *f2fpay.ReconReport) string {
	h := sha256.Sum256([]byte("recon/" + strconv.FormatInt(r.ID, 10) + "/" + strconv.Itoa(r.Attempts)))
	return "evt_" + hex.EncodeToString(h[:12])
}

// download asks for the bill's URL and streams the zip to a file, capped in size and
// within the URL's life.
func (rn *run) download(ctx context.Context) (string, error) {
	c, err := rn.cfg.Clients.Client(ctx, rn.app)
	if err != nil {
		return "", err
	}
	res, err := c.BillDownloadURLQuery(ctx, &alipay.BillDownloadURLQueryRequest{BillType: alipay.BillTypeTrade, BillDate: rn.day}, c.Options()...)
	if err != nil {
		var ae *alipay.Error
		if errors.As(err, &ae) && ae.SubCode == "isp.bill_not_exist" {
			return "", &NotReadyError{Reason: ae.SubCode + " " + ae.SubMsg}
		}
		return "", fmt.Errorf("asking Alipay for the bill of %s: %w", rn.day, err)
	}
	f, err := os.CreateTemp(rn.cfg.Dir, "f2fpay-bill-*.zip")
	if err != nil {
		return "", fmt.Errorf("a file for the bill: %w", err)
	}
	dctx, cancel := context.WithTimeout(ctx, rn.cfg.DownloadTimeout)
	defer cancel()
	w := &progressWriter{w: f, fn: func(n int64) { rn.cfg.Progress("download", n, -1) }}
	_, err = c.DownloadBill(dctx, res.BillDownloadURL, w, rn.cfg.MaxBillBytes)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("downloading the bill of %s: %w", rn.day, err)
	}
	return f.Name(), nil
}

type progressWriter struct {
	w  io.Writer
	n  int64
	fn func(int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	p.fn(p.n)
	return n, err
}

// BillError is a bill that could not be read: nothing was applied.
type BillError struct{ Err error }

func (e *BillError) Error() string { return "the bill cannot be read: " + e.Err.Error() }
func (e *BillError) Unwrap() error { return e.Err }

// stage reads the zip's 业务明细 row by row and stages the rows in batches.
func (rn *run) stage(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	var trades, refunds int
	var tradeSum, refundSum f2fpay.Amount
	err = ReadBill(f, fi.Size(), rn.cfg.Batch, func(rows []f2fpay.ReconBillRow) error {
		for _, r := range rows {
			switch r.Kind {
			case "trade":
				trades++
				tradeSum += r.OrderAmount
			case "refund":
				refunds++
				refundSum += r.OrderAmount
			}
		}
		rn.cfg.Progress("stage", int64(trades+refunds), -1)
		return rn.cfg.Store.AddBillRows(ctx, rn.rep.ID, rows)
	})
	if err != nil {
		return err
	}
	rn.rep.BillTrades, rn.rep.BillRefunds, rn.rep.BillTradeAmount, rn.rep.BillRefundAmount = trades, refunds, tradeSum, refundSum
	return nil
}

// ReadBill reads a trade bill zip and hands its 业务明细 rows to fn in batches, holding
// one batch in memory. The footer's counts and sums are checked at the end: a bill
// that fails anywhere is a *BillError, and fn has then only staged rows (nothing is
// matched or applied before the whole bill was read).
func ReadBill(r io.ReaderAt, size int64, batch int, fn func([]f2fpay.ReconBillRow) error) error {
	a, err := bill.OpenZip(r, size)
	if err != nil {
		return &BillError{err}
	}
	d, err := a.OpenDetail()
	if err != nil {
		return &BillError{err}
	}
	defer d.Close()
	buf := make([]f2fpay.ReconBillRow, 0, batch)
	for {
		row, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return &BillError{err}
		}
		br := f2fpay.ReconBillRow{Line: d.Line(), TradeNo: row.TradeNo, OutTradeNo: row.OutTradeNo,
			OutRequestNo: row.RefundRequestNo, OrderAmount: row.OrderAmount, Receipt: row.Receipt,
			MerchantDiscount: row.MerchantDiscount, VoucherAmount: row.VoucherAmount, ServiceFee: row.ServiceFee,
			Finished: row.Finished}
		switch row.Type {
		case bill.BizTrade:
			br.Kind = "trade"
		case bill.BizRefund:
			br.Kind = "refund"
		default:
			br.Kind = "other"
		}
		if br.OutTradeNo == "" {
			return &BillError{fmt.Errorf("line %d: 商户订单号 is empty", d.Line())}
		}
		buf = append(buf, br)
		if len(buf) == batch {
			if err := fn(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if err := d.Verify(); err != nil {
		return &BillError{err}
	}
	if len(buf) > 0 {
		return fn(buf)
	}
	return nil
}
