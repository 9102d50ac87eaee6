package bill

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/alipay/money"
	"golang.org/x/text/encoding/simplifiedchinese"
)

var testInfo = FileInfo{
	Account:    "20885212319120680156",
	Start:      time.Date(2017, 8, 31, 0, 0, 0, 0, beijing),
	End:        time.Date(2017, 9, 1, 0, 0, 0, 0, beijing),
	ExportedAt: time.Date(2017, 9, 1, 6, 27, 10, 0, beijing),
}

var subjects = []string{"支付宝APP支付", "自动售货机-可乐", "面包（全麦）", "咖啡, 大杯", `"特价"矿泉水`, "Snack #3", "停车费"}

// genRow makes the i-th row of a realistic day: mostly trades, every tenth a refund of
// an earlier trade, fees of 0.6 % on trades.
func genRow(rng *rand.Rand, i int) DetailRow {
	created := testInfo.Start.Add(time.Duration(i%86000) * time.Second)
	amount := money.Amount(1 + rng.IntN(50000))
	r := DetailRow{
		TradeNo:          fmt.Sprintf("20170831210010047%011d", i),
		OutTradeNo:       fmt.Sprintf("VM%08d%06d", i, rng.IntN(1000000)),
		Type:             BizTrade,
		Subject:          subjects[i%len(subjects)],
		Created:          created,
		Finished:         created.Add(time.Second),
		StoreID:          fmt.Sprintf("S%03d", i%7),
		StoreName:        fmt.Sprintf("门店%d号", i%7),
		Operator:         "op01",
		TerminalID:       fmt.Sprintf("VM%04d", i%100),
		Counterparty:     "*杨(137****2600)",
		OrderAmount:      amount,
		Receipt:          amount,
		MerchantDiscount: 0,
		ServiceFee:       -amount * 6 / 1000,
		Remark:           "",
	}
	if i%10 == 9 {
		r.Type = BizRefund
		r.OrderAmount, r.Receipt, r.ServiceFee = -amount, -amount, amount*6/1000
		r.RefundRequestNo = r.OutTradeNo + "R1"
	}
	if i%13 == 0 {
		r.AlipayDiscount = 100
		r.MerchantDiscount = 50
		r.Receipt -= 50
		r.VoucherName = "满10减0.5"
		r.VoucherAmount = 50
	}
	return r
}

// writeDetail renders rows with the writer.
func writeDetail(t testing.TB, info FileInfo, rows []DetailRow) []byte {
	t.Helper()
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
	return buf.Bytes()
}

// readDetail reads every row and the footer, failing the test on any error.
func readDetail(t testing.TB, r io.Reader) (Header, []DetailRow, *Footer) {
	t.Helper()
	d, err := NewDetailReader(r)
	if err != nil {
		t.Fatal(err)
	}
	var rows []DetailRow
	for {
		row, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, *row)
	}
	if err := d.Verify(); err != nil {
		t.Fatal(err)
	}
	return d.Header(), rows, d.Footer()
}

// drainDetail reads to the end and returns the first error other than io.EOF.
func drainDetail(r io.Reader) (rows int, err error) {
	d, err := NewDetailReader(r)
	if err != nil {
		return 0, err
	}
	for {
		_, err := d.Next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows++
	}
}

// gbk encodes test text, failing on characters GBK lacks.
func gbk(t testing.TB, s string) []byte {
	t.Helper()
	b, err := gbkEncode(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gbkEncode(s string) ([]byte, error) {
	return simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
}

func gbkDecodeForTest(b []byte) (string, error) {
	out, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	return string(out), err
}
