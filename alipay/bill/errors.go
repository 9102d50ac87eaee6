package bill

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, so callers can tell the failure classes apart with errors.Is. Every
// error this package returns wraps exactly one of them and carries a message that says
// what to do.
var (
	// ErrNotZip: the bytes are not a zip archive. Usually the download URL had expired
	// (Alipay's bill_download_url is valid for 30 seconds) and an HTML or JSON error page
	// was saved instead.
	ErrNotZip = errors.New("not a zip file")
	// ErrMissingEntry: the zip does not hold the file asked for (e.g. no 业务明细 CSV).
	ErrMissingEntry = errors.New("bill file missing from the zip")
	// ErrNotGBK: the CSV is not GBK text — invalid GBK byte sequences, or a file that was
	// re-saved as UTF-8 (with or without a byte-order mark).
	ErrNotGBK = errors.New("the CSV is not GBK")
	// ErrTruncated: the file ends too early (no end marker, a cut-off zip, a bad checksum).
	ErrTruncated = errors.New("the bill is truncated")
	// ErrFormat: the text is GBK but not laid out like an Alipay bill (missing header lines
	// or columns, wrong column count, a bad amount or time).
	ErrFormat = errors.New("malformed Alipay bill")
	// ErrWrongKind: the file is a different bill than the reader expects (e.g. the 汇总
	// summary handed to NewDetailReader).
	ErrWrongKind = errors.New("wrong kind of bill file")
)

// ParseError locates a problem in a bill file: which file (when known), which line
// (1-based, counting every physical line including the # header lines) and which column.
type ParseError struct {
	File   string // zip entry name, "" when reading a bare stream
	Line   int    // 0 when the problem is not tied to a line
	Column string // header name of the offending column, "" when not tied to one
	Msg    string // what is wrong and what to do
	Kind   error  // one of the sentinel errors above
	Err    error  // the underlying cause, if any (e.g. *money.Error, an I/O error)
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("alipay bill")
	if e.File != "" {
		fmt.Fprintf(&b, " %s", e.File)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " line %d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, " column %s", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes both the sentinel class and the cause to errors.Is / errors.As.
func (e *ParseError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}
