package payment

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// RefundRequest refunds all or part of a paid order.
type RefundRequest struct {
	// AppID (the service's id of the app) and OutTradeNo name the order.
	AppID      int64
	OutTradeNo string
	// RefundID is the terminal's id for this refund and its idempotency key: the same
	// RefundID always means the same refund (Alipay's out_request_no is derived from
	// it), so a retried request can never refund twice.
	RefundID string
	Amount   f2fpay.Amount
	Reason   string
}

var refundIDPattern = regexp.MustCompile(`^[A-Za-z0-9_\-.]{1,60}$`)

// OutRequestNo is the out_request_no sent to Alipay for a terminal's refund id. The
// prefix keeps it apart from the numbers Alipay itself uses for refunds without one
// (the out_trade_no) and for cancels.
func OutRequestNo(refundID string) string { return "rf-" + refundID }

// Local fail code of a refund refused before reaching Alipay because a concurrent
// refund of the same order got there first.
const failOverRefund = "LOCAL_OVER_REFUND"

// Refund refunds a PAID order. The refund is recorded PENDING before trade.refund is
// sent; the answer is committed with it: success → SUCCEEDED, and the order's
// RefundedAmount grows in the same transaction; a refusal → FAILED with Alipay's
// sub_code; no answer → UNKNOWN, resolved (now or by the janitor) with
// fastpay.refund.query and, if Alipay never got it, the same trade.refund again with
// the same out_request_no — Alipay refunds one out_request_no at most once.
//
// The same RefundID again returns the refund as it stands (resolving it first if its
// outcome is unknown); with a different amount it is refused with ECONFLICT. A refund
// that would take the order's refunds (succeeded or under way) beyond its total is
// refused with ECONFLICT before anything is sent. An order that is not PAID is refused
// with ECONFLICT.
func (e *Engine) Refund(ctx context.Context, req RefundRequest) (*f2fpay.Refund, error) {
	if !refundIDPattern.MatchString(req.RefundID) {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "refund_id %q must be 1–60 letters, digits, '_', '-' or '.'; use your own unique id for this refund", req.RefundID)
	}
	if err := req.Amount.CheckTrade(); err != nil {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "amount: %v", err)
	}
	if err := checkLimit(alipay.LimitRefundReason.Named("reason"), req.Reason); err != nil {
		return nil, err
	}
	o, err := e.load(ctx, req.AppID, req.OutTradeNo)
	if err != nil {
		return nil, err
	}
	reqNo := OutRequestNo(req.RefundID)
	for {
		r, err := e.store.FindRefund(ctx, o.ID, reqNo)
		switch {
		case err == nil:
			if r.Amount != req.Amount {
				return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "refund_id %q was already used for a refund of %s; a different amount needs a new refund_id", req.RefundID, r.Amount)
			}
			if !r.State.Final() {
				return e.resolveRefund(ctx, r, e.policy.Handover)
			}
			return r, nil
		case f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND:
			return nil, err
		}
		if o.State != f2fpay.OrderPaid {
			return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "order %s is %s; only paid orders can be refunded", o.OutTradeNo, o.State)
		}
		refunds, err := e.store.ListRefunds(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		if reserved := reservedAmount(refunds, 0); reserved+req.Amount > o.TotalAmount {
			return nil, overRefund(o, req.Amount, reserved)
		}
		now := e.now()
		r = &f2fpay.Refund{
			OrderID: o.ID, OutRequestNo: reqNo, Amount: req.Amount, Reason: req.Reason, State: f2fpay.RefundPending,
			NextCheckAt: now.Add(e.policy.CallTimeout + e.policy.Handover),
		}
		if err := e.store.CreateRefund(ctx, r); err != nil {
			if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
				continue // the same refund_id, concurrently: answer as a repeat
			}
			return nil, err
		}
		e.metrics.RefundTransition("", r.State)
		// Two different refunds may have passed the check above at once. The one
		// recorded first goes ahead; a later one that no longer fits is refused here,
		// before it reaches Alipay (which would refuse it too).
		if refunds, err = e.store.ListRefunds(ctx, o.ID); err != nil {
			return nil, err
		}
		if reserved := reservedAmount(refunds, r.ID); reserved+r.Amount > o.TotalAmount {
			rerr := overRefund(o, r.Amount, reserved)
			if _, err := e.commitRefund(ctx, r, nil, func(n *f2fpay.Refund, _ *f2fpay.Order) (bool, error) {
				if n.State.Final() {
					return false, errSkip
				}
				n.State, n.FailCode, n.FailReason, n.NextCheckAt = f2fpay.RefundFailed, failOverRefund, rerr.Message, time.Time{}
				return false, nil
			}); err != nil {
				return nil, err
			}
			return nil, rerr
		}
		return e.sendRefund(ctx, o, r, e.policy.Handover)
	}
}

