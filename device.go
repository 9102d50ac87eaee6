package f2fpay

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Vending devices (docs/vending.md §10). A device is a terminal of kind vending that
// the operator has described: what kind of machine it is, where it stands, and what
// each of its slots holds at what price (the planogram). The service checks every vend
// order against the planogram, and commands the machine — dispense, open the door,
// show a QR — through the device channel: commands the machine long-polls and
// acknowledges by id.

// MachineKind is what a vending device can do.
type MachineKind string

const (
	// MachineOrdinary (普通售卖机) takes the money first, then drops the goods from a
	// slot; the buyer pays by scanning a QR on the screen or through the member page.
	MachineOrdinary MachineKind = "ordinary"
	// MachineFace (刷脸售卖机) is an ordinary machine with a face camera: the buyer
	// pays by face, and by QR when the face fails.
	MachineFace MachineKind = "face"
	// MachineCabinet (无限宝盒, open-door cabinet) opens its door for a member who
	// signed a withholding agreement and charges for what was taken when the door
	// closes.
	MachineCabinet MachineKind = "cabinet"
)

// Limits of a device's description.
const (
	// MaxSlots bounds a planogram.
	MaxSlots = 200
	// MaxSlotCodeLen bounds a slot's code ("A1", "12").
	MaxSlotCodeLen = 16
	// MaxGoodsIDLen bounds a goods id (Alipay's goods_detail.goods_id is 32).
	MaxGoodsIDLen = 32
	// MaxSiteLen bounds a device's site (where it stands), in characters.
	MaxSiteLen = 128
	// MaxSlotNameLen bounds a slot's goods name (Alipay's goods_name is 256 bytes;
	// a machine's screen shows far fewer), in characters.
	MaxSlotNameLen = 64
	// MaxSlotStock bounds a slot's stock: no spiral or shelf holds more.
	MaxSlotStock = 10000
)

