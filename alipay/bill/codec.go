package bill

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay/alipay/money"
)

type cellKind uint8

const (
	cellText cellKind = iota
	cellAmount
	cellTotal // an amount that may exceed one trade's limit (sums, balances)
	cellTime
	cellCount
)

// column maps one CSV column, found by its header name, to a field of a row type R.
// Columns are looked up by name, not position, so a reordered or extended bill still
// reads correctly.
type column[R any] struct {
	name     string // normalised header name, with full-width （元）
	required bool   // reading fails if the column row lacks it
	tab      bool   // the writer appends a TAB, as Alipay does for ID-like cells
	kind     cellKind
	text     func(*R) *string
	amount   func(*R) *money.Amount
	time     func(*R) *time.Time
	count    func(*R) *int
}

func textCol[R any](name string, required, tab bool, f func(*R) *string) column[R] {
	return column[R]{name: name, required: required, tab: tab, kind: cellText, text: f}
}

func amountCol[R any](name string, required, tab bool, f func(*R) *money.Amount) column[R] {
	return column[R]{name: name, required: required, tab: tab, kind: cellAmount, amount: f}
}

func totalCol[R any](name string, required, tab bool, f func(*R) *money.Amount) column[R] {
	return column[R]{name: name, required: required, tab: tab, kind: cellTotal, amount: f}
}

func timeCol[R any](name string, required bool, f func(*R) *time.Time) column[R] {
	return column[R]{name: name, required: required, kind: cellTime, time: f}
}

func countCol[R any](name string, required bool, f func(*R) *int) column[R] {
	return column[R]{name: name, required: required, kind: cellCount, count: f}
}

// binding is a column set matched against one file's column row.
type binding[R any] struct {
	cols []column[R]
	idx  []int // field index per column, -1 when the file lacks it
}

func bind[R any](cols []column[R], t *TableReader, what Kind) (binding[R], error) {
	hdr := t.hdr
	pos := make(map[string]int, len(hdr.Columns))
	for i, c := range hdr.Columns {
		if _, dup := pos[c]; !dup {
			pos[c] = i
		}
	}
	b := binding[R]{cols: cols, idx: make([]int, len(cols))}
	var missing []string
	for i, c := range cols {
		j, ok := pos[c.name]
		if !ok {
			j = -1
			if c.required {
				missing = append(missing, c.name)
			}
		}
		b.idx[i] = j
	}
	if len(missing) > 0 {
		return b, t.errorf(ErrFormat, hdr.ColumnsLine, nil,
			"the column row lacks the %s column(s) %s; it has: %s",
			what, strings.Join(missing, ", "), strings.Join(hdr.Columns, ","))
	}
	return b, nil
}

// decode fills r from one row's cells. Empty amount cells are 0 (Alipay leaves some
// empty, e.g. 券核销金额 on old bills); empty times are the zero time.
func (b *binding[R]) decode(fields []string, r *R) (string, error) {
	for i := range b.cols {
		j := b.idx[i]
		if j < 0 {
			continue
		}
		c := &b.cols[i]
		s := fields[j]
		switch c.kind {
		case cellText:
			*c.text(r) = s
		case cellAmount, cellTotal:
			if s == "" {
				*c.amount(r) = 0
				continue
			}
			parse := money.ParseSigned
			if c.kind == cellTotal {
				parse = parseTotal
			}
			a, err := parse(s)
			if err != nil {
				return c.name, err
			}
			*c.amount(r) = a
		case cellTime:
			v, ok := parseCellTime(s)
			if !ok {
				return c.name, fmt.Errorf("invalid time %q; expected yyyy-MM-dd HH:mm:ss", s)
			}
			*c.time(r) = v
		case cellCount:
			if s == "" {
				*c.count(r) = 0
				continue
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return c.name, fmt.Errorf("invalid count %q; expected a whole number", s)
			}
			*c.count(r) = n
		}
	}
	return "", nil
}

// headerLine appends the column row.
func headerLine[R any](dst []byte, cols []column[R]) []byte {
	for i, c := range cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, c.name...)
	}
	return dst
}

// encode appends one row in Alipay's layout (UTF-8; the writer converts to GBK).
func encode[R any](dst []byte, cols []column[R], r *R) []byte {
	for i := range cols {
		c := &cols[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		switch c.kind {
		case cellText:
			dst = appendCell(dst, *c.text(r), i == 0)
		case cellAmount, cellTotal:
			dst = c.amount(r).AppendTo(dst)
		case cellTime:
			dst = appendCellTime(dst, *c.time(r))
		case cellCount:
			dst = strconv.AppendInt(dst, int64(*c.count(r)), 10)
		}
		if c.tab {
			dst = append(dst, '\t')
		}
	}
	return dst
}

// appendCell writes a text cell, quoting it when the reader would otherwise change it:
// separators, quotes and line ends; leading or trailing blanks (the reader trims
// unquoted cells); a leading '#' in the first cell (the reader would take the row for a
// comment line).
func appendCell(dst []byte, s string, first bool) []byte {
	quote := strings.ContainsAny(s, ",\"\r\n") || (first && strings.HasPrefix(s, "#"))
	if n := len(s); n > 0 && (s[0] == ' ' || s[0] == '\t' || s[n-1] == ' ' || s[n-1] == '\t') {
		quote = true
	}
	if !quote {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		dst = append(dst, s[:i+1]...)
		dst = append(dst, '"')
		s = s[i+1:]
	}
	dst = append(dst, s...)
	return append(dst, '"')
}
