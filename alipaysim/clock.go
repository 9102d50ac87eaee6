package alipaysim

import (
	"container/heap"
	"sync"
	"time"
)

// Clock is the sandbox's notion of time. Everything that expires or is retried — payment
// codes (one minute), unpaid trades (timeout_express), delayed 10003 resolutions and the
// notification schedule (4m … 15h) — runs on it, so tests can move time instead of
// sleeping for a day.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed on this clock.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a scheduled call that can be cancelled.
type Timer interface {
	// Stop cancels the call; it reports whether the call was still pending.
	Stop() bool
}

// RealClock is wall-clock time.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc implements Clock.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// ScaledClock runs Scale times faster than the wall clock from the moment it is made:
// with Scale 1440 a sandbox day passes in a minute, so the 24-hour notification schedule
// can be watched end to end.
type ScaledClock struct {
	scale     float64
	startReal time.Time
	startSim  time.Time
}

// NewScaledClock returns a clock that starts at the current time and runs scale times
// faster (scale ≥ 1; values below 1 are treated as 1).
func NewScaledClock(scale float64) *ScaledClock {
	if scale < 1 {
		scale = 1
	}
	now := time.Now()
	return &ScaledClock{scale: scale, startReal: now, startSim: now}
}

// Now implements Clock.
func (c *ScaledClock) Now() time.Time {
	return c.startSim.Add(time.Duration(float64(time.Since(c.startReal)) * c.scale))
}

// AfterFunc implements Clock: d is sandbox time, the wait is d/scale of wall time.
func (c *ScaledClock) AfterFunc(d time.Duration, f func()) Timer {
	return time.AfterFunc(time.Duration(float64(d)/c.scale), f)
}

// ManualClock only moves when told to. Advance fires due timers in time order, each in
// its own goroutine started before Advance returns; Sim.Settle waits for the work they
// start (notification deliveries) to finish.
type ManualClock struct {
	mu   sync.Mutex
	now  time.Time
	q    timerHeap
	seq  uint64
	wait sync.WaitGroup
}

// NewManualClock returns a clock stopped at start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now implements Clock.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc implements Clock. A call due now or in the past runs at once, in its own
// goroutine.
func (c *ManualClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &manualTimer{c: c, at: c.now.Add(d), f: f, seq: c.seq, index: -1}
	if d <= 0 {
		c.fire(t)
		return t
	}
	heap.Push(&c.q, t)
	return t
}

// fire runs t's function in a goroutine; c.mu is held.
func (c *ManualClock) fire(t *manualTimer) {
	t.fired = true
	c.wait.Add(1)
	go func() {
		defer c.wait.Done()
		t.f()
	}()
}

// Advance moves the clock forward by d, firing every timer that falls due on the way,
// in order, with Now() at each timer's due time while it starts. It waits for the fired
// functions to return (not for the goroutines those functions start).
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for c.q.Len() > 0 && !c.q[0].at.After(end) {
		t := heap.Pop(&c.q).(*manualTimer)
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.fire(t)
		c.mu.Unlock()
		c.wait.Wait() // a timer's work must see its own due time, not a later one
		c.mu.Lock()
	}
	if end.After(c.now) {
		c.now = end
	}
	c.mu.Unlock()
	c.wait.Wait()
}

// Set moves the clock to t (forward only), like Advance.
func (c *ManualClock) Set(t time.Time) {
	if d := t.Sub(c.Now()); d > 0 {
		c.Advance(d)
	}
}

type manualTimer struct {
	c     *ManualClock
	at    time.Time
	f     func()
	seq   uint64
	index int
	fired bool
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.fired || t.index < 0 {
		return false
	}
	heap.Remove(&t.c.q, t.index)
	return true
}

type timerHeap []*manualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*manualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
