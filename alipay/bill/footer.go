package bill

import (
	"strings"
	"time"

	"github.com/f2fpay/f2fpay/alipay/money"
)

// Names of the sums in Alipay's footer lines, as used by Total.Sum.
const (
	SumReceipt                = "商家实收"   // #交易合计：N笔，商家实收共X元，…
	SumMerchantDiscount       = "商家优惠"   // …，商家优惠共Y元
	SumRefundReceipt          = "商家实收退款" // #退款合计：M笔，商家实收退款共-Z元，…
	SumRefundMerchantDiscount = "商家优惠退款" // …，商家优惠退款共0.00元
	SumPlain                  = ""       // #收入合计：18笔，共14989.00元 (账务明细)
)

// Footer is what the # lines after the "列表结束" marker say. The wording changed over
// the years (e.g. "#交易合计：5笔，退款合计：0笔" in older files), so lines are not matched
// whole: every "label：" starts a total, every "N笔" is its count and every "…X元" one
// of its sums. Lines that do not fit are kept in Unparsed rather than refused.
type Footer struct {
	Trades  Total // 交易合计 (业务明细)
	Refunds Total // 退款合计 (业务明细)
	Income  Total // 收入合计 (账务明细)
	Expense Total // 支出合计 (账务明细)
	Others  []Total

	ExportedAt time.Time // 导出时间, zero if absent

	Lines    []string // every footer line as read, without '#'
	Unparsed []string // lines (or the lines of which parts) not understood
}

// Total is one "label：N笔，name共X元，…" group.
type Total struct {
	Label    string // e.g. "交易合计"
	Present  bool   // the label appeared in the footer
	Count    int
	HasCount bool
	Sums     []Sum // in file order
}

// Sum is one "name共X元" part of a total; Name is "" for a bare "共X元".
type Sum struct {
	Name   string
	Amount money.Amount
}

// Sum returns the amount of the named sum, and whether the footer had it.
func (t Total) Sum(name string) (money.Amount, bool) {
	for _, s := range t.Sums {
		if s.Name == name {
			return s.Amount, true
		}
	}
	return 0, false
}

// Total returns the total with the given label, wherever it is stored.
func (f *Footer) Total(label string) (Total, bool) {
	if t := f.total(label, false); t != nil {
		return *t, true
	}
	return Total{}, false
}

func (f *Footer) total(label string, create bool) *Total {
	var t *Total
	switch label {
	case "交易合计":
		t = &f.Trades
	case "退款合计":
		t = &f.Refunds
	case "收入合计":
		t = &f.Income
	case "支出合计":
		t = &f.Expense
	default:
		for i := range f.Others {
			if f.Others[i].Label == label {
				return &f.Others[i]
			}
		}
		if !create {
			return nil
		}
		f.Others = append(f.Others, Total{Label: label, Present: true})
		return &f.Others[len(f.Others)-1]
	}
	if !t.Present && !create {
		return nil
	}
	t.Label, t.Present = label, true
	return t
}

// parseFooterLine reads one footer line (without '#').
func (f *Footer) parseLine(text string) {
	f.Lines = append(f.Lines, text)
	label, rest, ok := cutColon(text)
	if !ok || label == "" {
		f.Unparsed = append(f.Unparsed, text)
		return
	}
	if label == "导出时间" {
		v, found := bracketAfter(text, "导出时间")
		t, ok := parseHeaderTime(v)
		if !found || !ok {
			f.Unparsed = append(f.Unparsed, text)
			return
		}
		f.ExportedAt = t
		return
	}
	cur := f.total(label, true)
	understood := true
	for seg := range strings.FieldsFuncSeq(rest, func(r rune) bool { return r == '，' || r == ',' || r == '；' || r == ';' }) {
		seg = strings.TrimSpace(seg)
		if l, r, ok := cutColon(seg); ok && l != "" {
			cur = f.total(l, true)
			seg = strings.TrimSpace(r)
		}
		if seg == "" {
			continue
		}
		if n, ok := parseCount(seg); ok {
			cur.Count, cur.HasCount = n, true
			continue
		}
		if s, ok := parseSum(seg); ok {
			cur.Sums = append(cur.Sums, s)
			continue
		}
		understood = false
	}
	if !understood {
		f.Unparsed = append(f.Unparsed, text)
	}
}

// parseCount reads "5笔".
func parseCount(seg string) (int, bool) {
	num, ok := strings.CutSuffix(seg, "笔")
	if !ok || num == "" || len(num) > 12 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(num); i++ {
		c := num[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseSum reads "商家实收共28790.16元", "共0.00元" or "总金额12.00元".
func parseSum(seg string) (Sum, bool) {
	body, ok := strings.CutSuffix(seg, "元")
	if !ok {
		return Sum{}, false
	}
	i := len(body)
	for i > 0 {
		c := body[i-1]
		if (c >= '0' && c <= '9') || c == '.' || c == '-' {
			i--
			continue
		}
		break
	}
	a, err := parseTotal(body[i:])
	if err != nil {
		return Sum{}, false
	}
	name := strings.TrimSpace(strings.TrimSuffix(body[:i], "共"))
	return Sum{Name: name, Amount: a}, true
}
