package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// startDemo builds the real binary and runs `f2fpay demo` (the sandbox, the payment
// engine, SQLite, the console and the member pages) until its scripted payments are
// done, returning what it printed. Its log goes to logw (the member pages' development
// SMS sender writes its codes there); it is stopped with an interrupt at the end of
// the test.
func startDemo(t *testing.T, ctx context.Context, logw io.Writer) []string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "f2fpay")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "../cmd/f2fpay")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	demo := exec.CommandContext(ctx, bin, "demo", "-dir", filepath.Join(dir, "demo"),
		"-listen", "127.0.0.1:0", "-sandbox-listen", "127.0.0.1:0")
	stdout, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	demo.Stderr = logw
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		demo.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- demo.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			demo.Process.Kill()
		}
	})
	var printed []string
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := lines.Text()
		t.Log(line)
		printed = append(printed, line)
		if regexp.MustCompile(`partial refund of 2.34`).MatchString(line) {
			break // the scripted payments are done: two paid orders, one refund
		}
	}
	go io.Copy(io.Discard, stdout)
	return printed
}

// find returns the first submatches of re in lines, or fails the test.
func find(t *testing.T, lines []string, re string) []string {
	t.Helper()
	r := regexp.MustCompile(re)
	for _, l := range lines {
		if m := r.FindStringSubmatch(l); m != nil {
			return m
		}
	}
	t.Fatalf("the demo printed nothing like %s", re)
	return nil
}
