package bill

import (
	"path"
	"strings"
)

// Kind says which of Alipay's bill files a CSV is.
type Kind int

const (
	KindUnknown        Kind = iota
	KindDetail              // 业务明细: one row per trade or refund (bill_type=trade)
	KindSummary             // 业务明细(汇总): one row per store plus a 合计 row
	KindAccountDetail       // 账务明细: balance movements (bill_type=signcustomer)
	KindAccountSummary      // 账务明细(汇总): totals per business type (signcustomer)
)

// String returns the Chinese name Alipay uses in file names and titles.
func (k Kind) String() string {
	switch k {
	case KindDetail:
		return "业务明细"
	case KindSummary:
		return "业务明细(汇总)"
	case KindAccountDetail:
		return "账务明细"
	case KindAccountSummary:
		return "账务明细(汇总)"
	}
	return "unknown"
}

// title is the first line of the file, without '#'.
func (k Kind) title() string {
	switch k {
	case KindDetail:
		return "支付宝业务明细查询"
	case KindSummary:
		return "支付宝业务汇总查询"
	case KindAccountDetail:
		return "支付宝账务明细查询"
	case KindAccountSummary:
		return "支付宝账务汇总查询"
	}
	return ""
}

// list is the name inside the "#----…列表----" markers.
func (k Kind) list() string {
	switch k {
	case KindDetail:
		return "业务明细列表"
	case KindSummary:
		return "业务汇总列表"
	case KindAccountDetail:
		return "账务明细列表"
	case KindAccountSummary:
		return "账务汇总列表"
	}
	return ""
}

// kindOfTitle classifies a file by its first line ("#支付宝业务明细查询").
func kindOfTitle(line string) Kind {
	switch {
	case strings.Contains(line, "业务明细查询"):
		return KindDetail
	case strings.Contains(line, "业务汇总查询"):
		return KindSummary
	case strings.Contains(line, "账务明细查询"):
		return KindAccountDetail
	case strings.Contains(line, "账务汇总查询"):
		return KindAccountSummary
	}
	return KindUnknown
}

// kindOfName classifies a zip entry by its (decoded) name. Alipay writes half-width
// parentheses in "业务明细(汇总)"; full-width ones are accepted too because people re-zip.
func kindOfName(name string) Kind {
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	if !strings.HasSuffix(strings.ToLower(base), ".csv") {
		return KindUnknown
	}
	summary := strings.Contains(base, "汇总")
	switch {
	case strings.Contains(base, "业务明细") && summary:
		return KindSummary
	case strings.Contains(base, "业务明细"):
		return KindDetail
	case strings.Contains(base, "账务明细") && summary:
		return KindAccountSummary
	case strings.Contains(base, "账务明细"):
		return KindAccountDetail
	}
	return KindUnknown
}
