package cpustat

import (
	"os"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		line string
		want time.Duration
		ok   bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{"cpu  100 2 30 5000 40 5 6 7 99 1", (100 + 2 + 30 + 5 + 6 + 7) * tick, true},
		{"cpu0 1 2 3 4 5 6 7 8", 0, false},
		{"cpu 1 2 3", 0, false},
		{"cpu 1 2 x 4 5 6 7 8", 0, false},
	} {
		got, ok := parseMachine(tc.line)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseMachine(%q) = %v, %v; want %v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
	stat := "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 8 0 1 2 3"
	if got, ok := parsePidStat([]byte(stat)); !ok || got != 325*tick {
		t.Errorf("parsePidStat = %v, %v; want %v", got, ok, 325*tick)
	}
	if _, ok := parsePidStat([]byte("4242 (truncated")); ok {
		t.Error("parsePidStat accepted a line without the command's closing parenthesis")
	}
}

func TestLive(t *testing.T) {
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	if Process() <= 0 {
		t.Error("Process() reports no CPU after a busy loop")
	}
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc")
	}
	if m, ok := Machine(); !ok || m <= 0 {
		t.Errorf("Machine() = %v, %v", m, ok)
	}
	if p, ok := Pid(os.Getpid()); !ok || p < 0 {
		t.Errorf("Pid(self) = %v, %v", p, ok)
	}
	if _, err := os.ReadFile("/proc/self/io"); err == nil && WrittenBytes() < 0 {
		t.Error("WrittenBytes() = -1 though /proc/self/io is readable")
	}
}
