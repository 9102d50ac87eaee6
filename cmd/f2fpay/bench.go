package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/cpustat"
)

const benchUsage = `Usage: f2fpay bench [flags]

Load test: concurrent simulated cashier terminals doing barcode payments through the
payment service (terminal API → engine → database) against the sandbox, all on this
machine. The sandbox stands in for Alipay's servers, so it runs in a process of its own
(this binary's "sandbox" command), as Alipay would on machines of its own — but on the
same cores, so its signatures count against the same CPU.

Reports payments per second, latency percentiles, the service's own added latency
(end-to-end minus the time spent in Alipay calls), CPU and memory, and the machine's
RSA-2048 signing rate measured in the same run — every payment costs private-key
operations on both sides (request signature, answer signature, notification signature),
which bounds what any implementation can reach here.

Flags:
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	terminals := fs.Int("terminals", 16, "concurrent terminals")
	duration := fs.Duration("duration", 15*time.Second, "length of the full-load phase (and of the half-load phase)")
	db := fs.String("db", "", "database: sqlite:PATH or postgres://… (default: SQLite in a temporary directory)")
	notify := fs.Bool("notify", true, "ask the sandbox for notifications (one more RSA signature per payment, as in production)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the full-load phase to `file`, and one of the sandbox's whole run to file.sandbox (go tool pprof)")
	memprofile := fs.String("memprofile", "", "write a heap profile of the service to `file` after both phases (go tool pprof -sample_index=inuse_space)")
	speed := fs.Bool("openssl-speed", true, "also run `openssl speed rsa2048` for 3 s, when the openssl command is installed, as the machine's ceiling")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *memprofile != "" {
		runtime.MemProfileRate = 4096
	}
	if *terminals < 1 || *duration <= 0 {
		return &usageError{"bench: -terminals must be ≥ 1 and -duration > 0"}
	}
	tmp, err := os.MkdirTemp("", "f2fpay-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if *db == "" {
		*db = "sqlite:" + filepath.Join(tmp, "bench.db")
	}
	if strings.HasPrefix(*db, "postgres://") || strings.HasPrefix(*db, "postgresql://") {
		// A schema of its own, dropped at the end: runs neither see nor leave data.
		dsn, drop, err := benchSchema(ctx, *db)
		if err != nil {
			return err
		}
		defer drop()
		*db = dsn
	}

	rates, err := measureSigningRates(ctx, *speed)
	if err != nil {
		return err
	}
	rates.print(stdout)
	signRate := rates.inUse

	// The sandbox, in memory, in its own process.
	var simArgs []string
	if *cpuprofile != "" {
		simArgs = append(simArgs, "--cpuprofile", *cpuprofile+".sandbox")
	}
	sandbox, err := startBenchSandbox(ctx, stderr, simArgs...)
	if err != nil {
		return err
	}
	defer sandbox.stop()

	// The service.
	svcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	master := make([]byte, 32)
	rand.Read(master)
	cfg := defaultServeConfig()
	cfg.DB = *db
	cfg.AdminListen = ""
	cfg.MasterKey = base64.StdEncoding.EncodeToString(master)
	cfg.AdminToken = "bench"
	cfg.LogLevel = "error"
	cfg.QueryInterval = 200 * time.Millisecond
	if *notify {
		cfg.PublicURL = "http://" + svcLn.Addr().String()
	}
	svc, err := startService(ctx, &cfg, io.Discard, stderr, svcLn)
	if err != nil {
		return err
	}
	defer svc.Stop()

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *terminals * 2}, Timeout: 60 * time.Second}
	sim := simclient.New(sandbox.url, hc)
	p, err := provision(ctx, sim, client.NewAdminClient(svc.URL, "bench", hc), key, client.MerchantRequest{Name: "bench"}, *terminals)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	buyers := make([]string, *terminals)
	for i := range buyers {
		b, err := sim.CreateBuyer(ctx, simclient.BuyerSpec{Balance: f2fpay.MaxAmount})
		if err != nil {
			return err
		}
		buyers[i] = b.UserID
	}
	ops := 2
	if *notify {
		ops = 3
	}
	ceiling := signRate / float64(ops)
	fmt.Fprintf(stdout, "service: %s, %d terminals; each payment costs %d RSA private-key operations → ceiling %.0f payments/s\n\n", redactDB(*db), *terminals, ops, ceiling)

	paidTotal := 0
	run := func(name string, d time.Duration, rate float64) (*benchResult, error) {
		heapBefore := liveHeap()
		res, err := benchPhase(ctx, svc, sim, sandbox, p, buyers, hc, d, rate)
		if err != nil {
			return nil, err
		}
		paidTotal += res.paid
		res.print(stdout, name, ceiling, heapBefore, liveHeap())
		if res.paid > 0 {
			// CPU per payment holds still on a shared machine where payments/s do not:
			// the RSA part is what the ceiling counts, the rest is everything else.
			rsa := time.Duration(float64(ops) * float64(runtime.NumCPU()) / rates.inUseCPU * float64(time.Second))
			per := func(d time.Duration) time.Duration { return (d / time.Duration(res.paid)).Round(10 * time.Microsecond) }
			fmt.Fprintf(stdout, "  CPU per payment: %s = service and terminals %s + sandbox %s, of which RSA ≈ %s; the whole machine was busy %s per payment\n",
				per(res.cpu+res.simCPU), per(res.cpu), per(res.simCPU), rsa.Round(10*time.Microsecond), per(res.busy))
			fmt.Fprintf(stdout, "  the %d CPUs alone at that CPU per payment: %s of each RSA ceiling\n", runtime.NumCPU(), rates.shares((res.cpu+res.simCPU)/time.Duration(res.paid), ops))
		}
		fmt.Fprintln(stdout)
		return res, nil
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	heapStart := liveHeap()
	full, err := run("full load", *duration, 0)
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return err
	}
	if _, err := run("half load", *duration, full.rate()/2); err != nil {
		return err
	}
	// The in-memory sandbox keeps every trade, code and notification, as Alipay keeps
	// its records; it is another process. What must stay flat is this one: the
	// service, its connections and the terminals.
	fmt.Fprintf(stdout, "service and terminals: live heap %d KiB before the phases, %d KiB after %d payments\n",
		heapStart>>10, liveHeap()>>10, paidTotal)
	if *memprofile != "" {
		if err := writeHeapProfile(*memprofile); err != nil {
			return err
		}
	}
	return nil
}

// benchSchema creates an empty schema for a bench run on PostgreSQL and returns the
// DSN that uses it (pgx passes search_path on to the server) and its removal.
func benchSchema(ctx context.Context, dsn string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("bench: %w", err)
	}
	defer conn.Close(ctx)
	var b [4]byte
	rand.Read(b[:])
	schema := fmt.Sprintf("f2fpay_bench_%x", b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("bench: %w", err)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	drop := func() {
		ctx := context.WithoutCancel(ctx)
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	}
	return dsn + sep + "search_path=" + schema, drop, nil
}

// liveHeap is the heap in use after a collection: what the process keeps, not what it
// churns.
func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// benchSandbox is the sandbox process of a bench run.
type benchSandbox struct {
	cmd *exec.Cmd
	url string
}

// startBenchSandbox runs this binary's sandbox command on a free port, in memory, and
// waits for it to print its address.
func startBenchSandbox(ctx context.Context, stderr io.Writer, args ...string) (*benchSandbox, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: finding this binary to run the sandbox: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, append([]string{"sandbox", "--listen", "127.0.0.1:0", "--seed", "1"}, args...)...)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting the sandbox: %w", err)
	}
	s := &benchSandbox{cmd: cmd}
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`gateway:\s+(http://\S+)/gateway\.do`)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		close(found)
		io.Copy(io.Discard, out)
	}()
	select {
	case u, ok := <-found:
		if !ok {
			s.stop()
			return nil, errors.New("bench: the sandbox exited before printing its address")
		}
		s.url = u
		return s, nil
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, errors.New("bench: the sandbox did not print its address within 30 s")
	}
}

