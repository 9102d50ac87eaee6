package payment

import (
	"context"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// AlipayWord is what Alipay answered when reconciliation asked about a trade or a
// refund: the check every repair waits for (docs/reconciliation.md).
type AlipayWord struct {
	// Method is alipay.trade.query or alipay.trade.fastpay.refund.query.
	Method string `json:"method"`
	// Answered is false when no usable answer came (timeout, 20000): nothing is known.
	Answered bool `json:"answered"`
	// Status is the trade_status (TRADE_SUCCESS, TRADE_CLOSED, …), NOT_EXIST for a
	// trade Alipay does not have, REFUND_SUCCESS or NOT_REFUNDED for a refund.
	Status  string        `json:"status,omitempty"`
	TradeNo string        `json:"trade_no,omitempty"`
	Total   f2fpay.Amount `json:"total_amount,omitempty"`
	Receipt f2fpay.Amount `json:"receipt_amount,omitempty"`
	Refund  f2fpay.Amount `json:"refund_amount,omitempty"`
	Error   string        `json:"error,omitempty"`
}

// Paid reports whether Alipay said the trade is paid.
func (w *AlipayWord) Paid() bool { return alipay.TradeStatus(w.Status).Paid() }

// Reconcile asks Alipay about the app's out_trade_no — or, with outRequestNo, about
// that refund of it — for reconciliation, and applies the answer through the steps
// live traffic takes, so that the state change and its outbox event are written in
// one transaction:
//
//   - an order whose outcome is not known (PAYING, WAITING, UNKNOWN, PENDING) is
//     queried and the answer applied as the janitor applies it (paid → PAID with
//     payment.succeeded); a CANCELLING order is left to its cancel, which refunds a
//     paid trade;
//   - a PENDING or UNKNOWN refund is resolved as the janitor resolves it;
//   - anything else (no order, a final order, a final refund) is only asked about:
//     Alipay's answer is returned and recorded in the order's history, nothing changes.
//
// It returns the order as it now stands (nil when the app has none) and Alipay's word.
// Running it twice changes nothing more: final states never move and events keep ids.
func (e *Engine) Reconcile(ctx context.Context, appID int64, outTradeNo, outRequestNo string) (*f2fpay.Order, *AlipayWord, error) {
	o, err := e.store.FindOrder(ctx, appID, outTradeNo)
	if err != nil && f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
		return nil, nil, err
	}
	if err != nil {
		o = nil
	}
	if outRequestNo != "" {
		return e.reconcileRefund(ctx, appID, o, outTradeNo, outRequestNo)
	}
	probe := o
	if probe == nil {
		probe = &f2fpay.Order{AppID: appID, OutTradeNo: outTradeNo}
	}
	f, call, err := e.query(ctx, probe)
	if err != nil {
		return nil, nil, err
	}
	w := &AlipayWord{Method: alipay.MethodTradeQuery, Answered: f != nil, Error: call.Message}
	if f != nil {
		w.Status, w.TradeNo, w.Total, w.Receipt = string(f.status), f.tradeNo, f.total, f.receipt
		if f.notExist {
			w.Status = outcomeNotExist
		}
	}
	switch {
	case o == nil:
		return nil, w, nil
	case !o.State.Final() && o.State != f2fpay.OrderCancelling:
		o, err = e.applyQuery(ctx, o, f, call, 0, false)
		return o, w, err
	default:
		call.OrderID = o.ID
		return o, w, e.store.RecordCall(ctx, call)
	}
}

func (e *Engine) reconcileRefund(ctx context.Context, appID int64, o *f2fpay.Order, outTradeNo, outRequestNo string) (*f2fpay.Order, *AlipayWord, error) {
	w := &AlipayWord{Method: alipay.MethodTradeFastpayRefundQry}
	if o != nil {
		r, err := e.store.FindRefund(ctx, o.ID, outRequestNo)
		if err != nil && f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
			return nil, nil, err
		}
		if err == nil && !r.State.Final() {
			if r, err = e.resolveRefund(ctx, r, 0); err != nil {
				return nil, nil, err
			}
			if o, err = e.store.FindOrderByID(ctx, o.ID); err != nil {
				return nil, nil, err
			}
			w.Answered = r.State.Final()
			w.Status = "NOT_REFUNDED"
			if r.State == f2fpay.RefundSucceeded {
				w.Status, w.Refund = "REFUND_SUCCESS", r.Amount
			}
			return o, w, nil
		}
	}
	merchant := scopedMerchant(ctx)
	if o != nil {
		merchant = o.MerchantID
	}
	_, c, err := e.client(ctx, appID, merchant)
	if err != nil {
		return nil, nil, err
	}
	cctx, cancel := e.callCtx(context.WithoutCancel(ctx))
	defer cancel()
	st := e.stamp()
	q, err := c.TradeFastpayRefundQuery(cctx, &alipay.RefundQueryRequest{OutTradeNo: outTradeNo, OutRequestNo: outRequestNo}, c.Options()...)
	var call *f2fpay.GatewayCall
	switch {
	case err == nil && q.Refunded():
		w.Answered, w.Status, w.Refund = true, "REFUND_SUCCESS", q.RefundAmount
		call = e.newCall(alipay.MethodTradeFastpayRefundQry, st, q.Code, nil, "REFUND_SUCCESS")
	case err == nil:
		w.Answered, w.Status = true, "NOT_REFUNDED"
		call = e.newCall(alipay.MethodTradeFastpayRefundQry, st, q.Code, nil, "NOT_REFUNDED")
	case alipay.HasSubCode(err, alipay.SubTradeNotExist):
		w.Answered, w.Status = true, outcomeNotExist
		call = e.newCall(alipay.MethodTradeFastpayRefundQry, st, "", err, outcomeNotExist)
	default:
		call = e.newCall(alipay.MethodTradeFastpayRefundQry, st, "", err, outcomeUnknown)
		w.Error = call.Message
	}
	if o != nil {
		call.OrderID = o.ID
		if err := e.store.RecordCall(ctx, call); err != nil {
			return nil, nil, err
		}
	}
	return o, w, nil
}