// Device is the vending description of a terminal.
type Device struct {
	TerminalID int64       `json:"terminal_id"`
	MerchantID int64       `json:"merchant_id"`
	Machine    MachineKind `json:"machine"`
	// Site is where the machine stands, as the operator names it ("3F east lobby").
	Site string `json:"site,omitempty"`
	// Slots is the planogram, in slot order.
	Slots     []Slot    `json:"slots"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Slot is one place goods come out of (a spiral, a lane, a cabinet shelf position).
type Slot struct {
	Code    string `json:"code"`
	GoodsID string `json:"goods_id"`
	Name    string `json:"name"`
	// Price is in fen; what a vend of one unit from this slot costs.
	Price Amount `json:"price"`
	// Stock is how many units the operator last counted in; a dispense that succeeds
	// takes one. It never goes below zero: a machine that drops goods it did not
	// have is believed, and the operator recounts.
	Stock int `json:"stock"`
}

// Validate checks the machine kind, the site and the planogram: at most MaxSlots
// slots, each with a unique code of letters and digits, a goods id, a name, a price of
// at least one fen (Alipay charges no less) and a stock between 0 and MaxSlotStock.
// That the terminal is the merchant's and of kind vending is the store's check.
func (d *Device) Validate() error {
	switch d.Machine {
	case MachineOrdinary, MachineFace, MachineCabinet:
	default:
		return Errorf(EINVALID, "machine %q is not known; use \"ordinary\", \"face\" or \"cabinet\"", d.Machine)
	}
	if err := CheckText("site", d.Site, false, MaxSiteLen); err != nil {
		return err
	}
	if len(d.Slots) > MaxSlots {
		return Errorf(EINVALID, "the planogram has %d slots; at most %d are allowed", len(d.Slots), MaxSlots)
	}
	seen := make(map[string]int, len(d.Slots))
	for i, s := range d.Slots {
		if err := s.validate(i); err != nil {
			return err
		}
		if j, ok := seen[s.Code]; ok {
			return Errorf(EINVALID, "slots %d and %d both have code %q; give every slot its own code", j+1, i+1, s.Code)
		}
		seen[s.Code] = i
	}
	return nil
}

func (s *Slot) validate(i int) error {
	if err := CheckID(fmt.Sprintf("slot %d: code", i+1), s.Code, true, MaxSlotCodeLen); err != nil {
		return err
	}
	if err := CheckID(fmt.Sprintf("slot %s: goods_id", s.Code), s.GoodsID, true, MaxGoodsIDLen); err != nil {
		return err
	}
	if err := CheckText(fmt.Sprintf("slot %s: name", s.Code), s.Name, true, MaxSlotNameLen); err != nil {
		return err
	}
	if s.Price < 1 || s.Price > MaxAmount {
		return Errorf(EINVALID, "slot %s: price %d fen is out of range; a price is 1 to %d fen", s.Code, int64(s.Price), int64(MaxAmount))
	}
	if s.Stock < 0 || s.Stock > MaxSlotStock {
		return Errorf(EINVALID, "slot %s: stock %d is out of range; count 0 to %d units", s.Code, s.Stock, MaxSlotStock)
	}
	return nil
}

// Slot returns the planogram's slot with that code, or nil.
func (d *Device) Slot(code string) *Slot {
	for i := range d.Slots {
		if d.Slots[i].Code == code {
			return &d.Slots[i]
		}
	}
	return nil
}

// CommandKind is what the service asks a machine to do.
type CommandKind string

const (
	CommandDispense CommandKind = "dispense"  // drop one unit from a slot
	CommandOpenDoor CommandKind = "open_door" // unlock a cabinet's door for a member
	CommandShowQR   CommandKind = "show_qr"   // show a payment QR on the screen
	CommandCancel   CommandKind = "cancel"    // abandon what the screen shows
)

// CommandState is where a command stands. A command is delivered (long-poll answers)
// as many times as it takes until the machine acknowledges it by id or it expires;
// the machine executes a command id at most once (it remembers the ids it executed),
// so redelivery is harmless.
type CommandState string

const (
	CommandPending CommandState = "PENDING" // waiting for the machine's acknowledgement
	CommandAcked   CommandState = "ACKED"   // the machine executed it and said so
	CommandExpired CommandState = "EXPIRED" // not acknowledged before ExpiresAt: never executed, or executed and unheard
)

// Limits of the device channel.
const (
	// MaxCommandKeyLen bounds a command's idempotency key.
	MaxCommandKeyLen = 64
	// MaxCommandPayload bounds a command's payload and an acknowledgement's result, in bytes.
	MaxCommandPayload = 4 << 10
)

// Known reports whether k is one of the command kinds.
func (k CommandKind) Known() bool {
	switch k {
	case CommandDispense, CommandOpenDoor, CommandShowQR, CommandCancel:
		return true
	}
	return false
}

// Command is one instruction to one machine.
type Command struct {
	ID         int64       `json:"id"`
	TerminalID int64       `json:"terminal_id"`
	Kind       CommandKind `json:"kind"`
	// Key makes enqueueing idempotent: a second command with the same terminal and key
	// is the first one. Whoever enqueues derives it from what the command is for
	// ("vend:42:item:1"), so a retry or a crash-and-restart cannot command twice.
	Key string `json:"key"`
	// Payload is the kind's arguments as JSON (dispense: {"slot":"A1","vend_id":42,"item":1}).
	Payload json.RawMessage `json:"payload,omitempty"`
	State   CommandState    `json:"state"`
	// Deliveries counts how many times a long-poll handed the command out.
	Deliveries int `json:"deliveries"`
	// Result is what the machine said when it acknowledged (may be empty).
	Result    json.RawMessage `json:"result,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	ExpiresAt time.Time       `json:"expires_at"`
	// AckedAt is when the acknowledgement arrived; zero until then.
	AckedAt time.Time `json:"acked_at,omitzero"`
}

