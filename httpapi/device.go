package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Devices is what the device channel's endpoints need (usually *device.Service):
// the machine's long-poll and its acknowledgements (docs/api.md, "Device channel").
type Devices interface {
	Poll(ctx context.Context, terminalID int64, wait time.Duration) ([]*f2fpay.Command, error)
	Ack(ctx context.Context, terminalID, id int64, result json.RawMessage) (*f2fpay.Command, error)
	// Heartbeat records a machine's heartbeat and answers its health and the interval
	// to keep (docs/vending.md §5).
	Heartbeat(ctx context.Context, t *f2fpay.Terminal, hb *f2fpay.Heartbeat) (*f2fpay.DeviceHealth, time.Duration, error)
}

// commandsAnswer is the long-poll's answer: the commands to execute, oldest first,
// possibly none.
type commandsAnswer struct {
	Commands []*f2fpay.Command `json:"commands"`
}

// ackRequest is an acknowledgement: what the machine did, as a JSON object of at
// most f2fpay.MaxCommandPayload bytes (optional).
type ackRequest struct {
	Result json.RawMessage `json:"result"`
}

// vendingTerminal is the authenticated terminal when it is a vending machine and the
// device channel is served.
func (s *Server) vendingTerminal(r *http.Request) (*f2fpay.Terminal, error) {
	if s.devices == nil {
		return nil, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "the device channel is not served by this instance; ask the operator")
	}
	t := terminalOf(r.Context())
	if t.Kind != f2fpay.TerminalVending {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "terminal %s is a %s terminal; only vending terminals have a device channel", t.Code, t.Kind)
	}
	return t, nil
}

// getDeviceCommands is the machine's long-poll: its pending commands at once, else
// it waits up to ?wait= for one.
func (s *Server) getDeviceCommands(w http.ResponseWriter, r *http.Request) error {
	t, err := s.vendingTerminal(r)
	if err != nil {
		return err
	}
	wait, err := s.parseWait(r.URL.Query().Get("wait"))
	if err != nil {
		return err
	}
	cmds, err := s.devices.Poll(r.Context(), t.ID, wait)
	if err != nil {
		return err
	}
	if cmds == nil {
		cmds = []*f2fpay.Command{}
	}
	writeJSON(w, http.StatusOK, commandsAnswer{Commands: cmds})
	return nil
}

// postDeviceAck records that the machine executed a command. It needs no
// Idempotency-Key: acknowledging again answers the command as first acknowledged.
func (s *Server) postDeviceAck(w http.ResponseWriter, r *http.Request) error {
	t, err := s.vendingTerminal(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, "id", "command id")
	if err != nil {
		return err
	}
	var req ackRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if string(req.Result) == "null" {
		req.Result = nil
	}
	c, err := s.devices.Ack(r.Context(), t.ID, id, req.Result)
	if err != nil {
		return err
	}
	if s.vends != nil && c.Kind == f2fpay.CommandDispense {
		// A vend's unit: its outcome (a refund for a failed one) is taken up at once,
		// after the machine has its answer; the vend janitor is the backstop.
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
			defer cancel()
			s.vends.CommandAcked(ctx, c)
		}()
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// deviceBody is a device description as the admin API reads and shows it: prices as
// yuan strings ("3.50"), like every amount of the API. terminal_id, merchant_id and
// updated_at are shown, and ignored in a PUT (so a GET's answer can be PUT back).
type deviceBody struct {
	TerminalID int64              `json:"terminal_id,omitempty"`
	MerchantID int64              `json:"merchant_id,omitempty"`
	Machine    f2fpay.MachineKind `json:"machine"`
	Site       string             `json:"site,omitempty"`
	Slots      []slotBody         `json:"slots"`
	UpdatedAt  *time.Time         `json:"updated_at,omitempty"`
}

type slotBody struct {
	Code    string `json:"code"`
	GoodsID string `json:"goods_id"`
	Name    string `json:"name"`
	Price   string `json:"price"`
	Stock   int    `json:"stock"`
}

func showDevice(d *f2fpay.Device) deviceBody {
	b := deviceBody{TerminalID: d.TerminalID, MerchantID: d.MerchantID, Machine: d.Machine, Site: d.Site,
		Slots: make([]slotBody, len(d.Slots)), UpdatedAt: &d.UpdatedAt}
	for i, s := range d.Slots {
		b.Slots[i] = slotBody{Code: s.Code, GoodsID: s.GoodsID, Name: s.Name, Price: s.Price.String(), Stock: s.Stock}
	}
	return b
}

func (s *Server) adminPutDevice(w http.ResponseWriter, r *http.Request) error {
	t, err := s.terminalParam(r)
	if err != nil {
		return err
	}
	var req deviceBody
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	d := &f2fpay.Device{TerminalID: t.ID, MerchantID: t.MerchantID, Machine: req.Machine, Site: req.Site,
		Slots: make([]f2fpay.Slot, len(req.Slots))}
	if len(req.Slots) > f2fpay.MaxSlots {
		return f2fpay.Errorf(f2fpay.EINVALID, "the planogram has %d slots; at most %d are allowed", len(req.Slots), f2fpay.MaxSlots)
	}
	for i, sl := range req.Slots {
		p, err := parseAmountField("slots["+sl.Code+"].price", sl.Price)
		if err != nil {
			return err
		}
		d.Slots[i] = f2fpay.Slot{Code: sl.Code, GoodsID: sl.GoodsID, Name: sl.Name, Price: p, Stock: sl.Stock}
	}
	if err := s.store.PutDevice(r.Context(), d); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, showDevice(d))
	return nil
}

