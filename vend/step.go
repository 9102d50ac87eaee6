package vend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/payment"
)

// errSkip, returned by an update's fn, means nothing is to be written.
var errSkip = errors.New("vend: nothing to write")

// update applies fn to the vend and writes it as one compare-and-set; on a version
// conflict it reloads and applies fn again, so fn must compute from the vend it is
// given, never from what the caller saw earlier.
func (s *Service) update(ctx context.Context, v *f2fpay.VendOrder, fn func(n *f2fpay.VendOrder) error) (*f2fpay.VendOrder, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for attempt := 0; ; attempt++ {
		n := *v
		n.Items = slices.Clone(v.Items)
		from := n.State
		err := fn(&n)
		if errors.Is(err, errSkip) {
			return v, nil
		}
		if err != nil {
			return nil, err
		}
		if n.State.Final() {
			n.NextCheckAt = time.Time{}
			if n.FinalAt.IsZero() {
				n.FinalAt = s.now()
			}
		}
		err = s.store.UpdateVendOrder(ctx, &n)
		if err == nil {
			if from != n.State {
				s.log.Info("vend state", "vend_id", n.ID, "out_trade_no", n.OutTradeNo, "terminal_id", n.TerminalID, "from", from, "to", n.State)
			}
			return &n, nil
		}
		if f2fpay.ErrorCode(err) != f2fpay.ECONFLICT || attempt >= 20 {
			return nil, err
		}
		if v, err = s.store.FindVendOrder(ctx, v.ID); err != nil {
			return nil, err
		}
	}
}

// cancel ends a vend that was never paid.
func (s *Service) cancel(ctx context.Context, v *f2fpay.VendOrder) (*f2fpay.VendOrder, error) {
	return s.update(ctx, v, func(n *f2fpay.VendOrder) error {
		if n.State != f2fpay.VendAwaitingPayment {
			return errSkip
		}
		n.State = f2fpay.VendCancelled
		for i := range n.Items {
			n.Items[i].State, n.Items[i].UpdatedAt = f2fpay.ItemCancelled, s.now()
		}
		return nil
	})
}

// Step takes a vend as far as it can go now: awaiting payment → dispensing when the
// payment is PAID (or cancelled when it ended unpaid); dispensing → commands enqueued,
// outcomes read, refunds decided and made, final when every unit is. Every step reads
// what is stored and writes compare-and-set, so Step may run at any time, any number
// of times, in any instance.
func (s *Service) Step(ctx context.Context, v *f2fpay.VendOrder) (*f2fpay.VendOrder, error) {
	ctx = payment.ForMerchant(ctx, v.MerchantID)
	s.faceGuard(ctx, v)
	var err error
	if v.State == f2fpay.VendAwaitingPayment {
		if v, err = s.stepAwaiting(ctx, v); err != nil {
			return nil, err
		}
	}
	if v.State == f2fpay.VendDispensing {
		return s.stepDispensing(ctx, v)
	}
	return v, nil
}

