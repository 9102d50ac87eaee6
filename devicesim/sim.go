// Package devicesim simulates vending machines for the demo and the browser tests
// (docs/vending.md §13): one simulated machine per vending terminal, each running the
// machine's side of the real device API — the device channel's long-poll and
// acknowledgements (each command id executed at most once), heartbeats, vend orders
// and their dispense outcomes, the cabinet's door — with the terminal's key held here,
// server-side. A browser shows the machine's screen (/sim/{terminal}) and drives it
// through a small JSON API: buy from a slot, jam a slot, pay by face in weak light,
// take goods from an open cabinet and close its door.
package devicesim

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
)

// MachineConfig is one machine to simulate: a vending terminal of the service, its key,
// and what its screen shows.
type MachineConfig struct {
	TerminalID int64
	Name       string
	Kind       f2fpay.MachineKind
	// KeyID and Secret are the terminal's API key; they never leave the process.
	KeyID, Secret string
	// Slots is the planogram the operator gave the service (what the screen shows).
	Slots []f2fpay.Slot
	// MemberURL is the member page a cabinet shows as its QR (/m/{terminal}).
	MemberURL string
}

// Config is the simulator's configuration.
type Config struct {
	// ServiceURL is the payment service's terminal API.
	ServiceURL string
	Machines   []MachineConfig
	// HTTPClient reaches the service; one with a timeout above the long-polls when nil.
	HTTPClient *http.Client
	Logger     *slog.Logger
	// SandboxURL and FaceBuyerID play the face camera: a face machine's scan is the
	// sandbox's POST /sandbox/face/verify for that buyer (the person in front of the
	// camera). Without them "pay by face" falls back to the QR at once.
	SandboxURL, FaceBuyerID string
	// PollWait is one long-poll's wait (25 s by default); HeartbeatEvery the pause
	// between heartbeats (30 s by default); DispenseTime how long a slot's motor turns.
	PollWait, HeartbeatEvery, DispenseTime time.Duration
}

// Sim runs the machines.
type Sim struct {
	cfg      Config
	log      *slog.Logger
	machines map[int64]*Machine
	order    []int64
	// bg is Run's context: what a machine follows after the page's request ended (a
	// vend's payment, a cabinet's charge) stops with it.
	bg atomic.Pointer[context.Context]
}

func (s *Sim) background() context.Context {
	if c := s.bg.Load(); c != nil {
		return *c
	}
	return context.Background()
}

// New returns a simulator of cfg's machines; Run starts them.
func New(cfg Config) (*Sim, error) {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: client.DefaultTimeout}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PollWait <= 0 {
		cfg.PollWait = 25 * time.Second
	}
	if cfg.HeartbeatEvery <= 0 {
		cfg.HeartbeatEvery = 30 * time.Second
	}
	if cfg.DispenseTime <= 0 {
		cfg.DispenseTime = 600 * time.Millisecond
	}
	s := &Sim{cfg: cfg, log: cfg.Logger, machines: map[int64]*Machine{}}
	for _, mc := range cfg.Machines {
		if mc.TerminalID <= 0 || mc.KeyID == "" || mc.Secret == "" {
			return nil, fmt.Errorf("devicesim: machine %q needs a terminal id and its key", mc.Name)
		}
		switch mc.Kind {
		case f2fpay.MachineOrdinary, f2fpay.MachineFace, f2fpay.MachineCabinet:
		default:
			return nil, fmt.Errorf("devicesim: machine %d: unknown kind %q", mc.TerminalID, mc.Kind)
		}
		if _, dup := s.machines[mc.TerminalID]; dup {
			return nil, fmt.Errorf("devicesim: terminal %d given twice", mc.TerminalID)
		}
		m := &Machine{
			cfg:      mc,
			sim:      s,
			c:        client.NewClient(cfg.ServiceURL, mc.KeyID, mc.Secret, cfg.HTTPClient),
			jammed:   map[string]bool{},
			taken:    map[string]int{},
			units:    map[unit]json.RawMessage{},
			reported: map[unit]bool{},
			screen:   screenIdle,
			door:     "closed",
		}
		s.machines[mc.TerminalID] = m
		s.order = append(s.order, mc.TerminalID)
	}
	sort.Slice(s.order, func(i, j int) bool { return s.order[i] < s.order[j] })
	return s, nil
}

// Run runs every machine's device loop and heartbeats until ctx ends.
func (s *Sim) Run(ctx context.Context) {
	s.bg.Store(&ctx)
	var wg sync.WaitGroup
	for _, id := range s.order {
		m := s.machines[id]
		wg.Add(2)
		go func() { defer wg.Done(); m.runDevice(ctx) }()
		go func() { defer wg.Done(); m.runHeartbeats(ctx) }()
	}
	wg.Wait()
}

// Machine returns the simulated machine of a terminal, or nil.
func (s *Sim) Machine(terminalID int64) *Machine { return s.machines[terminalID] }

// The screens a machine shows.
const (
	screenIdle       = "idle"       // slots to choose from
	screenPaying     = "paying"     // a QR to scan
	screenDispensing = "dispensing" // paid: the slots turn
	screenDone       = "done"       // the vend is final: what was given, what refunded
	screenDoorOpen   = "door_open"  // a cabinet's door is open: take goods
	screenCharging   = "charging"   // a cabinet's door closed: the charge's outcome
	screenError      = "error"
)

// maxLog bounds a machine's log.
const maxLog = 200

// LogEntry is one line of the machine's log, in both languages.
type LogEntry struct {
	At time.Time `json:"at"`
	Zh string    `json:"zh"`
	En string    `json:"en"`
}

// Machine is one simulated machine. Its state is what the page shows.
type Machine struct {
	cfg MachineConfig
	sim *Sim
	c   *client.Client // the device channel, heartbeats, vend orders, the cabinet's report

	motor sync.Mutex // one unit at a time

	mu        sync.Mutex
	units     map[unit]json.RawMessage // what each unit's dispense gave
	reported  map[unit]bool            // units reported through the vend API
	jammed    map[string]bool
	weakLight bool
	screen    string
	message   LogEntry // the screen's headline
	vend      *client.Vend
	qr        string
	faceTried bool
	door      string // closed, open
	session   int64  // the cabinet session whose door is open or was last closed
	taken     map[string]int
	cabinet   *client.CabinetSession
	log       []LogEntry
	lastPoll  time.Time
	online    bool
	watchGen  int
}

func (m *Machine) logf(zh, en string, args ...any) {
	e := LogEntry{At: time.Now().UTC(), Zh: fmt.Sprintf(zh, args...), En: fmt.Sprintf(en, args...)}
	m.mu.Lock()
	m.log = append(m.log, e)
	if len(m.log) > maxLog {
		m.log = m.log[len(m.log)-maxLog:]
	}
	m.mu.Unlock()
	m.sim.log.Info("devicesim", "terminal", m.cfg.TerminalID, "event", e.En)
}

func (m *Machine) headline(screen, zh, en string) {
	m.mu.Lock()
	m.screen = screen
	m.message = LogEntry{At: time.Now().UTC(), Zh: zh, En: en}
	m.mu.Unlock()
}