// Validate checks what EnqueueCommand stores: a known kind, a key of at most
// MaxCommandKeyLen letters, digits and '_', '-', '.', ':', a payload that is a JSON
// object of at most MaxCommandPayload bytes (or empty), and a deadline.
func (c *Command) Validate() error {
	if !c.Kind.Known() {
		return Errorf(EINVALID, "command kind %q is not known; use dispense, open_door, show_qr or cancel", c.Kind)
	}
	if c.Key == "" || len(c.Key) > MaxCommandKeyLen {
		return Errorf(EINVALID, "command key %q must be 1 to %d characters", c.Key, MaxCommandKeyLen)
	}
	for _, r := range c.Key {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("_-.:", r)) {
			return Errorf(EINVALID, "command key %q contains %q; use letters, digits and _ - . :", c.Key, r)
		}
	}
	if err := CheckJSONObject("command payload", c.Payload); err != nil {
		return err
	}
	if c.ExpiresAt.IsZero() {
		return Errorf(EINVALID, "command %s has no deadline (ExpiresAt); a command must expire", c.Key)
	}
	return nil
}

// CheckJSONObject checks a device channel document (a command's payload, an
// acknowledgement's result): empty, or a JSON object of at most MaxCommandPayload bytes.
func CheckJSONObject(field string, v json.RawMessage) error {
	if len(v) == 0 {
		return nil
	}
	if len(v) > MaxCommandPayload {
		return Errorf(EINVALID, "%s is %d bytes; at most %d are allowed", field, len(v), MaxCommandPayload)
	}
	var m map[string]json.RawMessage
	if !utf8.Valid(v) || json.Unmarshal(v, &m) != nil || m == nil {
		return Errorf(EINVALID, "%s is not a JSON object; send {...}", field)
	}
	return nil
}

// DeviceStore persists device descriptions and the device channel.
type DeviceStore interface {
	// PutDevice validates d (Device.Validate) and creates or replaces the description
	// of a terminal of kind vending, its planogram — stock included — replaced whole;
	// it fills MerchantID from the terminal and UpdatedAt. ENOTFOUND for no such
	// terminal (or one of another merchant when d.MerchantID is set), EINVALID for a
	// cashier terminal or an invalid description, which writes nothing.
	PutDevice(ctx context.Context, d *Device) error
	// FindDevice returns a terminal's description (ENOTFOUND when it has none).
	FindDevice(ctx context.Context, terminalID int64) (*Device, error)
	// TakeStock lowers a slot's stock by n (n > 0, else EINVALID), not below zero, in
	// one statement (concurrent takes all count). ENOTFOUND when the device has no such
	// slot.
	TakeStock(ctx context.Context, terminalID int64, slot string, n int) error

	// EnqueueCommand validates c (Command.Validate) and inserts it PENDING with no
	// deliveries, filling its ID, State and CreatedAt, unless the terminal already has
	// a command with c.Key — in any state: then it returns that one, unchanged (its
	// kind and payload are the first enqueue's), and created=false. Two concurrent
	// enqueues of one key store one command. ENOTFOUND when the terminal has no
	// device description.
	EnqueueCommand(ctx context.Context, c *Command) (stored *Command, created bool, err error)
	// DeliverCommands returns up to limit of the terminal's PENDING commands that
	// have not expired at now, oldest first, counting a delivery on each.
	DeliverCommands(ctx context.Context, terminalID int64, now time.Time, limit int) ([]*Command, error)
	// AckCommand moves a PENDING command of the terminal to ACKED with result.
	// Acknowledging an ACKED command again returns it unchanged (the first result
	// stands); an EXPIRED one, or a PENDING one acknowledged at or after its
	// ExpiresAt, is ECONFLICT (the deadline is the deadline: its owner acts on the
	// expiry); another terminal's, or none, is ENOTFOUND. result is checked as
	// CheckJSONObject does.
	AckCommand(ctx context.Context, terminalID, id int64, result json.RawMessage, now time.Time) (*Command, error)
	// FindCommand returns a command by id (ENOTFOUND when there is none).
	FindCommand(ctx context.Context, id int64) (*Command, error)
	// ExpireCommands moves up to limit PENDING commands whose ExpiresAt is at or
	// before now to EXPIRED and returns them, so their owners can act (a dispense
	// that expired unacknowledged is a vend item not delivered).
	ExpireCommands(ctx context.Context, now time.Time, limit int) ([]*Command, error)
}

// Device health (docs/vending.md §5). A machine reports itself with heartbeats; the
// service keeps the last one and when it came, and a janitor marks a device offline
// when heartbeats stop — once per transition, with an outbox event each way.

// DeviceState is what the service concluded about a device's presence.
type DeviceState string

