package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/opensslsign"
	"github.com/f2fpay/f2fpay/internal/cpustat"
)

// signingRates are the machine's RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second on
// all cores, measured in this run: the physical floor of every Alipay call, for each way
// of signing.
//
// Each is measured two ways. In wall-clock time on all cores, as payments/s are: on a
// machine shared with other work both fall together. And per CPU-second of this
// process, times the number of CPUs: what the cores could sign if they did nothing
// else, which holds still however busy the machine is, and is how `openssl speed`
// counts (user CPU time, unless -elapsed).
type signingRates struct {
	goRSA, goRSACPU float64 // crypto/rsa, the default build's signer
	fast, fastCPU   float64 // alipay/opensslsign; 0 when the binary was built without -tags openssl
	speed           float64 // `openssl speed`, OpenSSL's own loop, per CPU-second × CPUs; 0 without the openssl command
	// inUse and inUseCPU are the rates of the signer this binary's service and sandbox
	// sign with (alipay.KeySigner): fast with -tags openssl, goRSA otherwise.
	inUse, inUseCPU float64
}

// measureSigningRates measures crypto/rsa and the fast signer in alternating 1 s rounds
// and keeps the best of three of each: on a shared or virtual machine a round can lose
// time to others, and a low rate would flatter every figure measured against it. Then
// `openssl speed` runs for 3 s.
func measureSigningRates(ctx context.Context, runSpeed bool) (signingRates, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return signingRates{}, err
	}
	key.Precompute()
	digest := sha256.Sum256([]byte("app_id=2021000000000001&biz_content={}&method=alipay.trade.pay"))
	var r signingRates
	fast, err := opensslsign.New(key)
	if err == nil {
		defer fast.Close()
	}
	for range 3 {
		wall, cpu := measureSigning(time.Second, func() {
			rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
		})
		r.goRSA, r.goRSACPU = max(r.goRSA, wall), max(r.goRSACPU, cpu)
		if fast != nil {
			wall, cpu := measureSigning(time.Second, func() {
				fast.Sign(nil, digest[:], crypto.SHA256)
			})
			r.fast, r.fastCPU = max(r.fast, wall), max(r.fastCPU, cpu)
		}
	}
	r.inUse, r.inUseCPU = r.goRSA, r.goRSACPU
	if alipay.SigningLibrary() != "crypto/rsa" {
		r.inUse, r.inUseCPU = r.fast, r.fastCPU
	}
	if runSpeed {
		if _, err := exec.LookPath("openssl"); err == nil {
			if r.speed, err = opensslSpeed(ctx); err != nil {
				return r, err
			}
			r.speed *= float64(runtime.NumCPU())
		}
	}
	return r, nil
}

// measureSigning returns how many times per second sign runs on all cores: in wall-clock
// time, and per CPU-second of this process times the number of CPUs.
func measureSigning(d time.Duration, sign func()) (wall, cpu float64) {
	var n atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start, cpuStart := time.Now(), cpustat.Process()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				sign()
				n.Add(1)
			}
		})
	}
	wg.Wait()
	wall = float64(n.Load()) / time.Since(start).Seconds()
	cpu = wall // where the process's CPU time cannot be read
	if used := (cpustat.Process() - cpuStart).Seconds(); used > 0 {
		cpu = float64(n.Load()) / used * float64(runtime.NumCPU())
	}
	return wall, cpu
}

// opensslSpeed runs `openssl speed -seconds 3 rsa2048` and returns its signatures per
// second of user CPU time, on one core. (With -multi it would divide by wall-clock time
// instead, which falls when others share the machine.)
func opensslSpeed(ctx context.Context) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "openssl", "speed", "-seconds", "3", "rsa2048").Output()
	if err != nil {
		return 0, fmt.Errorf("bench: openssl speed: %w", err)
	}
	return parseOpensslSpeed(out)
}

// The summary line of `openssl speed rsa2048`:
//
//	                  sign    verify    sign/s verify/s
//	rsa 2048 bits 0.000265s 0.000018s   3773.9  56486.6
var opensslSpeedLine = regexp.MustCompile(`(?m)^rsa 2048 bits\s+\S+\s+\S+\s+([0-9.]+)\s`)

func parseOpensslSpeed(out []byte) (float64, error) {
	m := opensslSpeedLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("bench: no RSA-2048 sign/s in the output of openssl speed:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// print says what was measured. The service's ceiling is the rate of the signer it uses.
func (r signingRates) print(w io.Writer) {
	fmt.Fprintf(w, "machine: %d CPUs; RSA-2048 signatures per second, measured now (best of three 1 s rounds), in wall-clock time on all cores | per CPU-second × %d CPUs:\n",
		runtime.NumCPU(), runtime.NumCPU())
	fmt.Fprintf(w, "  crypto/rsa                         %6.0f/s | %6.0f/s\n", r.goRSA, r.goRSACPU)
	if r.fast > 0 {
		fmt.Fprintf(w, "  OpenSSL through alipay/opensslsign %6.0f/s | %6.0f/s (%.2f× crypto/rsa per CPU-second)\n", r.fast, r.fastCPU, r.fastCPU/r.goRSACPU)
	} else {
		fmt.Fprintf(w, "  OpenSSL through alipay/opensslsign: not in this binary (build with -tags openssl)\n")
	}
	if r.speed > 0 {
		fmt.Fprintf(w, "  openssl speed -seconds 3 rsa2048 (1 core × %d) | %6.0f/s", runtime.NumCPU(), r.speed)
		if r.fastCPU > 0 {
			fmt.Fprintf(w, "; opensslsign reaches %.0f%% of it", 100*r.fastCPU/r.speed)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "RSA-2048 signing %.0f/s with %s, which the service and the sandbox use\n", r.inUse, alipay.SigningLibrary())
}

// shares is what a payment's CPU would allow on this machine's cores alone — the CPUs
// divided by the CPU time of one payment in the service, terminals and sandbox — as a
// share of each signer's ceiling, e.g. "crypto/rsa 98%, opensslsign 41%, openssl speed
// 40%". Unlike payments/s it holds still when other work shares the machine; it leaves
// out what other processes spend per payment (a PostgreSQL server's work).
func (r signingRates) shares(cpuPerPayment time.Duration, ops int) string {
	if cpuPerPayment <= 0 {
		return "no payments"
	}
	capacity := float64(runtime.NumCPU()) / cpuPerPayment.Seconds()
	s := fmt.Sprintf("%.0f payments/s = crypto/rsa %.0f%%", capacity, 100*capacity*float64(ops)/r.goRSACPU)
	if r.fastCPU > 0 {
		s += fmt.Sprintf(", opensslsign %.0f%%", 100*capacity*float64(ops)/r.fastCPU)
	}
	if r.speed > 0 {
		s += fmt.Sprintf(", openssl speed %.0f%%", 100*capacity*float64(ops)/r.speed)
	}
	return s
}
