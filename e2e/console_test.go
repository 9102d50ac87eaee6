package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
	printed := startDemo(t, ctx, os.Stderr)
	m := find(t, printed, `console:\s+(http://\S+)/console/\s+\(login (\S+), password (\S+)\)`)
	url, login, password := m[1], m[2], m[3]
	link := find(t, printed, `console link:\s+(http://\S+)`)[1]

	cmd := exec.CommandContext(ctx, node, "console.mjs")
	cmd.Env = append(os.Environ(), "CONSOLE_URL="+url, "CONSOLE_LOGIN="+login, "CONSOLE_PASSWORD="+password, "CONSOLE_LINK="+link,
		"SCREENSHOTS="+screenshotDir(t), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("console.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("console.mjs: %v", err)
	}
	// F2FPAY_UPDATE_DOCS=1 keeps the overview's desktop screenshot as the README's
	// picture of the console.
	if os.Getenv("F2FPAY_UPDATE_DOCS") == "1" {
		png, err := os.ReadFile(filepath.Join(screenshotDir(t), "console-overview-desktop.png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "console.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