// reservedAmount sums the refunds that hold part of the order's total: succeeded and
// under way. With before > 0 only refunds recorded before that id count.
func reservedAmount(refunds []*f2fpay.Refund, before int64) f2fpay.Amount {
	var sum f2fpay.Amount
	for _, r := range refunds {
		if r.State == f2fpay.RefundFailed || (before > 0 && r.ID >= before) {
			continue
		}
		sum += r.Amount
	}
	return sum
}

func overRefund(o *f2fpay.Order, amount, reserved f2fpay.Amount) *f2fpay.Error {
	left := o.TotalAmount - reserved
	if left < 0 {
		left = 0
	}
	return f2fpay.Errorf(f2fpay.ECONFLICT, "a refund of %s exceeds what is left to refund on order %s: %s (paid %s, refunded or being refunded %s)",
		amount, o.OutTradeNo, left, o.TotalAmount, reserved)
}

// RefundStatus returns a refund by the order and the terminal's refund id.
func (e *Engine) RefundStatus(ctx context.Context, appID int64, outTradeNo, refundID string) (*f2fpay.Refund, error) {
	o, err := e.load(ctx, appID, outTradeNo)
	if err != nil {
		return nil, err
	}
	r, err := e.store.FindRefund(ctx, o.ID, OutRequestNo(refundID))
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "order %s has no refund with refund_id %q", outTradeNo, refundID)
	}
	return r, err
}

// Refunds lists an order's refunds, oldest first.
func (e *Engine) Refunds(ctx context.Context, appID int64, outTradeNo string) ([]*f2fpay.Refund, error) {
	o, err := e.load(ctx, appID, outTradeNo)
	if err != nil {
		return nil, err
	}
	return e.store.ListRefunds(ctx, o.ID)
}

// commitRefund is commit for refunds: fn mutates the refund (and, when it returns
// true, the order, written in the same transaction with a compare-and-set on both); on
// a conflict both are reloaded and fn applied again.
func (e *Engine) commitRefund(ctx context.Context, r *f2fpay.Refund, calls []*f2fpay.GatewayCall,
	fn func(n *f2fpay.Refund, o *f2fpay.Order) (bool, error)) (*f2fpay.Refund, error) {
	ctx, cancel := detached(ctx)
	defer cancel()
	for attempt := 0; ; attempt++ {
		o, err := e.store.FindOrderByID(ctx, r.OrderID)
		if err != nil {
			return nil, err
		}
		n := *r
		from := n.State
		touch, err := fn(&n, o)
		if errors.Is(err, errSkip) {
			for _, c := range calls {
				c.OrderID, c.RefundID = r.OrderID, r.ID
				if err := e.store.RecordCall(ctx, c); err != nil {
					return nil, err
				}
			}
			return r, nil
		}
		if err != nil {
			return nil, err
		}
		for _, c := range calls {
			c.OrderID, c.RefundID = r.OrderID, r.ID
		}
		var events []*f2fpay.Event
		if !from.Final() && n.State.Final() {
			n.NextCheckAt = time.Time{}
			if ev := e.refundEvent(o, &n); ev != nil {
				events = append(events, ev)
			}
		}
		var ord *f2fpay.Order
		if touch {
			ord = o
		}
		err = e.store.UpdateRefund(ctx, &n, ord, calls, events...)
		if err == nil {
			e.eventsCommitted(events)
			if from != n.State {
				e.metrics.RefundTransition(from, n.State)
				e.log.Info("refund state", "out_trade_no", o.OutTradeNo, "order_id", o.ID, "out_request_no", n.OutRequestNo,
					"from", from, "to", n.State, "fail_code", n.FailCode)
			}
			if touch {
				e.waiters.signal(o.ID)
			}
			return &n, nil
		}
		if f2fpay.ErrorCode(err) != f2fpay.ECONFLICT || attempt >= 20 {
			return nil, err
		}
		if r, err = e.store.FindRefund(ctx, r.OrderID, r.OutRequestNo); err != nil {
			return nil, err
		}
	}
}