func (s *Service) stepAwaiting(ctx context.Context, v *f2fpay.VendOrder) (*f2fpay.VendOrder, error) {
	o, err := s.order(ctx, v)
	if err != nil {
		return nil, err
	}
	now := s.now()
	switch {
	case o == nil && !now.Before(v.PayDeadline):
		// The payment order was never recorded (a crash between the two writes):
		// nothing reached Alipay.
		return s.cancel(ctx, v)
	case o == nil:
		return s.update(ctx, v, func(n *f2fpay.VendOrder) error {
			if n.State != f2fpay.VendAwaitingPayment {
				return errSkip
			}
			n.NextCheckAt = minTime(now.Add(s.poll), n.PayDeadline)
			return nil
		})
	case o.State == f2fpay.OrderPaid:
		paidAt := o.PaidAt
		if paidAt.IsZero() {
			paidAt = now
		}
		return s.update(ctx, v, func(n *f2fpay.VendOrder) error {
			if n.State != f2fpay.VendAwaitingPayment {
				return errSkip
			}
			n.State, n.PaidAt, n.NextCheckAt = f2fpay.VendDispensing, paidAt, now
			for i := range n.Items {
				// The deadline runs from now, not from the payment: a vend paid while
				// no instance ran still gives the machine its whole window.
				n.Items[i].State, n.Items[i].Deadline, n.Items[i].UpdatedAt = f2fpay.ItemDispensing, now.Add(s.window), now
			}
			return nil
		})
	case o.State.Final() && v.PayKind == f2fpay.KindFace && now.Before(v.PayDeadline):
		// The face attempt ended unpaid: the machine may still fall back to a QR.
		return s.update(ctx, v, func(n *f2fpay.VendOrder) error {
			if n.State != f2fpay.VendAwaitingPayment {
				return errSkip
			}
			n.NextCheckAt = minTime(now.Add(s.poll), n.PayDeadline)
			return nil
		})
	case o.State.Final():
		return s.cancel(ctx, v)
	default:
		return s.update(ctx, v, func(n *f2fpay.VendOrder) error {
			if n.State != f2fpay.VendAwaitingPayment {
				return errSkip
			}
			n.NextCheckAt = now.Add(s.poll)
			return nil
		})
	}
}

// decision is what a unit's command (or deadline) says about it.
func decide(it *f2fpay.VendItem, c *f2fpay.Command, now time.Time) (f2fpay.VendItemState, string) {
	switch {
	case c != nil && c.State == f2fpay.CommandAcked:
		r := ParseResult(c.Result)
		if r.Outcome == f2fpay.OutcomeDelivered {
			return f2fpay.ItemDelivered, ""
		}
		return f2fpay.ItemRefunding, cmpOr(r.Code, "FAILED")
	case c != nil && c.State == f2fpay.CommandExpired:
		return f2fpay.ItemRefunding, "EXPIRED"
	case !now.Before(it.Deadline):
		return f2fpay.ItemRefunding, "NO_REPORT"
	}
	return f2fpay.ItemDispensing, ""
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Service) dispenseCommand(v *f2fpay.VendOrder, it *f2fpay.VendItem) *f2fpay.Command {
	payload, _ := json.Marshal(DispensePayload{VendID: v.ID, Item: it.N, Slot: it.Slot, GoodsID: it.GoodsID})
	return &f2fpay.Command{TerminalID: v.TerminalID, Kind: f2fpay.CommandDispense, Key: CommandKey(v.ID, it.N),
		Payload: payload, State: f2fpay.CommandPending, ExpiresAt: it.Deadline}
}

// enqueue commands unit it's dispense, through the Commander while the unit's deadline
// is ahead (the machine's long-poll wakes at once); past it — a vend paid while no
// instance ran, or a command whose id a crash lost — straight into the store, which
// returns the command enqueued before under the key, or records one already expired
// (the unit is then refunded).
func (s *Service) enqueue(ctx context.Context, v *f2fpay.VendOrder, it *f2fpay.VendItem) (*f2fpay.Command, error) {
	cmd := s.dispenseCommand(v, it)
	if ttl := time.Until(it.Deadline); s.command != nil && ttl > time.Second {
		c, _, err := s.command.Enqueue(ctx, v.TerminalID, cmd.Kind, cmd.Key, cmd.Payload, ttl)
		return c, err
	}
	c, _, err := s.devices.EnqueueCommand(ctx, cmd)
	return c, err
}

