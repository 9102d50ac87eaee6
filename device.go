package f2fpay

import (
	"context"
	"encoding/json"
	"time"
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

// DeviceStore persists device descriptions and the device channel.
type DeviceStore interface {
	// PutDevice creates or replaces the description of a terminal of kind vending
	// (ENOTFOUND for no such terminal, EINVALID for a cashier terminal).
	PutDevice(ctx context.Context, d *Device) error
	// FindDevice returns a terminal's description (ENOTFOUND when it has none).
	FindDevice(ctx context.Context, terminalID int64) (*Device, error)
	// TakeStock lowers a slot's stock by n, not below zero.
	TakeStock(ctx context.Context, terminalID int64, slot string, n int) error

	// EnqueueCommand inserts c PENDING and fills its ID and CreatedAt, unless the
	// terminal already has a command with c.Key: then it returns that one, unchanged,
	// and created=false.
	EnqueueCommand(ctx context.Context, c *Command) (stored *Command, created bool, err error)
	// DeliverCommands returns up to limit of the terminal's PENDING commands that
	// have not expired at now, oldest first, counting a delivery on each.
	DeliverCommands(ctx context.Context, terminalID int64, now time.Time, limit int) ([]*Command, error)
	// AckCommand moves a PENDING command of the terminal to ACKED with result.
	// Acknowledging an ACKED command again returns it unchanged (the first result
	// stands); an EXPIRED one is ECONFLICT; another terminal's is ENOTFOUND.
	AckCommand(ctx context.Context, terminalID, id int64, result json.RawMessage, now time.Time) (*Command, error)
	// FindCommand returns a command by id.
	FindCommand(ctx context.Context, id int64) (*Command, error)
	// ExpireCommands moves up to limit PENDING commands whose ExpiresAt is at or
	// before now to EXPIRED and returns them, so their owners can act (a dispense
	// that expired unacknowledged is a vend item not delivered).
	ExpireCommands(ctx context.Context, now time.Time, limit int) ([]*Command, error)
}
