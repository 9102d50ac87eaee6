package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/recon"
	"github.com/f2fpay/f2fpay/secret"
)

// exitStatus is an error with its own exit status (reconcile: 1 open entries, 2 could
// not run).
type exitStatus struct {
	code int
	err  error
}

func (e *exitStatus) Error() string { return e.err.Error() }
func (e *exitStatus) Unwrap() error { return e.err }
func (e *exitStatus) ExitCode() int { return e.code }

func cannotRun(err error) error { return &exitStatus{2, err} }

// runReconcile is `f2fpay reconcile`: one app's Beijing day against Alipay's bill.
func runReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", os.Getenv("F2FPAY_DB"), "`database`: sqlite:./f2fpay.db or postgres://… (F2FPAY_DB)")
	appID := fs.String("app", "", "the app's Alipay `APPID`")
	date := fs.String("date", "", "the Beijing `day` to reconcile, yyyy-MM-dd")
	repair := fs.Bool("repair", false, "check each difference with Alipay and apply what Alipay confirms")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	asCSV := fs.Bool("csv", false, "print the entries as CSV")
	quiet := fs.Bool("quiet", false, "no progress bar")
	feeRate := fs.Int("fee-rate", -1, "set the app's agreed service fee in `basis points` of 商家实收 first (60 = 0.6%)")
	masterKey := fs.String("master-key-file", "", "`file` holding the base64 master key (or F2FPAY_MASTER_KEY), as serve takes it")
	adminURL := fs.String("admin-url", os.Getenv("F2FPAY_ADMIN_URL"), "run the reconciliation inside the running service at this admin `URL` (F2FPAY_ADMIN_URL), e.g. http://127.0.0.1:8081: no -db or master key needed")
	adminToken := fs.String("admin-token", os.Getenv("F2FPAY_ADMIN_TOKEN"), "the service's admin `token` for -admin-url (F2FPAY_ADMIN_TOKEN)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: f2fpay reconcile -db DATABASE -app APPID -date YYYY-MM-DD [-repair] [-json|-csv]\n"+
			"       f2fpay reconcile -admin-url URL -admin-token TOKEN -app APPID -date YYYY-MM-DD [-repair] [-json|-csv]\n\n"+
			"Reconciles one app's day against Alipay's trade bill. Exit status: 0 balanced (or only entries\n"+
			"pending on the next days' bills), 1 open differences, 2 could not run.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *adminURL == "" && *db == "":
		return &usageError{"reconcile: -db is required (sqlite:./f2fpay.db or a postgres:// URL), or -admin-url to run it inside the running service"}
	case *adminURL != "" && *feeRate >= 0:
		return &usageError{"reconcile: -fee-rate needs -db (set the rate once with the database, then use -admin-url)"}
	case *appID == "":
		return &usageError{"reconcile: -app is required: the app's Alipay APPID"}
	case *asJSON && *asCSV:
		return &usageError{"reconcile: -json and -csv exclude each other"}
	}
	if _, _, err := recon.ParseDay(*date); err != nil {
		return &usageError{"reconcile: -date: " + f2fpay.ErrorMessage(err)}
	}
	out := reconOutput{stdout: stdout, appID: *appID, asJSON: *asJSON, asCSV: *asCSV}
	if *adminURL != "" {
		return reconcileRemote(ctx, *adminURL, *adminToken, *appID, *date, *repair, out)
	}
	key := os.Getenv("F2FPAY_MASTER_KEY")
	cfg := serveConfig{MasterKey: key, MasterKeyFile: *masterKey}
	if key == "" && *masterKey == "" {
		return &usageError{"reconcile: no master key: set F2FPAY_MASTER_KEY or -master-key-file as for serve (the apps' private keys are sealed with it)"}
	}
	master, err := cfg.masterKey()
	if err != nil {
		return cannotRun(err)
	}
	box, err := secret.NewBox(master)
	if err != nil {
		return cannotRun(err)
	}
	store, _, err := openDB(ctx, *db, "", true)
	if err != nil {
		if strings.Contains(err.Error(), "already open in another f2fpay process") {
			return cannotRun(fmt.Errorf("%w\nOn SQLite one process owns the file: run it inside the service with -admin-url http://ADMIN-ADDRESS -admin-token TOKEN (F2FPAY_ADMIN_URL, F2FPAY_ADMIN_TOKEN), or stop the service", err))
		}
		return cannotRun(fmt.Errorf("reconcile: database: %w", err))
	}
	defer store.Close()
	app, err := store.FindAppByAppID(ctx, *appID)
	if err != nil {
		return cannotRun(fmt.Errorf("reconcile: %s", f2fpay.ErrorMessage(err)))
	}
	if *feeRate >= 0 {
		if err := store.SetAppFeeRate(ctx, app.ID, *feeRate); err != nil {
			return &usageError{"reconcile: -fee-rate: " + f2fpay.ErrorMessage(err)}
		}
	}
	clients := payment.NewAppClients(box, payment.AppClientsOptions{})
	// On SQLite this process owns the file (no serve, no other reconcile runs on it),
	// so a day still held by a reconcile that died is taken over at once: every
	// reconcile there holds days under one name. On PostgreSQL each process has its
	// own, and a dead one's day waits for its lease to end.
	owner := "reconcile-" + strconv.Itoa(os.Getpid())
	if kind, _, _ := parseDB(*db); kind == dbSQLite {
		owner = "reconcile"
	}
	engine, err := payment.New(payment.Config{Storage: store, Clients: clients, Owner: owner})
	if err != nil {
		return cannotRun(err)
	}
	var bar *progressbar.ProgressBar
	progress := func(string, int64, int64) {}
	if !*quiet {
		bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionShowCount(),
			progressbar.OptionSetDescription("download"), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100_000_000))
		last := ""
		progress = func(stage string, done, total int64) {
			if stage != last {
				bar.Reset()
				bar.Describe(stage)
				last = stage
			}
			if total > 0 {
				bar.ChangeMax64(total)
			}
			bar.Set64(done)
		}
	}
	r := recon.New(recon.Config{Store: store, Engine: engine, Clients: clients, Owner: owner, Progress: progress})
	rep, err := r.Run(ctx, app.ID, *date, recon.Options{Repair: *repair})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		var nr *recon.NotReadyError
		if errors.As(err, &nr) {
			return cannotRun(fmt.Errorf("reconcile %s %s: %w", *appID, *date, err))
		}
		return cannotRun(fmt.Errorf("reconcile %s %s: %s", *appID, *date, f2fpay.ErrorMessage(err)))
	}
	return out.report(rep)
}

