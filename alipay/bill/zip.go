package bill

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Archive is an opened bill zip.
type Archive struct {
	Entries []*Entry
}

// Entry is one file in the zip.
type Entry struct {
	Name    string // decoded name, e.g. 20885212319120680156_20170831_业务明细.csv
	RawName string // the name's bytes as stored in the zip
	Kind    Kind
	Size    uint64 // uncompressed size
	f       *zip.File
}

// OpenZip reads the directory of a bill zip. Alipay stores entry names in GBK without
// the zip UTF-8 flag, so Go's archive/zip hands back raw GBK bytes. The rule used here:
//
//   - UTF-8 flag set: the name is UTF-8.
//   - flag clear and the name is valid UTF-8 (ASCII, or a zip re-made by a tool that
//     writes UTF-8 without the flag): kept as is. A GBK Chinese name is almost never
//     valid UTF-8 (its trail bytes rarely form UTF-8 continuation patterns), so this
//     does not misread Alipay's names.
//   - otherwise: decoded from GBK.
//
// Entries are classified by name (业务明细, 业务明细(汇总), 账务明细, 账务明细(汇总)) and,
// for CSV files whose name says nothing, by their title line.
func OpenZip(r io.ReaderAt, size int64) (*Archive, error) {
	var head [8]byte
	n, _ := r.ReadAt(head[:], 0)
	zr, err := zip.NewReader(r, size)
	if err != nil {
		if n >= 4 && bytes.Equal(head[:4], []byte("PK\x03\x04")) {
			return nil, &ParseError{Kind: ErrTruncated, Err: err,
				Msg: "the zip is cut off or damaged (its directory at the end is missing); download the bill again"}
		}
		return nil, &ParseError{Kind: ErrNotZip, Err: err, Msg: notZipHint(head[:n])}
	}
	a := &Archive{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		e := &Entry{Name: entryName(f), RawName: f.Name, Size: f.UncompressedSize64, f: f}
		e.Kind = kindOfName(e.Name)
		if e.Kind == KindUnknown && strings.HasSuffix(strings.ToLower(e.Name), ".csv") {
			e.Kind = sniffKind(f)
		}
		a.Entries = append(a.Entries, e)
	}
	return a, nil
}

func notZipHint(head []byte) string {
	const base = "not a zip file (the download URL may have expired: it is valid for 30 s; ask alipay.data.dataservice.bill.downloadurl.query for a new one and download it at once)"
	s := strings.TrimSpace(string(head))
	switch {
	case len(head) == 0:
		return base + "; the file is empty"
	case strings.HasPrefix(s, "<"):
		return base + "; it looks like an HTML page"
	case strings.HasPrefix(s, "{"):
		return base + "; it looks like a JSON error answer"
	case strings.HasPrefix(s, "#"):
		return base + "; it looks like an already unzipped CSV: read it with NewDetailReader"
	}
	return base
}

func entryName(f *zip.File) string {
	if f.Flags&0x800 != 0 || utf8.ValidString(f.Name) {
		return f.Name
	}
	if s, err := simplifiedchinese.GBK.NewDecoder().String(f.Name); err == nil {
		return s
	}
	return f.Name
}

// sniffKind reads the title line of an entry whose name does not classify it.
func sniffKind(f *zip.File) Kind {
	rc, err := f.Open()
	if err != nil {
		return KindUnknown
	}
	defer rc.Close()
	var head [128]byte
	n, _ := io.ReadFull(rc, head[:])
	line := head[:n]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(line)
	if err != nil {
		return KindUnknown
	}
	return kindOfTitle(string(s))
}

// Find returns the first entry of the given kind.
func (a *Archive) Find(k Kind) (*Entry, error) {
	for _, e := range a.Entries {
		if e.Kind == k {
			return e, nil
		}
	}
	names := make([]string, len(a.Entries))
	for i, e := range a.Entries {
		names[i] = e.Name
	}
	held := "nothing"
	if len(names) > 0 {
		held = strings.Join(names, ", ")
	}
	return nil, &ParseError{Kind: ErrMissingEntry,
		Msg: fmt.Sprintf("the zip holds no %s file (it holds %s); is it the bill type you asked for (trade → 业务明细, signcustomer → 账务明细)?", k, held)}
}

// OpenDetail opens the 业务明细 file of the zip.
func (a *Archive) OpenDetail() (*DetailReader, error) {
	e, err := a.Find(KindDetail)
	if err != nil {
		return nil, err
	}
	return e.OpenDetail()
}

// OpenSummary opens the 业务明细(汇总) file of the zip.
func (a *Archive) OpenSummary() (*SummaryReader, error) {
	e, err := a.Find(KindSummary)
	if err != nil {
		return nil, err
	}
	return e.OpenSummary()
}

// OpenAccount opens the 账务明细 file of the zip.
func (a *Archive) OpenAccount() (*AccountReader, error) {
	e, err := a.Find(KindAccountDetail)
	if err != nil {
		return nil, err
	}
	return e.OpenAccount()
}

// Open returns the entry's raw (GBK) bytes.
func (e *Entry) Open() (io.ReadCloser, error) {
	rc, err := e.f.Open()
	if err != nil {
		if errors.Is(err, zip.ErrAlgorithm) {
			return nil, &ParseError{File: e.Name, Kind: ErrFormat, Err: err, Msg: "the entry uses a compression method other than deflate"}
		}
		return nil, &ParseError{File: e.Name, Kind: ErrTruncated, Err: err, Msg: "cannot open the entry: the zip is damaged; download the bill again"}
	}
	return rc, nil
}

// OpenTable opens the entry as a TableReader; Close it when done.
func (e *Entry) OpenTable() (*TableReader, error) {
	rc, err := e.Open()
	if err != nil {
		return nil, err
	}
	t, err := newTableReader(rc, e.Name, rc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return t, nil
}

// OpenDetail opens the entry as a 业务明细 file; Close the reader when done.
func (e *Entry) OpenDetail() (*DetailReader, error) {
	return openTyped(e, newDetailReader)
}

// OpenSummary opens the entry as a 业务明细(汇总) file; Close the reader when done.
func (e *Entry) OpenSummary() (*SummaryReader, error) {
	return openTyped(e, newSummaryReader)
}

// OpenAccount opens the entry as a 账务明细 file; Close the reader when done.
func (e *Entry) OpenAccount() (*AccountReader, error) {
	return openTyped(e, newAccountReader)
}

func openTyped[T any](e *Entry, mk func(*TableReader) (*T, error)) (*T, error) {
	t, err := e.OpenTable()
	if err != nil {
		return nil, err
	}
	r, err := mk(t)
	if err != nil {
		t.Close()
		return nil, err
	}
	return r, nil
}