func (s *Server) adminGetDevice(w http.ResponseWriter, r *http.Request) error {
	t, err := s.terminalParam(r)
	if err != nil {
		return err
	}
	d, err := s.store.FindDevice(r.Context(), t.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, showDevice(d))
	return nil
}

// heartbeatAnswer is what a heartbeat is answered: the device's state as the service
// sees it and when to send the next heartbeat.
type heartbeatAnswer struct {
	State                f2fpay.DeviceState `json:"state"`
	LastSeenAt           time.Time          `json:"last_seen_at"`
	NextHeartbeatSeconds int                `json:"next_heartbeat_seconds"`
}

// parseHeartbeat decodes and checks a heartbeat body.
func parseHeartbeat(body []byte) (*f2fpay.Heartbeat, error) {
	var hb f2fpay.Heartbeat
	if err := decodeJSON(body, &hb); err != nil {
		return nil, err
	}
	if hb.Status == "" {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "status is required: normal, on, off, sleep or awake")
	}
	if err := hb.Validate(); err != nil {
		return nil, err
	}
	return &hb, nil
}

// postDeviceHeartbeat is a machine's heartbeat: idempotent by nature (a repeated one
// only says again that the machine is alive), so it needs no Idempotency-Key.
func (s *Server) postDeviceHeartbeat(w http.ResponseWriter, r *http.Request) error {
	t, err := s.vendingTerminal(r)
	if err != nil {
		return err
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	hb, err := parseHeartbeat(body)
	if err != nil {
		return err
	}
	h, next, err := s.devices.Heartbeat(r.Context(), t, hb)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, heartbeatAnswer{State: h.State, LastSeenAt: h.LastSeenAt, NextHeartbeatSeconds: int(next / time.Second)})
	return nil
}

// devicesPage is the admin listing of devices with their health.
type devicesPage struct {
	Devices []*f2fpay.DeviceHealth `json:"devices"`
	// NextAfter continues the listing (?after=) when the page was full.
	NextAfter int64 `json:"next_after,omitempty"`
}

func (s *Server) adminListDevices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var merchantID, after int64
	if id, err := queryID(q, "merchant_id"); err != nil {
		return err
	} else if id != nil {
		merchantID = *id
	}
	if id, err := queryID(q, "after"); err != nil {
		return err
	} else if id != nil {
		after = *id
	}
	limit, err := queryLimit(q)
	if err != nil {
		return err
	}
	list, err := s.store.ListDeviceHealth(r.Context(), merchantID, after, limit)
	if err != nil {
		return err
	}
	page := devicesPage{Devices: list}
	if page.Devices == nil {
		page.Devices = []*f2fpay.DeviceHealth{}
	}
	if len(list) == limit {
		page.NextAfter = list[len(list)-1].TerminalID
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
