package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
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

// TestDemoNextSteps runs the shell commands the demo prints for the newcomer, as
// printed, with bash and curl: take a payment code and pay with it; make Alipay lose
// its answer and pay again; look the payment up.
func TestDemoNextSteps(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed", "tr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs curl)", tool)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "-dir", t.TempDir(), "-listen", "127.0.0.1:" + freePort(t),
			"-sandbox-listen", "127.0.0.1:" + freePort(t)}, strings.NewReader(""), &out, &errb)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v\n%s", err, errb.String())
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "Now you") {
		if time.Now().After(deadline) {
			t.Fatalf("the demo printed no next steps within 60 s:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the rest of the text
	lines := strings.Split(out.String(), "\n")
	var pay, fault, lookup string
	for i, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "CODE=$(curl"):
			pay = strings.Join(lines[i:i+3], "\n") // the code, and the payment over two lines
		case strings.HasPrefix(l, "curl -s -X POST") && strings.Contains(l, "/sandbox/faults"):
			fault = l
		case strings.HasPrefix(l, "curl -s ") && strings.Contains(l, "/v1/payments/<out_trade_no>"):
			lookup = l
		}
	}
	if pay == "" || fault == "" || lookup == "" {
		t.Fatalf("next steps not found in:\n%s", out.String())
	}
	sh := func(script string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s\n→ %v: %s", script, err, got)
		}
		return string(got)
	}
	var p struct {
		OutTradeNo  string `json:"out_trade_no"`
		State       string `json:"state"`
		TotalAmount string `json:"total_amount"`
	}
	decode := func(what, answer string) {
		t.Helper()
		p.State = ""
		if err := json.Unmarshal([]byte(answer), &p); err != nil || p.State != "PAID" || p.TotalAmount != "9.99" {
			t.Fatalf("%s: %q (%v), want a PAID payment of 9.99", what, answer, err)
		}
	}
	decode("step 2, pay", sh(pay))
	sh(fault)
	decode("step 3, pay with Alipay's answer lost", sh(pay))
	decode("step 4, look it up", sh(strings.ReplaceAll(lookup, "<out_trade_no>", p.OutTradeNo)))
}
