package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
)

const benchUsage = `Usage: f2fpay bench [flags]

Load test: concurrent simulated cashier terminals doing barcode payments through the
payment service (terminal API → engine → database) against an in-process sandbox, all on
this machine. Reports payments per second, latency percentiles, the service's own added
latency (end-to-end minus the time spent in Alipay calls), memory, and the machine's
RSA-2048 signing rate measured in the same run — every payment costs private-key
operations on both sides (request signature, answer signature, notification signature),
which bounds what any implementation can reach here.

Flags:
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	terminals := fs.Int("terminals", 2*runtime.GOMAXPROCS(0)+2, "concurrent terminals")
	duration := fs.Duration("duration", 15*time.Second, "length of the full-load phase (and of the half-load phase)")
	db := fs.String("db", "", "database: sqlite:PATH or postgres://… (default: SQLite in a temporary directory)")
	notify := fs.Bool("notify", true, "ask the sandbox for notifications (one more RSA signature per payment, as in production)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the full-load phase to `file` (go tool pprof)")
	memprofile := fs.String("memprofile", "", "write a heap profile to `file` after both phases, the sandbox dropped (go tool pprof -sample_index=inuse_space shows what the service kept)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Sample the heap finely enough to split it between the sandbox and the rest (the
	// default, one sample per 512 KiB, cannot tell a slow leak from noise); finer still
	// for a profile to read.
	runtime.MemProfileRate = 64 << 10
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

	signRate := measureSigning(2 * time.Second)
	fmt.Fprintf(stdout, "machine: %d CPUs, RSA-2048 signing %.0f/s (all cores, measured now)\n", runtime.NumCPU(), signRate)

	// The sandbox, in memory so that only its RSA work and HTTP handling count.
	sim, err := alipaysim.New(ctx, alipaysim.Config{Seed: 1})
	if err != nil {
		return err
	}
	simOpen := true
	defer func() {
		if simOpen {
			sim.Close()
		}
	}()
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// The server reaches the sandbox through simRef, so that dropping it at the end
	// leaves nothing holding its records.
	var simRef atomic.Pointer[alipaysim.Sim]
	simRef.Store(sim)
	simSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := simRef.Load(); s != nil {
			s.Handler().ServeHTTP(w, r)
			return
		}
		http.Error(w, "the sandbox is closed", http.StatusServiceUnavailable)
	})}
	go simSrv.Serve(simLn)
	defer simSrv.Close()
	simURL := "http://" + simLn.Addr().String()

	// The service.
	svcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	master := make([]byte, 32)
	rand.Read(master)
	cfg := defaultServeConfig()
	cfg.DB = *db
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
	p, err := provision(ctx, simclient.New(simURL, hc), client.NewAdminClient(svc.URL, "bench", hc), key, client.MerchantRequest{Name: "bench"}, *terminals)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	buyers := make([]string, *terminals)
	for i := range buyers {
		b, err := sim.CreateBuyer(ctx, alipaysim.BuyerSpec{Balance: f2fpay.MaxAmount})
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
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heapBefore := ms.HeapInuse
		simBefore, restBefore := heapSplit()
		cpuBefore := cpuTime()
		res, err := benchPhase(ctx, svc, sim, p, buyers, hc, d, rate)
		if err != nil {
			return nil, err
		}
		res.cpu = cpuTime() - cpuBefore
		paidTotal += res.paid
		runtime.GC()
		runtime.ReadMemStats(&ms)
		res.print(stdout, name, ceiling, heapBefore, ms.HeapInuse)
		if res.paid > 0 {
			// CPU per payment holds still on a shared machine where payments/s do not:
			// the RSA part is what the ceiling counts, the rest is everything else.
			rsa := time.Duration(float64(ops) * float64(runtime.GOMAXPROCS(0)) / signRate * float64(time.Second))
			fmt.Fprintf(stdout, "  CPU (whole process: terminals, service, sandbox) %s per payment, of which RSA ≈ %s\n",
				(res.cpu / time.Duration(res.paid)).Round(10*time.Microsecond), rsa.Round(10*time.Microsecond))
			// The in-memory sandbox keeps every trade, code and notification, as Alipay
			// keeps its records: its heap grows with the payments by design. What must
			// stay flat is the rest.
			simAfter, restAfter := heapSplit()
			fmt.Fprintf(stdout, "  live heap (sampled): sandbox %d → %d KiB (%+d B per payment); service and terminals %d → %d KiB (%+d B per payment)\n",
				simBefore>>10, simAfter>>10, (simAfter-simBefore)/int64(res.paid),
				restBefore>>10, restAfter>>10, (restAfter-restBefore)/int64(res.paid))
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
	_, restStart := heapSplit()
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
	// Whether the service's memory is flat, without the sandbox's records in the way:
	// drop the sandbox and weigh what is left (the service, its connections, and the
	// terminals' results) against the same before the first phase.
	simSrv.Close()
	sim.Close()
	simRef.Store(nil)
	simOpen, sim = false, nil
	_, restAfter := heapSplit()
	fmt.Fprintf(stdout, "without the sandbox: live heap %d KiB before the phases, %d KiB after %d payments\n",
		restStart>>10, restAfter>>10, paidTotal)
	if *memprofile != "" {
		if err := writeHeapProfile(*memprofile); err != nil {
			return err
		}
	}
	return nil
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

// measureSigning returns RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second on all
// cores, the physical floor of every Alipay call.
func measureSigning(d time.Duration) float64 {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	key.Precompute()
	digest := sha256.Sum256([]byte("app_id=2021000000000001&biz_content={}&method=alipay.trade.pay"))
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

type benchResult struct {
	elapsed  time.Duration
	cpu      time.Duration // user + system time of the process during the phase
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

// heapSplit estimates the live heap allocated under the in-process sandbox's code and
// the live heap allocated by everything else, from the heap profile's samples scaled
// as pprof scales them.
func heapSplit() (sandbox, rest int64) {
	// The profile is as of the last completed collection; two make sure it is now.
	runtime.GC()
	runtime.GC()
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, false)
	for {
		recs = make([]runtime.MemProfileRecord, n+64)
		var ok bool
		if n, ok = runtime.MemProfile(recs, false); ok {
			recs = recs[:n]
			break
		}
	}
	rate := float64(runtime.MemProfileRate)
	for _, r := range recs {
		count, size := r.InUseObjects(), r.InUseBytes()
		if count <= 0 || size <= 0 {
			continue
		}
		bytes := float64(size)
		if rate > 1 {
			avg := bytes / float64(count)
			bytes /= 1 - math.Exp(-avg/rate)
		}
		frames := runtime.CallersFrames(r.Stack())
		inSim := false
		for {
			f, more := frames.Next()
			if strings.HasPrefix(f.Function, "github.com/f2fpay/f2fpay/alipaysim.") {
				inSim = true
				break
			}
			if !more {
				break
			}
		}
		if inSim {
			sandbox += int64(bytes)
		} else {
			rest += int64(bytes)
		}
	}
	return sandbox, rest
}

// cpuTime is the user + system CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPhase runs the terminals for d; rate > 0 paces the total to that many payments
// per second.
func benchPhase(ctx context.Context, svc *service, sim *alipaysim.Sim, p *provisioned, buyers []string, hc *http.Client, d time.Duration, rate float64) (*benchResult, error) {
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
	start := time.Now()
	var wg sync.WaitGroup
	for i, term := range p.Terminals {
		wg.Add(1)
		c := terminalClient(svc.URL, term, hc)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if pace != nil {
					select {
					case <-pace:
					case <-time.After(time.Until(deadline)):
						return
					}
				}
				code, err := sim.IssuePaymentCode(ctx, buyers[i])
				if err != nil {
					mu.Lock()
					res.errors++
					mu.Unlock()
					continue
				}
				t0 := time.Now()
				pay, err := c.PayBarcode(ctx, client.BarcodeRequest{AuthCode: code.Code, Amount: 1234, Subject: "bench"})
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
	for _, s := range samples {
		res.latency = append(res.latency, s.latency)
		o, err := svc.Storage.FindOrder(ctx, s.outTradeNo)
		if err != nil {
			return nil, err
		}
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
