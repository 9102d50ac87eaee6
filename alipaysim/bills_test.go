package alipaysim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/bill"
)

// engineCall runs a gateway method straight on the engine, skipping HTTP and RSA: the
// fast path for generating thousands of trades.
func (b *bundle) engineCall(app *App, method string, biz map[string]any) map[string]any {
	b.t.Helper()
	raw, _ := json.Marshal(biz)
	req, err := parseBiz(string(raw))
	if err != nil {
		b.t.Fatal(err)
	}
	c := &call{app: app, method: method, biz: req, signType: "RSA2", baseURL: b.srv.URL, params: params{"biz_content": string(raw)}}
	var n *node
	if err := b.sim.e.update(context.Background(), func(t *txn) error { n = methods[method](t, c); return nil }); err != nil {
		b.t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(n.encode(), &m)
	return m
}

// genDay pays n trades through the engine across testStart's day (10:00–24:00 Beijing),
// with vouchers, partial refunds, cancels and royalties among them, plus trades that
// must stay out of the bill (another app, the next day, unpaid).
func genDay(b *bundle, n int) {
	b.t.Helper()
	ctx := context.Background()
	by := b.buyer("90000000.00")
	other, err := b.sim.RegisterApp(ctx, AppSpec{PublicKey: b.app.PublicKey})
	if err != nil {
		b.t.Fatal(err)
	}
	r1 := b.receiver()
	step := 14 * time.Hour / time.Duration(n+2)
	for i := 0; i < n; i++ {
		if i%25 == 0 {
			if _, err := b.sim.AddVoucher(ctx, by.UserID, Voucher{MerchantContribute: 100, OtherContribute: 50}); err != nil {
				b.t.Fatal(err)
			}
		}
		req := pay(fmt.Sprintf("d%05d", i), b.code(by.UserID), f2fpay.Amount(200+i%9973*7).String())
		req["store_id"] = fmt.Sprintf("S%d", i%4)
		if i%100 == 7 {
			req["royalty_info"] = map[string]any{"royalty_detail_infos": []map[string]any{{"trans_in": r1, "amount_percentage": 10}}}
		}
		if res := b.engineCall(b.app, "alipay.trade.pay", req); res["code"] != "10000" {
			b.t.Fatalf("pay %d: %v", i, res)
		}
		switch {
		case i%10 == 3:
			b.engineCall(b.app, "alipay.trade.refund", map[string]any{"out_trade_no": req["out_trade_no"], "refund_amount": "1.01", "out_request_no": "r1"})
		case i%97 == 5:
			b.engineCall(b.app, "alipay.trade.cancel", map[string]any{"out_trade_no": req["out_trade_no"]})
		}
		b.clock.Advance(step)
	}
	b.engineCall(other, "alipay.trade.pay", pay("other-app", b.code(by.UserID), "3.00"))
	b.engineCall(b.app, "alipay.trade.precreate", map[string]any{"out_trade_no": "unpaid", "subject": "x", "total_amount": "9.00"})
	b.clock.Set(time.Date(2026, 3, 15, 0, 0, 1, 0, beijing))
	b.engineCall(b.app, "alipay.trade.pay", pay("next-day", b.code(by.UserID), "4.00"))
	b.engineCall(b.app, "alipay.trade.refund", map[string]any{"out_trade_no": "d00003", "refund_amount": "0.50", "out_request_no": "late"})
}

// dayRecords is what the sandbox holds for the app's bill of testStart's day.
type dayRecords struct {
	rows                                 map[string]bill.DetailRow // trade_no + "/" + out_request_no
	trades, refunds                      int
	tradeReceipt, refundReceipt, fees    f2fpay.Amount
	tradeTotal, refundTotal, royaltyCell f2fpay.Amount
}

func (b *bundle) records(day time.Time) dayRecords {
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, beijing)
	end := start.AddDate(0, 0, 1)
	in := func(x time.Time) bool { return !x.Before(start) && x.Before(end) }
	r := dayRecords{rows: map[string]bill.DetailRow{}}
	b.sim.e.view(func(t *txn) {
		for _, tr := range t.e.trades {
			if tr.AppID != b.app.AppID || tr.PaidAt == nil {
				continue
			}
			if in(*tr.PaidAt) {
				r.trades++
				r.tradeReceipt += tr.Receipt
				r.tradeTotal += tr.Total
				r.fees -= fee(tr.Receipt)
				row := bill.DetailRow{OrderAmount: tr.Total, Receipt: tr.Receipt, MerchantDiscount: tr.MDiscount, ServiceFee: -fee(tr.Receipt)}
				for _, x := range tr.Royalties {
					if x.OperationType == "transfer" {
						row.Royalty -= x.Amount
					}
				}
				r.royaltyCell += row.Royalty
				r.rows[tr.TradeNo+"/"] = row
			}
			for _, rf := range tr.Refunds {
				if in(rf.At) {
					r.refunds++
					r.refundReceipt -= rf.SellerDebit
					r.refundTotal -= rf.Amount
					r.rows[tr.TradeNo+"/"+rf.OutRequestNo] = bill.DetailRow{OrderAmount: -rf.Amount, Receipt: -rf.SellerDebit}
				}
			}
		}
	})
	return r
}