// succeed marks n SUCCEEDED and adds its amount to the order's RefundedAmount; it
// reports false (nothing to do) when n is already final.
func succeed(n *f2fpay.Refund, o *f2fpay.Order, at time.Time) bool {
	if n.State.Final() {
		return false
	}
	n.State, n.FailCode, n.FailReason = f2fpay.RefundSucceeded, "", ""
	n.RefundedAt = at
	o.RefundedAmount += n.Amount
	return true
}

// sendRefund calls trade.refund for r (first time, or again with the same
// out_request_no) and commits the answer.
func (e *Engine) sendRefund(ctx context.Context, o *f2fpay.Order, r *f2fpay.Refund, hand time.Duration) (*f2fpay.Refund, error) {
	_, c, err := e.client(ctx, o.AppID, o.MerchantID)
	if err != nil {
		return nil, err
	}
	cctx, cancel := e.callCtx(context.WithoutCancel(ctx))
	st := e.stamp()
	resp, err := c.TradeRefund(cctx, &alipay.TradeRefundRequest{
		OutTradeNo: o.OutTradeNo, RefundAmount: r.Amount, OutRequestNo: r.OutRequestNo, RefundReason: r.Reason,
	}, c.Options()...)
	cancel()
	e.tokenRefused(ctx, c, err)
	var call *f2fpay.GatewayCall
	var outcome f2fpay.RefundState
	switch {
	case err == nil:
		outcome = f2fpay.RefundSucceeded
		call = e.newCall(alipay.MethodTradeRefund, st, resp.Code, nil, string(outcome))
	case alipay.IsUnknown(err) || errNotSent(err):
		outcome = f2fpay.RefundUnknown
		call = e.newCall(alipay.MethodTradeRefund, st, "", err, outcomeUnknown)
		if errNotSent(err) {
			e.log.Error("trade.refund refused by our own client", "out_trade_no", o.OutTradeNo, "err", err)
		}
	default:
		outcome = f2fpay.RefundFailed
		call = e.newCall(alipay.MethodTradeRefund, st, "", err, string(outcome))
	}
	now := e.now()
	return e.commitRefund(ctx, r, []*f2fpay.GatewayCall{call}, func(n *f2fpay.Refund, ord *f2fpay.Order) (bool, error) {
		if n.State.Final() {
			return false, errSkip
		}
		n.Attempts++
		switch outcome {
		case f2fpay.RefundSucceeded:
			at := resp.GmtRefundPay.Time
			if at.IsZero() {
				at = now
			}
			return succeed(n, ord, at), nil
		case f2fpay.RefundFailed:
			ae, _ := alipay.AsError(err)
			n.State = f2fpay.RefundFailed
			if ae != nil {
				n.FailCode = ae.SubCode
				if n.FailCode == "" {
					n.FailCode = ae.Code
				}
				n.FailReason = refundFailMessage(ae)
			}
		default:
			n.State = f2fpay.RefundUnknown
			n.NextCheckAt = now.Add(e.policy.refundDelay(n.Attempts) + hand)
		}
		return false, nil
	})
}

func refundFailMessage(ae *alipay.Error) string {
	var m string
	switch ae.SubCode {
	case alipay.SubRefundAmountExceeded, "ACQ.REASON_TRADE_REFUND_FEE_ERR":
		m = "The refund exceeds what is left to refund on this payment."
	case alipay.SubSellerBalanceNotEnough:
		m = "The merchant's Alipay balance is too low for this refund: top it up, then refund with a new refund_id."
	case alipay.SubTradeStatusError, "ACQ.TRADE_HAS_FINISHED", "ACQ.TRADE_HAS_CLOSE":
		m = "The payment can no longer be refunded (closed or past the refund period)."
	default:
		m = "Alipay refused the refund."
	}
	d := ae.SubCode
	if d == "" {
		d = ae.Code
	}
	if ae.SubMsg != "" {
		d += ": " + ae.SubMsg
	}
	return m + " (" + d + ")"
}

