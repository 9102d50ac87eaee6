package money_test

import (
	"encoding/json"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/f2fpay/f2fpay/alipay/money"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		want money.Amount
		err  string // substring of the error; "" means success
	}{
		{"88.88", 8888, ""},
		{"0.1", 10, ""},
		{"0.10", 10, ""},
		{"100", 10000, ""},
		{"0", 0, ""},
		{"0.00", 0, ""},
		{"0.01", 1, ""},
		{"100000000", 10000000000, ""},
		{"100000000.00", 10000000000, ""},
		{"100000000.01", 0, "maximum"},
		{"999999999", 0, "maximum"},
		{"99999999999999999999", 0, "maximum"},
		{"", 0, "empty"},
		{"-1.00", 0, "sign"},
		{"+1.00", 0, "sign"},
		{"1.001", 0, "two decimals"},
		{"1e2", 0, "exponent"},
		{"1E2", 0, "exponent"},
		{" 1.00", 0, "white space"},
		{"1.00 ", 0, "white space"},
		{"1,000.00", 0, "separators"},
		{"1.", 0, "after the decimal point"},
		{".5", 0, "before the decimal point"},
		{"1.2.3", 0, "more than one decimal point"},
		{"007", 0, "leading zero"},
		{"0x10", 0, "unexpected character"},
		{"１.00", 0, "unexpected character"}, // full-width digit
		{"NaN", 0, "unexpected character"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := money.Parse(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				if !strings.Contains(err.Error(), "invalid amount") {
					t.Errorf("error %q does not say it is about an amount", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSignedAmountAndFormat(t *testing.T) {
	for in, want := range map[string]string{"-0.12": "-0.12", "-100": "-100.00", "0.5": "0.50", "12.3": "12.30"} {
		a, err := money.ParseSigned(in)
		if err != nil || a.String() != want {
			t.Errorf("ParseSigned(%q) = %v (%v), want %s", in, a, err, want)
		}
	}
	if s := money.Amount(-1 << 63).String(); s != "-92233720368547758.08" {
		t.Errorf("MinInt64 formats as %s", s)
	}
}

func TestCheckTrade(t *testing.T) {
	for a, ok := range map[money.Amount]bool{0: false, 1: true, -1: false, money.MaxAmount: true, money.MaxAmount + 1: false} {
		if err := a.CheckTrade(); (err == nil) != ok {
			t.Errorf("CheckTrade(%v) = %v", a, err)
		}
	}
}

func TestAmountJSON(t *testing.T) {
	var v struct {
		A money.Amount `json:"a"`
	}
	for in, want := range map[string]money.Amount{
		`{"a":"88.88"}`: 8888,
		`{"a":88.88}`:   8888, // Alipay's own samples send numbers
		`{"a":0.1}`:     10,   // never through float64
		`{"a":"-0.12"}`: -12,
	} {
		v.A = 0
		if err := json.Unmarshal([]byte(in), &v); err != nil || v.A != want {
			t.Errorf("%s → %v, %v; want %v", in, v.A, err, want)
		}
	}
	for _, in := range []string{`{"a":1e2}`, `{"a":"1.001"}`, `{"a":true}`, `{"a":"x"}`} {
		if err := json.Unmarshal([]byte(in), &v); err == nil {
			t.Errorf("%s accepted as %v", in, v.A)
		}
	}
	b, _ := json.Marshal(struct {
		A money.Amount `json:"a"`
	}{10})
	if string(b) != `{"a":"0.10"}` {
		t.Errorf("marshal = %s", b)
	}
}

// TestAmountRoundTrip is the property: every amount in range formats to a string that
// parses back to itself, and every canonical string parses and formats to itself.
func TestAmountRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := money.Amount(rapid.Int64Range(0, int64(money.MaxAmount)).Draw(t, "fen"))
		got, err := money.Parse(a.String())
		if err != nil || got != a {
			t.Fatalf("%d → %q → %d, %v", a, a.String(), got, err)
		}
		var back money.Amount
		b, _ := json.Marshal(a)
		if err := json.Unmarshal(b, &back); err != nil || back != a {
			t.Fatalf("JSON %s → %d, %v", b, back, err)
		}
		neg := -a
		if got, err := money.ParseSigned(neg.String()); err != nil || got != neg {
			t.Fatalf("signed %q → %d, %v", neg.String(), got, err)
		}
	})
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"88.88", "0.1", "100", "", "-1", "1e2", "1.001", " 1", "100000000.01", "007", "0.00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := money.Parse(s)
		if err != nil {
			return
		}
		if a < 0 || a > money.MaxAmount {
			t.Fatalf("%q parsed to out-of-range %d", s, a)
		}
		// Whatever parses must mean the same number as its canonical form.
		back, err := money.Parse(a.String())
		if err != nil || back != a {
			t.Fatalf("%q → %d → %q → %d, %v", s, a, a.String(), back, err)
		}
		if s != a.String() && strings.Contains(s, ".") && len(s[strings.IndexByte(s, '.')+1:]) == 2 {
			t.Fatalf("two-decimal %q formats differently: %q", s, a.String())
		}
	})
}

func BenchmarkParseAmount(b *testing.B) {
	for b.Loop() {
		if _, err := money.Parse("12345.67"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFormatAmount(b *testing.B) {
	var buf [24]byte
	for b.Loop() {
		_ = money.Amount(1234567).AppendTo(buf[:0])
	}
}

// unmarshalReference is what Amount.UnmarshalJSON did before its fast path for plain
// strings: every string through json.Unmarshal.
func unmarshalReference(data []byte) (money.Amount, error) {
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return 0, err
		}
		return money.ParseSigned(s)
	}
	if string(data) == "null" {
		return 0, nil
	}
	return money.ParseSigned(string(data))
}

// FuzzAmountUnmarshalJSON holds UnmarshalJSON, called directly (as a custom decoder
// might) and through json.Unmarshal, to the result and the error of decoding every
// string in full.
func FuzzAmountUnmarshalJSON(f *testing.F) {
	for _, s := range []string{`"88.88"`, `"0.1"`, `"-1.00"`, `""`, `"\u0031.00"`, `"1.0\"`, `"1"2"`, `"1.00`, `"1.00" `,
		"\"1.0\x01\"", `"1.00\n"`, `"１.00"`, "\"\xff\"", `88.88`, `null`, `"null"`, `"1e2"`, `"`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := unmarshalReference(data)
		var got money.Amount
		gerr := got.UnmarshalJSON(data)
		if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) || got != want {
			t.Fatalf("UnmarshalJSON(%q) = %d, %v; decoding the string in full gives %d, %v", data, got, gerr, want, werr)
		}
		var viaJSON struct{ A money.Amount }
		var raw struct{ A json.RawMessage }
		var ref money.Amount
		doc := append(append([]byte(`{"A":`), data...), '}')
		jerr := json.Unmarshal(doc, &viaJSON)
		rerr := json.Unmarshal(doc, &raw)
		if rerr == nil && raw.A != nil {
			ref, rerr = unmarshalReference(raw.A)
		}
		if (jerr == nil) != (rerr == nil) || viaJSON.A != ref {
			t.Fatalf("json.Unmarshal(%s) = %d, %v; in full %d, %v", doc, viaJSON.A, jerr, ref, rerr)
		}
	})
}

func BenchmarkAmountUnmarshalJSON(b *testing.B) {
	b.ReportAllocs()
	data := []byte(`"12345.67"`)
	for b.Loop() {
		var a money.Amount
		if err := a.UnmarshalJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}