func (s *Service) stepDispensing(ctx context.Context, v *f2fpay.VendOrder) (*f2fpay.VendOrder, error) {
	// 1. Commands: enqueue the missing ones (idempotent by key: a crash after the
	// enqueue and before the vend recorded its id finds the same command), read the
	// others.
	cmds := map[int]*f2fpay.Command{}
	for i := range v.Items {
		it := &v.Items[i]
		if it.State != f2fpay.ItemDispensing {
			continue
		}
		var c *f2fpay.Command
		var err error
		if it.CommandID == 0 {
			c, err = s.enqueue(ctx, v, it)
		} else {
			c, err = s.devices.FindCommand(ctx, it.CommandID)
		}
		if err != nil {
			return nil, fmt.Errorf("vend %d item %d: dispense command: %w", v.ID, it.N, err)
		}
		cmds[it.N] = c
	}
	// 2. Decide each unit dispensing: delivered, not delivered (refund), or wait. The
	// decision to refund is written before the refund is asked for.
	now := s.now()
	var delivered []f2fpay.VendItem
	v, err := s.update(ctx, v, func(n *f2fpay.VendOrder) error {
		if n.State != f2fpay.VendDispensing {
			return errSkip
		}
		delivered = delivered[:0]
		for i := range n.Items {
			it := &n.Items[i]
			if it.State != f2fpay.ItemDispensing {
				continue
			}
			c := cmds[it.N]
			if c != nil && it.CommandID == 0 {
				it.CommandID, it.UpdatedAt = c.ID, now
			}
			switch st, reason := decide(it, c, now); st {
			case f2fpay.ItemDelivered:
				it.State, it.UpdatedAt = st, now
				delivered = append(delivered, *it)
			case f2fpay.ItemRefunding:
				it.State, it.Reason, it.RefundID, it.UpdatedAt = st, reason, RefundID(n.ID, it.N), now
			}
		}
		n.NextCheckAt = s.nextCheck(n, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, it := range delivered {
		if err := s.devices.TakeStock(ctx, v.TerminalID, it.Slot, 1); err != nil {
			// The stock is the operator's count, recounted on restocking; a missed
			// decrement is not money.
			s.log.Warn("vend: taking stock failed", "vend_id", v.ID, "slot", it.Slot, "err", err)
		}
	}
	// 3. Refund the units decided so, through the engine, each under its own id.
	if v, err = s.refund(ctx, v); err != nil {
		return nil, err
	}
	// 4. Final when every unit is.
	return s.finish(ctx, v)
}

// nextCheck is when the janitor looks at a dispensing vend again: soon while reports
// or refunds are outstanding, and no later than the first unit's deadline.
func (s *Service) nextCheck(n *f2fpay.VendOrder, now time.Time) time.Time {
	next := now.Add(s.poll)
	for _, it := range n.Items {
		if it.State == f2fpay.ItemDispensing && it.Deadline.After(now) {
			next = minTime(next, it.Deadline)
		}
	}
	return next
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// refund asks the engine for the refund of every unit REFUNDING and records the
// outcomes Alipay gave. The engine's refund id (RefundID) is fixed by the vend and the
// unit: asking again — after a crash, from another instance — returns the same
// refund, never a second one.
func (s *Service) refund(ctx context.Context, v *f2fpay.VendOrder) (*f2fpay.VendOrder, error) {
	outcome := map[int]f2fpay.RefundState{}
	for _, it := range v.Items {
		if it.State != f2fpay.ItemRefunding {
			continue
		}
		r, err := s.engine.Refund(ctx, payment.RefundRequest{AppID: v.AppID, OutTradeNo: v.OutTradeNo, RefundID: it.RefundID,
			Amount: it.Price, Reason: fmt.Sprintf("vend %d item %d not delivered (%s)", v.ID, it.N, it.Reason)})
		if err != nil {
			s.log.Error("vend: refund failed, retried later", "vend_id", v.ID, "item", it.N, "refund_id", it.RefundID, "err", err)
			continue
		}
		if r.State.Final() {
			outcome[it.N] = r.State
		}
	}
	if len(outcome) == 0 {
		return v, nil
	}
	now := s.now()
	return s.update(ctx, v, func(n *f2fpay.VendOrder) error {
		for i := range n.Items {
			it := &n.Items[i]
			st, ok := outcome[it.N]
			if !ok || it.State != f2fpay.ItemRefunding {
				continue
			}
			it.UpdatedAt = now
			if st == f2fpay.RefundSucceeded {
				it.State = f2fpay.ItemRefunded
			} else {
				it.State = f2fpay.ItemRefundFailed
				s.log.Error("vend: Alipay refused a unit's refund; an operator must refund it", "vend_id", n.ID, "item", it.N, "refund_id", it.RefundID)
			}
		}
		return nil
	})
}

// finish makes a vend whose units are all final FINAL — after telling the engine the
// sale is final, so asynchronous sharing settles on the receipt minus the refunds —
// or ATTENTION when a refund was refused.
func (s *Service) finish(ctx context.Context, v *f2fpay.VendOrder) (*f2fpay.VendOrder, error) {
	if v.State != f2fpay.VendDispensing {
		return v, nil
	}
	attention := false
	for _, it := range v.Items {
		if !it.State.Final() {
			return v, nil
		}
		attention = attention || it.State == f2fpay.ItemRefundFailed
	}
	if !attention {
		// Idempotent: a crash between this and the write below repeats it.
		if _, err := s.engine.FinalizeSale(ctx, v.AppID, v.OutTradeNo); err != nil && f2fpay.ErrorCode(err) != f2fpay.EINVALID {
			return nil, fmt.Errorf("vend %d: finalizing the sale: %w", v.ID, err)
		}
	}
	return s.update(ctx, v, func(n *f2fpay.VendOrder) error {
		if n.State != f2fpay.VendDispensing {
			return errSkip
		}
		n.State = f2fpay.VendFinal
		if attention {
			n.State = f2fpay.VendAttention
		}
		return nil
	})
}

// Report records the machine's word on unit n of a vend: the unit's dispense command
// is acknowledged with it (the first word stands, whichever way it came), and the vend
// goes forward at once (a failed unit is refunded now). A "delivered" that comes after
// the unit's refund was decided changes nothing but LateReport.
//
// Errors: ENOTFOUND for another terminal's vend or an unknown unit, ECONFLICT for a
// vend not paid (nothing may be dispensed) or cancelled, EINVALID for a result the
// service does not understand.
func (s *Service) Report(ctx context.Context, terminalID, id int64, n int, r Result) (*f2fpay.VendOrder, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	v, _, err := s.Find(ctx, terminalID, id)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > len(v.Items) {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "vend %d has no item %d (it has %d)", id, n, len(v.Items))
	}
	switch v.State {
	case f2fpay.VendAwaitingPayment:
		if v, err = s.Step(ctx, v); err != nil {
			return nil, err
		}
		if v.State == f2fpay.VendAwaitingPayment {
			return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "vend %d is not paid; nothing may be dispensed", id)
		}
	case f2fpay.VendCancelled:
		return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "vend %d was cancelled unpaid; nothing may be dispensed", id)
	}
	if v.State == f2fpay.VendDispensing && v.Items[n-1].State == f2fpay.ItemDispensing && v.Items[n-1].CommandID == 0 {
		// Enqueue the command first, so the report acknowledges it.
		if v, err = s.Step(ctx, v); err != nil {
			return nil, err
		}
	}
	it := v.Items[n-1]
	word := r
	if it.CommandID != 0 {
		raw, _ := json.Marshal(r)
		c, err := s.devices.AckCommand(ctx, v.TerminalID, it.CommandID, raw, s.now())
		switch {
		case err == nil:
			word = ParseResult(c.Result) // the first acknowledgement's result stands
		case f2fpay.ErrorCode(err) == f2fpay.ECONFLICT:
			// Expired: the unit is being refunded whatever the machine says now.
		default:
			return nil, err
		}
	}
	now := s.now()
	v, err = s.update(ctx, v, func(x *f2fpay.VendOrder) error {
		it := &x.Items[n-1]
		switch {
		case it.State == f2fpay.ItemDispensing && x.State == f2fpay.VendDispensing:
			it.UpdatedAt = now
			if word.Outcome == f2fpay.OutcomeDelivered {
				it.State = f2fpay.ItemDelivered
			} else {
				it.State, it.Reason, it.RefundID = f2fpay.ItemRefunding, cmpOr(word.Code, "FAILED"), RefundID(x.ID, it.N)
			}
			x.NextCheckAt = now
		case r.Outcome == f2fpay.OutcomeDelivered && (it.State == f2fpay.ItemRefunding || it.State == f2fpay.ItemRefunded || it.State == f2fpay.ItemRefundFailed) && !it.LateReport:
			s.log.Warn("vend: a unit was reported delivered after its refund was decided; the buyer keeps the refund",
				"vend_id", x.ID, "item", it.N, "refund_id", it.RefundID)
			it.LateReport, it.UpdatedAt = true, now
		default:
			return errSkip
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if v.State == f2fpay.VendDispensing && v.Items[n-1].State == f2fpay.ItemDelivered && it.State == f2fpay.ItemDispensing {
		if err := s.devices.TakeStock(ctx, v.TerminalID, it.Slot, 1); err != nil {
			s.log.Warn("vend: taking stock failed", "vend_id", v.ID, "slot", it.Slot, "err", err)
		}
	}
	if v.State == f2fpay.VendDispensing {
		if n, err := s.Step(ctx, v); err == nil {
			v = n
		} else {
			s.log.Error("vend: step after a report failed; the janitor carries on", "vend_id", v.ID, "err", err)
		}
	}
	return v, nil
}

// CommandAcked takes the vend of an acknowledged (or expired) dispense command forward
// at once (the device channel calls it after an acknowledgement, the device janitor
// after an expiry); commands that are not a vend's are ignored.
func (s *Service) CommandAcked(ctx context.Context, c *f2fpay.Command) {
	id, _, ok := ParseCommandKey(c.Key)
	if !ok || c.Kind != f2fpay.CommandDispense {
		return
	}
	v, err := s.store.FindVendOrder(ctx, id)
	if err != nil || v.TerminalID != c.TerminalID || v.State.Final() {
		return
	}
	if _, err := s.Step(ctx, v); err != nil {
		s.log.Error("vend: step after an acknowledgement failed; the janitor carries on", "vend_id", id, "err", err)
	}
}

// Cancel is the machine giving up on an unpaid vend (the buyer walked away): the
// payment is closed (or cancelled) through the engine, on Alipay's word, and the vend
// ends CANCELLED with it. A payment that turns out paid is dispensed as usual — the
// vend is returned DISPENSING. A vend already dispensing is ECONFLICT; a cancelled one
// is returned as it is.
func (s *Service) Cancel(ctx context.Context, terminalID, id int64) (*f2fpay.VendOrder, error) {
	v, o, err := s.Find(ctx, terminalID, id)
	if err != nil {
		return nil, err
	}
	ctx = payment.ForMerchant(ctx, v.MerchantID)
	switch v.State {
	case f2fpay.VendAwaitingPayment:
	case f2fpay.VendCancelled:
		return v, nil
	default:
		return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "vend %d is paid (%s); a paid vend is dispensed or refunded, not cancelled", id, v.State)
	}
	if o != nil {
		switch o.State {
		case f2fpay.OrderPending, f2fpay.OrderWaiting:
			_, err = s.engine.Close(ctx, v.AppID, v.OutTradeNo)
		case f2fpay.OrderPaying, f2fpay.OrderUnknown:
			_, err = s.engine.Cancel(ctx, v.AppID, v.OutTradeNo)
		}
		if err != nil && f2fpay.ErrorCode(err) != f2fpay.ECONFLICT {
			return nil, err
		}
	}
	// With no payment order yet the vend waits for its pay deadline: a creation
	// still under way could record one.
	return s.Step(ctx, v)
}