// download asks for a bill through the SDK and opens the zip.
func download(t testing.TB, c *alipay.Client, billType, date string) (*bill.Archive, *alipay.BillDownloadURLQueryResponse) {
	t.Helper()
	ctx := context.Background()
	res, err := c.BillDownloadURLQuery(ctx, &alipay.BillDownloadURLQueryRequest{BillType: billType, BillDate: date})
	if err != nil {
		t.Fatalf("downloadurl.query %s %s: %v", billType, date, err)
	}
	var buf bytes.Buffer
	if _, err := c.DownloadBill(ctx, res.BillDownloadURL, &buf, 0); err != nil {
		t.Fatal(err)
	}
	a, err := bill.OpenZip(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return a, res
}

func readDetail(t testing.TB, a *bill.Archive) ([]bill.DetailRow, *bill.DetailReader) {
	t.Helper()
	d, err := a.OpenDetail()
	if err != nil {
		t.Fatal(err)
	}
	var rows []bill.DetailRow
	for {
		r, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, *r)
	}
	return rows, d
}

// TestBillOfADay: a generated day of trades (10,000; 1,000 with -short) yields a bill
// that alipay/bill reads back to exactly the sandbox's records, row by row and in total.
func TestBillOfADay(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	b := setup(t)
	c := b.sdk(b.app.AppID)
	ctx := context.Background()
	genDay(b, n)
	want := b.records(testStart)

	began := time.Now()
	a, res := download(t, c, "trade", "2026-03-14")
	t.Logf("%d trades, %d refunds: query + download of the bill took %v", want.trades, want.refunds, time.Since(began))
	if res.BillFileCode != "" || !strings.Contains(res.BillDownloadURL, "/downloadBillFile.resource?") {
		t.Errorf("answer %+v", res)
	}
	rows, d := readDetail(t, a)
	if err := d.Verify(); err != nil {
		t.Fatal(err)
	}
	h := d.Header()
	if h.Account != b.app.SellerID+"0156" {
		t.Errorf("account %q", h.Account)
	}
	got := dayRecords{rows: map[string]bill.DetailRow{}}
	for _, r := range rows {
		key := r.TradeNo + "/" + r.RefundRequestNo
		w, ok := want.rows[key]
		if !ok {
			t.Fatalf("bill row %s is not a sandbox record", key)
		}
		if r.OrderAmount != w.OrderAmount || r.Receipt != w.Receipt {
			t.Fatalf("row %s: %s/%s, sandbox %s/%s", key, r.OrderAmount, r.Receipt, w.OrderAmount, w.Receipt)
		}
		got.rows[key] = r
		switch r.Type {
		case bill.BizTrade:
			got.trades++
			got.tradeReceipt += r.Receipt
			got.tradeTotal += r.OrderAmount
			got.fees += r.ServiceFee
			got.royaltyCell += r.Royalty
			if r.ServiceFee != w.ServiceFee || r.MerchantDiscount != w.MerchantDiscount || r.Royalty != w.Royalty {
				t.Fatalf("row %s: fee %s discount %s royalty %s, want %s %s %s", key, r.ServiceFee, r.MerchantDiscount, r.Royalty, w.ServiceFee, w.MerchantDiscount, w.Royalty)
			}
		case bill.BizRefund:
			got.refunds++
			got.refundReceipt += r.Receipt
			got.refundTotal += r.OrderAmount
		}
	}
	if len(got.rows) != len(want.rows) || got.trades != want.trades || got.refunds != want.refunds ||
		got.tradeReceipt != want.tradeReceipt || got.refundReceipt != want.refundReceipt || got.tradeTotal != want.tradeTotal ||
		got.refundTotal != want.refundTotal || got.fees != want.fees || got.royaltyCell != want.royaltyCell {
		t.Fatalf("bill %d rows %d/%d %s/%s %s/%s fees %s royalty %s; sandbox %d rows %d/%d %s/%s %s/%s fees %s royalty %s",
			len(got.rows), got.trades, got.refunds, got.tradeReceipt, got.refundReceipt, got.tradeTotal, got.refundTotal, got.fees, got.royaltyCell,
			len(want.rows), want.trades, want.refunds, want.tradeReceipt, want.refundReceipt, want.tradeTotal, want.refundTotal, want.fees, want.royaltyCell)
	}
	if want.trades != n || want.refunds < n/10 || want.royaltyCell == 0 {
		t.Fatalf("the generated day is not what the test meant: %d trades, %d refunds, royalties %s", want.trades, want.refunds, want.royaltyCell)
	}
	s, err := a.OpenSummary()
	if err != nil {
		t.Fatal(err)
	}
	var total *bill.SummaryRow
	for {
		r, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.IsTotal() {
			x := *r
			total = &x
		}
	}
	if total == nil || total.Trades != want.trades || total.Refunds != want.refunds || total.Receipt != want.tradeReceipt+want.refundReceipt {
		t.Fatalf("summary 合计 %+v", total)
	}

	// The next day's bill exists only once that day is over.
	if _, err := c.BillDownloadURLQuery(ctx, &alipay.BillDownloadURLQueryRequest{BillType: "trade", BillDate: "2026-03-15"}); subCode(err) != "isp.bill_not_exist" {
		t.Errorf("today's bill: %v", err)
	}
}

