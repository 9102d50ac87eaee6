package console

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// FuzzCSVCell: whatever a payer wrote, the exported cell never starts with what a
// spreadsheet runs as a formula, keeps the text otherwise, and the CSV reads back.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"", "coffee", "=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "'=x", "咖啡,\"大杯\"\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := cell(s)
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			t.Fatalf("cell(%q) = %q starts with a formula character", s, c)
		}
		if c != s && c != "'"+s {
			t.Fatalf("cell(%q) = %q changed the text", s, c)
		}
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		w.Write([]string{c, "x"})
		w.Flush()
		rec, err := csv.NewReader(&b).Read()
		if err != nil || len(rec) != 2 {
			t.Fatalf("the row of %q does not read back: %v %q", c, err, rec)
		}
	})
}

// FuzzSafeNext: wherever a login or language switch is told to go, it stays in the
// console.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/console/orders", "//evil.example", "https://evil.example", "/console/\\evil", "/console/x\r\nSet-Cookie: a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := safeNext(s)
		if !strings.HasPrefix(n, "/console/") || strings.HasPrefix(n, "//") || strings.ContainsAny(n, "\\\r\n") {
			t.Fatalf("safeNext(%q) = %q leaves the console", s, n)
		}
	})
}
