package recon_test

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/bill"
	"github.com/f2fpay/f2fpay/recon"
)

// billRows generates n rows of a day: trades, and a refund after every tenth.
func billRows(n int) iter.Seq[*bill.DetailRow] {
	start := time.Date(2026, 3, 14, 0, 0, 0, 0, alipay.Beijing())
	return func(yield func(*bill.DetailRow) bool) {
		for i := range n {
			at := start.Add(time.Duration(i) * 80 * time.Millisecond)
			r := &bill.DetailRow{TradeNo: fmt.Sprintf("2026031422001%017d", i), OutTradeNo: fmt.Sprintf("o-%d", i),
				Type: bill.BizTrade, Subject: "茶", Created: at, Finished: at, OrderAmount: f2fpay.Amount(1000 + i%500),
				Receipt: f2fpay.Amount(1000 + i%500), ServiceFee: -6}
			if i%10 == 9 {
				r.Type, r.RefundRequestNo, r.OrderAmount, r.Receipt, r.ServiceFee = bill.BizRefund, "rf-1", -100, -100, 0
			}
			if !yield(r) {
				return
			}
		}
	}
}

func billZip(t testing.TB, n int) []byte {
	var buf bytes.Buffer
	info := bill.DailyInfo("2088000000000001", time.Date(2026, 3, 14, 0, 0, 0, 0, alipay.Beijing()), time.Date(2026, 3, 15, 8, 0, 0, 0, alipay.Beijing()))
	if err := bill.WriteTradeZip(&buf, info, billRows(n)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzReadBill: whatever the bytes, the intake either reads the bill whole or fails
// with a *BillError before anything but staging happened — never a panic, never
// another kind of error. Staged rows are all the rows handed over; nothing is matched
// or applied (the caller only matches after ReadBill returned nil).
func FuzzReadBill(f *testing.F) {
	good := billZip(f, 30)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("<html>expired</html>"))
	f.Add([]byte{})
	flip := bytes.Clone(good)
	flip[len(flip)/3] ^= 0xFF
	f.Add(flip)
	f.Fuzz(func(t *testing.T, data []byte) {
		rows := 0
		err := recon.ReadBill(bytes.NewReader(data), int64(len(data)), 7, func(b []f2fpay.ReconBillRow) error {
			rows += len(b)
			for _, r := range b {
				if r.OutTradeNo == "" || (r.Kind != "trade" && r.Kind != "refund" && r.Kind != "other") {
					t.Fatalf("row handed over without its key: %+v", r)
				}
			}
			return nil
		})
		var be *recon.BillError
		if err != nil && (!errors.As(err, &be) || err.Error() == "") {
			t.Fatalf("error %T %v, want a *BillError with a message", err, err)
		}
	})
}

// BenchmarkReadBill: parsing and staging intake alone (no database), rows per second,
// and the heap after the day: it does not grow with the day's size.
func BenchmarkReadBill(b *testing.B) {
	for _, n := range []int{100_000} {
		data := billZip(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var peak uint64
			for b.Loop() {
				err := recon.ReadBill(bytes.NewReader(data), int64(len(data)), 1000, func(rows []f2fpay.ReconBillRow) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "heapMiB")
		})
	}
}
