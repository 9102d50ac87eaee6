package recon_test

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/bill"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/recon"
)

// benchRows is the day's size of BenchmarkReconcileDay: F2FPAY_RECON_BENCH_ROWS, or
// 100,000 (1,000,000 takes minutes to set up on a shared 2-core machine).
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("F2FPAY_RECON_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

var benchDayStart = time.Date(2026, 3, 14, 0, 0, 0, 0, alipay.Beijing())

// tradeRows is a day of n paid trades that all match the local orders BenchmarkReconcileDay
// makes, at the default fee rate.
func tradeRows(n int) iter.Seq[*bill.DetailRow] {
	return func(yield func(*bill.DetailRow) bool) {
		for i := range n {
			at := benchDayStart.Add(time.Duration(i) * (24 * time.Hour / time.Duration(n)))
			amt := f2fpay.Amount(1000 + i%500)
			r := &bill.DetailRow{TradeNo: fmt.Sprintf("2026031422001%017d", i), OutTradeNo: fmt.Sprintf("o-%d", i),
				Type: bill.BizTrade, Subject: "茶", Created: at, Finished: at, OrderAmount: amt, Receipt: amt,
				ServiceFee: -(amt*recon.DefaultFeeRate*2 + 10000) / 20000}
			if !yield(r) {
				return
			}
		}
	}
}

// BenchmarkReconcileDay: a day of n bill rows against n local PAID orders on SQLite —
// staging (parse the zip, insert the rows in batches) and matching (the joins with
// the orders, the unbilled orders and refunds) timed and reported apart, in rows/s,
// with the peak heap of the process during the run (sampled every 10 ms).
func BenchmarkReconcileDay(b *testing.B) {
	n := benchRows()
	ctx := context.Background()
	dir := b.TempDir()
	db := testdb.Open(b, testdb.SQLite, testdb.Options{Dir: dir})
	m := &f2fpay.Merchant{Name: "Bench"}
	must(b, db.CreateMerchant(ctx, m))
	app := &f2fpay.App{MerchantID: m.ID, AppID: "2021000000000001", Name: "main", Gateway: "http://127.0.0.1:1/gateway.do",
		SignType: "RSA2", KeyMode: f2fpay.KeyModePublicKey, PrivateKey: "sealed:x", AlipayPublicKey: "x", SellerID: "2088000000000001"}
	must(b, db.CreateApp(ctx, app))
	must(b, db.Close())

	// n PAID orders, written in one statement behind the store's back.
	raw, err := sql.Open("sqlite", filepath.Join(dir, "f2fpay.db"))
	must(b, err)
	t0 := time.Now()
	start := benchDayStart.UnixMicro()
	step := (24 * time.Hour / time.Duration(n)).Microseconds()
	_, err = raw.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < ?)
		INSERT INTO orders (out_trade_no, merchant_id, app_id, kind, total_amount, state, trade_no, receipt_amount,
			buyer_pay_amount, created_at, updated_at, version, paid_at)
		SELECT 'o-' || i, ?, ?, 'barcode', 1000 + i % 500, 'PAID', printf('2026031422001%017d', i), 1000 + i % 500,
			1000 + i % 500, ? + i * ?, ? + i * ?, 1, ? + i * ? FROM n`,
		n-1, m.ID, app.ID, start, step, start, step, start, step)
	must(b, err)
	must(b, raw.Close())
	b.Logf("%d orders written in %s", n, time.Since(t0).Round(time.Millisecond))

	zip := filepath.Join(dir, "bill.zip")
	f, err := os.Create(zip)
	must(b, err)
	info := bill.DailyInfo(app.SellerID, benchDayStart, benchDayStart.Add(32*time.Hour))
	must(b, bill.WriteTradeZip(f, info, tradeRows(n)))
	must(b, f.Close())
	fi, _ := os.Stat(zip)
	b.Logf("bill zip %d rows, %.1f MiB", n, float64(fi.Size())/(1<<20))

	db = testdb.Open(b, testdb.SQLite, testdb.Options{Dir: dir})
	var stage, match time.Duration
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	i := 0
	for b.Loop() {
		i++
		r := recon.New(recon.Config{Store: db, Owner: "bench"})
		s, mt, rep, err := r.StageAndMatch(ctx, app.ID, "2026-03-14", zip)
		must(b, err)
		if rep.BillTrades != n {
			b.Fatalf("staged %d trades, want %d", rep.BillTrades, n)
		}
		if es, err := db.ReconEntries(ctx, rep.ID); err != nil || len(es) != 0 {
			b.Fatalf("%d entries (%v), want none: %+v", len(es), err, es[:min(3, len(es))])
		}
		stage += s
		match += mt
	}
	close(stop)
	b.ReportMetric(float64(n)*float64(i)/stage.Seconds(), "stage-rows/s")
	b.ReportMetric(float64(n)*float64(i)/match.Seconds(), "match-rows/s")
	b.ReportMetric((stage+match).Seconds()/float64(i), "s/day")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
