package payment

import (
	"context"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// A step is one move of a non-final order whose check is due: a query, a cancel or a
// close, with its answer committed. Requests and the janitor drive orders with the same
// steps; hand is the handover delay the caller adds to the stored NextCheckAt (a request
// keeps the janitor away while it drives the order itself; the janitor adds nothing).

// step performs the order's next move.
func (e *Engine) step(ctx context.Context, o *f2fpay.Order, hand time.Duration) (*f2fpay.Order, error) {
	var err error
	switch o.State {
	case f2fpay.OrderCancelling:
		return e.cancelStep(ctx, o, hand)
	case f2fpay.OrderPaying, f2fpay.OrderWaiting, f2fpay.OrderUnknown, f2fpay.OrderPending:
		if o, err = e.queryStep(ctx, o, hand, false); err != nil {
			return nil, err
		}
		switch {
		case o.State == f2fpay.OrderCancelling:
			return e.cancelStep(ctx, o, hand)
		case o.State == f2fpay.OrderPending && !e.now().Before(o.PayDeadline):
			return e.closeStep(ctx, o, hand)
		}
	}
	return o, nil
}

// schedule sets when a non-final order is next looked at, and sends an unpaid barcode
// order whose deadline has passed to CANCELLING (the cancel follows at once).
func (e *Engine) schedule(n *f2fpay.Order, now time.Time, hand time.Duration) {
	if n.State.Final() {
		n.NextCheckAt = time.Time{}
		return
	}
	next := now
	switch n.State {
	case f2fpay.OrderPaying, f2fpay.OrderWaiting, f2fpay.OrderUnknown:
		if !now.Before(n.PayDeadline) {
			n.State = f2fpay.OrderCancelling
		} else {
			next = minTime(now.Add(e.policy.QueryInterval), n.PayDeadline)
		}
	case f2fpay.OrderPending:
		if now.Before(n.PayDeadline) {
			next = minTime(now.Add(e.policy.PendingInterval), n.PayDeadline)
		}
	}
	n.NextCheckAt = next.Add(hand)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// query asks Alipay about o's trade and returns the fact it learned (nil when the
// answer says nothing about the trade) and the call record.
func (e *Engine) query(ctx context.Context, o *f2fpay.Order) (*tradeFact, *f2fpay.GatewayCall, error) {
	_, c, err := e.client(ctx, o.AppID, o.MerchantID)
	if err != nil {
		return nil, nil, err
	}
	cctx, cancel := e.callCtx(context.WithoutCancel(ctx))
	defer cancel()
	st := e.stamp()
	r, err := c.TradeQuery(cctx, &alipay.TradeQueryRequest{OutTradeNo: o.OutTradeNo, QueryOptions: promotionOptions}, c.Options()...)
	e.tokenRefused(ctx, c, err)
	var f *tradeFact
	var call *f2fpay.GatewayCall
	switch {
	case err == nil:
		qf := queryFact(r)
		f = &qf
		call = e.newCall(alipay.MethodTradeQuery, st, r.Code, nil, string(r.TradeStatus))
	case alipay.HasSubCode(err, alipay.SubTradeNotExist):
		f = &tradeFact{notExist: true}
		call = e.newCall(alipay.MethodTradeQuery, st, "", err, outcomeNotExist)
	case alipay.IsUnknown(err):
		call = e.newCall(alipay.MethodTradeQuery, st, "", err, outcomeUnknown)
	case errNotSent(err):
		call = e.newCall(alipay.MethodTradeQuery, st, "", err, outcomeNotSent)
		e.log.Error("trade.query refused by our own client", "out_trade_no", o.OutTradeNo, "err", err)
	default:
		call = e.newCall(alipay.MethodTradeQuery, st, "", err, outcomeError)
		e.log.Warn("trade.query failed", "out_trade_no", o.OutTradeNo, "err", err)
	}
	return f, call, nil
}

// queryStep queries the trade and commits what the answer says. fromCancel is set
// when a cancel was refused for good and the query decides the order's fate.
func (e *Engine) queryStep(ctx context.Context, o *f2fpay.Order, hand time.Duration, fromCancel bool) (*f2fpay.Order, error) {
	f, call, err := e.query(ctx, o)
	if err != nil {
		return nil, err
	}
	return e.applyQuery(ctx, o, f, call, hand, fromCancel)
}

// applyQuery commits what a query answered (f nil: nothing about the trade).
func (e *Engine) applyQuery(ctx context.Context, o *f2fpay.Order, f *tradeFact, call *f2fpay.GatewayCall, hand time.Duration, fromCancel bool) (*f2fpay.Order, error) {
	now := e.now()
	return e.commit(ctx, o, []*f2fpay.GatewayCall{call}, func(n *f2fpay.Order) error {
		if n.State.Final() {
			return errSkip
		}
		if n.State == f2fpay.OrderPaying {
			// Found PAYING by the janitor: the process that sent trade.pay is gone and
			// the call may have reached Alipay. Never send it again; ask.
			n.State = f2fpay.OrderUnknown
		}
		n.Queries++
		if f != nil {
			e.applyFact(n, *f, now, fromCancel)
		}
		if n.State == f2fpay.OrderCancelling {
			n.NextCheckAt = now.Add(hand)
			if fromCancel {
				n.NextCheckAt = now.Add(e.policy.cancelDelay(n.Cancels) + hand)
			}
			return nil
		}
		e.schedule(n, now, hand)
		return nil
	})
}

// claim marks o as being acted on before a call that must not be made twice at once
// (cancel, close): it counts the attempt and pushes NextCheckAt past the call, in a
// compare-and-set, so that of two engines looking at the same order only one calls
// Alipay. ok is false when the order no longer is in one of the states.
func (e *Engine) claim(ctx context.Context, o *f2fpay.Order, states ...f2fpay.OrderState) (*f2fpay.Order, bool, error) {
	now := e.now()
	claimed := false
	n, err := e.commit(ctx, o, nil, func(n *f2fpay.Order) error {
		claimed = false
		ok := false
		for _, s := range states {
			ok = ok || n.State == s
		}
		if !ok {
			return errSkip
		}
		if n.Version != o.Version {
			// Someone else moved the order since the caller decided to act (another
			// engine may be calling Alipay right now): look again instead of acting.
			return errSkip
		}
		n.Cancels++
		n.NextCheckAt = now.Add(e.policy.CallTimeout + e.policy.Handover)
		claimed = true
		return nil
	})
	return n, claimed, err
}

// cancelStep calls trade.cancel for a CANCELLING order and commits the answer:
// success (action close or refund) → CANCELLED; retry_flag=Y or no answer → stays
// CANCELLING on the retry schedule; a refusal for good (ACQ.TRADE_CANCEL_TIME_OUT,
// ACQ.TRADE_STATUS_ERROR on a finished trade, ...) → a query decides: paid → PAID,
// closed → CANCELLED.
func (e *Engine) cancelStep(ctx context.Context, o *f2fpay.Order, hand time.Duration) (*f2fpay.Order, error) {
	o, ok, err := e.claim(ctx, o, f2fpay.OrderCancelling)
	if err != nil || !ok {
		return o, err
	}
	_, c, err := e.client(ctx, o.AppID, o.MerchantID)
	if err != nil {
		return nil, err
	}
	cctx, cancel := e.callCtx(context.WithoutCancel(ctx))
	st := e.stamp()
	r, err := c.TradeCancel(cctx, alipay.TradeRef{OutTradeNo: o.OutTradeNo}, c.Options()...)
	cancel()
	e.tokenRefused(ctx, c, err)
	var call *f2fpay.GatewayCall
	done, retry := false, false
	switch {
	case err == nil && !r.Retry():
		done = true
		outcome := "CANCELLED"
		if r.Action != "" {
			outcome += ":" + r.Action
		}
		call = e.newCall(alipay.MethodTradeCancel, st, r.Code, nil, outcome)
	case err == nil:
		retry = true
		call = e.newCall(alipay.MethodTradeCancel, st, r.Code, nil, outcomeRetry)
	case alipay.IsUnknown(err):
		retry = true
		call = e.newCall(alipay.MethodTradeCancel, st, "", err, outcomeUnknown)
	case r != nil && r.Retry():
		retry = true
		call = e.newCall(alipay.MethodTradeCancel, st, "", err, outcomeRetry)
	case errNotSent(err):
		retry = true
		call = e.newCall(alipay.MethodTradeCancel, st, "", err, outcomeNotSent)
		e.log.Error("trade.cancel refused by our own client", "out_trade_no", o.OutTradeNo, "err", err)
	default:
		call = e.newCall(alipay.MethodTradeCancel, st, "", err, outcomeError)
		e.log.Warn("trade.cancel refused; querying the trade", "out_trade_no", o.OutTradeNo, "err", err)
	}
	now := e.now()
	if !done && !retry {
		// Record the refusal, then let a query decide.
		if o, err = e.commit(ctx, o, []*f2fpay.GatewayCall{call}, func(n *f2fpay.Order) error {
			if n.State != f2fpay.OrderCancelling {
				return errSkip
			}
			n.NextCheckAt = now.Add(e.policy.cancelDelay(n.Cancels) + hand)
			return nil
		}); err != nil {
			return nil, err
		}
		if o.State != f2fpay.OrderCancelling {
			return o, nil
		}
		return e.queryStep(ctx, o, hand, true)
	}
	return e.commit(ctx, o, []*f2fpay.GatewayCall{call}, func(n *f2fpay.Order) error {
		switch {
		case done && n.State == f2fpay.OrderPaid && r.Action == "refund":
			// Only possible when two engines raced past an expired claim: the money went
			// back to the buyer, and the order must say so.
			e.log.Error("a cancel refunded an order recorded PAID", "out_trade_no", n.OutTradeNo, "order_id", n.ID)
			n.State, n.CancelAction = f2fpay.OrderCancelled, r.Action
		case n.State.Final():
			return errSkip
		case done:
			n.State, n.CancelAction = f2fpay.OrderCancelled, r.Action
		case n.State == f2fpay.OrderCancelling:
			n.NextCheckAt = now.Add(e.policy.cancelDelay(n.Cancels) + hand)
		default:
			return errSkip
		}
		return nil
	})
}

// closeStep calls trade.close for an unpaid order waiting for its buyer (a QR or JSAPI
// order past its deadline, or one the terminal closes): success → CLOSED. Every other
// path ends in CANCELLING, whose cancel is retried durably until Alipay answers:
//
//   - ACQ.TRADE_NOT_EXIST: a QR nobody scanned has no trade at Alipay, and whether the
//     failed close still blocks a later payment is not documented (docs/alipay-protocol.md §6.2);
//     trade.cancel burns the out_trade_no for certain, and its answer ends the order;
//   - no answer: the close may or may not have happened; a cancel settles it either way;
//   - another refusal (ACQ.TRADE_STATUS_ERROR: the buyer paid meanwhile): a query
//     decides; paid → PAID, closed → CLOSED, still waiting → CANCELLING.
func (e *Engine) closeStep(ctx context.Context, o *f2fpay.Order, hand time.Duration) (*f2fpay.Order, error) {
	o, ok, err := e.claim(ctx, o, f2fpay.OrderPending, f2fpay.OrderWaiting)
	if err != nil || !ok {
		return o, err
	}
	_, c, err := e.client(ctx, o.AppID, o.MerchantID)
	if err != nil {
		return nil, err
	}
	cctx, cancel := e.callCtx(context.WithoutCancel(ctx))
	st := e.stamp()
	r, err := c.TradeClose(cctx, &alipay.TradeCloseRequest{OutTradeNo: o.OutTradeNo}, c.Options()...)
	cancel()
	e.tokenRefused(ctx, c, err)
	var call *f2fpay.GatewayCall
	closed, query := false, false
	switch {
	case err == nil:
		closed = true
		call = e.newCall(alipay.MethodTradeClose, st, r.Code, nil, string(f2fpay.OrderClosed))
	case alipay.HasSubCode(err, alipay.SubTradeNotExist):
		call = e.newCall(alipay.MethodTradeClose, st, "", err, outcomeNotExist)
	case alipay.IsUnknown(err):
		call = e.newCall(alipay.MethodTradeClose, st, "", err, outcomeUnknown)
	case errNotSent(err):
		call = e.newCall(alipay.MethodTradeClose, st, "", err, outcomeNotSent)
		e.log.Error("trade.close refused by our own client", "out_trade_no", o.OutTradeNo, "err", err)
	default:
		query = true
		call = e.newCall(alipay.MethodTradeClose, st, "", err, outcomeError)
	}
	now := e.now()
	o, err = e.commit(ctx, o, []*f2fpay.GatewayCall{call}, func(n *f2fpay.Order) error {
		if n.State != f2fpay.OrderPending && n.State != f2fpay.OrderWaiting {
			return errSkip
		}
		switch {
		case closed:
			n.State = f2fpay.OrderClosed
		case query:
			n.NextCheckAt = now.Add(hand)
		default:
			n.State = f2fpay.OrderCancelling
			n.NextCheckAt = now.Add(hand)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if query && !o.State.Final() && o.State != f2fpay.OrderCancelling {
		if o, err = e.queryStep(ctx, o, hand, false); err != nil {
			return nil, err
		}
		if unpaid(o.State) {
			if o, err = e.commit(ctx, o, nil, func(n *f2fpay.Order) error {
				if !unpaid(n.State) {
					return errSkip
				}
				n.State = f2fpay.OrderCancelling
				n.NextCheckAt = now.Add(hand)
				return nil
			}); err != nil {
				return nil, err
			}
		}
	}
	if o.State == f2fpay.OrderCancelling {
		return e.cancelStep(ctx, o, hand)
	}
	return o, nil
}

// drive steps o until it is final, ctx ends, or only the slow cancel schedule is left
// (the janitor's). It returns the order as it then stands. When it stops early it
// hands the order over: NextCheckAt loses the handover delay, so the janitor (of any
// instance) picks it up when the next step is due instead of later.
func (e *Engine) drive(ctx context.Context, o *f2fpay.Order) (*f2fpay.Order, error) {
	hand := e.policy.Handover
	var stepErr error
	for !o.State.Final() {
		if o.State == f2fpay.OrderCancelling && o.Cancels > e.policy.CancelRetries {
			break
		}
		if d := o.NextCheckAt.Add(-hand).Sub(e.now()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		n, err := e.step(ctx, o, hand)
		if err != nil {
			e.log.Error("payment step failed; the janitor will continue", "out_trade_no", o.OutTradeNo, "err", err)
			stepErr = err
			break
		}
		o = n
	}
	if !o.State.Final() && stepErr == nil {
		at := o.NextCheckAt.Add(-hand)
		if n, err := e.commit(ctx, o, nil, func(n *f2fpay.Order) error {
			if n.Version != o.Version || n.State.Final() {
				return errSkip
			}
			n.NextCheckAt = at
			return nil
		}); err == nil {
			o = n
		}
	}
	return o, nil
}
