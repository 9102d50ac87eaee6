// Package vend runs vend orders (docs/vending.md §11): a vending machine's sale of one
// or more units, paid through the payment engine, then dispensed unit by unit through
// the device channel; a unit the machine does not deliver is refunded on its own, once,
// through the engine's refund. The state machines are in docs/state_machine.md.
package vend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
)

// Config configures a Service.
type Config struct {
	Storage f2fpay.Storage
	// Devices holds the planograms and the device channel (often Storage itself).
	Devices f2fpay.DeviceStore
	// Commander, when set (usually *device.Service), enqueues the dispense commands
	// and wakes the machine's long-poll at once; without it they are enqueued in
	// Devices and the machine finds them at its next poll.
	Commander Commander
	// Engine pays and refunds; the vend service never calls Alipay itself.
	Engine *payment.Engine
	Clock  f2fpay.Clock
	Logger *slog.Logger
	// Owner names this instance's janitor leases; default a random name.
	Owner string
	// DispenseWindow is how long after payment the machine has to report a unit
	// before it counts as not delivered and is refunded; default 90 s.
	DispenseWindow time.Duration
	// Poll is how often the janitor looks at a vend waiting for its payment or for
	// the machine's reports; default 2 s.
	Poll time.Duration
}

// Commander enqueues a device command idempotently by key and wakes the machine
// (device.Service.Enqueue).
type Commander interface {
	Enqueue(ctx context.Context, terminalID int64, kind f2fpay.CommandKind, key string, payload any, ttl time.Duration) (*f2fpay.Command, bool, error)
}

// Service runs vend orders. It is safe for concurrent use; several services (in one
// process or several) may share one Storage.
type Service struct {
	store   f2fpay.Storage
	devices f2fpay.DeviceStore
	command Commander
	engine  *payment.Engine
	clock   f2fpay.Clock
	log     *slog.Logger
	owner   string
	window  time.Duration
	poll    time.Duration
}

