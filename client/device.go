package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay"
)

// The device side of the device channel (docs/api.md, "Device channel"): a vending
// machine long-polls the service for commands, executes each command id at most
// once, and acknowledges it by id. A long-poll answer or an acknowledgement lost on
// the network is repaired by the next poll, which hands the unacknowledged command out
// again; the machine's Journal says it was executed already, so it is acknowledged
// again and not executed again.

// Command is a device channel command as the service sends it.
type Command = f2fpay.Command

// Executor carries out one command and says what happened, as a JSON object (nil for
// nothing to say). An error is acknowledged too, as {"error": "..."}: the
// acknowledgement says the command was attempted, its result how it went. An Executor
// is called at most once per command id (as far as the Journal remembers).
type Executor func(ctx context.Context, c *Command) (json.RawMessage, error)

// Journal remembers the command ids a machine executed and their results. The default
// is a MemoryJournal; a machine that must not execute a command twice across its own
// restarts persists it (a file, flash) and syncs Start before it returns.
type Journal interface {
	// Start is called before a command is executed. The first time for an id it
	// records the id and returns first=true; afterwards first=false and the result
	// Finish recorded — nil when the execution was interrupted before Finish (a
	// crash mid-dispense): then the outcome is unknown and the command is not run again.
	Start(id int64) (first bool, result json.RawMessage, err error)
	// Finish records the result of an executed command.
	Finish(id int64, result json.RawMessage) error
}

// DefaultJournalSize is how many ids a MemoryJournal made with size 0 keeps. A
// command is redelivered only until it is acknowledged or expires, so the journal
// needs to hold the ids executed within the longest command lifetime: thousands of
// vends a day is far below this.
const DefaultJournalSize = 4096

// MemoryJournal is a Journal in memory, bounded: beyond its size it forgets the
// oldest ids. Safe for concurrent use.
type MemoryJournal struct {
	mu      sync.Mutex
	size    int
	order   []int64 // ids in the order started, a ring of size
	next    int
	results map[int64]json.RawMessage // nil value: started, not finished
}

// NewMemoryJournal returns a journal of size ids (DefaultJournalSize when size <= 0).
func NewMemoryJournal(size int) *MemoryJournal {
	if size <= 0 {
		size = DefaultJournalSize
	}
	return &MemoryJournal{size: size, results: make(map[int64]json.RawMessage, size)}
}

// Start implements Journal.
func (j *MemoryJournal) Start(id int64) (bool, json.RawMessage, error) {
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

// Finish implements Journal.
func (j *MemoryJournal) Finish(id int64, result json.RawMessage) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.results[id]; ok {
		if result == nil {
			result = json.RawMessage(`{}`)
		}
		j.results[id] = result
	}
	return nil
}

// Len reports how many ids the journal holds.
func (j *MemoryJournal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.results)
}

// Device runs a machine's side of the device channel. Make it with Client.Device and
// set its fields before Run.
type Device struct {
	c    *Client
	exec Executor
	// Journal remembers executed ids; a MemoryJournal of DefaultJournalSize by default.
	Journal Journal
	// Wait is how long one long-poll may wait on the service (?wait=); 25 s by default,
	// below the client's own timeout and most NATs' idle limits.
	Wait time.Duration
	// MinBackoff and MaxBackoff bound the pause after a failed poll or
	// acknowledgement, doubled on each failure in a row and jittered; 200 ms and 30 s
	// by default.
	MinBackoff, MaxBackoff time.Duration
	// OnError, when set, hears every error the loop recovers from (a lost answer, an
	// expired command); for the machine's log.
	OnError func(error)
	// Now is the machine's clock, to skip a command whose deadline has passed (an
	// answer delayed on the network); time.Now when nil.
	Now func() time.Time
}

// Device returns the device loop of this client's terminal (a vending terminal),
// executing commands with exec.
func (c *Client) Device(exec Executor) *Device {
	return &Device{c: c, exec: exec, Journal: NewMemoryJournal(0), Wait: 25 * time.Second,
		MinBackoff: 200 * time.Millisecond, MaxBackoff: 30 * time.Second}
}

// Poll asks once for the terminal's pending commands, waiting up to wait for one
// (0: answer at once).
func (d *Device) Poll(ctx context.Context, wait time.Duration) ([]*Command, error) {
	var out struct {
		Commands []*Command `json:"commands"`
	}
	path := fmt.Sprintf("/v1/device/commands?wait=%d", int(wait/time.Second))
	_, err, _ := once(ctx, d.c.hc, d.c.authorize(), http.MethodGet, d.c.base+path, "", nil, &out)
	return out.Commands, err
}

