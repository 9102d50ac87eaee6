package alipaysim_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/alipaysim"
)

// The official Alipay Node.js SDK runs the REST ("v3") scenarios with curl(...) —
// response verification always on — and the form scenarios in certificate mode
// (alipayRootCertPath, alipayPublicCertPath, appCertPath) against an in-process sandbox:
// interop/nodesdk/scenarios_rest.mjs and scenarios_cert.mjs. Skipped without node or
// the installed SDK unless F2FPAY_REQUIRE_NODE=1 (see nodeSDK).
func TestNodeSDKRESTAndCertScenarios(t *testing.T) {
	node, dir := nodeSDK(t)
	for _, script := range []string{"scenarios_rest.mjs", "scenarios_cert.mjs"} {
		t.Run(script, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			sim, err := alipaysim.New(ctx, alipaysim.Config{Clock: alipaysim.NewManualClock(time.Now()), Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			defer sim.Close()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
			go srv.Serve(ln)
			defer srv.Close()
			cmd := exec.CommandContext(ctx, node, filepath.Join(dir, script))
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "F2FPAY_SANDBOX_URL=http://"+ln.Addr().String())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s failed (%v):\n%s", script, err, out)
			}
			t.Logf("%s passed:\n%s", script, out)
		})
	}
}
