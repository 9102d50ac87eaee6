package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/opensslsign"
)

// TestBench runs `f2fpay bench` briefly, as a user would (the built binary, which
// starts its sandbox as a process of its own), and checks that payments went through
// without errors and that every figure of the report is there.
func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	var bin string
	if opensslsign.Available {
		// This test binary was built with -tags openssl: so is the binary it tries.
		bin = filepath.Join(t.TempDir(), "f2fpay")
		if out, err := exec.Command("go", "build", "-tags", "openssl", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("go build -tags openssl: %v\n%s", err, out)
		}
	} else {
		bin = buildF2fpay(t)
	}
	// openssl speed is left out: it takes 7 s (TestParseOpensslSpeed reads its output).
	out, err := exec.Command(bin, "bench", "-duration", "1s", "-terminals", "2", "-openssl-speed=false").CombinedOutput()
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	fast := `OpenSSL through alipay/opensslsign: not in this binary`
	if opensslsign.Available {
		fast = `OpenSSL through alipay/opensslsign\s+\d+/s \|\s+\d+/s`
	}
	for _, re := range []string{
		`crypto/rsa\s+\d+/s \|\s+\d+/s`,
		fast,
		`RSA-2048 signing \d+/s with ` + regexp.QuoteMeta(alipay.SigningLibrary()),
		`CPUs alone at that CPU per payment: \d+ payments/s = crypto/rsa \d+%`,
		`ceiling \d+ payments/s`,
		`full load: [1-9]\d* payments in .* errors 0, other outcomes map\[\]`,
		`half load: [1-9]\d* payments in .* errors 0, other outcomes map\[\]`,
		`service's own: p50 \S+\s+p99 \S+`,
		`CPU per payment: \S+ = service and terminals \S+ \+ sandbox [1-9]\S*`,
		`live heap \d+ KiB before the phases, \d+ KiB after \d+ payments`,
	} {
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("the report lacks %s:\n%s", strconv.Quote(re), out)
		}
	}
}

func TestParseOpensslSpeed(t *testing.T) {
	for _, c := range []struct {
		out  string
		want float64
	}{
		{`CPUINFO: OPENSSL_ia32cap=0xfffa3203078bffff:0x405fc6f1bf07ab
                  sign    verify    sign/s verify/s
rsa 2048 bits 0.000265s 0.000018s   3773.9  56486.6
`, 3773.9},
		{`Forked child 0
Forked child 1
+R1:11434:2048:3.00
+R1:11538:2048:3.00
Got: +F2:0:2048:0.000262:0.000018 from 0
Got: +F2:0:2048:0.000260:0.000018 from 1
                  sign    verify    sign/s verify/s
rsa 2048 bits 0.000130s 0.000009s   7655.1 110950.3
`, 7655.1},
	} {
		got, err := parseOpensslSpeed([]byte(c.out))
		if err != nil || got != c.want {
			t.Errorf("parseOpensslSpeed = %v, %v; want %v", got, err, c.want)
		}
	}
	if _, err := parseOpensslSpeed([]byte("openssl: unknown option")); err == nil {
		t.Error("parseOpensslSpeed found a rate in an error message")
	}
}
