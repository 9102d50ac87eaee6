package vend_test

import (
	"encoding/json"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/vend"
)

// FuzzParseCommandKey: any key parses or is refused without panicking, and what
// parses prints back to the same key.
func FuzzParseCommandKey(f *testing.F) {
	for _, k := range []string{"vend:42:item:1", "vend:1:item:10", "vend::item:1", "vend:-1:item:1", "order:1", "vend:9:item:"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		id, n, ok := vend.ParseCommandKey(key)
		if !ok {
			return
		}
		if id <= 0 || n <= 0 {
			t.Fatalf("%q parsed to %d, %d", key, id, n)
		}
		if back := vend.CommandKey(id, n); back != key {
			// Leading zeros or a sign parse too; the key the service makes is canonical.
			if id2, n2, ok2 := vend.ParseCommandKey(back); !ok2 || id2 != id || n2 != n {
				t.Fatalf("%q → %d, %d → %q", key, id, n, back)
			}
		}
	})
}

// FuzzParseResult: whatever a machine acknowledges with reads as delivered or failed,
// and only a well-formed "delivered" reads as delivered.
func FuzzParseResult(f *testing.F) {
	for _, s := range []string{`{"outcome":"delivered"}`, `{"outcome":"failed","code":"JAMMED"}`, ``, `null`, `{"outcome":"DELIVERED"}`,
		`{"outcome":"delivered","code":"` + string(make([]byte, 40)) + `"}`, `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := vend.ParseResult(json.RawMessage(raw))
		if err := r.Check(); err != nil {
			t.Fatalf("%q parsed to an invalid result %+v: %v", raw, r, err)
		}
		if r.Outcome == f2fpay.OutcomeDelivered {
			var x vend.Result
			if json.Unmarshal(raw, &x) != nil || x.Outcome != f2fpay.OutcomeDelivered {
				t.Fatalf("%q read as delivered", raw)
			}
		}
	})
}

func TestResultTable(t *testing.T) {
	for raw, want := range map[string]vend.Result{
		`{"outcome":"delivered"}`:                {Outcome: "delivered"},
		`{"outcome":"failed","code":"JAMMED"}`:   {Outcome: "failed", Code: "JAMMED"},
		``:                                       {Outcome: "failed", Code: "NO_OUTCOME"},
		`{"outcome":"ok"}`:                       {Outcome: "failed", Code: "NO_OUTCOME"},
		`{"outcome":"failed","code":"bad code"}`: {Outcome: "failed", Code: "NO_OUTCOME"},
	} {
		if got := vend.ParseResult(json.RawMessage(raw)); got != want {
			t.Errorf("%q: %+v, want %+v", raw, got, want)
		}
	}
}
