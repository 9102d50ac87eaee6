package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
)

var (
	crashKills = flag.Int("crash.kills", 24, "SIGKILLs of the service in TestCrashSafety (hundreds for a long run)")
	crashSeed  = flag.Uint64("crash.seed", 0, "seed of TestCrashSafety's kill schedule and faults (0: random, printed)")
)

// TestCrashSafety runs the service as a separate process against a separate sandbox
// process, sends barcode payments through it while the sandbox injects lost answers,
// 20000s, 10003s and cancel retries, and kills the service with SIGKILL at random
// moments, restarting it each time. At the end every order must be final and agree with
// the sandbox's own records: a trade the buyer paid is PAID in f2fpay (or was cancelled
// and refunded), an unpaid one is not PAID, and each buyer's balance is exactly the
// initial one minus what f2fpay says they paid — nobody charged twice, nothing lost.
func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	crashTest(t, "sqlite:"+filepath.Join(dir, "f2fpay.db"), 1)
}

// TestCrashSafetyPostgres is TestCrashSafety with two service instances sharing one
// PostgreSQL database, each killed at random: the survivors' janitors and webhook
// workers take over through leases, and the invariants are the same.
func TestCrashSafetyPostgres(t *testing.T) {
	base := os.Getenv("F2FPAY_TEST_POSTGRES")
	if base == "" {
		t.Skip("F2FPAY_TEST_POSTGRES is not set (CI sets it)")
	}
	crashTest(t, postgresSchema(t, base, "crash"), 2)
}

