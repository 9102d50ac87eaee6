package recon_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/httpapi"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/recon"
)

// TestAdminAPI: POST /admin/reconciliations runs a day inside the service (503 with
// Alipay's reason while the bill is not ready), the day closed with open entries
// enqueues one reconciliation.open_entries event, GET lists and reads the reports,
// and /metrics shows the runs and the open entries by class.
func TestAdminAPI(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := context.Background()
		b := setup(t, kind)
		a := b.pay("10.00")
		metrics := httpapi.NewMetrics(prometheus.NewRegistry(), b.db)
		rec := recon.New(recon.Config{Store: b.db, Engine: b.engine, Clients: b.clients, Owner: "api", Clock: b.clk,
			Dir: t.TempDir(), Metrics: httpapi.NewReconMetrics(metrics, b.db)})
		api, err := httpapi.New(httpapi.Config{Storage: b.db, Engine: b.engine, AdminToken: "tok", Metrics: metrics, Reconciler: rec, Clock: b.clk})
		b.must(err)
		srv := httptest.NewServer(api.Handler())
		defer srv.Close()
		ac := client.NewAdminClient(srv.URL, "tok", nil)

		_, err = ac.Reconcile(ctx, client.ReconcileRequest{AlipayAppID: b.app.AppID, Date: day})
		if client.ErrorCode(err) != client.EUNAVAILABLE || !strings.Contains(err.Error(), "isp.bill_not_exist") {
			t.Fatalf("before the bill: %v, want 503 with Alipay's reason", err)
		}
		if _, err := ac.Reconcile(ctx, client.ReconcileRequest{AppID: b.app.ID, Date: "14/3/2026"}); client.ErrorCode(err) != client.EINVALID {
			t.Fatalf("bad date: %v", err)
		}
		b.simClk.Advance(24 * time.Hour)
		b.sb.Fault(alipaysim.Fault{Kind: alipaysim.FaultBillChangedFee, OutTradeNo: a.OutTradeNo, Count: 1})
		rep, err := ac.Reconcile(ctx, client.ReconcileRequest{AppID: b.app.ID, Date: day, Repair: true})
		b.must(err)
		if got := found(rep); !slices.Equal(got, []string{"fee_differs open " + a.OutTradeNo}) || rep.Status != f2fpay.ReconHasOpen {
			t.Fatalf("run: %q %s", got, rep.Status)
		}

		evs, err := b.db.ListEvents(ctx, f2fpay.EventFilter{MerchantID: &b.app.MerchantID})
		b.must(err)
		var open []*f2fpay.Event
		for _, e := range evs {
			if e.Type == f2fpay.EventReconOpenEntries {
				open = append(open, e)
			}
		}
		if len(open) != 1 {
			t.Fatalf("%d reconciliation.open_entries events, want 1", len(open))
		}
		var p f2fpay.ReconOpenEntries
		b.must(json.Unmarshal(open[0].Payload, &p))
		if p.ReportID != rep.ID || p.AlipayAppID != b.app.AppID || p.Day != day || p.Open != 1 || len(p.Entries) != 1 ||
			p.Entries[0].Class != f2fpay.ReconFeeDiffers || p.Entries[0].OutTradeNo != a.OutTradeNo || !strings.Contains(string(open[0].Payload), `"bill_amount":"`) {
			t.Fatalf("payload %s", open[0].Payload)
		}

		list, err := ac.Reconciliations(ctx, client.ReconFilter{AppID: b.app.ID, From: day, To: day})
		b.must(err)
		if len(list) != 1 || list[0].ID != rep.ID || list[0].Entries != nil || len(list[0].Summary) != 1 || list[0].Summary[0].Count != 1 {
			t.Fatalf("list %+v", list)
		}
		if list, err := ac.Reconciliations(ctx, client.ReconFilter{From: "2026-03-15"}); err != nil || len(list) != 0 {
			t.Fatalf("list from the next day: %+v %v", list, err)
		}
		got, err := ac.Reconciliation(ctx, rep.ID)
		b.must(err)
		if len(got.Entries) != 1 || got.Entries[0].Reason == "" || got.Status != f2fpay.ReconHasOpen || got.Attempts != 2 {
			t.Fatalf("report %+v", got)
		}
		if _, err := ac.Reconciliation(ctx, rep.ID+100); client.ErrorCode(err) != client.ENOTFOUND {
			t.Fatalf("unknown report: %v", err)
		}

		res, err := http.Get(srv.URL + "/metrics")
		b.must(err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, want := range []string{`f2fpay_recon_open_entries{class="fee_differs"} 1`, `f2fpay_recon_open_entries{class="alipay_only"} 0`,
			`f2fpay_recon_runs_total{outcome="open"} 1`, `f2fpay_recon_runs_total{outcome="not_ready"} 1`,
			`f2fpay_recon_run_duration_seconds_count{outcome="open"} 1`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}

// TestDaily: the daily job waits for its time, leaves a day a live run holds, takes
// over a day whose run died, retries a bill not ready after Retry, and closes the day
// once; two instances looking at once run it once.
func TestDaily(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := context.Background()
		b := setup(t, kind) // both clocks at noon of day, Beijing
		b.pay("10.00")
		// A run that died at noon holds the day until 11:30 the next day.
		_, err := b.db.ClaimReconReport(ctx, b.app.ID, day, "dead", b.clk.Now(), 23*time.Hour+30*time.Minute)
		b.must(err)
		daily := recon.Daily{At: 10 * time.Hour, Retry: 30 * time.Minute, Repair: true}
		r := b.reconciler("i1")
		look := func(want int, status f2fpay.ReconReportStatus, attempts int) {
			t.Helper()
			if got := len(r.DailyOnce(ctx, daily)); got != want {
				t.Fatalf("%s: %d runs, want %d", b.clk.Now().In(alipay.Beijing()).Format("01-02 15:04"), got, want)
			}
			rep, err := b.db.FindReconReport(ctx, b.app.ID, day)
			b.must(err)
			if rep.Status != status || rep.Attempts != attempts {
				t.Fatalf("report %s attempt %d, want %s %d (%s)", rep.Status, rep.Attempts, status, attempts, rep.Error)
			}
		}
		b.clk.Advance(21 * time.Hour) // 09:00 the next day: before the bill time
		look(0, f2fpay.ReconRunning, 1)
		b.clk.Advance(2 * time.Hour) // 11:00: the dead run's lease still holds the day
		look(0, f2fpay.ReconRunning, 1)
		b.clk.Advance(31 * time.Minute) // 11:31: taken over; Alipay's bill is not ready
		look(1, f2fpay.ReconFailed, 2)
		look(0, f2fpay.ReconFailed, 2) // not again before Retry
		b.clk.Advance(31 * time.Minute)
		b.simClk.Advance(24 * time.Hour) // the bill exists now
		// Two instances look at once: one runs the day.
		r2 := b.reconciler("i2")
		var wg sync.WaitGroup
		var n [2]int
		for i, rr := range []*recon.Reconciler{r, r2} {
			wg.Add(1)
			go func() { defer wg.Done(); n[i] = len(rr.DailyOnce(ctx, daily)) }()
		}
		wg.Wait()
		if n[0]+n[1] != 1 {
			t.Fatalf("instances ran %v, want one run", n)
		}
		look(0, f2fpay.ReconBalanced, 3)
	})
}

