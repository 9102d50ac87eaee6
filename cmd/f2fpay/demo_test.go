package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemoOnce runs the README's first command the way a newcomer would, twice on the
// same directory: the second run must find its app and buyer again.
func TestDemoOnce(t *testing.T) {
	dir := t.TempDir()
	for run := 1; run <= 2; run++ {
		var out, errb bytes.Buffer
		err := run_(t, []string{"demo", "-once", "-dir", dir, "-listen", "127.0.0.1:0"}, &out, &errb)
		if err != nil {
			t.Fatalf("run %d: %v\n%s%s", run, err, out.String(), errb.String())
		}
		for _, want := range []string{"PAID: trade", "WAITING", "TRADE_SUCCESS", "refunded so far 2.34"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("run %d: output lacks %q:\n%s", run, want, out.String())
			}
		}
	}
}

func run_(t *testing.T, args []string, stdout, stderr *bytes.Buffer) error {
	t.Helper()
	return run(context.Background(), args, strings.NewReader(""), stdout, stderr)
}