const (
	DeviceUnknown DeviceState = "unknown" // described, never heard
	DeviceOnline  DeviceState = "online"  // heartbeats arrive
	DeviceOffline DeviceState = "offline" // N heartbeats missed
)

// Events of device health, written in the transaction of the transition they announce.
const (
	EventDeviceOnline  EventType = "device.online"
	EventDeviceOffline EventType = "device.offline"
)

// MachineStatus is what a machine says of itself, mapped to Alipay's equipment_status.
type MachineStatus string

const (
	MachineNormal   MachineStatus = "normal" // 30: running
	MachinePowerOn  MachineStatus = "on"     // 10: just powered on
	MachinePowerOff MachineStatus = "off"    // 20: shutting down
	MachineSleep    MachineStatus = "sleep"  // 40
	MachineAwake    MachineStatus = "awake"  // 41
)

// EquipmentStatus is the status as monitor.heartbeat.syn's equipment_status.
func (s MachineStatus) EquipmentStatus() string {
	switch s {
	case MachinePowerOn:
		return "10"
	case MachinePowerOff:
		return "20"
	case MachineSleep:
		return "40"
	case MachineAwake:
		return "41"
	}
	return "30"
}

// Limits of a heartbeat.
const (
	MaxHeartbeatErrors = 16  // error codes in one heartbeat
	MaxErrorCodeLen    = 32  // one error code
	MaxHeartbeatTrades = 100 // trade_info entries (Alipay's limit)
	MaxTradeSeconds    = 99  // a trade's duration as Alipay takes it
	MinTemperature     = -50
	MaxTemperature     = 100
	MaxNetworkTypeLen  = 16
)

// Heartbeat is one report of a machine (POST /v1/device/heartbeat).
type Heartbeat struct {
	Status MachineStatus `json:"status"`
	// Errors are the machine's own error codes now ("E12", "coin_jam"); none when well.
	Errors []string `json:"errors,omitempty"`
	// Temperature is the cabinet's, in °C, when the machine has a sensor.
	Temperature *float64 `json:"temperature,omitempty"`
	// Door is "open" or "closed", when the machine has a door sensor.
	Door string `json:"door,omitempty"`
	// NetworkType is "4G", "WIFI", "LAN"… as the machine names it.
	NetworkType string `json:"network_type,omitempty"`
	// Trades are its recent trades' timings, as the heartbeat's trade_info.
	Trades []HeartbeatTrade `json:"trades,omitempty"`
}

// HeartbeatTrade is one recent trade's timing.
type HeartbeatTrade struct {
	OutTradeNo string `json:"out_trade_no"`
	// Seconds the trade took, 0–99.
	Seconds int `json:"seconds"`
	// Status as Alipay's trade_info STAT: S success, I in progress, F failed, P waiting
	// for the buyer's password, X/Y/Z connect/send/receive error, C cancelled, T timed out.
	Status string `json:"status"`
}

// Validate checks a heartbeat as a machine sent it.
func (h *Heartbeat) Validate() error {
	switch h.Status {
	case MachineNormal, MachinePowerOn, MachinePowerOff, MachineSleep, MachineAwake:
	default:
		return Errorf(EINVALID, "status %q is not known; use normal, on, off, sleep or awake", h.Status)
	}
	if len(h.Errors) > MaxHeartbeatErrors {
		return Errorf(EINVALID, "errors lists %d codes; at most %d are allowed", len(h.Errors), MaxHeartbeatErrors)
	}
	for i, e := range h.Errors {
		if err := CheckID(fmt.Sprintf("errors[%d]", i), e, true, MaxErrorCodeLen); err != nil {
			return err
		}
	}
	if t := h.Temperature; t != nil && !(*t >= MinTemperature && *t <= MaxTemperature) {
		return Errorf(EINVALID, "temperature %v °C is out of range; send %d to %d", *t, MinTemperature, MaxTemperature)
	}
	if h.Door != "" && h.Door != "open" && h.Door != "closed" {
		return Errorf(EINVALID, "door %q is neither \"open\" nor \"closed\"", h.Door)
	}
	if err := CheckID("network_type", h.NetworkType, false, MaxNetworkTypeLen); err != nil {
		return err
	}
	if len(h.Trades) > MaxHeartbeatTrades {
		return Errorf(EINVALID, "trades lists %d trades; at most %d are allowed", len(h.Trades), MaxHeartbeatTrades)
	}
	for i, t := range h.Trades {
		if err := CheckID(fmt.Sprintf("trades[%d].out_trade_no", i), t.OutTradeNo, true, 64); err != nil {
			return err
		}
		if t.Seconds < 0 || t.Seconds > MaxTradeSeconds {
			return Errorf(EINVALID, "trades[%d].seconds %d is out of range; send 0 to %d", i, t.Seconds, MaxTradeSeconds)
		}
		if len(t.Status) != 1 || !strings.Contains("SIFPXYZCT", t.Status) {
			return Errorf(EINVALID, "trades[%d].status %q is not one of S, I, F, P, X, Y, Z, C, T", i, t.Status)
		}
	}
	return nil
}

