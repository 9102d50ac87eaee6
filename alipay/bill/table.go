package bill

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

const (
	// maxRecordBytes bounds one row (a quoted cell may span lines). Real rows are a few
	// hundred bytes; the bound keeps a file without line ends, or with an unclosed quote,
	// from eating memory.
	maxRecordBytes = 1 << 20
	// maxPreambleLines bounds the # lines before the column row (Alipay writes four).
	maxPreambleLines = 64
	// maxFooterLines bounds the lines after the end marker (Alipay writes three).
	maxFooterLines = 256
)

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// TableReader reads any of Alipay's bill CSVs as rows of strings: it decodes GBK line by
// line, reads the # header lines, finds the column row, returns the data rows one at a
// time and parses the # footer after the end marker. DetailReader, SummaryReader and
// AccountReader are typed views on it; use it directly for files they do not cover
// (账务明细(汇总), older or future layouts).
//
// Memory does not grow with the file: the reader keeps one line buffer and one row.
type TableReader struct {
	file   string
	br     *bufio.Reader
	closer io.Closer
	dec    transform.Transformer

	line    int  // physical lines consumed so far
	recLine int  // first line of the row last returned
	noEOL   bool // the last line read ended at EOF without a line end

	raw    []byte // an over-long line being assembled
	buf    []byte // the decoded (UTF-8) row, then unescaped quoted cells
	spans  []span
	fields []string

	hdr    Header
	width  int
	footer Footer
	done   bool
	err    error // sticky
}

type span struct{ lo, hi int }

// NewTableReader reads the header of a bill CSV from r (GBK bytes) and returns a reader
// positioned at the first data row.
func NewTableReader(r io.Reader) (*TableReader, error) {
	return newTableReader(r, "", nil)
}

func newTableReader(r io.Reader, file string, closer io.Closer) (*TableReader, error) {
	t := &TableReader{
		file:   file,
		br:     bufio.NewReaderSize(r, 64<<10),
		closer: closer,
		dec:    simplifiedchinese.GBK.NewDecoder(),
	}
	if err := t.readHeader(); err != nil {
		return nil, err
	}
	return t, nil
}

// Header returns what the # lines above the column row said, and the column names.
func (t *TableReader) Header() Header { return t.hdr }

// Line returns the line number on which the row last returned by Next starts.
func (t *TableReader) Line() int { return t.recLine }

// Footer returns the parsed footer once Next has returned io.EOF, and nil before.
func (t *TableReader) Footer() *Footer {
	if !t.done {
		return nil
	}
	return &t.footer
}

// Close closes the zip entry the reader was opened from (see Entry); it does nothing for
// readers made from a plain io.Reader.
func (t *TableReader) Close() error {
	if t.closer == nil {
		return nil
	}
	c := t.closer
	t.closer = nil
	return c.Close()
}

func (t *TableReader) errorf(kind error, line int, cause error, format string, args ...any) *ParseError {
	return &ParseError{File: t.file, Line: line, Kind: kind, Err: cause, Msg: fmt.Sprintf(format, args...)}
}

func (t *TableReader) fail(err error) error {
	t.err = err
	return err
}

// readRaw returns the next physical line without its line end. The slice is valid until
// the next call.
func (t *TableReader) readRaw() ([]byte, error) {
	t.raw = t.raw[:0]
	for {
		b, err := t.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			t.raw = append(t.raw, b...)
			if len(t.raw) > maxRecordBytes {
				return nil, t.errorf(ErrFormat, t.line+1, nil,
					"line is longer than %d bytes; this is not an Alipay bill (or it has no line ends)", maxRecordBytes)
			}
			continue
		}
		if len(t.raw) > 0 {
			t.raw = append(t.raw, b...)
			b = t.raw
		}
		switch {
		case err == io.EOF && len(b) == 0:
			return nil, io.EOF
		case err == io.EOF:
			t.noEOL = true
		case err != nil:
			return nil, t.ioError(err)
		}
		t.line++
		if n := len(b); n > 0 && b[n-1] == '\n' {
			b = b[:n-1]
		}
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
		return b, nil
	}
}

