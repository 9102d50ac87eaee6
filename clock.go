package f2fpay

import "time"

// Clock tells the time. Components take one instead of calling time.Now, so tests can
// control it; SystemClock is the real one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }
