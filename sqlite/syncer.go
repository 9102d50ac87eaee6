package sqlite

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// syncer makes commits durable outside the write lock.
//
// Every transaction commits with synchronous=NORMAL: its WAL frames are written (a
// killed process loses nothing) but not flushed. A call that must be durable then
// waits, after its COMMIT, for an fdatasync of the WAL file that started after that
// COMMIT returned. This is what synchronous=FULL would do inside the COMMIT — except
// that SQLite would hold the write lock for the whole flush, so every other write
// (the lazy ones included) would queue behind the disk. Here the writer moves on to
// the next batch while the flush runs, and one flush serves every durable commit
// made before it started: the first waiter runs it, the others wait for its result.
//
// Why flushing the WAL file from another descriptor is enough: fdatasync flushes the
// file (the inode), whoever wrote it. A WAL commit is durable once its frames, the
// commit frame included, are on disk with checksums and salts that match the WAL
// header on disk; SQLite flushes that header itself when it starts reusing the WAL
// after a checkpoint (synchronous=NORMAL keeps that sync), and a checkpoint flushes
// the WAL before copying it into the database. The WAL file is never deleted while
// the database is open (our connections stay open); the descriptor is nevertheless
// checked against the path before each flush and reopened if the file was replaced.
//
// A failed flush leaves the disk in an unknown state (Linux may drop the unwritten
// pages and report success on the next flush), so it breaks the syncer for good: the
// waiters and every later durable call get the error, as PostgreSQL panics on one.
type syncer struct {
	path string // the WAL file

	mu      sync.Mutex
	done    sync.Cond
	running bool   // a flush is under way
	commits uint64 // durable commits so far (the writer counts them)
	synced  uint64 // commits covered by the last completed flush
	broken  error
	file    *os.File
	flushes uint64 // flushes so far (tests)
}

func newSyncer(dbPath string) *syncer {
	s := &syncer{path: dbPath + "-wal"}
	s.done.L = &s.mu
	return s
}

// committed records a commit holding durable writes and returns its number, to wait
// for. The writer calls it after COMMIT returned, before it answers anyone.
func (s *syncer) committed() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits++
	return s.commits
}

// wait returns once commit n is on disk, or the error that keeps it from being.
func (s *syncer) wait(n uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.synced < n {
		if s.broken != nil {
			return s.broken
		}
		if s.running {
			s.done.Wait()
			continue
		}
		// Lead a flush: it covers every commit recorded so far.
		s.running = true
		target := s.commits
		s.mu.Unlock()
		err := s.flush()
		s.mu.Lock()
		s.running = false
		s.flushes++
		if err != nil {
			s.broken = fmt.Errorf("flushing the database's write-ahead log failed, so recent commits may not be on disk; restart the service after checking the disk: %w", err)
		} else {
			s.synced = max(s.synced, target)
		}
		s.done.Broadcast()
	}
	return nil
}

// flush runs fdatasync on the WAL file, (re)opening it when needed. Only the leading
// waiter calls it.
func (s *syncer) flush() error {
	if s.file != nil {
		// The same file as at the path? (SQLite deletes the WAL only when the last
		// connection closes, which the open store never lets happen; this is a check.)
		a, err1 := s.file.Stat()
		b, err2 := os.Stat(s.path)
		if err1 != nil || err2 != nil || !os.SameFile(a, b) {
			s.file.Close()
			s.file = nil
		}
	}
	if s.file == nil {
		f, err := os.Open(s.path)
		if err != nil {
			return err
		}
		s.file = f
	}
	for {
		err := syscall.Fdatasync(int(s.file.Fd()))
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func (s *syncer) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.running {
		s.done.Wait()
	}
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
}
