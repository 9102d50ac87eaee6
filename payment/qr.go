package payment

import (
	"cmp"
	"context"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// QRRequest is a payment where the buyer scans a QR code the terminal shows
// (alipay.trade.precreate).
type QRRequest struct {
	TerminalID int64
	Amount     f2fpay.Amount
	Subject    string
	Body       string
	Goods      []alipay.GoodsDetail
	OperatorID string
	// Deadline is how long the QR stays payable before the order is closed through
	// Alipay; default Policy.QRWindow.
	Deadline   time.Duration
	OutTradeNo string
	// RequestKey identifies the terminal request (f2fpay.Order.RequestKey): a second
	// creation with the same out_trade_no and RequestKey is that request retried, and
	// gets the order as it stands instead of ECONFLICT.
	RequestKey string
}

// JSAPIRequest is a payment by a logged-in member in the Alipay app
// (alipay.trade.create; the page then calls the wallet's tradePay with the trade_no).
type JSAPIRequest struct {
	// TerminalID is mandatory: Alipay requires terminal_id for vending machines.
	TerminalID int64
	// BuyerID is the member's Alipay user id (2088…), from OAuth; BuyerOpenID the
	// open id instead, for apps that receive only that (docs/vending.md §4). One of
	// the two; the order's BuyerID keeps whichever was sent.
	BuyerID     string
	BuyerOpenID string
	Amount      f2fpay.Amount
	Subject     string
	Body        string
	Goods       []alipay.GoodsDetail
	OperatorID  string
	Deadline    time.Duration
	OutTradeNo  string
	// RequestKey identifies the terminal request (f2fpay.Order.RequestKey): a second
	// creation with the same out_trade_no and RequestKey is that request retried, and
	// gets the order as it stands instead of ECONFLICT.
	RequestKey string
}

// PrecreateQR records a QR order PENDING, asks Alipay for the QR and returns the order
// with QRCode set. The order then waits for the buyer (a notification, or the janitor's
// queries) and is closed through Alipay at its deadline.
//
// When Alipay's answer is unknown the order is returned without a QR code together with
// an EUNAVAILABLE error: the terminal should start a new order; this one is closed by
// the janitor at its deadline.
func (e *Engine) PrecreateQR(ctx context.Context, req QRRequest) (*f2fpay.Order, error) {
	if err := checkOrderFields(req.OutTradeNo, req.Amount, req.Subject, req.Body, req.Goods); err != nil {
		return nil, err
	}
	if err := checkLimit(alipay.LimitOperatorID, req.OperatorID); err != nil {
		return nil, err
	}
	win, err := e.window(req.Deadline, e.policy.QRWindow)
	if err != nil {
		return nil, err
	}
	term, app, store, c, err := e.terminal(ctx, req.TerminalID)
	if err != nil {
		return nil, err
	}
	ft, err := e.fundTerms(ctx, term, app, req.Amount)
	if err != nil {
		return nil, err
	}
	o, retried, err := e.createPending(ctx, req.OutTradeNo, req.RequestKey, term, app, store, f2fpay.KindQR, req.Amount, req.Subject, req.Body, "", win)
	if err != nil || retried {
		return o, err
	}
	if err := e.openSettlement(ctx, o, ft); err != nil {
		return nil, err
	}
	cctx, cancel := e.callCtx(context.WithoutCancel(ctx))
	st := e.stamp()
	r, err := c.TradePrecreate(cctx, &alipay.TradePrecreateRequest{
		OutTradeNo: o.OutTradeNo, TotalAmount: req.Amount, Subject: req.Subject, Body: req.Body,
		GoodsDetail: req.Goods, OperatorID: req.OperatorID, StoreID: store.Code, TerminalID: term.Code,
		ExtendParams: ft.extend(app), TimeoutExpress: timeoutExpress(win), SellerID: ft.sellerID, RoyaltyInfo: ft.royalty,
	}, c.Options()...)
	cancel()
	e.tokenRefused(ctx, c, err)
	return e.finishCreate(ctx, o, alipay.MethodTradePrecreate, st, err, func(n *f2fpay.Order) {
		n.QRCode = r.QRCode
	}, func() string { return r.Code })
}

// CreateJSAPI records a JSAPI order PENDING and creates the trade for the buyer; the
// returned order's TradeNo is what the wallet's tradePay needs. Errors as PrecreateQR.
func (e *Engine) CreateJSAPI(ctx context.Context, req JSAPIRequest) (*f2fpay.Order, error) {
	if err := checkOrderFields(req.OutTradeNo, req.Amount, req.Subject, req.Body, req.Goods); err != nil {
		return nil, err
	}
	if err := checkLimit(alipay.LimitOperatorID, req.OperatorID); err != nil {
		return nil, err
	}
	if req.BuyerID != "" {
		req.BuyerOpenID = "" // the user id names the buyer for every app
	}
	if req.BuyerOpenID != "" {
		if err := f2fpay.CheckID("buyer_open_id", req.BuyerOpenID, true, f2fpay.MaxOpenIDLen); err != nil {
			return nil, err
		}
	} else if !userIDPattern.MatchString(req.BuyerID) {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "buyer_id %q is not an Alipay user id (2088 and 12 more digits); get it from the member's OAuth login", req.BuyerID)
	}
	if req.TerminalID == 0 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "terminal_id is required for JSAPI payments (Alipay requires it for vending machines)")
	}
	win, err := e.window(req.Deadline, e.policy.QRWindow)
	if err != nil {
		return nil, err
	}
	term, app, store, c, err := e.terminal(ctx, req.TerminalID)
	if err != nil {
		return nil, err
	}
	ft, err := e.fundTerms(ctx, term, app, req.Amount)
	if err != nil {
		return nil, err
	}
	o, retried, err := e.createPending(ctx, req.OutTradeNo, req.RequestKey, term, app, store, f2fpay.KindJSAPI, req.Amount, req.Subject, req.Body, cmp.Or(req.BuyerID, req.BuyerOpenID), win)
	if err != nil || retried {
		return o, err
	}
	if err := e.openSettlement(ctx, o, ft); err != nil {
		return nil, err
	}
	cctx, cancel := e.callCtx(context.WithoutCancel(ctx))
	st := e.stamp()
	r, err := c.TradeCreate(cctx, &alipay.TradeCreateRequest{
		OutTradeNo: o.OutTradeNo, TotalAmount: req.Amount, Subject: req.Subject, Body: req.Body, BuyerID: req.BuyerID,
		BuyerOpenID: req.BuyerOpenID, GoodsDetail: req.Goods, OperatorID: req.OperatorID, StoreID: store.Code, TerminalID: term.Code,
		ExtendParams: ft.extend(app), TimeoutExpress: timeoutExpress(win), SellerID: ft.sellerID, RoyaltyInfo: ft.royalty,
	}, c.Options()...)
	cancel()
	e.tokenRefused(ctx, c, err)
	return e.finishCreate(ctx, o, alipay.MethodTradeCreate, st, err, func(n *f2fpay.Order) {
		if n.TradeNo == "" {
			n.TradeNo = r.TradeNo
		}
	}, func() string { return r.Code })
}