// TestPendingAcrossMidnight: a payment in the last minutes of a day that the day's bill
// lacks waits in the pending pool; a pending entry whose row comes in the next day's
// bill is matched; one in no bill by the second day counts and is checked then, and
// the first day's report follows.
func TestPendingAcrossMidnight(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := context.Background()
		b := setup(t, kind)
		b.simClk.Set(time.Date(2026, 3, 14, 23, 57, 0, 0, alipay.Beijing()))
		late := b.pay("12.00") // paid at 23:57: the day's bill lacks it (the fault)
		b.simClk.Set(time.Date(2026, 3, 15, 0, 2, 0, 0, alipay.Beijing()))
		early := b.pay("8.00") // paid after midnight: in the next day's bill
		b.simClk.Set(time.Date(2026, 3, 17, 12, 0, 0, 0, alipay.Beijing()))
		b.sb.Fault(alipaysim.Fault{Kind: alipaysim.FaultBillMissingRow, OutTradeNo: late.OutTradeNo, Count: 1})
		rep, err := b.reconciler("d14").Run(ctx, b.app.ID, "2026-03-14", recon.Options{})
		b.must(err)
		if got := found(rep); !slices.Equal(got, []string{"local_only pending " + late.OutTradeNo}) || rep.Status != f2fpay.ReconWaiting {
			t.Fatalf("day 14: %q %s", got, rep.Status)
		}
		// A clock ahead of Alipay's put the second payment in day 14 here: its entry
		// waits in the pool like the first.
		added, err := b.db.AddReconEntry(ctx, &f2fpay.ReconEntry{ReportID: rep.ID, AppID: b.app.ID, Day: "2026-03-14",
			Class: f2fpay.ReconLocalOnly, Key: early.OutTradeNo, Status: f2fpay.ReconPending, OutTradeNo: early.OutTradeNo,
			LocalAmount: early.TotalAmount, PendingUntil: "2026-03-16", Detail: "paid 23:59:59 here"})
		if err != nil || !added {
			t.Fatal(added, err)
		}
		status := func(d string) (f2fpay.ReconReportStatus, []string) {
			r, err := b.db.FindReconReport(ctx, b.app.ID, d)
			b.must(err)
			return r.Status, found(r)
		}
		rep, err = b.reconciler("d15").Run(ctx, b.app.ID, "2026-03-15", recon.Options{Repair: true})
		b.must(err)
		if len(rep.Entries) != 0 || rep.Status != f2fpay.ReconBalanced {
			t.Fatalf("day 15: %q %s", found(rep), rep.Status)
		}
		if s, got := status("2026-03-14"); s != f2fpay.ReconWaiting || !slices.Equal(got, sorted("local_only pending "+late.OutTradeNo, "local_only matched "+early.OutTradeNo)) {
			t.Fatalf("day 14 after day 15: %s %q", s, got)
		}
		_, err = b.reconciler("d16").Run(ctx, b.app.ID, "2026-03-16", recon.Options{Repair: true})
		b.must(err)
		s, got := status("2026-03-14")
		if s != f2fpay.ReconBalanced || !slices.Equal(got, sorted("local_only confirmed "+late.OutTradeNo, "local_only matched "+early.OutTradeNo)) {
			t.Fatalf("day 14 after day 16: %s %q", s, got)
		}
	})
}

