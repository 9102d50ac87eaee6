package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/f2fpay/f2fpay"
)

const deviceCols = `terminal_id, merchant_id, machine, site, updated_at`

func scanDevice(s Scanner) (*f2fpay.Device, error) {
	d := new(f2fpay.Device)
	err := s.Scan(&d.TerminalID, &d.MerchantID, (*string)(&d.Machine), &d.Site, NullTime{&d.UpdatedAt})
	return d, err
}

const slotCols = `code, goods_id, name, price, stock`

func scanSlot(s Scanner) (f2fpay.Slot, error) {
	var x f2fpay.Slot
	err := s.Scan(&x.Code, &x.GoodsID, &x.Name, (*int64)(&x.Price), &x.Stock)
	return x, err
}

const commandCols = `id, terminal_id, kind, key, payload, state, deliveries, result, created_at, expires_at, acked_at`

func scanCommand(s Scanner) (*f2fpay.Command, error) {
	c := new(f2fpay.Command)
	var payload, result string
	err := s.Scan(&c.ID, &c.TerminalID, (*string)(&c.Kind), &c.Key, &payload, (*string)(&c.State), &c.Deliveries,
		&result, NullTime{&c.CreatedAt}, NullTime{&c.ExpiresAt}, NullTime{&c.AckedAt})
	if payload != "" {
		c.Payload = json.RawMessage(payload)
	}
	if result != "" {
		c.Result = json.RawMessage(result)
	}
	return c, err
}

// PutDevice checks d and the terminal (the merchant's, of kind vending), then writes
// the description and replaces the planogram in one transaction.
func (c *Core) PutDevice(ctx context.Context, d *f2fpay.Device) (err error) {
	defer c.Wrap(&err, "put device")
	if err := d.Validate(); err != nil {
		return err
	}
	t, err := c.FindTerminal(ctx, d.TerminalID)
	if err != nil || (d.MerchantID != 0 && t.MerchantID != d.MerchantID) {
		if err == nil || f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "terminal %d not found", d.TerminalID)
		}
		return err
	}
	if t.Kind != f2fpay.TerminalVending {
		return f2fpay.Errorf(f2fpay.EINVALID, "terminal %s is a %s terminal; only a vending terminal has a device description", t.Code, t.Kind)
	}
	now := c.Now()
	stmts := []Stmt{
		{Query: c.q.PutDevice, Args: []any{t.ID, t.MerchantID, string(d.Machine), d.Site, c.T(now)}},
		{Query: c.q.DeleteSlots, Args: []any{t.ID}},
		{Query: c.q.InitDeviceHealth, Args: []any{t.ID, t.MerchantID}},
	}
	for i, s := range d.Slots {
		stmts = append(stmts, Stmt{Query: c.q.InsertSlot, Args: []any{t.ID, i, s.Code, s.GoodsID, s.Name, int64(s.Price), s.Stock}})
	}
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		return c.constraint(tx.Batch(ctx, stmts), fmt.Sprintf("terminal %d: two slots share a code", t.ID),
			fmt.Sprintf("terminal %d not found", t.ID))
	})
	if err != nil {
		return err
	}
	d.MerchantID, d.UpdatedAt = t.MerchantID, now
	if d.Slots == nil {
		d.Slots = []f2fpay.Slot{}
	}
	return nil
}

// FindDevice returns a terminal's description with its planogram.
func (c *Core) FindDevice(ctx context.Context, terminalID int64) (_ *f2fpay.Device, err error) {
	defer c.Wrap(&err, "find device")
	d, err := FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindDevice, terminalID), scanDevice,
		"terminal %d has no device description; PUT /admin/terminals/%d/device describes it", terminalID, terminalID)
	if err != nil {
		return nil, err
	}
	rows, err := c.cfg.Read.Query(ctx, c.q.DeviceSlots, terminalID)
	d.Slots, err = Collect(rows, err, scanSlot)
	if d.Slots == nil {
		d.Slots = []f2fpay.Slot{}
	}
	return d, err
}

// TakeStock lowers a slot's stock by n, clamped at zero in the statement.
func (c *Core) TakeStock(ctx context.Context, terminalID int64, slot string, n int) (err error) {
	defer c.Wrap(&err, "take stock")
	if n <= 0 {
		return f2fpay.Errorf(f2fpay.EINVALID, "take stock: %d units; take at least one", n)
	}
	var changed int64
	err = c.cfg.Single(ctx, false, func(ctx context.Context, tx Conn) error {
		changed, err = tx.Exec(ctx, c.q.TakeStock, terminalID, slot, n)
		return err
	})
	if err == nil && changed == 0 {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "terminal %d has no slot %q", terminalID, slot)
	}
	return err
}