// DeviceHealth is what the service knows of a device's health, with what the listing
// shows of the device.
type DeviceHealth struct {
	TerminalID   int64       `json:"terminal_id"`
	MerchantID   int64       `json:"merchant_id"`
	TerminalCode string      `json:"terminal_code,omitempty"`
	Machine      MachineKind `json:"machine,omitempty"`
	Site         string      `json:"site,omitempty"`
	State        DeviceState `json:"state"`
	// LastSeenAt is when the last heartbeat arrived; zero when none did.
	LastSeenAt     time.Time `json:"last_seen_at,omitzero"`
	StateChangedAt time.Time `json:"state_changed_at,omitzero"`
	// Report is the last heartbeat.
	Report *Heartbeat `json:"report,omitempty"`
	// LastError is the error codes of the last heartbeat that had any, comma-separated.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// ForwardedAt is when a heartbeat was last forwarded to Alipay.
	ForwardedAt time.Time `json:"forwarded_at,omitzero"`
	Heartbeats  int64     `json:"heartbeats"`
}

// HeartbeatRecord is one heartbeat for DeviceStore.RecordHeartbeat.
type HeartbeatRecord struct {
	TerminalID int64
	Report     *Heartbeat
	// At is when it arrived (the service's clock).
	At time.Time
	// ForwardEvery: the heartbeat is to be forwarded to Alipay when the last forward
	// is at least this old (or there was none); 0 never.
	ForwardEvery time.Duration
	// Online makes the event announcing that the device came online (from unknown or
	// offline), written only when it does; nil writes none.
	Online func(h *DeviceHealth) *Event
}

// DeviceHealthStore keeps heartbeats and device health. Its transitions are
// conditional writes, so that concurrent heartbeats and janitors of several instances
// make each transition — and its event — once.
type DeviceHealthStore interface {
	// RecordHeartbeat stores r.Report as the device's last report at r.At, counts it,
	// records its errors as the last error, moves the device online when it was not
	// (online=true, with r.Online's event in the same transaction), and claims the
	// forward to Alipay when it is due (forward=true: this caller forwards; no other
	// caller is told to until ForwardEvery has passed). ENOTFOUND when the terminal has
	// no device description.
	RecordHeartbeat(ctx context.Context, r *HeartbeatRecord) (h *DeviceHealth, online, forward bool, err error)
	// MarkOffline moves up to limit online devices last seen before cutoff to offline at
	// now, each with event(h)'s event in the same transaction, and returns them. A
	// device that sent a heartbeat meanwhile is not moved.
	MarkOffline(ctx context.Context, cutoff, now time.Time, limit int, event func(h *DeviceHealth) *Event) ([]*DeviceHealth, error)
	// FindDeviceHealth returns one device's health (ENOTFOUND when it has no description).
	FindDeviceHealth(ctx context.Context, terminalID int64) (*DeviceHealth, error)
	// ListDeviceHealth lists the devices of a merchant (0: of all) with their health,
	// by terminal id, after afterID, up to limit.
	ListDeviceHealth(ctx context.Context, merchantID, afterID int64, limit int) ([]*DeviceHealth, error)
	// CountDevicesByState counts the described devices by state, for metrics.
	CountDevicesByState(ctx context.Context) (map[DeviceState]int64, error)
}
