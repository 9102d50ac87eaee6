package bill

import (
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// FileInfo is what a writer puts in the # lines around the rows.
type FileInfo struct {
	Account    string    // 账号: 16-digit PID + "0156"
	Start      time.Time // 起始日期 (a daily bill: 00:00:00 of the day, Beijing time)
	End        time.Time // 终止日期 (a daily bill: 00:00:00 of the next day)
	ExportedAt time.Time // 导出时间
}

// DailyInfo returns the FileInfo of the daily bill of the Beijing-time day that contains
// date, for the merchant whose 16-digit partner id is pid.
func DailyInfo(pid string, date, exportedAt time.Time) FileInfo {
	d := date.In(beijing)
	start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, beijing)
	return FileInfo{Account: pid + "0156", Start: start, End: start.AddDate(0, 0, 1), ExportedAt: exportedAt}
}

// markers returns the start and end marker lines, with the dash counts of real files.
func markers(k Kind) (start, end string) {
	name := k.list()
	start = "#" + strings.Repeat("-", 41) + name + strings.Repeat("-", 40)
	if k == KindDetail {
		end = "#" + strings.Repeat("-", 41) + name + "结束" + strings.Repeat("-", 36)
	} else {
		end = "#" + strings.Repeat("-", 40) + name + "结束" + strings.Repeat("-", 37)
	}
	return start, end
}

// tableWriter writes lines in GBK with CRLF line ends, buffering output.
type tableWriter struct {
	w    io.Writer
	enc  transform.Transformer
	line []byte // the line being built, UTF-8
	out  []byte // pending GBK output
	err  error
	kind Kind
	done bool
}

const flushAt = 32 << 10

func newTableWriter(w io.Writer, k Kind, info FileInfo, header []byte) *tableWriter {
	tw := &tableWriter{w: w, enc: simplifiedchinese.GBK.NewEncoder(), kind: k}
	start, _ := markers(k)
	tw.comment("#" + k.title())
	tw.comment("#账号：[" + info.Account + "]")
	tw.comment("#起始日期：[" + formatHeaderTime(info.Start) + "]   终止日期：[" + formatHeaderTime(info.End) + "]")
	tw.comment(start)
	tw.line = append(tw.line[:0], header...)
	tw.emit()
	return tw
}

func (w *tableWriter) comment(s string) {
	w.line = append(w.line[:0], s...)
	w.emit()
}

// emit converts w.line to GBK and queues it. Characters GBK cannot represent (emoji, for
// instance) become '?', as Java's GBK encoder — which Alipay's files come from — does.
func (w *tableWriter) emit() {
	if w.err != nil {
		return
	}
	src := w.line
	for len(src) > 0 {
		start := len(w.out)
		need := start + 2*len(src) + 4
		if cap(w.out) < need {
			nb := make([]byte, start, need+need/2)
			copy(nb, w.out)
			w.out = nb
		}
		n, m, err := w.enc.Transform(w.out[start:need], src, true)
		w.out = w.out[:start+n]
		src = src[m:]
		if err != nil && len(src) > 0 {
			_, size := utf8.DecodeRune(src)
			w.out = append(w.out, '?')
			src = src[size:]
		}
	}
	w.out = append(w.out, '\r', '\n')
	if len(w.out) >= flushAt {
		w.flush()
	}
}

func (w *tableWriter) flush() error {
	if w.err == nil && len(w.out) > 0 {
		_, w.err = w.w.Write(w.out)
		w.out = w.out[:0]
	}
	return w.err
}

// finish writes the end marker, the footer lines and the export time, then flushes.
func (w *tableWriter) finish(footer []string, exportedAt time.Time) error {
	if w.done {
		return w.err
	}
	w.done = true
	_, end := markers(w.kind)
	w.comment(end)
	for _, l := range footer {
		w.comment(l)
	}
	w.comment("#导出时间：[" + formatHeaderTime(exportedAt) + "]")
	return w.flush()
}
