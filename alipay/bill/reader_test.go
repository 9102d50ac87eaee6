package bill

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

const (
	hTitle   = "#支付宝业务明细查询"
	hAccount = "#账号：[20885212319120680156]"
	hDates   = "#起始日期：[2017年08月31日 00:00:00]   终止日期：[2017年09月01日 00:00:00]"
	hStart   = "#-----------------------------------------业务明细列表----------------------------------------"
	hColumns = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
	hRow1    = "2017083121001004720299453898\t,cd6ece976b514130977cb06048359684\t,交易\t,支付宝APP支付,2017-08-31 00:06:14,2017-08-31 00:06:15,\t,\t,\t,\t,*杨(137****2600)\t,20.00,20.00,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,-0.12,0.00,备注一"
	hRefund  = "2017083121001004720299453898\t,cd6ece976b514130977cb06048359684\t,退款\t,支付宝APP支付,2017-08-31 00:06:14,2017-08-31 09:12:40,\t,\t,\t,\t,*杨(137****2600)\t,-20.00,-20.00,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,R1\t,0.12,0.00,"
	hEnd     = "#-----------------------------------------业务明细列表结束------------------------------------"
	hTrades  = "#交易合计：1笔，商家实收共20.00元，商家优惠共0.00元"
	hRefunds = "#退款合计：1笔，商家实收退款共-20.00元，商家优惠退款共0.00元"
	hExport  = "#导出时间：[2017年09月01日 06:27:10]"
)

func lines(ls ...string) string { return strings.Join(ls, "\r\n") + "\r\n" }

func validBill() string {
	return lines(hTitle, hAccount, hDates, hStart, hColumns, hRow1, hRefund, hEnd, hTrades, hRefunds, hExport)
}

