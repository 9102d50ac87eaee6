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

// TestSimulator is issue 15's browser proof, on the real binary (`f2fpay demo`: the
// sandbox, the service, SQLite, the simulated machines of package devicesim): the
// machines' screens at desktop and phone sizes in both languages; an ordinary vend of
// two items paid by QR in the sandbox wallet with one slot jammed — that item refunded
// by itself, the buyer's balance down by exactly the other; a face vend in weak light
// falling back to a QR, one charge; the cabinet — a new buyer signs the agreement in
// the sandbox wallet, opens the door, takes three items, closes it and is charged for
// three; then a charge refused for balance, the door refused meanwhile, a top-up, and
// the debt paid. simulator.mjs skips (and says so) a scenario whose endpoints the
// service does not serve yet. Screenshots go to simulator-screenshots/.
func TestSimulator(t *testing.T) {
	chromium, node := browserSetup(t)
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	logFile := filepath.Join(t.TempDir(), "service.log")
	log, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	printed := startDemo(t, ctx, io.MultiWriter(log, os.Stderr))
	service := find(t, printed, `payment service: +(http://[^/\s]+)/`)[1]
	sandbox := find(t, printed, `Alipay sandbox: +(http://[^/\s]+)/`)[1]
	buyer := find(t, printed, `buyer (2088\d{12})`)[1]
	ordinary := find(t, printed, `ordinary: +(http://\S+/sim/\d+)`)[1]
	face := find(t, printed, `face: +(http://\S+/sim/\d+)`)[1]
	cabinet := find(t, printed, `cabinet: +(http://\S+/sim/\d+)`)[1]

	shots := filepath.Join(screenshotDir(t), "simulator")
	if err := os.RemoveAll(shots); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node, "simulator.mjs")
	cmd.Env = append(os.Environ(), "SERVICE_URL="+service, "SANDBOX_URL="+sandbox, "BUYER_ID="+buyer,
		"ORDINARY_URL="+ordinary, "FACE_URL="+face, "CABINET_URL="+cabinet,
		"SERVICE_LOG="+logFile, "SCREENSHOTS="+shots, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("simulator.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("simulator.mjs: %v", err)
	}
}
