package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// testRecon: the reconciliation store (f2fpay.ReconStore) — the report's lease, staged
// bill rows joined with the orders, entries recorded once, the report closed with its
// event in one transaction, reads and filters.
func testRecon(t *testing.T, s f2fpay.Storage) {
	ctx := context.Background()
	fx := newFixture(t, s)
	app := fx.app.ID
	const day = "2025-03-14"

	// The lease: one holder at a time; the holder may claim again; anyone after it ends.
	r, err := s.ClaimReconReport(ctx, app, day, "a", base, time.Minute)
	must(t, err)
	if r.ID == 0 || r.Status != f2fpay.ReconRunning || r.Attempts != 1 || r.Owner != "a" || !r.LeaseUntil.Equal(base.Add(time.Minute)) {
		t.Fatalf("claimed %+v", r)
	}
	_, err = s.ClaimReconReport(ctx, app, day, "b", base.Add(30*time.Second), time.Minute)
	wantCode(t, err, f2fpay.ECONFLICT)
	_, err = s.ClaimReconReport(ctx, 1<<40, day, "a", base, time.Minute)
	wantCode(t, err, f2fpay.ENOTFOUND)
	if r, err = s.ClaimReconReport(ctx, app, day, "a", base.Add(30*time.Second), time.Minute); err != nil || r.Attempts != 2 {
		t.Fatalf("claimed again by its holder: %+v %v", r, err)
	}
	if r, err = s.ClaimReconReport(ctx, app, day, "b", base.Add(2*time.Minute), time.Minute); err != nil || r.Attempts != 3 || r.Owner != "b" {
		t.Fatalf("claimed after the lease: %+v %v", r, err)
	}

	// The staged bill joined with the orders.
	paid := fx.order(f2fpay.OrderPaid)
	paid.TradeNo, paid.PaidAt, paid.ReceiptAmount = "2025031422001", base, 350
	must(t, s.CreateOrder(ctx, paid))
	unbilled := fx.order(f2fpay.OrderPaid)
	unbilled.TradeNo, unbilled.PaidAt = "2025031422002", base.Add(time.Hour)
	must(t, s.CreateOrder(ctx, unbilled))
	row := func(line int, no string) f2fpay.ReconBillRow {
		return f2fpay.ReconBillRow{Line: line, Kind: "trade", TradeNo: "2025031422001", OutTradeNo: no, OrderAmount: 350,
			Receipt: 350, ServiceFee: -2, Finished: base}
	}
	must(t, s.AddBillRows(ctx, r.ID, []f2fpay.ReconBillRow{row(5, paid.OutTradeNo), row(6, paid.OutTradeNo)}))
	must(t, s.AddBillRows(ctx, r.ID, []f2fpay.ReconBillRow{row(7, "elsewhere")}))
	var ms []f2fpay.ReconTradeMatch
	must(t, s.MatchBillTrades(ctx, r.ID, app, func(m *f2fpay.ReconTradeMatch) error { ms = append(ms, *m); return nil }))
	if len(ms) != 3 || ms[0].Order == nil || ms[0].Order.ID != paid.ID || ms[0].Order.State != f2fpay.OrderPaid ||
		ms[0].Order.TotalAmount != 350 || ms[0].Earlier != 0 || ms[1].Earlier != 1 || ms[2].Order != nil ||
		ms[0].Row.ServiceFee != -2 || ms[0].Row.Line != 5 || !ms[0].Row.Finished.Equal(base) {
		t.Fatalf("matches %+v", ms)
	}
	var uo []*f2fpay.Order
	must(t, s.UnbilledOrders(ctx, r.ID, app, base.Add(-time.Hour), base.Add(2*time.Hour), func(o *f2fpay.Order) error { uo = append(uo, o); return nil }))
	if len(uo) != 1 || uo[0].ID != unbilled.ID {
		t.Fatalf("unbilled %+v", uo)
	}
	for _, c := range []struct {
		no   string
		want bool
	}{{paid.OutTradeNo, true}, {unbilled.OutTradeNo, false}} {
		if got, err := s.BillHasRow(ctx, r.ID, "trade", c.no, ""); err != nil || got != c.want {
			t.Fatalf("BillHasRow %s: %v %v", c.no, got, err)
		}
	}

	// Entries: recorded once per class and key.
	e := &f2fpay.ReconEntry{ReportID: r.ID, AppID: app, Day: day, Class: f2fpay.ReconLocalOnly, Key: unbilled.OutTradeNo,
		Status: f2fpay.ReconOpen, OutTradeNo: unbilled.OutTradeNo, OrderID: unbilled.ID, LocalAmount: 350, Detail: "no row"}
	for i, want := range []bool{true, false} {
		added, err := s.AddReconEntry(ctx, e)
		if err != nil || added != want {
			t.Fatalf("add %d: %v %v", i, added, err)
		}
	}
	pend := &f2fpay.ReconEntry{ReportID: r.ID, AppID: app, Day: day, Class: f2fpay.ReconRefundLocalOnly, Key: "x/r1",
		Status: f2fpay.ReconPending, OutTradeNo: "x", OutRequestNo: "r1", PendingUntil: "2025-03-16"}
	_, err = s.AddReconEntry(ctx, pend)
	must(t, err)
	es, err := s.ReconEntries(ctx, r.ID)
	must(t, err)
	if len(es) != 2 || es[0].OutTradeNo != unbilled.OutTradeNo || es[0].OrderID != unbilled.ID || es[0].Actions == nil && len(es[0].Actions) != 0 {
		t.Fatalf("entries %+v", es)
	}
	e = es[0]
	e.Status, e.Reason = f2fpay.ReconConfirmed, "Alipay says paid"
	e.Actions = append(e.Actions, f2fpay.ReconAction{At: base, By: "recon:b", What: "alipay.trade.query", Outcome: "TRADE_SUCCESS"})
	must(t, s.UpdateReconEntry(ctx, e))
	e.Status = f2fpay.ReconOpen
	must(t, s.UpdateReconEntry(ctx, e))
	if ps, err := s.PendingReconEntries(ctx, app, "2025-03-15"); err != nil || len(ps) != 1 || ps[0].Key != "x/r1" || ps[0].PendingUntil != "2025-03-16" {
		t.Fatalf("pending %+v %v", ps, err)
	}
	if ps, err := s.PendingReconEntries(ctx, app, day); err != nil || len(ps) != 0 {
		t.Fatalf("pending of days before the day itself: %+v %v", ps, err)
	}
	counts, err := s.CountOpenReconEntries(ctx)
	must(t, err)
	if counts[f2fpay.ReconLocalOnly] < 1 || counts[f2fpay.ReconRefundLocalOnly] != 0 {
		t.Fatalf("open counts %v", counts)
	}

	// Closing: only the holder, with its event in the same transaction.
	es, err = s.ReconEntries(ctx, r.ID)
	must(t, err)
	r.Summarize(es)
	r.BillTrades, r.BillTradeAmount = 3, 1050
	ev := &f2fpay.Event{ID: "evt_recon_storetest_" + fx.app.AppID, Type: f2fpay.EventReconOpenEntries, MerchantID: fx.merchant.ID, Payload: json.RawMessage(`{"open":1}`)}
	wantCode(t, s.FinishReconReport(ctx, r, "a", ev), f2fpay.ECONFLICT)
	mid := fx.merchant.ID
	if evs, err := s.ListEvents(ctx, f2fpay.EventFilter{MerchantID: &mid}); err != nil || len(evs) != 0 {
		t.Fatalf("a refused finish wrote events: %+v %v", evs, err)
	}
	must(t, s.FinishReconReport(ctx, r, "b", ev))
	if evs, err := s.ListEvents(ctx, f2fpay.EventFilter{MerchantID: &mid}); err != nil || len(evs) != 1 || evs[0].Type != f2fpay.EventReconOpenEntries || evs[0].OrderID != 0 {
		t.Fatalf("events %+v %v", evs, err)
	}
	got, err := s.FindReconReport(ctx, app, day)
	must(t, err)
	if got.Status != f2fpay.ReconHasOpen || got.Owner != "" || !got.LeaseUntil.IsZero() || got.FinishedAt.IsZero() ||
		got.BillTrades != 3 || got.BillTradeAmount != 1050 || len(got.Summary) != 2 || len(got.Entries) != 2 ||
		got.Entries[0].Actions[0].Outcome != "TRADE_SUCCESS" || got.Entries[0].Reason != "Alipay says paid" {
		t.Fatalf("report %+v", got)
	}
	byID, err := s.FindReconReportByID(ctx, r.ID)
	must(t, err)
	if byID.Day != day || len(byID.Entries) != 2 {
		t.Fatalf("by id %+v", byID)
	}
	_, err = s.FindReconReportByID(ctx, r.ID+1000)
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.FindReconReport(ctx, app, "2025-03-13")
	wantCode(t, err, f2fpay.ENOTFOUND)

	// Listing: the latest day first, filtered by app, status and days.
	_, err = s.ClaimReconReport(ctx, app, "2025-03-15", "c", base, time.Minute)
	must(t, err)
	for _, c := range []struct {
		f    f2fpay.ReconFilter
		want []string
	}{
		{f2fpay.ReconFilter{AppID: app}, []string{"2025-03-15", day}},
		{f2fpay.ReconFilter{AppID: app, From: "2025-03-15"}, []string{"2025-03-15"}},
		{f2fpay.ReconFilter{AppID: app, To: day}, []string{day}},
		{f2fpay.ReconFilter{AppID: app, Status: f2fpay.ReconHasOpen}, []string{day}},
		{f2fpay.ReconFilter{AppID: app, Limit: 1}, []string{"2025-03-15"}},
		{f2fpay.ReconFilter{AppID: app + 1000}, nil},
	} {
		list, err := s.ListReconReports(ctx, c.f)
		must(t, err)
		var days []string
		for _, l := range list {
			days = append(days, l.Day)
			if l.Entries != nil {
				t.Errorf("a listing carries entries")
			}
		}
		if len(days) != len(c.want) || (len(days) > 0 && (days[0] != c.want[0] || days[len(days)-1] != c.want[len(c.want)-1])) {
			t.Errorf("list %+v: %v, want %v", c.f, days, c.want)
		}
	}

	// Summaries rewritten; staged rows dropped; fee rates.
	got.Status = f2fpay.ReconBalanced
	must(t, s.UpdateReconSummary(ctx, got))
	if again, err := s.FindReconReport(ctx, app, day); err != nil || again.Status != f2fpay.ReconBalanced {
		t.Fatalf("summary update: %+v %v", again, err)
	}
	must(t, s.ClearBillRows(ctx, r.ID))
	if has, err := s.BillHasRow(ctx, r.ID, "trade", paid.OutTradeNo, ""); err != nil || has {
		t.Fatalf("rows after clear: %v %v", has, err)
	}
	if _, ok, err := s.AppFeeRate(ctx, app); err != nil || ok {
		t.Fatalf("fee rate before any: %v %v", ok, err)
	}
	must(t, s.SetAppFeeRate(ctx, app, 38))
	must(t, s.SetAppFeeRate(ctx, app, 55))
	if bp, ok, err := s.AppFeeRate(ctx, app); err != nil || !ok || bp != 55 {
		t.Fatalf("fee rate: %d %v %v", bp, ok, err)
	}
	wantCode(t, s.SetAppFeeRate(ctx, app, 10001), f2fpay.EINVALID)
}