func sorted(s ...string) []string { slices.Sort(s); return s }

// TestDailyCatchUp: days missed while no instance ran are closed when one runs again,
// oldest first, from the day the app was added — not before it.
func TestDailyCatchUp(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := context.Background()
		b := setup(t, kind) // the app is added at noon of day, Beijing
		b.pay("10.00")
		// Nothing runs for three days; then an instance starts at noon.
		b.clk.Advance(72 * time.Hour)
		b.simClk.Advance(72 * time.Hour)
		daily := recon.Daily{At: 10 * time.Hour, Repair: true}
		reps := b.reconciler("late").DailyOnce(ctx, daily)
		var days []string
		for _, rep := range reps {
			days = append(days, rep.Day)
			if rep.Status != f2fpay.ReconBalanced {
				t.Errorf("day %s: %s (%s), want BALANCED", rep.Day, rep.Status, rep.Error)
			}
		}
		d0, err := time.ParseInLocation("2006-01-02", day, alipay.Beijing())
		b.must(err)
		want := []string{day, d0.AddDate(0, 0, 1).Format("2006-01-02"), d0.AddDate(0, 0, 2).Format("2006-01-02")}
		if !slices.Equal(days, want) {
			t.Fatalf("caught up %v, want %v (from the app's first day, oldest first)", days, want)
		}
		if _, err := b.db.FindReconReport(ctx, b.app.ID, d0.AddDate(0, 0, -1).Format("2006-01-02")); f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
			t.Errorf("the day before the app was added was reconciled: %v", err)
		}
		if n := len(b.reconciler("late").DailyOnce(ctx, daily)); n != 0 {
			t.Errorf("%d runs after catching up, want none", n)
		}
	})
}