// ioError reports a failed read. Whatever the cause — a cut-off download, a zip entry
// whose data or header is damaged, a broken connection — the rows after this point are
// missing, so it is classed as ErrTruncated.
func (t *TableReader) ioError(err error) error {
	var corrupt flate.CorruptInputError
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) || errors.As(err, &corrupt) {
		return t.errorf(ErrTruncated, t.line+1, err,
			"reading stopped after line %d: the file is cut off or damaged; download the bill again", t.line)
	}
	return t.errorf(ErrTruncated, t.line+1, err, "reading stopped after line %d; read the bill again", t.line)
}

// decode appends the UTF-8 form of the GBK line raw to t.buf. Line ends and the CSV
// punctuation (,"#\t\r\n) are below 0x40 and so never occur inside a GBK double-byte
// character, which is why lines can be split before decoding. x/text's decoder turns
// invalid sequences into U+FFFD instead of failing; GBK cannot encode U+FFFD, so finding
// one in the output proves the input was not GBK.
func (t *TableReader) decode(raw []byte) bool {
	i := 0
	for i < len(raw) && raw[i] < utf8.RuneSelf {
		i++
	}
	t.buf = append(t.buf, raw[:i]...)
	if i == len(raw) {
		return true
	}
	rest := raw[i:]
	start := len(t.buf)
	need := start + 3*len(rest) + 4 // one GBK byte (0x80 = €) can become 3 UTF-8 bytes
	if cap(t.buf) < need {
		nb := make([]byte, start, need+need/2)
		copy(nb, t.buf)
		t.buf = nb
	}
	n, _, err := t.dec.Transform(t.buf[start:need], rest, true)
	t.buf = t.buf[:start+n]
	return err == nil && !bytes.Contains(t.buf[start:], []byte("\uFFFD"))
}

// notGBK explains why a line did not decode, telling UTF-8 apart from garbage.
func (t *TableReader) notGBK(raw []byte, line int) error {
	if utf8.Valid(raw) {
		return t.errorf(ErrNotGBK, line, nil,
			"the text is UTF-8, but Alipay bills are GBK: the file was probably re-saved by an editor or spreadsheet; use the CSV from the zip Alipay sent, or convert it back to GBK")
	}
	return t.errorf(ErrNotGBK, line, nil,
		"invalid GBK byte sequence: Alipay bills are GBK; the file was converted to another encoding or is damaged")
}

// looksUTF8 reports whether a header line is UTF-8 text of an Alipay bill. Such text can
// decode as valid (nonsense) GBK, so the check runs before decoding.
func looksUTF8(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for _, w := range []string{"支付宝", "明细", "汇总", "账号", "日期", "列表", "交易号", "账务"} {
		if bytes.Contains(raw, []byte(w)) {
			return true
		}
	}
	return false
}

