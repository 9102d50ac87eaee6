package main

import (
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// TestBench runs `f2fpay bench` briefly, as a user would (the built binary, which
// starts its sandbox as a process of its own), and checks that payments went through
// without errors and that every figure of the report is there.
func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildF2fpay(t)
	out, err := exec.Command(bin, "bench", "-duration", "1s", "-terminals", "2").CombinedOutput()
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	for _, re := range []string{
		`RSA-2048 signing \d+/s`,
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