// createPending records a QR or JSAPI order. retried is true when the order exists
// already, made by the same terminal request (RequestKey): it is returned as it stands
// and nothing is sent again.
func (e *Engine) createPending(ctx context.Context, outTradeNo, requestKey string, term *f2fpay.Terminal, app *f2fpay.App, store *f2fpay.Store,
	kind f2fpay.OrderKind, amount f2fpay.Amount, subject, body, buyerID string, win time.Duration) (_ *f2fpay.Order, retried bool, _ error) {
	if outTradeNo == "" {
		outTradeNo = e.newOutTradeNo()
	}
	now := e.now()
	o := &f2fpay.Order{
		OutTradeNo: outTradeNo, MerchantID: term.MerchantID, AppID: app.ID, StoreID: store.ID, TerminalID: term.ID,
		Kind: kind, Subject: subject, Body: body, TotalAmount: amount, BuyerID: buyerID,
		State: f2fpay.OrderPending, PayDeadline: now.Add(win),
		NextCheckAt: now.Add(e.policy.CallTimeout + e.policy.Handover),
		RequestKey:  requestKey,
	}
	if err := e.store.CreateOrder(ctx, o); err != nil {
		if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
			prev, err := e.retried(ctx, app.ID, term.MerchantID, term.ID, outTradeNo, requestKey)
			return prev, prev != nil, err
		}
		return nil, false, err
	}
	e.metrics.OrderTransition(o.Kind, "", o.State)
	return o, false, nil
}

// finishCreate commits the answer of precreate or create: success keeps the order
// PENDING with what the answer brought (fill); a refusal (40004 ...) means no trade was
// made → FAILED, on Alipay's word; an unknown answer leaves the order PENDING for the
// janitor, which closes it at its deadline.
func (e *Engine) finishCreate(ctx context.Context, o *f2fpay.Order, method string, st stamp, err error,
	fill func(n *f2fpay.Order), code func() string) (*f2fpay.Order, error) {
	var call *f2fpay.GatewayCall
	switch {
	case err == nil:
		call = e.newCall(method, st, code(), nil, outcomeOK)
	case alipay.IsUnknown(err):
		call = e.newCall(method, st, "", err, outcomeUnknown)
	case errNotSent(err):
		call = e.newCall(method, st, "", err, outcomeNotSent)
	default:
		call = e.newCall(method, st, "", err, outcomeError)
	}
	now := e.now()
	o, cerr := e.commit(ctx, o, []*f2fpay.GatewayCall{call}, func(n *f2fpay.Order) error {
		if n.State != f2fpay.OrderPending {
			return errSkip
		}
		switch {
		case err == nil:
			fill(n)
			e.schedule(n, now, 0)
		case alipay.IsUnknown(err) || errNotSent(err):
			// Not sent is treated as unknown: the janitor's close/cancel ends it on
			// Alipay's word, never ours.
			e.schedule(n, now, 0)
		default:
			ae, _ := alipay.AsError(err)
			n.State = f2fpay.OrderFailed
			if ae != nil {
				n.FailCode = ae.SubCode
				if n.FailCode == "" {
					n.FailCode = ae.Code
				}
				n.FailReason = failMessage(ae.Code, ae.SubCode, ae.SubMsg)
			}
		}
		return nil
	})
	if cerr != nil {
		return nil, cerr
	}
	if err != nil && (alipay.IsUnknown(err) || errNotSent(err)) {
		return o, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "Alipay did not answer in time; start a new order (this one is closed automatically)")
	}
	return o, nil
}