// New checks cfg and returns a Service. Start its janitor with RunJanitor.
func New(cfg Config) (*Service, error) {
	if cfg.Storage == nil || cfg.Devices == nil || cfg.Engine == nil {
		return nil, errors.New("vend: Config.Storage, Devices and Engine are required")
	}
	s := &Service{store: cfg.Storage, devices: cfg.Devices, command: cfg.Commander, engine: cfg.Engine, clock: cfg.Clock, log: cfg.Logger,
		owner: cfg.Owner, window: cfg.DispenseWindow, poll: cfg.Poll}
	if s.clock == nil {
		s.clock = f2fpay.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.owner == "" {
		s.owner = "vend-" + randomHex(6)
	}
	if s.window <= 0 {
		s.window = 90 * time.Second
	}
	if s.poll <= 0 {
		s.poll = 2 * time.Second
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("vend: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Line is one line of what the machine sells: quantity units from a slot at the unit
// price its screen showed.
type Line struct {
	Slot     string        `json:"slot"`
	Quantity int           `json:"quantity"`
	Price    f2fpay.Amount `json:"price"`
}

// CreateRequest is a machine's vend.
type CreateRequest struct {
	TerminalID int64
	Lines      []Line
	// Pay is how the buyer pays: f2fpay.KindQR (default: a QR on the screen) or
	// f2fpay.KindJSAPI (a member's page, with BuyerID or BuyerOpenID).
	Pay         f2fpay.OrderKind
	BuyerID     string
	BuyerOpenID string
	// Deadline is how long the buyer has to pay; default the engine's QR window.
	Deadline time.Duration
	// RequestKey makes creation idempotent per terminal: the same key returns the
	// vend it made.
	RequestKey string
}

// RefundID is the payment engine's refund id of unit n of vend id: Alipay's
// out_request_no derives from it alone, so the unit is refunded at most once.
func RefundID(vendID int64, n int) string { return fmt.Sprintf("vend-%d-%d", vendID, n) }

// CommandKey is the device channel's idempotency key of unit n's dispense command.
func CommandKey(vendID int64, n int) string { return fmt.Sprintf("vend:%d:item:%d", vendID, n) }

// ParseCommandKey returns the vend and unit of a dispense command's key; ok is false
// for a key that is not a vend's.
func ParseCommandKey(key string) (vendID int64, n int, ok bool) {
	rest, found := strings.CutPrefix(key, "vend:")
	if !found {
		return 0, 0, false
	}
	id, item, found := strings.Cut(rest, ":item:")
	if !found {
		return 0, 0, false
	}
	v, err1 := strconv.ParseInt(id, 10, 64)
	i, err2 := strconv.Atoi(item)
	if err1 != nil || err2 != nil || v <= 0 || i <= 0 {
		return 0, 0, false
	}
	return v, i, true
}

// DispensePayload is the payload of a vend's dispense command.
type DispensePayload struct {
	VendID  int64  `json:"vend_id"`
	Item    int    `json:"item"`
	Slot    string `json:"slot"`
	GoodsID string `json:"goods_id"`
}

// Result is what a machine says about a unit: the result of its dispense command's
// acknowledgement, or an explicit report.
type Result struct {
	Outcome string `json:"outcome"`        // f2fpay.OutcomeDelivered or f2fpay.OutcomeFailed
	Code    string `json:"code,omitempty"` // why it failed ("JAMMED", "EMPTY")
}

// Check reports whether r is a result the service understands.
func (r Result) Check() error {
	if r.Outcome != f2fpay.OutcomeDelivered && r.Outcome != f2fpay.OutcomeFailed {
		return f2fpay.Errorf(f2fpay.EINVALID, "outcome %q must be %q or %q", r.Outcome, f2fpay.OutcomeDelivered, f2fpay.OutcomeFailed)
	}
	if len(r.Code) > f2fpay.MaxVendFailCodeLen {
		return f2fpay.Errorf(f2fpay.EINVALID, "code is longer than %d bytes", f2fpay.MaxVendFailCodeLen)
	}
	for _, c := range r.Code {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return f2fpay.Errorf(f2fpay.EINVALID, "code %q may hold only letters, digits, '_', '-' and '.'", r.Code)
		}
	}
	return nil
}

// ParseResult reads a command acknowledgement's result. A result the service does
// not understand (empty, not JSON, another outcome) is a unit not known to be
// delivered: it is refunded (the buyer never pays for what the machine cannot vouch
// for).
func ParseResult(raw json.RawMessage) Result {
	var r Result
	if len(raw) == 0 || json.Unmarshal(raw, &r) != nil || r.Check() != nil {
		return Result{Outcome: f2fpay.OutcomeFailed, Code: "NO_OUTCOME"}
	}
	return r
}

// Create checks the machine's lines against its planogram, records the vend and
// creates its payment through the engine. It returns the vend and its payment order
// (QRCode for the screen, TradeNo for a member's tradePay).
//
// Errors: EINVALID for lines the planogram refuses (unknown slot, another price,
// more than the stock) or a terminal that cannot vend; ENOTFOUND for a terminal that
// is not described as a vending device; EUNAVAILABLE when Alipay did not answer (the
// vend is cancelled automatically; start a new one).
func (s *Service) Create(ctx context.Context, req CreateRequest) (*f2fpay.VendOrder, *f2fpay.Order, error) {
	if req.Pay == "" {
		req.Pay = f2fpay.KindQR
	}
	if req.Pay != f2fpay.KindQR && req.Pay != f2fpay.KindJSAPI && req.Pay != f2fpay.KindFace {
		return nil, nil, f2fpay.Errorf(f2fpay.EINVALID, "pay %q: a vend is paid by %q, %q or %q", req.Pay, f2fpay.KindQR, f2fpay.KindJSAPI, f2fpay.KindFace)
	}
	if len(req.RequestKey) > f2fpay.MaxVendRequestKeyLen {
		return nil, nil, f2fpay.Errorf(f2fpay.EINVALID, "request key is longer than %d bytes", f2fpay.MaxVendRequestKeyLen)
	}
	term, err := s.store.FindTerminal(ctx, req.TerminalID)
	if err != nil {
		return nil, nil, err
	}
	if term.Kind != f2fpay.TerminalVending {
		return nil, nil, f2fpay.Errorf(f2fpay.EINVALID, "terminal %s is a cashier terminal; only vending machines make vend orders", term.Code)
	}
	dev, err := s.devices.FindDevice(ctx, term.ID)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		return nil, nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "machine %s has no planogram; the operator must describe its slots first", term.Code)
	}
	if err != nil {
		return nil, nil, err
	}
	if dev.Machine == f2fpay.MachineCabinet {
		return nil, nil, f2fpay.Errorf(f2fpay.EINVALID, "machine %s is an open-door cabinet; it charges when the door closes, not with vend orders", term.Code)
	}
	if req.Pay == f2fpay.KindFace && dev.Machine != f2fpay.MachineFace {
		return nil, nil, f2fpay.Errorf(f2fpay.EINVALID, "machine %s has no face camera; pay by QR", term.Code)
	}
	items, err := checkLines(dev, req.Lines)
	if err != nil {
		return nil, nil, err
	}
	var total f2fpay.Amount
	for _, it := range items {
		total += it.Price
	}
	win := req.Deadline
	if win <= 0 {
		win = s.engine.Policy().QRWindow
	}
	p := s.engine.Policy()
	now := s.now()
	v := &f2fpay.VendOrder{
		MerchantID: term.MerchantID, TerminalID: term.ID, AppID: term.AppID, OutTradeNo: "vd" + randomHex(12),
		PayKind: req.Pay, Total: total, State: f2fpay.VendAwaitingPayment, Items: items, RequestKey: req.RequestKey,
		// Past the engine's own handling of a create (its call and handover), so a
		// vend whose payment order is missing at this time never gets one.
		PayDeadline: now.Add(win + p.CallTimeout + p.Handover),
		NextCheckAt: now.Add(s.poll),
	}
	v, created, err := s.store.CreateVendOrder(ctx, v)
	if err != nil {
		return nil, nil, err
	}
	ctx = payment.ForMerchant(ctx, v.MerchantID)
	if !created {
		// The same request again: answer with the vend as it stands. Its payment is
		// never created here — a vend whose first request died before it had one is
		// cancelled by the janitor, and the machine starts a new vend.
		o, err := s.store.FindMerchantOrder(ctx, v.AppID, v.MerchantID, v.OutTradeNo)
		if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND && v.PayKind == f2fpay.KindFace {
			return v, nil, nil
		}
		if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
			return v, nil, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "vend %d has no payment (its first request was interrupted); start a new vend", v.ID)
		}
		return v, o, err
	}
	s.log.InfoContext(ctx, "vend created", "vend_id", v.ID, "out_trade_no", v.OutTradeNo, "terminal_id", v.TerminalID, "total", v.Total.String(), "items", len(v.Items))
	if req.Pay == f2fpay.KindFace {
		// The machine scans the face now; PayFace pays, Fallback shows a QR.
		return v, nil, nil
	}
	subject, goods := describe(items)
	var o *f2fpay.Order
	switch req.Pay {
	case f2fpay.KindJSAPI:
		o, err = s.engine.CreateJSAPI(ctx, payment.JSAPIRequest{TerminalID: term.ID, BuyerID: req.BuyerID, BuyerOpenID: req.BuyerOpenID,
			Amount: total, Subject: subject, Goods: goods, Deadline: win, OutTradeNo: v.OutTradeNo, RequestKey: "vend:" + strconv.FormatInt(v.ID, 10)})
	default:
		o, err = s.engine.PrecreateQR(ctx, payment.QRRequest{TerminalID: term.ID, Amount: total, Subject: subject, Goods: goods,
			Deadline: win, OutTradeNo: v.OutTradeNo, RequestKey: "vend:" + strconv.FormatInt(v.ID, 10)})
	}
	if err != nil {
		// The engine records its order before it calls Alipay: no order means nothing
		// reached Alipay, and the vend ends now; otherwise the order's end ends it.
		if _, ferr := s.store.FindMerchantOrder(ctx, v.AppID, v.MerchantID, v.OutTradeNo); f2fpay.ErrorCode(ferr) == f2fpay.ENOTFOUND {
			if cv, cerr := s.cancel(ctx, v); cerr == nil {
				v = cv
			}
		}
		return v, o, err
	}
	if o.State.Final() {
		// Refused by Alipay (FAILED): the vend ends with it.
		if nv, err := s.Step(ctx, v); err == nil {
			v = nv
		}
	}
	return v, o, nil
}

