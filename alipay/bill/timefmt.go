package bill

import (
	"strings"
	"time"
)

// beijing is Alipay's clock: every time in a bill is Beijing time (UTC+8, no daylight
// saving). A fixed zone is used instead of time.LoadLocation("Asia/Shanghai") so that the
// reader works on hosts and containers without a tzdata file.
var beijing = time.FixedZone("CST", 8*3600)

// Location returns the zone in which bill times are read and written (UTC+8, "CST").
func Location() *time.Location { return beijing }

const (
	cellTimeLayout   = "2006-01-02 15:04:05"
	headerTimeLayout = "2006年01月02日 15:04:05"
)

// parseCellTime parses "2017-08-31 00:06:14" without time.Parse's generality: it runs for
// two cells of every row. Empty means "no time" (zero).
func parseCellTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	if len(s) != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		// Some exports write "2017/08/31 00:06:14"; take the slow path for anything odd.
		for _, layout := range []string{"2006/01/02 15:04:05", "2006-01-02 15:04", "2006/1/2 15:04:05", "2006/1/2 15:04"} {
			if t, err := time.ParseInLocation(layout, s, beijing); err == nil {
				return t, true
			}
		}
		return time.Time{}, false
	}
	var v [6]int
	pos := [6][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}}
	for i, p := range pos {
		n := 0
		for j := p[0]; j < p[1]; j++ {
			c := s[j]
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			n = n*10 + int(c-'0')
		}
		v[i] = n
	}
	if v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 59 {
		return time.Time{}, false
	}
	t := time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], 0, beijing)
	if t.Day() != v[2] { // 2023-02-30 normalises to March: refuse it
		return time.Time{}, false
	}
	return t, true
}

// appendCellTime writes t in Beijing time, or nothing for the zero time.
func appendCellTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	return t.In(beijing).AppendFormat(b, cellTimeLayout)
}

// parseHeaderTime parses the bracketed times of the header and footer lines,
// "2017年08月31日 00:00:00"; the cell layout is accepted too because some exports use it.
func parseHeaderTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.ParseInLocation(headerTimeLayout, s, beijing); err == nil {
		return t, true
	}
	if t, ok := parseCellTime(s); ok && s != "" {
		return t, true
	}
	return time.Time{}, false
}

func formatHeaderTime(t time.Time) string {
	return t.In(beijing).Format(headerTimeLayout)
}