// EnqueueCommand inserts cmd unless its key is taken (ON CONFLICT DO NOTHING), then
// reads the command that holds the key — in the same transaction, so the insert and
// the read see one command.
func (c *Core) EnqueueCommand(ctx context.Context, cmd *f2fpay.Command) (stored *f2fpay.Command, created bool, err error) {
	defer c.Wrap(&err, "enqueue command")
	if err := cmd.Validate(); err != nil {
		return nil, false, err
	}
	now := c.Now()
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		stored, err = scanCommand(tx.QueryRow(ctx, c.q.InsertCommand, cmd.TerminalID, string(cmd.Kind), cmd.Key,
			string(cmd.Payload), c.T(now), c.T(cmd.ExpiresAt.UTC().Truncate(time.Microsecond))))
		if err == nil {
			created = true
			return nil
		}
		if !isNoRows(err) {
			return c.constraint(err, fmt.Sprintf("terminal %d has a command %s already", cmd.TerminalID, cmd.Key),
				fmt.Sprintf("terminal %d has no device description; describe the device before commanding it", cmd.TerminalID))
		}
		stored, err = FindOne(tx.QueryRow(ctx, c.q.FindCommandByKey, cmd.TerminalID, cmd.Key), scanCommand,
			"terminal %d: command %s vanished", cmd.TerminalID, cmd.Key)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if created {
		cmd.ID, cmd.State, cmd.Deliveries, cmd.CreatedAt, cmd.ExpiresAt = stored.ID, stored.State, 0, stored.CreatedAt, stored.ExpiresAt
	}
	return stored, created, nil
}

// DeliverCommands counts a delivery on the terminal's live pending commands. The count
// need not be durable (lazy): a delivery lost in a crash is a delivery not counted.
func (c *Core) DeliverCommands(ctx context.Context, terminalID int64, now time.Time, limit int) (out []*f2fpay.Command, err error) {
	defer c.Wrap(&err, "deliver commands")
	if limit <= 0 {
		return nil, nil
	}
	err = c.cfg.Tx(ctx, true, func(ctx context.Context, tx Conn) error {
		rows, err := tx.Query(ctx, c.q.DeliverCommands, terminalID, c.T(now), limit)
		out, err = Collect(rows, err, scanCommand)
		return err
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// AckCommand acknowledges in one conditional UPDATE; when it changes nothing, the
// command as stored says why.
func (c *Core) AckCommand(ctx context.Context, terminalID, id int64, result json.RawMessage, now time.Time) (cmd *f2fpay.Command, err error) {
	defer c.Wrap(&err, "ack command")
	if err := f2fpay.CheckJSONObject("result", result); err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Microsecond)
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		cmd, err = scanCommand(tx.QueryRow(ctx, c.q.AckCommand, id, terminalID, string(result), c.T(now)))
		if !isNoRows(err) {
			return err
		}
		cmd, err = FindOne(tx.QueryRow(ctx, c.q.FindCommand, id), scanCommand, "command %d not found", id)
		if err == nil && cmd.TerminalID != terminalID {
			// Another terminal's command is none of this one's business: not found.
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "command %d not found", id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	switch {
	case cmd.State == f2fpay.CommandAcked:
		return cmd, nil
	case cmd.State == f2fpay.CommandExpired || !now.Before(cmd.ExpiresAt):
		return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "command %d expired at %s before it was acknowledged; the service has acted on its expiry",
			id, cmd.ExpiresAt.Format(time.RFC3339))
	}
	return nil, fmt.Errorf("command %d is %s after an acknowledgement", id, cmd.State)
}

// FindCommand returns a command by id.
func (c *Core) FindCommand(ctx context.Context, id int64) (_ *f2fpay.Command, err error) {
	defer c.Wrap(&err, "find command")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindCommand, id), scanCommand, "command %d not found", id)
}

// ExpireCommands moves due pending commands to EXPIRED, earliest deadline first.
func (c *Core) ExpireCommands(ctx context.Context, now time.Time, limit int) (out []*f2fpay.Command, err error) {
	defer c.Wrap(&err, "expire commands")
	if limit <= 0 {
		return nil, nil
	}
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		rows, err := tx.Query(ctx, c.q.ExpireCommands, c.T(now), limit)
		out, err = Collect(rows, err, scanCommand)
		return err
	})
	sort.Slice(out, func(i, j int) bool {
		if !out[i].ExpiresAt.Equal(out[j].ExpiresAt) {
			return out[i].ExpiresAt.Before(out[j].ExpiresAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}