// stop ends the sandbox with SIGTERM, so that it writes its profile, and kills it if
// it has not exited within 5 s.
func (s *benchSandbox) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// cpuTime is the user + system CPU time the sandbox process has used so far, from
// /proc (0 where there is none).
func (s *benchSandbox) cpuTime() time.Duration {
	d, _ := cpustat.Pid(s.cmd.Process.Pid)
	return d
}

// writeHeapProfile writes the live heap after a collection, so what it shows is what
// the run kept, not what it churned.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type benchResult struct {
	elapsed  time.Duration
	cpu      time.Duration // user + system time of this process during the phase
	simCPU   time.Duration // the same of the sandbox process
	busy     time.Duration // CPU time the whole machine spent busy (all processes, a database server included)
	paid     int
	other    map[string]int
	errors   int
	latency  []time.Duration // end to end, per paid payment
	overhead []time.Duration // end to end minus the order's Alipay call time
}

func (r *benchResult) rate() float64 { return float64(r.paid) / r.elapsed.Seconds() }

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func (r *benchResult) print(w io.Writer, name string, ceiling float64, heapBefore, heapAfter uint64) {
	fmt.Fprintf(w, "%s: %d payments in %s = %.0f payments/s (%.0f%% of the RSA ceiling); errors %d, other outcomes %v\n",
		name, r.paid, r.elapsed.Round(time.Millisecond), r.rate(), 100*r.rate()/ceiling, r.errors, r.other)
	fmt.Fprintf(w, "  latency end to end: p50 %s  p99 %s;  service's own: p50 %s  p99 %s;  heap %d → %d KiB\n",
		pct(r.latency, .5).Round(10*time.Microsecond), pct(r.latency, .99).Round(10*time.Microsecond),
		pct(r.overhead, .5).Round(10*time.Microsecond), pct(r.overhead, .99).Round(10*time.Microsecond),
		heapBefore>>10, heapAfter>>10)
}

