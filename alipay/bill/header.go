package bill

import (
	"strings"
	"time"
)

// Header is what the # lines above the column row say.
//
//	#支付宝业务明细查询
//	#账号：[20885212319120680156]
//	#起始日期：[2017年08月31日 00:00:00]   终止日期：[2017年09月01日 00:00:00]
//	#-----------------------------------------业务明细列表----------------------------------------
type Header struct {
	Kind    Kind      // from the title line; KindUnknown if the title is not one we know
	Title   string    // the title line without '#', e.g. "支付宝业务明细查询"
	Account string    // the 20-digit 账号: 16-digit PID + "0156"
	Start   time.Time // 起始日期, inclusive, Beijing time
	End     time.Time // 终止日期, exclusive (a daily bill ends at 00:00:00 of the next day)
	// Extra holds every other # line before the column row, without '#', so that lines
	// Alipay adds in future are not lost.
	Extra []string
	// Columns are the column names of the header row, normalised (see normColumn).
	Columns []string
	// ColumnsLine is the line number of the column row.
	ColumnsLine int
}

// cutColon splits "label：value" at the first full-width or ASCII colon. Alipay writes the
// full-width '：'; files re-saved by hand sometimes have ':'.
func cutColon(s string) (label, value string, ok bool) {
	i := strings.IndexAny(s, ":：")
	if i < 0 {
		return "", s, false
	}
	sep := 1
	if s[i] != ':' {
		sep = len("：")
	}
	return strings.TrimSpace(s[:i]), s[i+sep:], true
}

// bracketAfter returns the text inside the first [...] after label in s, or, when there
// are no brackets, the first space-separated word after the label's colon.
func bracketAfter(s, label string) (string, bool) {
	i := strings.Index(s, label)
	if i < 0 {
		return "", false
	}
	rest := s[i+len(label):]
	_, rest, _ = cutColon(rest)
	rest = strings.TrimLeft(rest, " \t")
	if strings.HasPrefix(rest, "[") {
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return "", false
		}
		return strings.TrimSpace(rest[1:j]), true
	}
	return "", false
}

// parseHeaderLine interprets one # line (without '#') of the preamble. It reports
// ok=false with a reason for a line it recognises but cannot parse.
func parseHeaderLine(h *Header, text string) (reason string, ok bool) {
	switch {
	case strings.Contains(text, "账号") && strings.ContainsAny(text, ":："):
		v, found := bracketAfter(text, "账号")
		if !found {
			_, v, _ = cutColon(text)
			v = strings.TrimSpace(v)
		}
		h.Account = v
	case strings.Contains(text, "起始日期"):
		s, ok1 := bracketAfter(text, "起始日期")
		e, ok2 := bracketAfter(text, "终止日期")
		st, ok3 := parseHeaderTime(s)
		et, ok4 := parseHeaderTime(e)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return "cannot read the dates; expected #起始日期：[2017年08月31日 00:00:00]   终止日期：[2017年09月01日 00:00:00]", false
		}
		h.Start, h.End = st, et
	default:
		h.Extra = append(h.Extra, text)
	}
	return "", true
}

// isListMarker reports whether a # line is a "#----…列表----" (start) or
// "#----…列表结束----" (end) marker.
func isListMarker(text string) (start, end bool) {
	if !strings.HasPrefix(text, "--") || !strings.Contains(text, "列表") {
		return false, false
	}
	if strings.Contains(text, "结束") {
		return false, true
	}
	return true, false
}

// normColumn makes header names comparable: Alipay writes full-width （元）, files
// edited in a spreadsheet may come back with (元), and cells may carry TABs and spaces.
func normColumn(s string) string {
	s = strings.Trim(s, " \t\r\ufeff")
	if strings.ContainsAny(s, "()") {
		s = strings.NewReplacer("(", "（", ")", "）").Replace(s)
	}
	return s
}
