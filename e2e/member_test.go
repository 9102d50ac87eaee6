package e2e

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestMemberOneTap is issue 12's browser proof, on the real binary (`f2fpay demo`:
// the sandbox, the service, SQLite): a new buyer scans the vending machine's QR
// (/m/{terminal}), is sent through the sandbox's silent authorisation and auth_user
// consent, verifies a phone with the SMS code the development sender writes to the
// service's log, is bound, pays the machine's sale in the sandbox wallet (tradePay)
// and is sent back to the result page, while the machine long-polls its sale to PAID;
// then a second sale is paid from a second visit that signs in silently, in one tap.
// member.mjs drives Chromium at a phone's size and keeps a screenshot of every page
// (member-screenshots/).
func TestMemberOneTap(t *testing.T) {
	chromium, node := browserSetup(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	logFile := filepath.Join(t.TempDir(), "service.log")
	log, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	printed := startDemo(t, ctx, io.MultiWriter(log, os.Stderr))
	memberURL := find(t, printed, `vending machine: +(http://\S+/m/\d+)`)[1]
	machineKey := find(t, printed, `machine key: +(\S+)`)[1]
	service := find(t, printed, `payment service: +(http://[^/\s]+)/`)[1]
	buyer := find(t, printed, `buyer (2088\d{12})`)[1]

	shots := filepath.Join(screenshotDir(t), "member")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node, "member.mjs")
	cmd.Env = append(os.Environ(), "MEMBER_URL="+memberURL, "SERVICE_URL="+service, "MACHINE_KEY="+machineKey,
		"BUYER_ID="+buyer, "SERVICE_LOG="+logFile, "SCREENSHOTS="+shots, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("member.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("member.mjs: %v", err)
	}
}