// reconOutput prints a report as the flags ask and returns the exit status it means.
type reconOutput struct {
	stdout        io.Writer
	appID         string
	asJSON, asCSV bool
}

func (o reconOutput) report(rep *f2fpay.ReconReport) error {
	switch {
	case o.asJSON:
		enc := json.NewEncoder(o.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	case o.asCSV:
		if err := writeReconCSV(o.stdout, rep); err != nil {
			return err
		}
	default:
		printReconReport(o.stdout, o.appID, rep)
	}
	if rep.Status == f2fpay.ReconHasOpen {
		return &exitStatus{1, fmt.Errorf("%s %s: open differences need a person (see the report)", o.appID, rep.Day)}
	}
	return nil
}

// reconcileRemote asks the running service to reconcile (POST /admin/reconciliations):
// on SQLite the service owns the file, and on PostgreSQL it keeps the run beside the
// daily job's.
func reconcileRemote(ctx context.Context, adminURL, token, appID, date string, repair bool, out reconOutput) error {
	if token == "" {
		return &usageError{"reconcile: -admin-url needs -admin-token (or F2FPAY_ADMIN_TOKEN): the service's admin token"}
	}
	// A day of a busy app takes minutes; the run holds the day's lease meanwhile.
	ac := client.NewAdminClient(adminURL, token, &http.Client{Timeout: time.Hour})
	rep, err := ac.Reconcile(ctx, client.ReconcileRequest{AlipayAppID: appID, Date: date, Repair: repair})
	if err != nil {
		return cannotRun(fmt.Errorf("reconcile %s %s through %s: %w", appID, date, adminURL, err))
	}
	return out.report(rep)
}

func writeReconCSV(w io.Writer, rep *f2fpay.ReconReport) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"day", "class", "status", "out_trade_no", "trade_no", "out_request_no", "bill_amount", "local_amount", "detail", "reason"})
	for _, e := range rep.Entries {
		cw.Write([]string{e.Day, string(e.Class), string(e.Status), e.OutTradeNo, e.TradeNo, e.OutRequestNo,
			e.BillAmount.String(), e.LocalAmount.String(), e.Detail, e.Reason})
	}
	cw.Flush()
	return cw.Error()
}

func printReconReport(w io.Writer, appID string, rep *f2fpay.ReconReport) {
	fmt.Fprintf(w, "Reconciliation of %s for %s: %s (attempt %d)\n", appID, rep.Day, strings.ToUpper(string(rep.Status)), rep.Attempts)
	fmt.Fprintf(w, "Bill: %d trades (%s), %d refunds (%s)\n\n", rep.BillTrades, rep.BillTradeAmount, rep.BillRefunds, rep.BillRefundAmount)
	if len(rep.Entries) == 0 {
		fmt.Fprintln(w, "No differences.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLASS\tSTATUS\tCOUNT\tBILL\tHERE")
	for _, s := range rep.Summary {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", s.Class, s.Status, s.Count, s.BillAmount, s.LocalAmount)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLASS\tSTATUS\tOUT_TRADE_NO\tOUT_REQUEST_NO\tWHAT DIFFERS\tWHY / WHAT TO DO")
	for _, e := range rep.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Class, e.Status, e.OutTradeNo, e.OutRequestNo, e.Detail, e.Reason)
	}
	tw.Flush()
}
