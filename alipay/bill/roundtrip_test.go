package bill

import (
	"bytes"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/alipay/money"
	"pgregory.net/rapid"
)

// cellRunes are the characters the generator builds text from: CSV punctuation, blanks,
// '#', full-width forms and Chinese. Not '\r' (a quoted CR before a line end is read as
// part of the line end) and nothing GBK lacks (the writer turns it into '?').
var cellRunes = []rune("aZ09 ,\"#\t\n-_.:/()（）：，。￥€交易退款支付宝商户门店杨測")

func genText(maxLen int) *rapid.Generator[string] {
	return rapid.StringOfN(rapid.SampledFrom(cellRunes), 0, maxLen, -1)
}

func genAmount() *rapid.Generator[money.Amount] {
	return rapid.Custom(func(t *rapid.T) money.Amount {
		return money.Amount(rapid.Int64Range(-int64(money.MaxAmount), int64(money.MaxAmount)).Draw(t, "fen"))
	})
}

func genTime() *rapid.Generator[time.Time] {
	return rapid.Custom(func(t *rapid.T) time.Time {
		if rapid.Bool().Draw(t, "zero") {
			return time.Time{}
		}
		sec := rapid.Int64Range(946684800, 4102444800).Draw(t, "unix") // 2000–2100
		return time.Unix(sec, 0).In(beijing)
	})
}

func genDetailRow() *rapid.Generator[DetailRow] {
	return rapid.Custom(func(t *rapid.T) DetailRow {
		return DetailRow{
			TradeNo:           genText(32).Draw(t, "trade_no"),
			OutTradeNo:        genText(64).Draw(t, "out_trade_no"),
			Type:              BizType(rapid.SampledFrom([]string{"交易", "退款", "其他", ""}).Draw(t, "type")),
			Subject:           genText(40).Draw(t, "subject"),
			Created:           genTime().Draw(t, "created"),
			Finished:          genTime().Draw(t, "finished"),
			StoreID:           genText(8).Draw(t, "store_id"),
			StoreName:         genText(8).Draw(t, "store_name"),
			Operator:          genText(8).Draw(t, "operator"),
			TerminalID:        genText(8).Draw(t, "terminal"),
			Counterparty:      genText(20).Draw(t, "buyer"),
			OrderAmount:       genAmount().Draw(t, "order"),
			Receipt:           genAmount().Draw(t, "receipt"),
			AlipayRedPacket:   genAmount().Draw(t, "red"),
			Jifenbao:          genAmount().Draw(t, "jfb"),
			AlipayDiscount:    genAmount().Draw(t, "adisc"),
			MerchantDiscount:  genAmount().Draw(t, "mdisc"),
			VoucherAmount:     genAmount().Draw(t, "voucher"),
			VoucherName:       genText(10).Draw(t, "voucher_name"),
			MerchantRedPacket: genAmount().Draw(t, "mred"),
			CardAmount:        genAmount().Draw(t, "card"),
			RefundRequestNo:   genText(20).Draw(t, "refund_no"),
			ServiceFee:        genAmount().Draw(t, "fee"),
			Royalty:           genAmount().Draw(t, "royalty"),
			Remark:            genText(40).Draw(t, "remark"),
		}
	})
}

// TestRoundTripProperty: whatever rows the writer is given, the reader returns them
// unchanged, with a footer that matches them.
func TestRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rows := rapid.SliceOfN(genDetailRow(), 0, 20).Draw(t, "rows")
		info := FileInfo{
			Account:    rapid.StringMatching(`2088[0-9]{12}0156`).Draw(t, "account"),
			Start:      testInfo.Start,
			End:        testInfo.End,
			ExportedAt: genTime().Filter(func(v time.Time) bool { return !v.IsZero() }).Draw(t, "exported"),
		}
		var buf bytes.Buffer
		w := NewDetailWriter(&buf, info)
		for i := range rows {
			if err := w.WriteRow(&rows[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		d, err := NewDetailReader(&buf)
		if err != nil {
			t.Fatalf("%v\n%q", err, buf.String())
		}
		var got []DetailRow
		for {
			r, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, *r)
		}
		if len(got) != len(rows) {
			t.Fatalf("%d rows back, wrote %d", len(got), len(rows))
		}
		for i := range rows {
			if !reflect.DeepEqual(got[i], rows[i]) {
				t.Fatalf("row %d:\n got %+v\nwant %+v", i, got[i], rows[i])
			}
		}
		if h := d.Header(); h.Account != info.Account || !h.Start.Equal(info.Start) || !h.End.Equal(info.End) {
			t.Fatalf("header %+v", h)
		}
		f := d.Footer()
		if !f.ExportedAt.Equal(info.ExportedAt) || len(f.Unparsed) != 0 {
			t.Fatalf("footer %+v", f)
		}
		if err := d.Verify(); err != nil {
			t.Fatal(err)
		}
		if d.Totals() != w.Totals() {
			t.Fatalf("totals: read %+v, wrote %+v", d.Totals(), w.Totals())
		}
	})
}

func TestAccountRoundTripProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rows := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) AccountRow {
			return AccountRow{
				JournalNo: genText(20).Draw(t, "j"), BizNo: genText(20).Draw(t, "b"), OutTradeNo: genText(20).Draw(t, "o"),
				Subject: genText(20).Draw(t, "s"), Time: genTime().Draw(t, "t"), Counterparty: genText(20).Draw(t, "c"),
				Income: genAmount().Draw(t, "in"), Expense: genAmount().Draw(t, "out"), Balance: genAmount().Draw(t, "bal"),
				Channel: genText(5).Draw(t, "ch"), BizType: genText(5).Draw(t, "bt"), Remark: genText(20).Draw(t, "r"),
			}
		}), 0, 10).Draw(t, "rows")
		var buf bytes.Buffer
		w := NewAccountWriter(&buf, testInfo)
		for i := range rows {
			w.WriteRow(&rows[i])
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := NewAccountReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		var in, out money.Amount
		for i := 0; ; i++ {
			row, err := r.Next()
			if err == io.EOF {
				if i != len(rows) {
					t.Fatalf("%d rows back, wrote %d", i, len(rows))
				}
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if *row != rows[i] {
				t.Fatalf("row %d:\n got %+v\nwant %+v", i, *row, rows[i])
			}
			in += row.Income
			out += row.Expense
		}
		f := r.Footer()
		if s, _ := f.Income.Sum(SumPlain); s != in {
			t.Fatalf("income footer %v, rows %v", s, in)
		}
		if s, _ := f.Expense.Sum(SumPlain); s != out {
			t.Fatalf("expense footer %v, rows %v", s, out)
		}
	})
}
