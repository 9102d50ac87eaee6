package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"time"

	"github.com/f2fpay/f2fpay/alipaysim"
)

const sandboxUsage = `Usage: f2fpay sandbox [flags]

Run the offline, stateful Alipay gateway simulator. Point any Alipay SDK at
http://ADDR/gateway.do; drive buyers, QR scans, confirmations, faults and the clock
through the JSON control API under http://ADDR/sandbox/.

Flags:
`

// runSandbox implements "f2fpay sandbox".
func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, sandboxUsage); fs.PrintDefaults() }
	listen := fs.String("listen", "127.0.0.1:8090", "`address` to listen on")
	data := fs.String("data", "", "`directory` for the SQLite state (sandbox.db); empty keeps everything in memory")
	scale := fs.Float64("time-scale", 1, "run the sandbox clock `N` times faster than real time (timeouts, code expiry, notification retries)")
	manual := fs.Bool("manual-clock", false, "stop the clock; move it with POST /sandbox/clock/advance")
	seed := fs.Uint64("seed", 0, "seed for identifiers and probabilistic faults (0: random)")
	publicURL := fs.String("public-url", "", "`URL` clients use to reach the sandbox, for qr_code links (default: the request's Host)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `file` (go tool pprof); f2fpay bench uses it")
	window := fs.Duration("refund-window", alipaysim.DefaultRefundWindow, "how long after payment a trade can be refunded; then it becomes TRADE_FINISHED (with a notification) and refunds are refused; negative: never")
	skew := fs.Duration("timestamp-skew", 0, "refuse requests whose timestamp (Beijing time) is further than this from the sandbox clock; 0 checks only the format, because most SDKs send host-local time")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("sandbox: unexpected argument %q", fs.Arg(0))}
	}
	if *scale < 1 {
		return &usageError{"sandbox: --time-scale must be at least 1"}
	}
	if *manual && *scale != 1 {
		return &usageError{"sandbox: --manual-clock and --time-scale exclude each other"}
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	cfg := alipaysim.Config{Seed: *seed, PublicURL: *publicURL, TimestampSkew: *skew, RefundWindow: *window,
		Logf: func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) }}
	switch {
	case *manual:
		cfg.Clock = alipaysim.NewManualClock(time.Now())
	case *scale != 1:
		cfg.Clock = alipaysim.NewScaledClock(*scale)
	}
	if *data != "" {
		st, err := alipaysim.OpenSQLiteStore(ctx, *data)
		if err != nil {
			return err
		}
		defer st.Close()
		cfg.Store = st
	}
	sim, err := alipaysim.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer sim.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	base := "http://" + ln.Addr().String()
	state := "in memory (lost on exit; use --data DIR to keep it)"
	if *data != "" {
		state = *data + "/sandbox.db"
	}
	fmt.Fprintf(stdout, `f2fpay sandbox: the offline Alipay gateway
  gateway:     %s/gateway.do
  control API: %s/sandbox/
  state:       %s   seed: %d
  Alipay public key (支付宝公钥): %s

How to use:
  1. curl -X POST %[2]s/sandbox/apps -d '{"app_public_key":"<your app public key>"}'   → app_id, alipay_public_key
  2. curl -X POST %[2]s/sandbox/buyers -d '{"balance":"100.00"}'   → user_id; then POST %[2]s/sandbox/buyers/<user_id>/payment-codes → auth_code
  3. point your SDK at %[1]s/gateway.do with that app_id and alipay_public_key, and call alipay.trade.pay with the auth_code
`, base, base+"", state, sim.Seed(), sim.AlipayPublicKey())

	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("sandbox: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sandbox: shutdown: %w", err)
	}
	fmt.Fprintln(stdout, "f2fpay sandbox: stopped")
	return nil
}
