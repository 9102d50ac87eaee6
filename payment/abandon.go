package payment

import (
	"context"

	"github.com/f2fpay/f2fpay"
)

// Cancel is the terminal abandoning a payment whose outcome it does not want to wait
// for (the buyer walked away, the cashier pressed cancel): trade.cancel closes the
// trade if unpaid and refunds it in full if it was paid meanwhile, so the buyer ends up
// charged nothing either way. The order goes CANCELLING at once — from then on a late
// "paid" answer no longer makes it PAID; the cancel's answer makes it CANCELLED.
//
// It returns the order as it stands when ctx ends or the cancel is answered (a cancel
// Alipay asks to retry is retried, then left to the janitor). Cancelling a cancelled,
// failed or closed order changes nothing; a PAID order is refused with ECONFLICT (use
// Refund: a cancel is only for outcomes not yet known).
func (e *Engine) Cancel(ctx context.Context, appID int64, outTradeNo string) (*f2fpay.Order, error) {
	o, err := e.load(ctx, appID, outTradeNo)
	if err != nil {
		return nil, err
	}
	now := e.now()
	o, err = e.commit(ctx, o, nil, func(n *f2fpay.Order) error {
		switch {
		case n.State == f2fpay.OrderPaid:
			return f2fpay.Errorf(f2fpay.ECONFLICT, "order %s is paid; refund it instead of cancelling", n.OutTradeNo)
		case n.State.Final(), n.State == f2fpay.OrderCancelling:
			return errSkip
		}
		n.State = f2fpay.OrderCancelling
		n.NextCheckAt = now.Add(e.policy.Handover)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if o.State != f2fpay.OrderCancelling {
		return o, nil
	}
	return e.drive(ctx, o)
}

// Close closes an unpaid order waiting for its buyer — a QR or JSAPI order (PENDING),
// or a barcode order waiting for the buyer's confirmation (WAITING) — with trade.close.
// The order becomes CLOSED only on Alipay's answer. A QR code nobody scanned has no
// trade at Alipay (the close answers ACQ.TRADE_NOT_EXIST), and a close whose answer is
// lost may or may not have happened: in both cases the order goes on to trade.cancel,
// which burns the out_trade_no and is retried until answered, and ends CANCELLED
// (docs/state_machine.md).
//
// Closing an order already closed, cancelled or failed changes nothing. A PAID order
// is refused with ECONFLICT (refund it); an order whose pay outcome is not yet known
// (PAYING, UNKNOWN) is refused with ECONFLICT too: use Cancel, which works whatever
// the outcome turns out to be.
func (e *Engine) Close(ctx context.Context, appID int64, outTradeNo string) (*f2fpay.Order, error) {
	o, err := e.load(ctx, appID, outTradeNo)
	if err != nil {
		return nil, err
	}
	switch o.State {
	case f2fpay.OrderPaid:
		return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "order %s is paid; refund it instead of closing", o.OutTradeNo)
	case f2fpay.OrderPaying, f2fpay.OrderUnknown:
		return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "order %s is %s: its outcome is not known yet; cancel it instead", o.OutTradeNo, o.State)
	case f2fpay.OrderPending, f2fpay.OrderWaiting:
	default:
		return o, nil // final, or already being cancelled
	}
	for attempt := 0; ; attempt++ {
		n, err := e.closeStep(ctx, o, e.policy.Handover)
		if err != nil {
			return nil, err
		}
		if n.State == f2fpay.OrderCancelling {
			return e.drive(ctx, n)
		}
		// closeStep acts only on the version it was given. When a poll (this engine's
		// or a janitor's) moved the order in between, nothing was sent: the terminal's
		// close must not be dropped for that, so try again on the fresh order.
		stillOpen := n.State == f2fpay.OrderPending || n.State == f2fpay.OrderWaiting
		if stillOpen && n.Cancels == o.Cancels && n.Version != o.Version && attempt < 10 {
			o = n
			continue
		}
		return n, nil
	}
}
