package bill

import (
	"archive/zip"
	"io"
	"iter"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// ZipName is the name Alipay gives the bill zip: <account>_<yyyyMMdd>.csv.zip.
func ZipName(account string, date time.Time) string {
	return account + "_" + date.In(beijing).Format("20060102") + ".csv.zip"
}

// EntryName is the name of a CSV inside the zip, e.g.
// 20885212319120680156_20170831_业务明细.csv or …_业务明细(汇总).csv.
func EntryName(account string, date time.Time, k Kind) string {
	return account + "_" + date.In(beijing).Format("20060102") + "_" + k.String() + ".csv"
}

// ZipWriter writes a zip the way Alipay does: entry names in GBK, without the UTF-8 flag
// (general purpose bit 11), so that tools expecting Alipay's zips read them alike.
type ZipWriter struct {
	zw *zip.Writer
}

// NewZipWriter returns a ZipWriter writing to w.
func NewZipWriter(w io.Writer) *ZipWriter { return &ZipWriter{zw: zip.NewWriter(w)} }

// Create starts a deflated entry and returns the writer for its content; the previous
// entry is finished.
func (z *ZipWriter) Create(name string, modified time.Time) (io.Writer, error) {
	raw, err := simplifiedchinese.GBK.NewEncoder().String(name)
	if err != nil {
		raw = name
	}
	return z.zw.CreateHeader(&zip.FileHeader{
		Name:     raw,
		Method:   zip.Deflate,
		Modified: modified.In(beijing),
		NonUTF8:  true, // keeps archive/zip from setting the UTF-8 flag
	})
}

// Close writes the zip directory; it does not close the underlying writer.
func (z *ZipWriter) Close() error { return z.zw.Close() }

// WriteTradeZip writes the complete daily trade bill (bill_type=trade) — the 业务明细
// file and the 业务明细(汇总) file computed from the same rows — as Alipay's zip. Rows
// are streamed: memory grows with the number of stores, not of rows.
func WriteTradeZip(w io.Writer, info FileInfo, rows iter.Seq[*DetailRow]) error {
	z := NewZipWriter(w)
	fw, err := z.Create(EntryName(info.Account, info.Start, KindDetail), info.ExportedAt)
	if err != nil {
		return err
	}
	dw := NewDetailWriter(fw, info)
	for r := range rows {
		if err := dw.WriteRow(r); err != nil {
			return err
		}
	}
	if err := dw.Close(); err != nil {
		return err
	}
	fw, err = z.Create(EntryName(info.Account, info.Start, KindSummary), info.ExportedAt)
	if err != nil {
		return err
	}
	if err := WriteSummary(fw, info, dw.Summary()); err != nil {
		return err
	}
	return z.Close()
}

// WriteAccountZip writes a signcustomer bill zip holding the 账务明细 file. The
// 账务明细(汇总) file is not written: its layout is not known well enough to imitate.
func WriteAccountZip(w io.Writer, info FileInfo, rows iter.Seq[*AccountRow]) error {
	z := NewZipWriter(w)
	fw, err := z.Create(EntryName(info.Account, info.Start, KindAccountDetail), info.ExportedAt)
	if err != nil {
		return err
	}
	aw := NewAccountWriter(fw, info)
	for r := range rows {
		if err := aw.WriteRow(r); err != nil {
			return err
		}
	}
	if err := aw.Close(); err != nil {
		return err
	}
	return z.Close()
}