// TestHeaderVariants: files that differ from the canonical layout in ways real files
// (or files that went through a person's hands) do, and must still read.
func TestHeaderVariants(t *testing.T) {
	reordered := strings.Split(hColumns, ",")
	reordered[0], reordered[1] = reordered[1], reordered[0]
	row1 := strings.Split(hRow1, ",")
	row1[0], row1[1] = row1[1], row1[0]
	ref := strings.Split(hRefund, ",")
	ref[0], ref[1] = ref[1], ref[0]

	tests := []struct {
		name  string
		text  string
		check func(t *testing.T, h Header, rows []DetailRow, f *Footer)
	}{
		{"canonical", validBill(), nil},
		{"LF line ends", strings.ReplaceAll(validBill(), "\r\n", "\n"), nil},
		{"no line end after the last line", strings.TrimSuffix(validBill(), "\r\n"), nil},
		{"half-width colons and parentheses",
			lines(hTitle, "#账号:[20885212319120680156]", "#起始日期:[2017年08月31日 00:00:00] 终止日期:[2017年09月01日 00:00:00]", hStart,
				strings.NewReplacer("（", "(", "）", ")").Replace(hColumns), hRow1, hRefund, hEnd, hTrades, hRefunds, hExport), nil},
		{"comment lines padded with commas by a spreadsheet",
			lines(hTitle+",,,,", hAccount+",,,,", hDates+",,", hStart+",,,", hColumns, hRow1, hRefund, hEnd+",,,", hTrades+",,", hRefunds+",", hExport+",,,"), nil},
		{"no start marker", lines(hTitle, hAccount, hDates, hColumns, hRow1, hRefund, hEnd, hTrades, hRefunds, hExport), nil},
		{"blank lines", lines(hTitle, "", hAccount, hDates, hStart, hColumns, hRow1, "", hRefund, hEnd, "", hTrades, hRefunds, hExport), nil},
		{"unknown header line kept",
			lines(hTitle, hAccount, "#商户名称：[测试商户]", hDates, hStart, hColumns, hRow1, hRefund, hEnd, hTrades, hRefunds, hExport),
			func(t *testing.T, h Header, _ []DetailRow, _ *Footer) {
				if !reflect.DeepEqual(h.Extra, []string{"商户名称：[测试商户]"}) {
					t.Errorf("Extra = %q", h.Extra)
				}
			}},
		{"reordered columns", lines(hTitle, hAccount, hDates, hStart, strings.Join(reordered, ","), strings.Join(row1, ","), strings.Join(ref, ","), hEnd, hTrades, hRefunds, hExport), nil},
		{"extra unknown column", lines(hTitle, hAccount, hDates, hStart, hColumns+",新列", hRow1+",x", hRefund+",y", hEnd, hTrades, hRefunds, hExport),
			func(t *testing.T, h Header, _ []DetailRow, _ *Footer) {
				if h.Columns[25] != "新列" {
					t.Errorf("columns %q", h.Columns)
				}
			}},
		{"older footer", lines(hTitle, hAccount, hDates, hStart, hColumns, hRow1, hRefund, hEnd, "#交易合计：1笔，退款合计：1笔", hExport),
			func(t *testing.T, _ Header, _ []DetailRow, f *Footer) {
				if !f.Trades.HasCount || f.Trades.Count != 1 || !f.Refunds.HasCount || f.Refunds.Count != 1 || len(f.Trades.Sums) != 0 {
					t.Errorf("footer %+v", f)
				}
			}},
		{"footer without end marker", lines(hTitle, hAccount, hDates, hStart, hColumns, hRow1, hRefund, hTrades, hRefunds, hExport), nil},
		{"unknown footer line kept",
			lines(hTitle, hAccount, hDates, hStart, hColumns, hRow1, hRefund, hEnd, hTrades, hRefunds, "#以上数据仅供参考", hExport),
			func(t *testing.T, _ Header, _ []DetailRow, f *Footer) {
				if !reflect.DeepEqual(f.Unparsed, []string{"以上数据仅供参考"}) {
					t.Errorf("Unparsed = %q", f.Unparsed)
				}
			}},
		{"quoted cells",
			lines(hTitle, hAccount, hDates, hStart, hColumns,
				strings.Replace(hRow1, "支付宝APP支付", `"可乐, ""冰"""`, 1),
				strings.Replace(hRefund, "支付宝APP支付", "\"两行\r\n商品\"\t", 1), hEnd, hTrades, hRefunds, hExport),
			func(t *testing.T, _ Header, rows []DetailRow, _ *Footer) {
				if rows[0].Subject != `可乐, "冰"` || rows[1].Subject != "两行\n商品" {
					t.Errorf("subjects %q %q", rows[0].Subject, rows[1].Subject)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rows, f := readDetail(t, bytes.NewReader(gbk(t, tt.text)))
			if len(rows) != 2 || rows[0].TradeNo != "2017083121001004720299453898" || rows[0].OutTradeNo != "cd6ece976b514130977cb06048359684" ||
				rows[0].Type != BizTrade || rows[1].Type != BizRefund || rows[0].ServiceFee != -12 || rows[1].Receipt != -2000 || rows[1].RefundRequestNo != "R1" {
				t.Errorf("rows = %+v", rows)
			}
			if h.Account != "20885212319120680156" || !h.Start.Equal(testInfo.Start) || !h.End.Equal(testInfo.End) {
				t.Errorf("header = %+v", h)
			}
			if !f.ExportedAt.Equal(testInfo.ExportedAt) {
				t.Errorf("export time = %v", f.ExportedAt)
			}
			if tt.check != nil {
				tt.check(t, h, rows, f)
			}
		})
	}
}

func TestFooterLines(t *testing.T) {
	tests := []struct {
		line    string
		label   string
		count   int // -1: no count
		sums    []Sum
		unknown bool
	}{
		{"交易合计：10374笔，商家实收共28790.16元，商家优惠共0.00元", "交易合计", 10374, []Sum{{SumReceipt, 2879016}, {SumMerchantDiscount, 0}}, false},
		{"退款合计：1笔，商家实收退款共-3000.00元，商家优惠退款共0.00元", "退款合计", 1, []Sum{{SumRefundReceipt, -300000}, {SumRefundMerchantDiscount, 0}}, false},
		{"交易合计：5笔，退款合计：0笔", "交易合计", 5, nil, false},
		{"收入合计：18笔，共14989.00元", "收入合计", 18, []Sum{{SumPlain, 1498900}}, false},
		{"支出合计：0笔，共0.00元", "支出合计", 0, []Sum{{SumPlain, 0}}, false},
		{"交易合计：3笔，总金额12.50元", "交易合计", 3, []Sum{{"总金额", 1250}}, false},
		{"交易合计: 3笔, 商家实收共1.00元", "交易合计", 3, []Sum{{SumReceipt, 100}}, false},
		{"交易合计：3笔，商家实收共abc元", "交易合计", 3, nil, true},
		{"本文件由系统生成", "", -1, nil, true},
		{"手续费合计：2笔，共-0.12元", "手续费合计", 2, []Sum{{SumPlain, -12}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			var f Footer
			f.parseLine(tt.line)
			if (len(f.Unparsed) > 0) != tt.unknown {
				t.Errorf("Unparsed = %q", f.Unparsed)
			}
			if tt.label == "" {
				return
			}
			tot, ok := f.Total(tt.label)
			if !ok {
				t.Fatalf("no total %q in %+v", tt.label, f)
			}
			if tt.count < 0 && tot.HasCount || tt.count >= 0 && (!tot.HasCount || tot.Count != tt.count) {
				t.Errorf("count = %d (%v), want %d", tot.Count, tot.HasCount, tt.count)
			}
			if !reflect.DeepEqual(tot.Sums, tt.sums) {
				t.Errorf("sums = %+v, want %+v", tot.Sums, tt.sums)
			}
		})
	}
	var f Footer
	f.parseLine("交易合计：5笔，退款合计：0笔")
	if !f.Refunds.Present || !f.Refunds.HasCount || f.Refunds.Count != 0 {
		t.Errorf("second total of the older footer: %+v", f.Refunds)
	}
}

// TestBadInputs: every failure names its class (errors.Is), the line, and says what
// to do.
func TestBadInputs(t *testing.T) {
	badAmount := strings.Replace(hRefund, "-20.00,-20.00", "-20.00,-2O.00", 1)
	tests := []struct {
		name  string
		data  []byte
		kind  error
		line  int
		words []string // each must appear in the message
	}{
		{"empty", nil, ErrTruncated, 0, []string{"empty"}},
		{"UTF-8 instead of GBK", []byte(validBill()), ErrNotGBK, 1, []string{"UTF-8", "GBK"}},
		{"UTF-8 with BOM", append([]byte{0xEF, 0xBB, 0xBF}, validBill()...), ErrNotGBK, 1, []string{"byte-order mark", "GBK"}},
		{"invalid GBK in a row", bytes.Replace(gbkT(validBill()), gbkT("备注一"), []byte{0x81, 0x20, 0xFF}, 1), ErrNotGBK, 6, []string{"GBK"}},
		{"HTML page", []byte("<html><body>expired</body></html>\n"), ErrFormat, 1, []string{"HTML"}},
		{"cut before the column row", gbkT(lines(hTitle, hAccount)), ErrTruncated, 2, []string{"cut off"}},
		{"no end marker", gbkT(lines(hTitle, hAccount, hDates, hStart, hColumns, hRow1)), ErrTruncated, 6, []string{"end marker", "download the bill again"}},
		{"cut in the middle of a row", cut(gbkT(lines(hTitle, hAccount, hDates, hStart, hColumns, hRow1, hRefund)), 60), ErrTruncated, 7, []string{"cut off"}},
		{"wrong column count", gbkT(lines(hTitle, hAccount, hDates, hStart, hColumns, hRow1, strings.Replace(hRefund, ",0.12,", ",0.12,x,", 1), hEnd)),
			ErrFormat, 7, []string{"26 cells", "line 5", "25"}},
		{"extra empty cells", gbkT(lines(hTitle, hAccount, hDates, hStart, hColumns, hRow1+",,", hEnd)), ErrFormat, 6, []string{"27 cells"}},
		{"too few columns", gbkT(lines(hTitle, hAccount, hDates, hStart, hColumns, hRow1[:60], hEnd)), ErrFormat, 6, []string{"cells"}},
		{"missing columns", gbkT(lines(hTitle, hAccount, hDates, hStart, strings.Replace(strings.Replace(hColumns, "支付宝交易号", "交易号", 1), "商家实收（元）", "实收", 1), hRow1, hEnd)),
			ErrFormat, 5, []string{"支付宝交易号", "商家实收（元）"}},
		{"bad amount", gbkT(lines(hTitle, hAccount, hDates, hStart, hColumns, hRow1, badAmount, hEnd)), ErrFormat, 7, []string{"商家实收（元）", `"-2O.00"`}},
		{"bad time", gbkT(lines(hTitle, hAccount, hDates, hStart, hColumns, strings.Replace(hRow1, "2017-08-31 00:06:15", "2017-02-30 00:06:15", 1), hEnd)),
			ErrFormat, 6, []string{"完成时间", "yyyy-MM-dd"}},
		{"bad header dates", gbkT(lines(hTitle, hAccount, "#起始日期：[昨天]   终止日期：[今天]", hStart, hColumns)), ErrFormat, 3, []string{"起始日期"}},
		{"summary given to the detail reader", gbkT(lines("#支付宝业务汇总查询", hAccount, hDates, "门店编号", "#---业务汇总列表结束---")), ErrWrongKind, 1, []string{"业务明细(汇总)", "业务明细"}},
		{"unclosed quote", gbkT(lines(hTitle, hAccount, hDates, hStart, hColumns, strings.Replace(hRow1, "支付宝APP支付", `"open`, 1), hEnd)), ErrTruncated, 6, []string{"quote"}},
		{"no title", gbkT(lines("a,b,c", "1,2,3")), ErrFormat, 1, []string{"title"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := drainDetail(bytes.NewReader(tt.data))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %q is not %v", err, tt.kind)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.Line != tt.line {
				t.Errorf("line = %d, want %d (%v)", pe.Line, tt.line, err)
			}
			for _, w := range tt.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
		})
	}
}

