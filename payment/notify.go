package payment

import (
	"context"
	"errors"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// MethodNotify names notifications in an order's history of gateway calls.
const MethodNotify = "notify.trade_status_sync"

// HandleNotification applies an asynchronous notification Alipay POSTed for the app
// whose Alipay APPID is appAlipayID; body is the raw form body.
//
// It is verified before anything is used: the signature over the raw form with the
// app's Alipay key, app_id, seller_id (the app's SellerID; for a service provider's
// app, the SellerID of the authorisation whose merchant auth_app_id names), that
// out_trade_no names an order of this app and merchant, that total_amount is the order's and trade_no matches. It is then
// applied as a state snapshot, never as an event, so duplicates and reordered
// deliveries change nothing:
//
//   - TRADE_SUCCESS or TRADE_FINISHED on an unpaid order → PAID (payment.succeeded);
//     on a PAID order → no new payment;
//   - TRADE_CLOSED on an unpaid order → CLOSED (CANCELLED when it was being cancelled);
//     a final order never changes (a PAID order never goes back, a cancelled one is
//     never paid again by a late TRADE_SUCCESS);
//   - a refund notification (out_biz_no, refund_fee) confirms our refund with that
//     out_request_no if it was still PENDING or UNKNOWN.
//
// It returns nil only after the change is committed — the HTTP layer then answers
// "success" — and an error otherwise: EUNAUTHORIZED for a notification that does not
// verify (forged, another app's), EINVALID for one that contradicts the order,
// ENOTFOUND for an unknown app or order. Alipay retries what is not acknowledged.
func (e *Engine) HandleNotification(ctx context.Context, appAlipayID string, body []byte) error {
	app, err := e.store.FindAppByAppID(ctx, appAlipayID)
	if err != nil {
		if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "no app with APPID %q", appAlipayID)
		}
		return err
	}
	c, err := e.clients.Client(ctx, app)
	if err != nil {
		return err
	}
	n, err := c.ParseNotification(body)
	if err != nil {
		if errors.Is(err, alipay.ErrNotification) {
			return f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "notification refused: %v", err)
		}
		return err
	}
	if n.NotifyType != "" && n.NotifyType != "trade_status_sync" {
		return f2fpay.Errorf(f2fpay.EINVALID, "notification type %q is not handled", n.NotifyType)
	}
	// The merchant the notification is for: the app's own, or — for a service
	// provider's app — the one whose APPID is auth_app_id, checked against its
	// authorisation's seller id (docs/vending.md §6).
	merchantID, seller := app.MerchantID, app.SellerID
	if app.ISV && n.AuthAppID != "" && n.AuthAppID != app.AppID {
		auth, err := e.store.FindAuthorizationByAuthAppID(ctx, app.ID, n.AuthAppID)
		if err != nil {
			if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
				return f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "notification for auth_app_id %q, which has not authorised app %s", n.AuthAppID, app.AppID)
			}
			return err
		}
		merchantID, seller = auth.MerchantID, auth.SellerID
	}
	if seller != "" && n.SellerID != seller {
		return f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "notification for seller %q, but app %s collects for %q here", n.SellerID, app.AppID, seller)
	}
	o, err := e.load(ForMerchant(ctx, merchantID), app.ID, n.OutTradeNo)
	if err != nil {
		return err
	}
	if o.AppID != app.ID || o.MerchantID != merchantID {
		return f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "order %s does not belong to app %s and this merchant", o.OutTradeNo, app.AppID)
	}
	if n.TotalAmount != o.TotalAmount {
		return f2fpay.Errorf(f2fpay.EINVALID, "notification for %s says total_amount %s, the order's is %s", o.OutTradeNo, n.TotalAmount, o.TotalAmount)
	}
	if o.TradeNo != "" && n.TradeNo != "" && n.TradeNo != o.TradeNo {
		return f2fpay.Errorf(f2fpay.EINVALID, "notification for %s names trade_no %s, the order's is %s", o.OutTradeNo, n.TradeNo, o.TradeNo)
	}
	log := e.log.With("out_trade_no", o.OutTradeNo, "order_id", o.ID, "notify_id", n.NotifyID, "trade_status", n.TradeStatus)

	now := e.now()
	call := &f2fpay.GatewayCall{Method: MethodNotify, Code: n.NotifyID, Outcome: string(n.TradeStatus), At: now}
	if n.IsRefund() {
		call.Message = "refund " + n.OutBizNo + ", refunded in total " + n.RefundFee.String()
	}
	f := notifyFact(n)
	o, err = e.commit(ctx, o, []*f2fpay.GatewayCall{call}, func(x *f2fpay.Order) error {
		before := x.State
		e.applyFact(x, f, now, false)
		if x.State == before {
			return errSkip // only recorded
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n.IsRefund() && n.OutBizNo != "" {
		if err := e.confirmRefund(ctx, o, n); err != nil {
			return err
		}
	}
	log.Info("notification applied", "state", o.State)
	return nil
}

// confirmRefund marks our refund named by a refund notification's out_biz_no as
// SUCCEEDED if it was still unresolved. Refunds made outside f2fpay (the merchant
// console) are only logged; reconciliation reports them.
func (e *Engine) confirmRefund(ctx context.Context, o *f2fpay.Order, n *alipay.Notification) error {
	r, err := e.store.FindRefund(ctx, o.ID, n.OutBizNo)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		if o.State == f2fpay.OrderPaid {
			e.log.Warn("notification of a refund f2fpay did not make", "out_trade_no", o.OutTradeNo, "out_biz_no", n.OutBizNo)
		}
		return nil
	}
	if err != nil || r.State.Final() {
		return err
	}
	at := n.GmtRefund.Time
	if at.IsZero() {
		at = e.now()
	}
	_, err = e.commitRefund(ctx, r, nil, func(x *f2fpay.Refund, ord *f2fpay.Order) (bool, error) {
		if x.State.Final() {
			return false, errSkip
		}
		return succeed(x, ord, at), nil
	})
	return err
}