func (t *TableReader) readHeader() error {
	if b, _ := t.br.Peek(3); bytes.Equal(b, utf8BOM) {
		return t.errorf(ErrNotGBK, 1, nil,
			"the file starts with a UTF-8 byte-order mark: it was re-saved as UTF-8 (Excel's \"CSV UTF-8\" does this), but Alipay bills are GBK; use the CSV from the zip Alipay sent")
	}
	sawMarker := false
	for comments := 0; ; {
		raw, err := t.readRaw()
		if err == io.EOF {
			if t.line == 0 {
				return t.errorf(ErrTruncated, 0, nil, "the file is empty; download the bill again")
			}
			return t.errorf(ErrTruncated, t.line, nil,
				"the file ends before the column row (支付宝交易号,商户订单号,…): it is cut off; download the bill again")
		}
		if err != nil {
			return err
		}
		if looksUTF8(raw) && !isASCII(raw) {
			return t.notGBK(raw, t.line)
		}
		t.buf = t.buf[:0]
		if !t.decode(raw) {
			return t.notGBK(raw, t.line)
		}
		text := strings.TrimRight(string(t.buf), " \t,") // Excel pads # lines with commas
		if text == "" {
			continue
		}
		if text[0] == '#' {
			if comments++; comments > maxPreambleLines {
				return t.errorf(ErrFormat, t.line, nil, "no column row in the first %d lines; this is not an Alipay bill", maxPreambleLines)
			}
			body := strings.TrimSpace(text[1:])
			if t.hdr.Title == "" {
				t.hdr.Title = body
				t.hdr.Kind = kindOfTitle(body)
				continue
			}
			start, end := isListMarker(body)
			switch {
			case start:
				sawMarker = true
			case end:
				return t.errorf(ErrFormat, t.line, nil, "end marker %q before any column row", text)
			default:
				if reason, ok := parseHeaderLine(&t.hdr, body); !ok {
					return t.errorf(ErrFormat, t.line, nil, "%s; got %q", reason, text)
				}
			}
			continue
		}
		if t.hdr.Title == "" {
			return t.errorf(ErrFormat, t.line, nil, "%s", notABillHint(text))
		}
		_ = sawMarker // the "#----列表----" marker is optional: some exports omit it
		t.recLine = t.line
		if err := t.completeRecord(); err != nil {
			return err
		}
		t.materialize()
		cols := make([]string, len(t.fields))
		for i, f := range t.fields {
			cols[i] = normColumn(f)
		}
		t.hdr.Columns, t.hdr.ColumnsLine, t.width = cols, t.line, len(cols)
		return nil
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func notABillHint(first string) string {
	if len(first) > 60 {
		first = first[:60] + "…"
	}
	lower := strings.ToLower(strings.TrimSpace(first))
	switch {
	case strings.HasPrefix(lower, "<"):
		return fmt.Sprintf("this is an HTML page, not an Alipay bill (the download URL may have expired: it is valid for 30 s); got %q", first)
	case strings.HasPrefix(lower, "{"):
		return fmt.Sprintf("this is JSON, not an Alipay bill (an error answer saved as the bill?); got %q", first)
	}
	return fmt.Sprintf("the first line is not an Alipay bill title such as #支付宝业务明细查询; got %q", first)
}

// completeRecord splits t.buf (one decoded line) into cells, reading more lines while a
// quoted cell is open.
func (t *TableReader) completeRecord() error {
	for {
		n := len(t.buf)
		if t.split(n) {
			return nil
		}
		if n > maxRecordBytes {
			return t.fail(t.errorf(ErrFormat, t.recLine, nil,
				"a quoted cell opened on this line is still open after %d bytes; a quote (\") is probably missing", maxRecordBytes))
		}
		raw, err := t.readRaw()
		if err == io.EOF {
			return t.fail(t.errorf(ErrTruncated, t.recLine, nil,
				"a quoted cell opened on this line is never closed: the file is cut off or a quote (\") is missing"))
		}
		if err != nil {
			return t.fail(err)
		}
		t.buf = append(t.buf, '\n')
		if !t.decode(raw) {
			return t.fail(t.notGBK(raw, t.line))
		}
	}
}

// split splits t.buf[:n] into t.spans. Unquoted cells are trimmed of the TABs Alipay
// appends to ID-like cells (so spreadsheets keep them as text) and of spaces. Quoted
// cells keep their content verbatim; those with "" escapes are unescaped into t.buf[n:].
// It returns false, leaving t.buf[:n] intact, if the record ends inside quotes.
func (t *TableReader) split(n int) bool {
	t.buf = t.buf[:n]
	t.spans = t.spans[:0]
	rec := t.buf[:n:n]
	for i := 0; ; {
		j := i
		for j < n && (rec[j] == ' ' || rec[j] == '\t') {
			j++
		}
		if j < n && rec[j] == '"' {
			j++
			start, lo, simple := j, len(t.buf), true
			for {
				k := bytes.IndexByte(rec[j:], '"')
				if k < 0 {
					t.buf = t.buf[:n]
					return false
				}
				k += j
				if k+1 < n && rec[k+1] == '"' { // "" is one quote
					if simple {
						t.buf = append(t.buf, rec[start:k+1]...)
						simple = false
					} else {
						t.buf = append(t.buf, rec[j:k+1]...)
					}
					j = k + 2
					continue
				}
				if !simple {
					t.buf = append(t.buf, rec[j:k]...)
				}
				end := n
				if e := bytes.IndexByte(rec[k+1:], ','); e >= 0 {
					end = k + 1 + e
				}
				trail := bytes.Trim(rec[k+1:end], " \t")
				switch {
				case len(trail) == 0 && simple:
					t.spans = append(t.spans, span{start, k})
				default: // text after the closing quote is kept, like encoding/csv's LazyQuotes
					if simple {
						t.buf = append(t.buf, rec[start:k]...)
					}
					t.buf = append(t.buf, trail...)
					t.spans = append(t.spans, span{lo, len(t.buf)})
				}
				if end == n {
					return true
				}
				i = end + 1
				break
			}
			continue
		}
		end := n
		if e := bytes.IndexByte(rec[j:], ','); e >= 0 {
			end = j + e
		}
		hi := end
		for hi > j && (rec[hi-1] == ' ' || rec[hi-1] == '\t') {
			hi--
		}
		t.spans = append(t.spans, span{j, hi})
		if end == n {
			return true
		}
		i = end + 1
	}
}

// materialize turns the spans into strings: one allocation per row, shared by its cells,
// so the strings stay valid after the next row is read.
func (t *TableReader) materialize() {
	s := string(t.buf)
	t.fields = t.fields[:0]
	for _, sp := range t.spans {
		t.fields = append(t.fields, s[sp.lo:sp.hi])
	}
}

// Next returns the cells of the next data row, in header order, trimmed. The slice is
// reused by the next call; the strings may be kept. At the end marker it parses the
// footer and returns io.EOF.
func (t *TableReader) Next() ([]string, error) {
	if t.err != nil {
		return nil, t.err
	}
	if t.done {
		return nil, io.EOF
	}
	for {
		raw, err := t.readRaw()
		if err == io.EOF {
			marker := t.hdr.Kind.list()
			if marker == "" {
				marker = "…列表"
			}
			return nil, t.fail(t.errorf(ErrTruncated, t.line, nil,
				"the file ends without the end marker #----%s结束----: it is cut off; download the bill again", marker))
		}
		if err != nil {
			return nil, t.fail(err)
		}
		if len(bytes.Trim(raw, " \t")) == 0 {
			continue
		}
		if raw[0] == '#' {
			if err := t.readFooter(raw); err != nil {
				return nil, t.fail(err)
			}
			return nil, io.EOF
		}
		t.recLine = t.line
		t.buf = t.buf[:0]
		if !t.decode(raw) {
			return nil, t.fail(t.notGBK(raw, t.line))
		}
		if err := t.completeRecord(); err != nil {
			return nil, err
		}
		if len(t.spans) != t.width {
			kind, hint := ErrFormat, ""
			if t.noEOL && len(t.spans) < t.width {
				kind, hint = ErrTruncated, "; it is the last line and has no line end: the file is cut off, download the bill again"
			}
			return nil, t.fail(t.errorf(kind, t.recLine, nil,
				"the row has %d cells but the column row (line %d) has %d%s", len(t.spans), t.hdr.ColumnsLine, t.width, hint))
		}
		t.materialize()
		return t.fields, nil
	}
}

// readFooter parses the line that ended the rows (normally the end marker) and every
// line after it.
func (t *TableReader) readFooter(first []byte) error {
	line := first
	for {
		t.buf = t.buf[:0]
		if !t.decode(line) {
			return t.notGBK(line, t.line)
		}
		text := strings.TrimRight(string(t.buf), " \t,")
		if text != "" {
			if len(t.footer.Lines) >= maxFooterLines {
				return t.errorf(ErrFormat, t.line, nil, "more than %d lines after the end marker; this is not an Alipay bill", maxFooterLines)
			}
			if text[0] != '#' {
				t.footer.Lines = append(t.footer.Lines, text)
				t.footer.Unparsed = append(t.footer.Unparsed, text)
			} else if body := strings.TrimSpace(text[1:]); !isEndMarker(body) {
				t.footer.parseLine(body)
			}
		}
		var err error
		line, err = t.readRaw()
		if err == io.EOF {
			t.done = true
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func isEndMarker(body string) bool {
	_, end := isListMarker(body)
	return end
}
