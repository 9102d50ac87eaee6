package bill

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func tradeZip(t testing.TB, rows []DetailRow) []byte {
	t.Helper()
	var buf bytes.Buffer
	seq := func(yield func(*DetailRow) bool) {
		for i := range rows {
			if !yield(&rows[i]) {
				return
			}
		}
	}
	if err := WriteTradeZip(&buf, testInfo, seq); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTradeZipRoundTrip(t *testing.T) {
	data := tradeZip(t, protocolRows)

	// What Alipay's zips look like to a plain zip reader: GBK names, no UTF-8 flag.
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Flags&0x800 != 0 {
			t.Errorf("%q has the UTF-8 flag", f.Name)
		}
		if !f.NonUTF8 {
			t.Errorf("%q: archive/zip does not see a non-UTF-8 name", f.Name)
		}
	}
	wantRaw := string(gbkT("20885212319120680156_20170831_业务明细.csv"))
	if zr.File[0].Name != wantRaw {
		t.Errorf("raw name %q, want GBK %q", zr.File[0].Name, wantRaw)
	}

	a, err := OpenZip(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var kinds []Kind
	for _, e := range a.Entries {
		names = append(names, e.Name)
		kinds = append(kinds, e.Kind)
	}
	if want := []string{"20885212319120680156_20170831_业务明细.csv", "20885212319120680156_20170831_业务明细(汇总).csv"}; !reflect.DeepEqual(names, want) {
		t.Errorf("names %q, want %q", names, want)
	}
	if !reflect.DeepEqual(kinds, []Kind{KindDetail, KindSummary}) {
		t.Errorf("kinds %v", kinds)
	}

	d, err := a.OpenDetail()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var rows []DetailRow
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
	if !reflect.DeepEqual(rows, protocolRows) {
		t.Errorf("rows differ")
	}
	if err := d.Verify(); err != nil {
		t.Error(err)
	}

	s, err := a.OpenSummary()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var total *SummaryRow
	for {
		r, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if r.IsTotal() {
			c := *r
			total = &c
		}
	}
	if total == nil || total.Trades != 2 || total.Refunds != 1 || total.Receipt != 2000 {
		t.Errorf("合计 row %+v", total)
	}

	if _, err := a.OpenAccount(); !errors.Is(err, ErrMissingEntry) || !strings.Contains(err.Error(), "账务明细") {
		t.Errorf("OpenAccount on a trade zip: %v", err)
	}
}

// zipOf builds a zip with the standard library, for layouts our writer does not make.
func zipOf(t *testing.T, files ...struct {
	name    string
	nonUTF8 bool
	data    []byte
}) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, NonUTF8: f.nonUTF8})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zf = struct {
	name    string
	nonUTF8 bool
	data    []byte
}

func TestZipNames(t *testing.T) {
	detail := gbkT(validBill())
	summary := gbkT(lines("#支付宝业务汇总查询", hAccount, hDates, "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）", "合计,,1,1,0.00,0.00", "#---业务汇总列表结束---"))
	account := gbkT(lines("#支付宝账务明细查询", "账务流水号,发生时间,收入金额（+元）,支出金额（-元）", "1\t,2012-12-29 21:02:06,1.00,0.00", "#---账务明细列表结束---"))
	tests := []struct {
		name  string
		files []zf
		want  []string
		kinds []Kind
	}{
		{"UTF-8 names with the flag (re-zipped by a modern tool)",
			[]zf{{"2088_20170831_业务明细.csv", false, detail}, {"2088_20170831_业务明细(汇总).csv", false, summary}},
			[]string{"2088_20170831_业务明细.csv", "2088_20170831_业务明细(汇总).csv"}, []Kind{KindDetail, KindSummary}},
		{"UTF-8 names without the flag",
			[]zf{{"2088_20170831_业务明细.csv", true, detail}},
			[]string{"2088_20170831_业务明细.csv"}, []Kind{KindDetail}},
		{"signcustomer, summary first",
			[]zf{{string(gbkT("2088_20121229_账务明细(汇总).csv")), true, summary}, {string(gbkT("2088_20121229_账务明细.csv")), true, account}},
			[]string{"2088_20121229_账务明细(汇总).csv", "2088_20121229_账务明细.csv"}, []Kind{KindAccountSummary, KindAccountDetail}},
		{"unhelpful names, classified by title",
			[]zf{{"a.csv", false, detail}, {"b.CSV", false, summary}, {"readme.txt", false, []byte("hi")}, {"dir/", false, nil}},
			[]string{"a.csv", "b.CSV", "readme.txt"}, []Kind{KindDetail, KindSummary, KindUnknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := zipOf(t, tt.files...)
			a, err := OpenZip(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			var kinds []Kind
			for _, e := range a.Entries {
				names, kinds = append(names, e.Name), append(kinds, e.Kind)
			}
			if !reflect.DeepEqual(names, tt.want) || !reflect.DeepEqual(kinds, tt.kinds) {
				t.Errorf("got %q %v, want %q %v", names, kinds, tt.want, tt.kinds)
			}
			if slices.Contains(kinds, KindAccountDetail) {
				r, err := a.OpenAccount()
				if err != nil {
					t.Fatal(err)
				}
				row, err := r.Next()
				if err != nil || row.JournalNo != "1" || row.Income != 100 {
					t.Errorf("account row %+v %v", row, err)
				}
				r.Close()
			}
		})
	}
}

func TestZipErrors(t *testing.T) {
	good := tradeZip(t, protocolRows)
	noDetail := zipOf(t, zf{"x_业务明细(汇总).csv", false, gbkT(lines("#支付宝业务汇总查询"))})

	// Corrupt the compressed data of the first entry but keep the directory intact.
	corrupt := bytes.Clone(good)
	zr, _ := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	off, _ := zr.File[0].DataOffset()
	for i := off + 20; i < off+60; i++ {
		corrupt[i] ^= 0x55
	}

	tests := []struct {
		name  string
		data  []byte
		kind  error
		words []string
	}{
		{"HTML error page", []byte("<!DOCTYPE html><html>链接已失效</html>"), ErrNotZip, []string{"not a zip file", "30 s", "HTML"}},
		{"JSON error", []byte(`{"error":"expired"}`), ErrNotZip, []string{"JSON"}},
		{"empty", nil, ErrNotZip, []string{"empty"}},
		{"an unzipped CSV", gbkT(validBill()), ErrNotZip, []string{"unzipped CSV"}},
		{"truncated zip", good[:len(good)/2], ErrTruncated, []string{"cut off", "download the bill again"}},
		{"no detail file", noDetail, ErrMissingEntry, []string{"no 业务明细 file", "x_业务明细(汇总).csv"}},
		{"damaged entry", corrupt, ErrTruncated, []string{"业务明细.csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := func() error {
				a, err := OpenZip(bytes.NewReader(tt.data), int64(len(tt.data)))
				if err != nil {
					return err
				}
				d, err := a.OpenDetail()
				if err != nil {
					return err
				}
				defer d.Close()
				for {
					if _, err := d.Next(); err == io.EOF {
						return nil
					} else if err != nil {
						return err
					}
				}
			}()
			if !errors.Is(err, tt.kind) {
				t.Fatalf("error %v is not %v", err, tt.kind)
			}
			for _, w := range tt.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
		})
	}
}