// resolveRefund settles a PENDING or UNKNOWN refund: fastpay.refund.query first;
// REFUND_SUCCESS → SUCCEEDED; an answer without refund_status means Alipay has no such
// refund (it answers 10000 all the same), so trade.refund is sent again with the same
// out_request_no; no answer → tried again later.
func (e *Engine) resolveRefund(ctx context.Context, r *f2fpay.Refund, hand time.Duration) (*f2fpay.Refund, error) {
	o, err := e.store.FindOrderByID(ctx, r.OrderID)
	if err != nil {
		return nil, err
	}
	_, c, err := e.client(ctx, o.AppID, o.MerchantID)
	if err != nil {
		return nil, err
	}
	cctx, cancel := e.callCtx(context.WithoutCancel(ctx))
	st := e.stamp()
	q, err := c.TradeFastpayRefundQuery(cctx, &alipay.RefundQueryRequest{OutTradeNo: o.OutTradeNo, OutRequestNo: r.OutRequestNo}, c.Options()...)
	cancel()
	e.tokenRefused(ctx, c, err)
	now := e.now()
	switch {
	case err == nil && q.Refunded():
		call := e.newCall(alipay.MethodTradeFastpayRefundQry, st, q.Code, nil, string(f2fpay.RefundSucceeded))
		return e.commitRefund(ctx, r, []*f2fpay.GatewayCall{call}, func(n *f2fpay.Refund, ord *f2fpay.Order) (bool, error) {
			if n.State.Final() {
				return false, errSkip
			}
			n.Attempts++
			if q.RefundAmount != 0 && q.RefundAmount != n.Amount {
				e.log.Error("Alipay reports another amount for the refund", "out_trade_no", ord.OutTradeNo,
					"out_request_no", n.OutRequestNo, "amount", n.Amount.String(), "alipay_amount", q.RefundAmount.String())
				n.State = f2fpay.RefundUnknown
				n.NextCheckAt = now.Add(e.policy.refundDelay(n.Attempts) + hand)
				return false, nil
			}
			at := q.GmtRefundPay.Time
			if at.IsZero() {
				at = now
			}
			return succeed(n, ord, at), nil
		})
	case err == nil:
		call := e.newCall(alipay.MethodTradeFastpayRefundQry, st, q.Code, nil, "NOT_REFUNDED")
		if r, err = e.commitRefund(ctx, r, []*f2fpay.GatewayCall{call}, func(n *f2fpay.Refund, _ *f2fpay.Order) (bool, error) {
			if n.State.Final() {
				return false, errSkip
			}
			// Held off the janitor while the refund is sent again.
			n.NextCheckAt = now.Add(e.policy.CallTimeout + e.policy.Handover)
			return false, nil
		}); err != nil {
			return nil, err
		}
		if r.State.Final() {
			return r, nil
		}
		return e.sendRefund(ctx, o, r, hand)
	default:
		outcome := outcomeUnknown
		if !alipay.IsUnknown(err) {
			outcome = outcomeError
			e.log.Warn("fastpay.refund.query failed", "out_trade_no", o.OutTradeNo, "out_request_no", r.OutRequestNo, "err", err)
		}
		call := e.newCall(alipay.MethodTradeFastpayRefundQry, st, "", err, outcome)
		return e.commitRefund(ctx, r, []*f2fpay.GatewayCall{call}, func(n *f2fpay.Refund, _ *f2fpay.Order) (bool, error) {
			if n.State.Final() {
				return false, errSkip
			}
			n.Attempts++
			n.State = f2fpay.RefundUnknown
			n.NextCheckAt = now.Add(e.policy.refundDelay(n.Attempts) + hand)
			return false, nil
		})
	}
}
