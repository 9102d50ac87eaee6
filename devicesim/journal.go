package devicesim

import (
	"encoding/json"
	"sync"
)

// journal remembers the command ids the machine executed and their results, so a
// command delivered again (its acknowledgement was lost) is acknowledged again and not
// executed again. Bounded: beyond size it forgets the oldest ids — a command is
// redelivered only until it is acknowledged or expires.
type journal struct {
	mu      sync.Mutex
	size    int
	order   []int64
	next    int
	results map[int64]json.RawMessage // nil: started, not finished
}

func newJournal(size int) *journal {
	return &journal{size: size, results: make(map[int64]json.RawMessage, size)}
}

// Start records id; first is false when it was started before, with the result
// Finish recorded (nil when the execution was interrupted).
func (j *journal) Start(id int64) (first bool, result json.RawMessage, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if r, ok := j.results[id]; ok {
		return false, r, nil
	}
	if len(j.order) < j.size {
		j.order = append(j.order, id)
	} else {
		delete(j.results, j.order[j.next])
		j.order[j.next] = id
		j.next = (j.next + 1) % j.size
	}
	j.results[id] = nil
	return true, nil, nil
}

// Finish records the result of an executed command.
func (j *journal) Finish(id int64, result json.RawMessage) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.results[id]; ok {
		if result == nil {
			result = json.RawMessage(`{}`)
		}
		j.results[id] = result
	}
}
