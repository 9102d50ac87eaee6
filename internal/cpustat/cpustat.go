// Package cpustat reads what the benchmarks measure besides time: the CPU a process
// and the whole machine have spent, and what a process has written to storage. The
// figures per payment in `f2fpay bench` and in the store benchmarks come from here.
//
// Everything but Process reads Linux's /proc and reports that it could not (ok false,
// or a negative count) elsewhere; USER_HZ is 100 on every Linux architecture Go
// supports.
package cpustat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const tick = 10 * time.Millisecond // one USER_HZ tick

// Process is the user and system CPU time this process has used so far.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Pid is the user and system CPU time process pid has used so far (/proc/pid/stat).
func Pid(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	return parsePidStat(b)
}

func parsePidStat(b []byte) (time.Duration, bool) {
	// The fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * tick, true
}

// Machine is the CPU time all cores together have spent not idle since boot
// (/proc/stat): every process's, a local database server's included.
func Machine() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseMachine(line)
}

// parseMachine sums user, nice, system, irq, softirq and steal of the "cpu" line;
// guest time is already inside user and nice.
func parseMachine(line string) (time.Duration, bool) {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for i, v := range f[1:9] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false
		}
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * tick, true
}

// WrittenBytes is what this process has caused to be written to storage so far
// (write_bytes of /proc/self/io), or -1.
func WrittenBytes() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