func TestBillLinksAndErrors(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	c := b.sdk(b.app.AppID)
	by := b.buyer("100.00")
	b.call("alipay.trade.pay", pay("b1", b.code(by.UserID), "10.00"))
	if _, err := c.BillDownloadURLQuery(ctx, &alipay.BillDownloadURLQueryRequest{BillType: "trade", BillDate: "2026-03-14"}); subCode(err) != "isp.bill_not_exist" {
		t.Fatalf("bill of a day not over: %v", err)
	}
	b.advance(14 * time.Hour)

	// Each query gets its own link; a link dies 30 s after it was issued.
	r1, err := c.BillDownloadURLQuery(ctx, &alipay.BillDownloadURLQueryRequest{BillType: "trade", BillDate: "2026-03-14"})
	if err != nil {
		t.Fatal(err)
	}
	b.advance(20 * time.Second)
	r2, _ := c.BillDownloadURLQuery(ctx, &alipay.BillDownloadURLQueryRequest{BillType: "trade", BillDate: "2026-03-14"})
	if r1.BillDownloadURL == r2.BillDownloadURL {
		t.Fatal("two queries, one link")
	}
	b.advance(10 * time.Second)
	if _, err := c.DownloadBill(ctx, r1.BillDownloadURL, io.Discard, 0); err == nil || !strings.Contains(err.Error(), "HTTP 410") {
		t.Errorf("expired link: %v", err)
	}
	if _, err := c.DownloadBill(ctx, r2.BillDownloadURL, io.Discard, 0); err != nil {
		t.Errorf("live link: %v", err)
	}
	if _, err := c.DownloadBill(ctx, strings.Replace(r2.BillDownloadURL, "token=", "token=x", 1), io.Discard, 0); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("forged link: %v", err)
	}

	// A day without trades has an empty file and says so.
	a, res := download(t, c, "trade", "2026-03-01")
	if res.BillFileCode != "EMPTY_DATA_WITH_BILL_FILE" {
		t.Errorf("empty day: %+v", res)
	}
	if rows, d := readDetail(t, a); len(rows) != 0 || d.Verify() != nil {
		t.Errorf("empty day rows %v", rows)
	}
	if _, err := c.BillDownloadURLQuery(ctx, &alipay.BillDownloadURLQueryRequest{BillType: "signcustomer", BillDate: "2026-03-01"}); subCode(err) != "isp.bill_not_exist" {
		t.Errorf("balance bill of a day without movements: %v", err)
	}
	// The month is not over; the previous one is (and empty).
	if _, err := c.BillDownloadURLQuery(ctx, &alipay.BillDownloadURLQueryRequest{BillType: "trade", BillDate: "2026-03"}); subCode(err) != "isp.bill_not_exist" {
		t.Errorf("this month: %v", err)
	}
	if _, res := download(t, c, "trade", "2026-02"); res.BillFileCode != "EMPTY_DATA_WITH_BILL_FILE" {
		t.Errorf("last month: %+v", res)
	}

	tests := []struct {
		name string
		biz  map[string]string
		code string
		sub  string
	}{
		{"no bill_type", map[string]string{"bill_date": "2026-03-14"}, "40001", "isv.missing-parameter"},
		{"unknown bill_type", map[string]string{"bill_type": "fund", "bill_date": "2026-03-14"}, "40002", "isv.invalid-parameter"},
		{"bad date", map[string]string{"bill_type": "trade", "bill_date": "2026/03/14"}, "40002", "isv.invalid-parameter"},
		{"impossible date", map[string]string{"bill_type": "trade", "bill_date": "2026-02-30"}, "40002", "isv.invalid-parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Call(ctx, alipay.MethodBillDownloadURLQuery, tt.biz, nil)
			var ae *alipay.Error
			if !errors.As(err, &ae) || ae.Code != tt.code || ae.SubCode != tt.sub {
				t.Fatalf("got %v, want %s %s", err, tt.code, tt.sub)
			}
		})
	}
}

