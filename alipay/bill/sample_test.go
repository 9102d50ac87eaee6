package bill

import (
	"bytes"
	"io"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/alipay/money"
)

func at(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, beijing)
}

// protocolRows are the rows of testdata/protocol_sample_detail.csv: the two real rows
// quoted in the sources of docs/alipay-protocol.md §6.10, and a refund of the first.
var protocolRows = []DetailRow{
	{
		TradeNo: "2017083121001004720299453898", OutTradeNo: "cd6ece976b514130977cb06048359684",
		Type: BizTrade, Subject: "支付宝APP支付",
		Created: at(2017, 8, 31, 0, 6, 14), Finished: at(2017, 8, 31, 0, 6, 15),
		Counterparty: "*杨(137****2600)", OrderAmount: 2000, Receipt: 2000,
		Remark: "挂号付费-XXX医院 XX xxxxx 2017-09-01 10:30-11:00 订单编号：71676691",
	},
	{
		TradeNo: "2017083121001004900267628590", OutTradeNo: "02d2e6d6cf524395b8799b5d97d521d6",
		Type: BizTrade, Subject: "支付宝APP支付",
		Created: at(2017, 8, 31, 0, 6, 16), Finished: at(2017, 8, 31, 0, 6, 17),
		Counterparty: "*杨(137****2600)", OrderAmount: 2000, Receipt: 2000,
		Remark: "挂号付费-XXX医院 XX xxxxx 2017-09-06 10:30-11:00 订单编号：72840250",
	},
	{
		TradeNo: "2017083121001004720299453898", OutTradeNo: "cd6ece976b514130977cb06048359684",
		Type: BizRefund, Subject: "支付宝APP支付",
		Created: at(2017, 8, 31, 0, 6, 14), Finished: at(2017, 8, 31, 9, 12, 40),
		Counterparty: "*杨(137****2600)", OrderAmount: -2000, Receipt: -2000,
		RefundRequestNo: "cd6ece976b514130977cb06048359684R1",
	},
}

func TestProtocolSampleDetail(t *testing.T) {
	data, err := os.ReadFile("testdata/protocol_sample_detail.csv")
	if err != nil {
		t.Fatal(err)
	}
	hdr, rows, footer := readDetail(t, bytes.NewReader(data))

	if hdr.Kind != KindDetail || hdr.Title != "支付宝业务明细查询" || hdr.Account != "20885212319120680156" {
		t.Errorf("header = %+v", hdr)
	}
	if !hdr.Start.Equal(testInfo.Start) || !hdr.End.Equal(testInfo.End) || hdr.ColumnsLine != 5 || len(hdr.Columns) != 25 {
		t.Errorf("header dates/columns = %v %v line %d, %d columns", hdr.Start, hdr.End, hdr.ColumnsLine, len(hdr.Columns))
	}
	if !reflect.DeepEqual(rows, protocolRows) {
		t.Errorf("rows differ:\n got %+v\nwant %+v", rows, protocolRows)
	}
	wantFooter := Footer{
		Trades:     Total{Label: "交易合计", Present: true, Count: 2, HasCount: true, Sums: []Sum{{SumReceipt, 4000}, {SumMerchantDiscount, 0}}},
		Refunds:    Total{Label: "退款合计", Present: true, Count: 1, HasCount: true, Sums: []Sum{{SumRefundReceipt, -2000}, {SumRefundMerchantDiscount, 0}}},
		ExportedAt: testInfo.ExportedAt,
		Lines: []string{
			"交易合计：2笔，商家实收共40.00元，商家优惠共0.00元",
			"退款合计：1笔，商家实收退款共-20.00元，商家优惠退款共0.00元",
			"导出时间：[2017年09月01日 06:27:10]",
		},
	}
	if !reflect.DeepEqual(*footer, wantFooter) {
		t.Errorf("footer:\n got %+v\nwant %+v", *footer, wantFooter)
	}

	// The writer must reproduce the real layout byte for byte: GBK, CRLF, the TABs,
	// the markers and the footer wording.
	if got := writeDetail(t, testInfo, protocolRows); !bytes.Equal(got, data) {
		t.Errorf("writer output differs from the fixture:\n got %q\nwant %q", decodeForTest(got), decodeForTest(data))
	}
}

func TestProtocolSampleSummary(t *testing.T) {
	data, err := os.ReadFile("testdata/protocol_sample_summary.csv")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSummaryReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var rows []SummaryRow
	for {
		r, err := s.Next()
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		rows = append(rows, *r)
	}
	want := []SummaryRow{
		{Trades: 2, Refunds: 1, OrderAmount: 2000, Receipt: 2000, NetReceipt: 2000},
		{StoreID: "合计", Trades: 2, Refunds: 1, OrderAmount: 2000, Receipt: 2000, NetReceipt: 2000},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", rows, want)
	}
	if !rows[1].IsTotal() || rows[0].IsTotal() {
		t.Error("IsTotal wrong")
	}
	if f := s.Footer(); f == nil || !f.ExportedAt.Equal(testInfo.ExportedAt) || len(f.Unparsed) != 0 {
		t.Errorf("footer = %+v", f)
	}

	// The summary the detail writer computes from the same rows, written out, is the
	// fixture.
	var detail bytes.Buffer
	dw := NewDetailWriter(&detail, testInfo)
	for i := range protocolRows {
		if err := dw.WriteRow(&protocolRows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := dw.Close(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteSummary(&out, testInfo, dw.Summary()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Errorf("summary writer output differs:\n got %q\nwant %q", decodeForTest(out.Bytes()), decodeForTest(data))
	}
}

func TestAccountSample2012(t *testing.T) {
	data, err := os.ReadFile("testdata/account_sample_2012.csv")
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAccountReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var rows []AccountRow
	for {
		r, err := a.Next()
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		rows = append(rows, *r)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	want0 := AccountRow{
		JournalNo: "54632446537371", BizNo: "2012122923922029", OutTradeNo: "3226563", Subject: "海航机票",
		Time: at(2012, 12, 29, 21, 2, 6), Counterparty: "陈晶 (kuangzhe@126.com)",
		Income: 227400, Expense: 0, Balance: 1453303, Channel: "支付宝", BizType: "在线支付",
	}
	if rows[0] != want0 {
		t.Errorf("row 0:\n got %+v\nwant %+v", rows[0], want0)
	}
	f := a.Footer()
	if f.Income.Count != 3 || f.Expense.Count != 0 {
		t.Errorf("footer counts %+v %+v", f.Income, f.Expense)
	}
	if s, ok := f.Income.Sum(SumPlain); !ok || s != money.MustParse("3778.00") {
		t.Errorf("income sum %v %v", s, ok)
	}
	if h := a.Header(); h.Kind != KindAccountDetail || h.Account != "20888011365400330156" {
		t.Errorf("header %+v", h)
	}

	// Written back (CRLF instead of the sample's LF), the file reads the same.
	var out bytes.Buffer
	info := FileInfo{Account: "20888011365400330156", Start: at(2012, 12, 29, 0, 0, 0), End: at(2012, 12, 30, 0, 0, 0), ExportedAt: at(2012, 12, 31, 8, 0, 0)}
	aw := NewAccountWriter(&out, info)
	for i := range rows {
		if err := aw.WriteRow(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.Bytes(), bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")); !bytes.Equal(got, want) {
		t.Errorf("account writer output differs:\n got %q\nwant %q", decodeForTest(got), decodeForTest(want))
	}
}

func decodeForTest(b []byte) string {
	s, err := gbkDecodeForTest(b)
	if err != nil {
		return string(b)
	}
	return s
}