// checkLines turns the machine's lines into units, checked against the planogram.
func checkLines(dev *f2fpay.Device, lines []Line) ([]f2fpay.VendItem, error) {
	if len(lines) == 0 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "a vend needs at least one item")
	}
	slots := make(map[string]*f2fpay.Slot, len(dev.Slots))
	for i := range dev.Slots {
		slots[dev.Slots[i].Code] = &dev.Slots[i]
	}
	want := map[string]int{}
	var items []f2fpay.VendItem
	for _, l := range lines {
		sl, ok := slots[l.Slot]
		if !ok {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "slot %q is not in the machine's planogram", truncate(l.Slot, f2fpay.MaxSlotCodeLen))
		}
		if l.Quantity <= 0 {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "slot %s: quantity %d must be at least 1", l.Slot, l.Quantity)
		}
		if l.Price != sl.Price {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "slot %s costs %s, not %s; refresh the prices on the screen", l.Slot, sl.Price, l.Price)
		}
		want[l.Slot] += l.Quantity
		if want[l.Slot] > sl.Stock {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "slot %s has %d left, fewer than the %d asked for", l.Slot, sl.Stock, want[l.Slot])
		}
		if len(items)+l.Quantity > f2fpay.MaxVendItems {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "a vend has at most %d items", f2fpay.MaxVendItems)
		}
		for range l.Quantity {
			items = append(items, f2fpay.VendItem{N: len(items) + 1, Slot: sl.Code, GoodsID: sl.GoodsID, Name: sl.Name,
				Price: sl.Price, State: f2fpay.ItemPending})
		}
	}
	return items, nil
}