// machineBusy is the CPU time all cores have spent not idle since boot, from
// /proc/stat (0 where there is none): with a local database server it counts the
// server's work too, and anything else the machine was doing.
func machineBusy() time.Duration {
	d, _ := cpustat.Machine()
	return d
}

// benchPhase runs the terminals for d; rate > 0 paces the total to that many payments
// per second.
func benchPhase(ctx context.Context, svc *service, sim *simclient.Client, sandbox *benchSandbox, p *provisioned, buyers []string, hc *http.Client, d time.Duration, rate float64) (*benchResult, error) {
	res := &benchResult{other: map[string]int{}}
	var mu sync.Mutex
	type sample struct {
		outTradeNo string
		latency    time.Duration
	}
	var samples []sample
	var pace <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer t.Stop()
		pace = t.C
	}
	deadline := time.Now().Add(d)
	cpuBefore, simBefore, busyBefore := cpustat.Process(), sandbox.cpuTime(), machineBusy()
	start := time.Now()
	var wg sync.WaitGroup
	for i, term := range p.Terminals {
		wg.Add(1)
		c := terminalClient(svc.URL, term, hc)
		go func() {
			defer wg.Done()
			// A real cashier scans the code; here it comes from the sandbox, a batch at
			// a time, so the harness costs the machine little beside the payment. Codes
			// live a minute: a batch older than 40 s is dropped.
			var codes []string
			var fetched time.Time
			for time.Now().Before(deadline) {
				if pace != nil {
					select {
					case <-pace:
					case <-time.After(time.Until(deadline)):
						return
					}
				}
				if len(codes) == 0 || time.Since(fetched) > 40*time.Second {
					var err error
					if codes, err = sim.PaymentCodes(ctx, buyers[i], 20); err != nil || len(codes) == 0 {
						mu.Lock()
						res.errors++
						mu.Unlock()
						continue
					}
					fetched = time.Now()
				}
				code := codes[0]
				codes = codes[1:]
				t0 := time.Now()
				pay, err := c.PayBarcode(ctx, client.BarcodeRequest{AuthCode: code, Amount: 1234, Subject: "bench"})
				lat := time.Since(t0)
				mu.Lock()
				switch {
				case err != nil:
					res.errors++
				case pay.State == client.StatePaid:
					res.paid++
					samples = append(samples, sample{pay.OutTradeNo, lat})
				default:
					res.other[pay.State]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	// The CPU of the load, not of the bookkeeping below.
	res.cpu, res.simCPU, res.busy = cpustat.Process()-cpuBefore, sandbox.cpuTime()-simBefore, machineBusy()-busyBefore
	for _, s := range samples {
		res.latency = append(res.latency, s.latency)
		// The bench's terminals share one app, so the number alone names the order.
		os, err := svc.Storage.ListOrders(ctx, f2fpay.OrderFilter{OutTradeNo: s.outTradeNo, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(os) == 0 {
			return nil, fmt.Errorf("order %s not found", s.outTradeNo)
		}
		o := os[0]
		calls, err := svc.Storage.OrderCalls(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		var alipayTime time.Duration
		for _, c := range calls {
			alipayTime += c.Latency
		}
		res.overhead = append(res.overhead, s.latency-alipayTime)
	}
	return res, nil
}