func TestBillFaults(t *testing.T) {
	b := setup(t)
	c := b.sdk(b.app.AppID)
	by := b.buyer("100.00")
	var nos []string
	for i, a := range []string{"10.00", "20.00", "30.00"} {
		n := b.call("alipay.trade.pay", pay(fmt.Sprintf("f%d", i), b.code(by.UserID), a))
		nos = append(nos, n["trade_no"].(string))
		b.advance(time.Minute)
	}
	b.advance(14 * time.Hour)
	tests := []struct {
		kind  string
		check func(rows []bill.DetailRow) string
	}{
		{FaultBillMissingRow, func(rows []bill.DetailRow) string {
			if len(rows) != 2 || rows[0].TradeNo != nos[1] {
				return "the first trade should be missing"
			}
			return ""
		}},
		{FaultBillChangedAmount, func(rows []bill.DetailRow) string {
			if len(rows) != 3 || rows[0].OrderAmount != amt("10.01") || rows[0].Receipt != amt("10.01") || rows[1].Receipt != amt("20.00") {
				return "the first trade should read 10.01"
			}
			return ""
		}},
		{FaultBillExtraTrade, func(rows []bill.DetailRow) string {
			if len(rows) != 4 {
				return "a fourth trade should appear"
			}
			if _, err := b.sim.Trade(rows[3].TradeNo); err == nil {
				return "the extra trade exists in the sandbox"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			if _, err := b.sim.AddFault(Fault{Kind: tt.kind, Count: 1}); err != nil {
				t.Fatal(err)
			}
			a, _ := download(t, c, "trade", "2026-03-14")
			rows, d := readDetail(t, a)
			if err := d.Verify(); err != nil {
				t.Errorf("a tampered bill is still self-consistent: %v", err)
			}
			if msg := tt.check(rows); msg != "" {
				t.Fatalf("%s: %+v", msg, rows)
			}
			// Count 1: the next link serves the truth.
			a, _ = download(t, c, "trade", "2026-03-14")
			if rows, _ := readDetail(t, a); len(rows) != 3 || rows[0].Receipt != amt("10.00") {
				t.Fatalf("after the fault: %+v", rows)
			}
		})
	}
}

func TestSignCustomerBill(t *testing.T) {
	b := setup(t)
	c := b.sdk(b.app.AppID)
	r1 := b.receiver()
	by := b.buyer("100.00")
	req := pay("sc1", b.code(by.UserID), "40.00")
	req["royalty_info"] = map[string]any{"royalty_detail_infos": []map[string]any{{"trans_in": r1, "amount": "4.00"}}}
	b.call("alipay.trade.pay", req)
	b.advance(time.Minute)
	b.call("alipay.trade.refund", map[string]any{"out_trade_no": "sc1", "refund_amount": "10.00", "out_request_no": "x"})
	b.advance(14 * time.Hour)
	b.call("alipay.trade.pay", pay("sc2", b.code(by.UserID), "5.00")) // the next day: after the bill
	b.advance(24 * time.Hour)

	a, _ := download(t, c, "signcustomer", "2026-03-14")
	ar, err := a.OpenAccount()
	if err != nil {
		t.Fatal(err)
	}
	var rows []bill.AccountRow
	for {
		r, err := ar.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, *r)
	}
	// +40 payment, -4 royalty, +1 royalty back, -10 refund: the day ends at 27.00, the
	// sandbox is at 32.00 after the next day's 5.00.
	wantTypes := []string{"在线支付", "分账", "分账退回", "交易退款"}
	if len(rows) != 4 {
		t.Fatalf("rows %+v", rows)
	}
	for i, r := range rows {
		if r.BizType != wantTypes[i] {
			t.Errorf("row %d is %s, want %s", i, r.BizType, wantTypes[i])
		}
	}
	if rows[0].Income != amt("40.00") || rows[1].Expense != -amt("4.00") || rows[2].Income != amt("1.00") || rows[3].Expense != -amt("10.00") ||
		rows[3].Balance != amt("27.00") || rows[0].Balance != amt("40.00") {
		t.Fatalf("rows %+v", rows)
	}
	if bal := b.balance(b.app.SellerID); bal != amt("32.00") {
		t.Fatalf("merchant %s", bal)
	}
}