func crashTest(t *testing.T, db string, instances int) {
	if testing.Short() {
		t.Skip("-short: the crash test runs several processes for a minute")
	}
	seed := *crashSeed
	if seed == 0 {
		seed = mrand.Uint64()
	}
	t.Logf("seed %d (rerun with -crash.seed=%d), %d kills", seed, seed, *crashKills)
	rng := mrand.New(mrand.NewPCG(seed, 1))
	// Each kill costs up to 1.5 s of load and a restart; then everything settles.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute+time.Duration(*crashKills)*3*time.Second)
	defer cancel()
	bin := buildF2fpay(t)
	dir := t.TempDir()

	sandbox := startProcess(t, bin, nil, "sandbox", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "sandbox"), "--seed", fmt.Sprint(seed))
	defer sandbox.kill()
	simURL := sandbox.waitFor(t, regexp.MustCompile(`gateway:\s+(http://\S+)/gateway\.do`))
	sim := simclient.New(simURL, nil)

	master := make([]byte, 32)
	rand.Read(master)
	// Each instance has its own port (kept across restarts, so the notify_url Alipay
	// was given stays valid) and its own name in leases.
	urls := make([]string, instances)
	envs := make([][]string, instances)
	svcs := make([]*process, instances)
	var svcMu sync.Mutex
	for i := range instances {
		port := freePort(t)
		urls[i] = "http://127.0.0.1:" + port
		envs[i] = []string{
			"F2FPAY_MASTER_KEY=" + base64.StdEncoding.EncodeToString(master),
			"F2FPAY_ADMIN_TOKEN=crash-admin",
			"F2FPAY_DB=" + db,
			"F2FPAY_LISTEN=127.0.0.1:" + port,
			"F2FPAY_PUBLIC_URL=" + urls[i],
			"F2FPAY_INSTANCE=" + fmt.Sprintf("crash-%d", i),
			"F2FPAY_QUERY_INTERVAL=300ms", "F2FPAY_QUERY_COUNT=5",
			"F2FPAY_CANCEL_INTERVAL=300ms", "F2FPAY_CANCEL_COUNT=3",
			// The slower schedule after those, shortened like the rest: with Alipay's
			// real pace (1m, 5m, 30m) a cancel refused four times just before the faults
			// stop would be retried only after the settling window below ends.
			"F2FPAY_CANCEL_BACKOFF=1s,2s,5s",
			"F2FPAY_JANITOR_INTERVAL=300ms", "F2FPAY_LOG_LEVEL=warn",
		}
		svcs[i] = startProcess(t, bin, envs[i], "serve", "-admin-listen=")
		waitReady(t, urls[i])
	}
	defer func() {
		svcMu.Lock()
		for _, s := range svcs {
			s.kill()
		}
		svcMu.Unlock()
	}()

	admin := client.NewAdminClient(urls[0], "crash-admin", nil)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const workers = 4
	p, err := provision(ctx, sim, admin, key, client.MerchantRequest{Name: "crash"}, workers)
	if err != nil {
		t.Fatal(err)
	}
	initial := f2fpay.MustParseAmount("100000.00")
	buyers := make([]string, workers)
	for i := range buyers {
		b, err := sim.CreateBuyer(ctx, simclient.BuyerSpec{Balance: initial})
		if err != nil {
			t.Fatal(err)
		}
		buyers[i] = b.UserID
	}
	for _, f := range []simclient.Fault{
		{Kind: "drop_response", Method: "alipay.trade.pay", Probability: 0.15},
		{Kind: "system_error", Method: "alipay.trade.pay", Probability: 0.1},
		{Kind: "pay_pending", Method: "alipay.trade.pay", Probability: 0.15, Delay: "700ms", ResolveTo: "paid"},
		{Kind: "pay_pending", Method: "alipay.trade.pay", Probability: 0.05, Delay: "5s", ResolveTo: "paid"},
		{Kind: "drop_response", Method: "alipay.trade.query", Probability: 0.1},
		{Kind: "cancel_retry", Method: "alipay.trade.cancel", Probability: 0.3},
		{Kind: "drop_response", Method: "alipay.trade.cancel", Probability: 0.1},
		{Kind: "notify_drop", Probability: 0.3},
	} {
		if _, err := sim.AddFault(ctx, f); err != nil {
			t.Fatalf("fault %+v: %v", f, err)
		}
	}

	// Terminals pay until the killer is done.
	stop := make(chan struct{})
	var attempts, answered atomic.Int64
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 10 * time.Second}
	for i := range workers {
		wg.Add(1)
		term := terminalClient(urls[i%instances], p.Terminals[i], hc)
		wrng := mrand.New(mrand.NewPCG(seed, uint64(i)+2))
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, err := sim.PaymentCode(ctx, buyers[i])
				if err != nil {
					t.Errorf("payment code: %v", err)
					return
				}
				attempts.Add(1)
				amount := f2fpay.Amount(100 + wrng.Int64N(9900))
				_, err = term.PayBarcode(ctx, client.BarcodeRequest{
					AuthCode: code, Amount: amount, Subject: "crash test",
					WaitSeconds: 3, PayTimeoutSeconds: 2,
				})
				if err == nil {
					answered.Add(1)
				} else {
					// The service died under the request: the terminal gives up on this
					// sale; whatever reached Alipay is the janitor's to resolve.
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	for k := 0; k < *crashKills; k++ {
		time.Sleep(time.Duration(200+rng.IntN(1300)) * time.Millisecond)
		i := rng.IntN(instances)
		svcMu.Lock()
		svcs[i].kill()
		svcs[i] = startProcess(t, bin, envs[i], "serve", "-admin-listen=")
		svcMu.Unlock()
		waitReady(t, urls[i])
	}
	close(stop)
	wg.Wait()
	if err := sim.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}

	// Everything must settle without further help. Every order is read, page by page:
	// a check of the first thousand proves nothing about a long run.
	start := time.Now()
	var orders []client.AdminOrder
	for {
		orders, err = admin.AllOrders(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var open []client.AdminOrder
		for _, o := range orders {
			if !f2fpay.OrderState(o.State).Final() {
				open = append(open, o)
			}
		}
		if len(open) == 0 {
			break
		}
		if time.Since(start) > 2*time.Minute {
			for _, o := range open {
				_, calls, err := admin.Order(ctx, o.OutTradeNo)
				t.Errorf("unresolved: order %s (%s, %s), err %v; its calls:", o.OutTradeNo, o.Kind, o.State, err)
				for _, c := range calls {
					t.Logf("  %s %s %s %s %s", c.At.Format(time.RFC3339Nano), c.Method, c.Outcome, c.Code, c.Message)
				}
			}
			t.Fatalf("%d of %d orders still unresolved after 2 minutes", len(open), len(orders))
		}
		time.Sleep(500 * time.Millisecond)
	}
	settle := time.Since(start)
	byNo := make(map[string]client.AdminOrder, len(orders))
	for _, o := range orders {
		byNo[o.OutTradeNo] = o
	}
	// The other direction: every trade the sandbox holds as paid is a PAID order.
	paidTrades := 0
	for _, status := range []string{"TRADE_SUCCESS", "TRADE_FINISHED"} {
		trades, err := sim.Trades(ctx, p.SandboxApp.AppID, status)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range trades {
			paidTrades++
			if o, ok := byNo[tr.OutTradeNo]; !ok || o.State != string(f2fpay.OrderPaid) {
				t.Errorf("the sandbox holds trade %s (%s, %s) as paid, but f2fpay has order %q in state %q", tr.TradeNo, tr.OutTradeNo, tr.Total, o.OutTradeNo, o.State)
			}
		}
	}

	spent := map[string]f2fpay.Amount{}
	states := map[string]int{}
	for _, o := range orders {
		states[o.State]++
		if o.TradeNo == "" {
			if o.State == string(f2fpay.OrderPaid) {
				t.Errorf("order %s is PAID without a trade_no", o.OutTradeNo)
			}
			continue
		}
		tr, err := sim.Trade(ctx, o.TradeNo)
		if err != nil {
			t.Errorf("order %s: sandbox trade %s: %v", o.OutTradeNo, o.TradeNo, err)
			continue
		}
		if tr.OutTradeNo != o.OutTradeNo || tr.Total != o.TotalAmount {
			t.Errorf("order %s (%s) is trade %s of %s (%s)", o.OutTradeNo, o.TotalAmount, tr.TradeNo, tr.OutTradeNo, tr.Total)
		}
		switch o.State {
		case string(f2fpay.OrderPaid):
			if tr.Status != "TRADE_SUCCESS" {
				t.Errorf("order %s is PAID but the sandbox says %s", o.OutTradeNo, tr.Status)
			}
			spent[tr.BuyerID] += tr.BuyerPay
		default:
			if tr.Status == "TRADE_SUCCESS" || tr.Status == "TRADE_FINISHED" {
				t.Errorf("order %s is %s but the buyer paid (sandbox %s)", o.OutTradeNo, o.State, tr.Status)
			}
		}
	}
	for _, id := range buyers {
		b, err := sim.GetBuyer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := initial - spent[id]; b.Balance != want {
			t.Errorf("buyer %s has %s, want %s: f2fpay's PAID orders and the buyer's money disagree", id, b.Balance, want)
		}
	}
	t.Logf("%d instance(s) on %s: %d kills, %d payment attempts (%d answered), %d orders: %v; %d paid trades at the sandbox; settled %s after the last kill",
		instances, redactDB(db), *crashKills, attempts.Load(), answered.Load(), len(orders), states, paidTrades, settle.Round(time.Millisecond))
	if states[string(f2fpay.OrderPaid)] == 0 {
		t.Error("no payment succeeded: the test exercised nothing")
	}
}

// buildF2fpay builds the binary once per test run.
func buildF2fpay(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "f2fpay")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

type process struct {
	cmd   *exec.Cmd
	lines chan string
	once  sync.Once
}

func startProcess(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, lines: make(chan string, 1024)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default: // nobody reads any more: drop
			}
		}
		io.Copy(io.Discard, out)
	}()
	return p
}

func (p *process) waitFor(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	var seen []string
	for {
		select {
		case l := <-p.lines:
			seen = append(seen, l)
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		case <-timeout:
			t.Fatalf("process did not print %s; it printed:\n%s", re, strings.Join(seen, "\n"))
		}
	}
}

// kill is SIGKILL: no graceful shutdown, no deferred cleanup, exactly a crash.
func (p *process) kill() {
	p.once.Do(func() {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	})
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("service at %s not ready after 30 s", base)
}
