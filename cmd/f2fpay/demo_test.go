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
	// Fixed ports across the two runs, as a person rerunning the demo has: the service
	// keeps the sandbox's address as the app's gateway.
	simAddr, svcAddr := "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	for run := 1; run <= 2; run++ {
		var out, errb bytes.Buffer
		err := run_(t, []string{"demo", "-once", "-dir", dir, "-listen", svcAddr, "-sandbox-listen", simAddr}, &out, &errb)
		if err != nil {
			t.Fatalf("run %d: %v\n%s%s", run, err, out.String(), errb.String())
		}
		for _, want := range []string{"PAID: order", "WAITING: above", "PAID: buyer paid 388.00", "partial refund of 2.34 on ", ": SUCCEEDED"} {
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

func TestDemoRefusesAMovedSandbox(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if err := run_(t, []string{"demo", "-once", "-dir", dir, "-listen", "127.0.0.1:0", "-sandbox-listen", "127.0.0.1:" + freePort(t)}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	err := run_(t, []string{"demo", "-once", "-dir", dir, "-listen", "127.0.0.1:0", "-sandbox-listen", "127.0.0.1:" + freePort(t)}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "was set up with the sandbox at") {
		t.Fatalf("err = %v", err)
	}
}