// TestMonthBill: a month's bill holds every day of it, under the month's file names.
func TestMonthBill(t *testing.T) {
	b := setup(t)
	c := b.sdk(b.app.AppID)
	by := b.buyer("100.00")
	b.call("alipay.trade.pay", pay("m1", b.code(by.UserID), "1.00"))
	b.advance(6 * 24 * time.Hour)
	b.call("alipay.trade.pay", pay("m2", b.code(by.UserID), "2.00"))
	b.clock.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, beijing))
	b.call("alipay.trade.pay", pay("m3", b.code(by.UserID), "4.00")) // April's
	a, res := download(t, c, "trade", "2026-03")
	if !strings.Contains(res.BillDownloadURL, "bizDates=202603") {
		t.Errorf("url %s", res.BillDownloadURL)
	}
	rows, d := readDetail(t, a)
	if len(rows) != 2 || rows[0].OutTradeNo != "m1" || rows[1].OutTradeNo != "m2" || d.Verify() != nil {
		t.Fatalf("rows %+v", rows)
	}
	if e, err := a.Find(bill.KindDetail); err != nil || !strings.HasSuffix(e.Name, "_202603_业务明细.csv") {
		t.Errorf("entry %+v %v", e, err)
	}
}

// BenchmarkWriteBill10k: writing the trade bill zip of a day of 10,000 trades (with
// refunds among them) from the sandbox's state.
func BenchmarkWriteBill10k(b *testing.B) {
	bb := setup(b)
	genDay(bb, 10000)
	b.ResetTimer()
	var size int
	for i := 0; i < b.N; i++ {
		var buf bytes.Buffer
		if _, err := bb.sim.WriteBill(context.Background(), &buf, bb.app.AppID, "trade", "2026-03-14"); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "zip-bytes")
}
