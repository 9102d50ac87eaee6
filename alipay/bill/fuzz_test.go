package bill

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the committed fuzz seed corpora and generated fixtures under testdata")

// detailSeeds are the inputs the committed corpora are made of: real-looking files and the
// bad inputs of the table tests.
func detailSeeds(t testing.TB) map[string][]byte {
	fixture, err := os.ReadFile("testdata/protocol_sample_detail.csv")
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"protocol-sample": fixture,
		"variants": gbkT(lines(hTitle, "#账号:[1]", hDates+",,,", hColumns, hRow1,
			strings.Replace(hRefund, "支付宝APP支付", "\"两行\r\n\"\"商品\"\"\"\t", 1), hEnd, "#交易合计：5笔，退款合计：0笔", "#未知", hExport)),
		"generated": genBill(t, 20),
		"no-end":    gbkT(lines(hTitle, hAccount, hDates, hStart, hColumns, hRow1)),
		"utf8":      []byte(validBill()),
		"bom":       append([]byte{0xEF, 0xBB, 0xBF}, gbkT(validBill())...),
		"bad-cells": gbkT(lines(hTitle, hColumns, hRow1+",x", hRow1[:40], hEnd)),
	}
}

func zipSeeds(t testing.TB) map[string][]byte {
	good := tradeZip(t, protocolRows)
	var acc bytes.Buffer
	row := AccountRow{JournalNo: "1", Income: 100}
	if err := WriteAccountZip(&acc, testInfo, func(yield func(*AccountRow) bool) { yield(&row) }); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"trade":     good,
		"account":   acc.Bytes(),
		"truncated": good[:len(good)-30],
		"html":      []byte("<html>expired</html>"),
	}
}

func writeCorpus(t *testing.T, target string, seeds map[string][]byte) {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFuzzSeeds regenerates the committed seed corpora with -update-seeds, and otherwise
// checks that they are there.
func TestFuzzSeeds(t *testing.T) {
	for target, seeds := range map[string]map[string][]byte{"FuzzDetailReader": detailSeeds(t), "FuzzOpenZip": zipSeeds(t)} {
		if *updateSeeds {
			writeCorpus(t, target, seeds)
			continue
		}
		for name := range seeds {
			if _, err := os.Stat(filepath.Join("testdata", "fuzz", target, "seed-"+name)); err != nil {
				t.Errorf("seed corpus missing (run go test -run TestFuzzSeeds -update-seeds): %v", err)
			}
		}
	}
}

// FuzzDetailReader: any input either fails with a *ParseError or reads; what reads, once
// written back with the writer, reads back the same.
func FuzzDetailReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := NewDetailReader(bytes.NewReader(data))
		if err != nil {
			checkParseError(t, err)
			return
		}
		var rows []DetailRow
		for len(rows) < 1000 {
			r, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				checkParseError(t, err)
				return
			}
			rows = append(rows, *r)
		}
		if d.Footer() == nil && len(rows) < 1000 {
			t.Fatal("io.EOF without a footer")
		}
		h := d.Header()
		out := writeDetail(t, FileInfo{Account: h.Account, Start: h.Start, End: h.End}, rows)
		_, again, _ := readDetail(t, bytes.NewReader(out))
		if len(again) != len(rows) {
			t.Fatalf("%d rows after rewriting, %d before", len(again), len(rows))
		}
		for i := range rows {
			if !reflect.DeepEqual(again[i], rows[i]) && !equalTimes(again[i], rows[i]) {
				t.Fatalf("row %d changed when rewritten:\n got %+v\nwant %+v", i, again[i], rows[i])
			}
		}
	})
}

// equalTimes compares rows whose times are equal instants in different zones.
func equalTimes(a, b DetailRow) bool {
	if !a.Created.Equal(b.Created) || !a.Finished.Equal(b.Finished) {
		return false
	}
	a.Created, a.Finished = b.Created, b.Finished
	return reflect.DeepEqual(a, b)
}

func checkParseError(t *testing.T, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T %v is not a *ParseError", err, err)
	}
	if pe.Kind == nil {
		t.Fatalf("error without a class: %v", err)
	}
}

// FuzzOpenZip: any input either fails with a *ParseError or opens; every classified entry
// then reads or fails with a *ParseError.
func FuzzOpenZip(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := OpenZip(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			checkParseError(t, err)
			return
		}
		for _, e := range a.Entries {
			var err error
			switch e.Kind {
			case KindDetail:
				err = drain(e.OpenDetail)
			case KindSummary:
				err = drain(e.OpenSummary)
			case KindAccountDetail:
				err = drain(e.OpenAccount)
			case KindAccountSummary:
				err = drain(e.OpenTable)
			}
			if err != nil {
				checkParseError(t, err)
			}
		}
	})
}

type nexter[R any] interface {
	Next() (R, error)
	Close() error
}

func drain[N nexter[R], R any](open func() (N, error)) error {
	r, err := open()
	if err != nil {
		return err
	}
	defer r.Close()
	for range 100 {
		if _, err := r.Next(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
	return nil
}
