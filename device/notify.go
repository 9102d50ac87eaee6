package device

import "sync"

// notifier wakes the long-polls of one terminal when a command is enqueued for it in
// this process. A long-poll takes the terminal's channel before it reads the store,
// so a command enqueued between the read and the wait still wakes it; Notify closes
// the channel (waking every waiter) and the next waiter gets a fresh one. Commands
// enqueued by another instance do not reach it: the long-poll's short re-read of the
// store covers those.
type notifier struct {
	mu    sync.Mutex
	chans map[int64]*waiters
}

type waiters struct {
	ch chan struct{}
	n  int // long-polls holding ch
}

func newNotifier() *notifier { return &notifier{chans: map[int64]*waiters{}} }

// subscribe returns the channel closed at the terminal's next Notify, and a release
// the caller defers.
func (n *notifier) subscribe(terminalID int64) (<-chan struct{}, func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	w := n.chans[terminalID]
	if w == nil {
		w = &waiters{ch: make(chan struct{})}
		n.chans[terminalID] = w
	}
	w.n++
	return w.ch, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		w.n--
		if w.n == 0 && n.chans[terminalID] == w {
			delete(n.chans, terminalID) // no waiters: the map holds only live long-polls
		}
	}
}

// notify wakes the terminal's long-polls.
func (n *notifier) notify(terminalID int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if w := n.chans[terminalID]; w != nil {
		close(w.ch)
		delete(n.chans, terminalID)
	}
}