// cut drops the last n bytes, as a download that stopped early would.
func cut(b []byte, n int) []byte { return b[:len(b)-n] }

func gbkT(s string) []byte {
	b, err := gbkEncode(s)
	if err != nil {
		panic(err)
	}
	return b
}

// TestNextAfterError: errors are sticky and EOF repeats, so a loop that ignores one
// error cannot read past it.
func TestNextAfterEnd(t *testing.T) {
	d, err := NewDetailReader(bytes.NewReader(gbkT(validBill())))
	if err != nil {
		t.Fatal(err)
	}
	if d.Footer() != nil {
		t.Error("Footer before EOF")
	}
	for range 2 {
		if _, err := d.Next(); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := d.Next(); err != io.EOF {
			t.Fatalf("Next = %v, want io.EOF", err)
		}
	}
	if d.Footer() == nil {
		t.Error("no Footer after EOF")
	}

	d, err = NewDetailReader(bytes.NewReader(gbkT(lines(hTitle, hAccount, hDates, hStart, hColumns, hRow1[:50], hRow1, hEnd))))
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := d.Next()
	_, err2 := d.Next()
	if err1 == nil || err1 != err2 {
		t.Errorf("errors not sticky: %v, %v", err1, err2)
	}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name    string
		footer  []string
		wantErr string
	}{
		{"matching", []string{hTrades, hRefunds}, ""},
		{"older footer matching", []string{"#交易合计：1笔，退款合计：1笔"}, ""},
		{"no totals", nil, ""},
		{"count differs", []string{"#交易合计：2笔，商家实收共20.00元，商家优惠共0.00元", hRefunds}, "2笔"},
		{"sum differs", []string{hTrades, "#退款合计：1笔，商家实收退款共-2.00元，商家优惠退款共0.00元"}, "-20.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := lines(append([]string{hTitle, hAccount, hDates, hStart, hColumns, hRow1, hRefund, hEnd}, tt.footer...)...)
			d, err := NewDetailReader(bytes.NewReader(gbkT(text)))
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Verify(); err == nil {
				t.Error("Verify before EOF succeeded")
			}
			for {
				if _, err := d.Next(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
			err = d.Verify()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Verify: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Verify = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestFieldsKeepUnknownColumns(t *testing.T) {
	d, err := NewDetailReader(bytes.NewReader(gbkT(lines(hTitle, hAccount, hDates, hStart, hColumns+",新列", hRow1+",新值\t", hEnd))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Next(); err != nil {
		t.Fatal(err)
	}
	if f := d.Fields(); len(f) != 26 || f[25] != "新值" || d.Line() != 6 {
		t.Errorf("Fields = %q, line %d", f, d.Line())
	}
}