// describe returns the trade's subject (the goods' names) and goods_detail (one line
// per slot).
func describe(items []f2fpay.VendItem) (string, []alipay.GoodsDetail) {
	var goods []alipay.GoodsDetail
	at := map[string]int{}
	for _, it := range items {
		if i, ok := at[it.Slot]; ok {
			goods[i].Quantity++
			continue
		}
		at[it.Slot] = len(goods)
		goods = append(goods, alipay.GoodsDetail{GoodsID: it.GoodsID, GoodsName: truncate(it.Name, 64), Quantity: 1, Price: it.Price})
	}
	var names []string
	for _, g := range goods {
		n := g.GoodsName
		if g.Quantity > 1 {
			n += " ×" + strconv.FormatInt(g.Quantity, 10)
		}
		names = append(names, n)
	}
	return truncate(strings.Join(names, ", "), 100), goods
}

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// Find returns a vend of the terminal with its payment order (nil when it has none).
func (s *Service) Find(ctx context.Context, terminalID, id int64) (*f2fpay.VendOrder, *f2fpay.Order, error) {
	v, err := s.store.FindVendOrder(ctx, id)
	if err == nil && terminalID != 0 && v.TerminalID != terminalID {
		err = f2fpay.Errorf(f2fpay.ENOTFOUND, "vend order %d not found", id)
	}
	if err != nil {
		return nil, nil, err
	}
	o, err := s.order(ctx, v)
	return v, o, err
}

func (s *Service) order(ctx context.Context, v *f2fpay.VendOrder) (*f2fpay.Order, error) {
	o, err := s.store.FindMerchantOrder(ctx, v.AppID, v.MerchantID, v.OutTradeNo)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		return nil, nil
	}
	return o, err
}

// Wait is the machine's long-poll: it returns the vend as soon as its state or a
// unit's state changed, or when wait ends. A final vend is returned at once. While it
// waits it takes the vend forward itself when the payment is done or a step is due,
// so the machine hears of a payment without waiting for the janitor.
func (s *Service) Wait(ctx context.Context, terminalID, id int64, wait time.Duration) (*f2fpay.VendOrder, *f2fpay.Order, error) {
	first, _, err := s.Find(ctx, terminalID, id)
	if err != nil {
		return nil, nil, err
	}
	v := first
	deadline := time.Now().Add(wait)
	for !v.State.Final() && !changed(first, v) && time.Now().Before(deadline) && ctx.Err() == nil {
		if !s.now().Before(v.NextCheckAt) || s.paid(ctx, v) {
			if n, err := s.Step(ctx, v); err == nil {
				v = n
				continue
			}
		}
		if v.State == f2fpay.VendAwaitingPayment {
			// Wakes as soon as the payment moves (this instance's engine signals).
			if _, err := s.engine.WaitOrder(payment.ForMerchant(ctx, v.MerchantID), v.AppID, v.OutTradeNo, min(time.Until(deadline), time.Second)); err != nil {
				sleep(ctx, 200*time.Millisecond)
			}
		} else {
			sleep(ctx, 200*time.Millisecond)
		}
		n, err := s.store.FindVendOrder(context.WithoutCancel(ctx), id)
		if err != nil {
			return nil, nil, err
		}
		v = n
	}
	o, err := s.order(context.WithoutCancel(ctx), v)
	return v, o, err
}

// paid reports whether a vend awaiting payment has its payment done (or ended).
func (s *Service) paid(ctx context.Context, v *f2fpay.VendOrder) bool {
	if v.State != f2fpay.VendAwaitingPayment {
		return false
	}
	o, err := s.order(ctx, v)
	return err == nil && o != nil && o.State.Final()
}

// changed reports whether the vend or one of its units moved between a and b.
func changed(a, b *f2fpay.VendOrder) bool { return a.State != b.State || itemsChanged(a, b) }

// itemsChanged reports whether a unit's state changed between a and b.
func itemsChanged(a, b *f2fpay.VendOrder) bool {
	if len(a.Items) != len(b.Items) {
		return true
	}
	for i := range a.Items {
		if a.Items[i].State != b.Items[i].State {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// List returns vends for the admin API, newest first.
func (s *Service) List(ctx context.Context, f f2fpay.VendFilter) ([]*f2fpay.VendOrder, error) {
	return s.store.ListVendOrders(ctx, f)
}