// Ack acknowledges command id with result. Acknowledging again answers the command as
// first acknowledged; an expired command is an *Error with code ECONFLICT.
func (d *Device) Ack(ctx context.Context, id int64, result json.RawMessage) (*Command, error) {
	in := map[string]json.RawMessage{}
	if len(result) > 0 {
		in["result"] = result
	}
	var out Command
	_, err, _ := once(ctx, d.c.hc, d.c.authorize(), http.MethodPost, fmt.Sprintf("%s/v1/device/commands/%d/ack", d.c.base, id), "", mustJSON(in), &out)
	return &out, err
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Handle executes cmd unless the Journal says it was executed already, then
// acknowledges it. An acknowledgement the service refuses for good (the command
// expired, or is not this terminal's) is reported to OnError and is not an error; an
// error returned means the acknowledgement did not get through (the next poll hands
// the command out again, and Handle acknowledges it without executing it).
func (d *Device) Handle(ctx context.Context, cmd *Command) error {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	first, result, err := d.Journal.Start(cmd.ID)
	if err != nil {
		return fmt.Errorf("client: journal: %w", err)
	}
	if first {
		if !now().Before(cmd.ExpiresAt) {
			// Too late: the service acts on the expiry (a vend refunds the item), so
			// executing now could give goods for money returned.
			d.Journal.Finish(cmd.ID, json.RawMessage(`{"skipped":"expired"}`))
			d.report(fmt.Errorf("client: command %d (%s) arrived after its deadline %s; not executed", cmd.ID, cmd.Kind, cmd.ExpiresAt.Format(time.RFC3339)))
			return nil
		}
		r, err := d.exec(ctx, cmd)
		switch {
		case err != nil:
			result = mustJSON(map[string]string{"error": err.Error()})
		case f2fpay.CheckJSONObject("result", r) != nil:
			result = mustJSON(map[string]string{"error": "the executor's result is not a JSON object of at most 4 KiB"})
		default:
			result = r
		}
		if err := d.Journal.Finish(cmd.ID, result); err != nil {
			return fmt.Errorf("client: journal: %w", err)
		}
	} else if result == nil {
		result = json.RawMessage(`{"interrupted":true}`)
	} else if string(result) == `{"skipped":"expired"}` {
		return nil
	}
	_, err = d.Ack(ctx, cmd.ID, result)
	switch ErrorCode(err) {
	case "":
		return nil
	case ECONFLICT, ENOTFOUND, EINVALID:
		d.report(fmt.Errorf("client: command %d not acknowledged: %w", cmd.ID, err))
		return nil
	}
	return err
}

func (d *Device) report(err error) {
	if d.OnError != nil {
		d.OnError(err)
	}
}

// Run long-polls and handles commands until ctx ends, pausing with backoff after a
// failure; it returns ctx's error.
func (d *Device) Run(ctx context.Context) error {
	fails := 0
	for ctx.Err() == nil {
		cmds, err := d.Poll(ctx, d.Wait)
		for _, c := range cmds {
			if err = d.Handle(ctx, c); err != nil {
				break
			}
		}
		if err == nil {
			fails = 0
			continue
		}
		if ctx.Err() != nil {
			break
		}
		d.report(err)
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusUnauthorized {
			fails = max(fails, 6) // a wrong key will not heal in a moment
		}
		t := time.NewTimer(d.backoff(fails))
		fails++
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	return ctx.Err()
}

// backoff is the pause after fails failures in a row: MinBackoff·2^fails, at most
// MaxBackoff, drawn from [½, 1½) of it.
func (d *Device) backoff(fails int) time.Duration {
	b := d.MinBackoff
	for i := 0; i < fails && b < d.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.MaxBackoff)
	if b <= 0 {
		return 0
	}
	return b/2 + mrand.N(b)
}

// DeviceDescription is a vending terminal's description as the admin API reads and
// shows it (docs/vending.md §10): machine kind, site and planogram.
type DeviceDescription struct {
	TerminalID int64              `json:"terminal_id,omitempty"`
	MerchantID int64              `json:"merchant_id,omitempty"`
	Machine    f2fpay.MachineKind `json:"machine"`
	Site       string             `json:"site,omitempty"`
	Slots      []DeviceSlot       `json:"slots"`
	UpdatedAt  *time.Time         `json:"updated_at,omitempty"`
}

// DeviceSlot is one slot of a planogram; Price in yuan ("3.50").
type DeviceSlot struct {
	Code    string `json:"code"`
	GoodsID string `json:"goods_id"`
	Name    string `json:"name"`
	Price   string `json:"price"`
	Stock   int    `json:"stock"`
}

// SetDevice describes a vending terminal, replacing its planogram (stock included).
func (a *AdminClient) SetDevice(ctx context.Context, terminalID int64, d DeviceDescription) (*DeviceDescription, error) {
	var out DeviceDescription
	return &out, a.call(ctx, http.MethodPut, fmt.Sprintf("/admin/terminals/%d/device", terminalID), d, &out)
}

// Device returns a vending terminal's description.
func (a *AdminClient) Device(ctx context.Context, terminalID int64) (*DeviceDescription, error) {
	var out DeviceDescription
	return &out, a.call(ctx, http.MethodGet, fmt.Sprintf("/admin/terminals/%d/device", terminalID), nil, &out)
}

// HeartbeatAnswer is the service's answer to a heartbeat.
type HeartbeatAnswer struct {
	State      f2fpay.DeviceState `json:"state"`
	LastSeenAt time.Time          `json:"last_seen_at"`
	// NextHeartbeatSeconds is the interval to keep.
	NextHeartbeatSeconds int `json:"next_heartbeat_seconds"`
}

// Heartbeat reports the machine's health (docs/vending.md §5); send one every
// NextHeartbeatSeconds of the previous answer. A heartbeat is safe to repeat.
func (d *Device) Heartbeat(ctx context.Context, hb f2fpay.Heartbeat) (*HeartbeatAnswer, error) {
	var out HeartbeatAnswer
	return &out, d.c.post(ctx, "/v1/device/heartbeat", "", hb, &out)
}

// Devices lists devices with their health (merchantID 0: every merchant's), by
// terminal id after afterID; limit 0 is the service's default page.
func (a *AdminClient) Devices(ctx context.Context, merchantID, afterID int64, limit int) ([]f2fpay.DeviceHealth, error) {
	q := url.Values{}
	if merchantID != 0 {
		q.Set("merchant_id", strconv.FormatInt(merchantID, 10))
	}
	if afterID != 0 {
		q.Set("after", strconv.FormatInt(afterID, 10))
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Devices []f2fpay.DeviceHealth `json:"devices"`
	}
	return out.Devices, a.call(ctx, http.MethodGet, "/admin/devices?"+q.Encode(), nil, &out)
}
