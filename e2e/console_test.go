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

// TestConsole runs `f2fpay demo` — the real binary: the sandbox, the payment engine,
// SQLite — and drives its operator console in Chromium (console.mjs): log in, see the
// overview's chart, find a payment, refund part of it, find the refund in the audit
// log. Screenshots at desktop and phone sizes go where the wallet's go.
func TestConsole(t *testing.T) {
	chromium, node := browserSetup(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
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
	demo.Stderr = os.Stderr
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		demo.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- demo.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			demo.Process.Kill()
		}
	}()
	consoleLine := regexp.MustCompile(`console:\s+(http://\S+)/console/\s+\(login (\S+), password (\S+)\)`)
	var url, login, password string
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := lines.Text()
		t.Log(line)
		if m := consoleLine.FindStringSubmatch(line); m != nil {
			url, login, password = m[1], m[2], m[3]
		}
		if regexp.MustCompile(`partial refund of 2.34`).MatchString(line) {
			break // the scripted payments are done: two paid orders, one refund
		}
	}
	if url == "" {
		t.Fatal("the demo printed no console login")
	}
	go io.Copy(io.Discard, stdout)

	cmd := exec.CommandContext(ctx, node, "console.mjs")
	cmd.Env = append(os.Environ(), "CONSOLE_URL="+url, "CONSOLE_LOGIN="+login, "CONSOLE_PASSWORD="+password,
		"SCREENSHOTS="+screenshotDir(t), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("console.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("console.mjs: %v", err)
	}
}
