package sqlite

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockFile holds an exclusive flock on "<database>.lock" for as long as the DB is open.
//
// SQLite itself would let two processes share the file, but two f2fpay services on
// one database would both run the janitor and the outbox worker: SQLite serialises
// their writes but not their Alipay calls. The lock makes a second `f2fpay serve`
// (or a forgotten one) fail at start instead. flock is released by the kernel when
// the process dies, so a SIGKILLed service leaves no stale lock behind.
type lockFile struct{ f *os.File }

func acquireLock(path string) (*lockFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				holder = fmt.Sprintf(" (process %d", pid)
				if pid == os.Getpid() {
					holder += ", this very process"
				}
				holder += ")"
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("sqlite: the database is already open in another f2fpay process%s: %s is locked; stop that process or use another database file", holder, path)
		}
		return nil, fmt.Errorf("sqlite: lock %s: %w", path, err)
	}
	// Record who holds it, for the message above. The lock, not the content, is what
	// excludes: a stale pid left by a killed process is simply overwritten.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &lockFile{f: f}, nil
}

// release drops the lock. The file stays: removing it would race with a process that
// has just opened it and is about to lock it.
func (l *lockFile) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
