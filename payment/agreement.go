package payment

import (
	"context"
	"errors"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// Withholding agreements (商家扣款, docs/vending.md §12) go through the same per-app
// clients as payments. The engine makes the calls and turns a paid charge into an
// order; the open-door cabinet (package cabinet) decides when to charge and keeps its
// sessions. An agreement charge is never an order before it is paid: a refused charge
// leaves the same out_trade_no payable later (the buyer's debt), which an order's
// final FAILED could not express, and an order the janitor saw unpaid would be
// cancelled at its deadline — burning the number the debt is retried under.

// AgreementSignURL builds the signed page.sign link for an app of the merchant in ctx
// (ForMerchant). opts add return_url and notify_url.
func (e *Engine) AgreementSignURL(ctx context.Context, appID int64, req *alipay.AgreementPageSignRequest, opts ...alipay.CallOption) (string, error) {
	_, c, err := e.client(ctx, appID, scopedMerchant(ctx))
	if err != nil {
		return "", err
	}
	return c.AgreementPageSignURL(ctx, req, append(c.Options(), opts...)...)
}

// AgreementQuery reads an agreement (alipay.user.agreement.query).
func (e *Engine) AgreementQuery(ctx context.Context, appID int64, ref *alipay.AgreementRef) (*alipay.AgreementQueryResponse, error) {
	_, c, err := e.client(ctx, appID, scopedMerchant(ctx))
	if err != nil {
		return nil, err
	}
	cctx, cancel := e.callCtx(ctx)
	defer cancel()
	return c.AgreementQuery(cctx, ref, c.Options()...)
}

// AgreementUnsign ends an agreement from the merchant's side.
func (e *Engine) AgreementUnsign(ctx context.Context, appID int64, req *alipay.AgreementUnsignRequest) error {
	_, c, err := e.client(ctx, appID, scopedMerchant(ctx))
	if err != nil {
		return err
	}
	cctx, cancel := e.callCtx(ctx)
	defer cancel()
	_, err = c.AgreementUnsign(cctx, req, c.Options()...)
	return err
}

// ParseAgreementNotification verifies a dut_user_sign or dut_user_unsign notification
// POSTed for the app whose Alipay APPID is appAlipayID (signature with the app's Alipay
// key, app_id) and returns the app with it. A notification that does not verify is
// EUNAUTHORIZED; one that verifies but is no agreement notification EINVALID.
func (e *Engine) ParseAgreementNotification(ctx context.Context, appAlipayID string, body []byte) (*f2fpay.App, *alipay.AgreementNotification, error) {
	app, err := e.store.FindAppByAppID(ctx, appAlipayID)
	if err != nil {
		if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
			return nil, nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no app with APPID %q", appAlipayID)
		}
		return nil, nil, err
	}
	c, err := e.clients.Client(ctx, app)
	if err != nil {
		return nil, nil, err
	}
	n, err := c.ParseNotification(body)
	if err != nil {
		if errors.Is(err, alipay.ErrNotification) {
			return nil, nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "notification refused: %v", err)
		}
		return nil, nil, err
	}
	if n.AppID != "" && n.AppID != app.AppID {
		return nil, nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "notification for app %s arrived at app %s's address", n.AppID, app.AppID)
	}
	a, err := n.Agreement()
	if err != nil {
		return nil, nil, f2fpay.Errorf(f2fpay.EINVALID, "agreement notification refused: %v", err)
	}
	return app, a, nil
}

// AgreementCharge is one charge on a signed agreement.
type AgreementCharge struct {
	// TerminalID is the machine the goods came from; its app, store and merchant are
	// the order's.
	TerminalID int64
	// OutTradeNo is the same for every attempt of one charge: Alipay pays a number at
	// most once.
	OutTradeNo  string
	Amount      f2fpay.Amount
	Subject     string
	Goods       []alipay.GoodsDetail
	AgreementNo string
	// BuyerID or BuyerOpenID: the member's identity in the app (optional for Alipay,
	// sent so the charge cannot land on another account).
	BuyerID, BuyerOpenID string
}

// ChargeStatus is what Alipay said about an agreement charge.
type ChargeStatus string

const (
	ChargePaid ChargeStatus = "PAID" // the order (kind agreement) is written PAID
	// ChargeRefused: a 40004 — balance, agreement, limits. Nothing was created; the
	// same out_trade_no may be paid later.
	ChargeRefused ChargeStatus = "REFUSED"
	// ChargeUnknown: 20000, a timeout, a lost or unverifiable answer, or 10003 (Alipay
	// still working): only a query can tell.
	ChargeUnknown ChargeStatus = "UNKNOWN"
	// ChargeNotExist: a query found no trade under the number; the pay may be sent again.
	ChargeNotExist ChargeStatus = "NOT_EXIST"
	// ChargeClosed: a query found the trade closed unpaid; the number is spent.
	ChargeClosed ChargeStatus = "CLOSED"
)

// ChargeResult is the outcome of AgreementPay or AgreementChargeStatus.
type ChargeResult struct {
	Status ChargeStatus
	// Order is the PAID order when Status is ChargePaid.
	Order *f2fpay.Order
	// FailCode (Alipay's sub_code) and FailReason, when refused or unknown.
	FailCode, FailReason string
	// AgreementGone: the refusal says the agreement no longer works (re-sign).
	AgreementGone bool
}

// AgreementPay sends alipay.trade.pay with agreement_params and product_code
// GENERAL_WITHHOLDING. A 10000 (or ACQ.TRADE_HAS_SUCCESS, then confirmed by query)
// writes the order PAID with its payment.succeeded event; the caller keeps what it
// charged for. Nothing is written for a refusal or an unknown outcome.
func (e *Engine) AgreementPay(ctx context.Context, ch AgreementCharge) (*ChargeResult, error) {
	term, app, store, c, err := e.chargeClient(ctx, ch)
	if err != nil {
		return nil, err
	}
	req := &alipay.TradePayRequest{
		OutTradeNo: ch.OutTradeNo, Subject: ch.Subject, TotalAmount: ch.Amount, GoodsDetail: ch.Goods,
		BuyerID: ch.BuyerID, BuyerOpenID: ch.BuyerOpenID, TerminalID: term.Code, StoreID: store.Code,
		AgreementParams: &alipay.AgreementParams{AgreementNo: ch.AgreementNo},
		QueryOptions:    promotionOptions,
	}
	st := e.stamp()
	cctx, cancel := e.callCtx(ctx)
	res, err := c.TradePay(cctx, req, c.Options()...)
	cancel()
	if err != nil {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "the agreement charge %s was not sent: %v", ch.OutTradeNo, err)
	}
	switch {
	case res.Status == alipay.PayPaid:
		call := e.newCall(alipay.MethodTradePay, st, alipay.CodeSuccess, nil, string(f2fpay.OrderPaid))
		return e.chargePaid(ctx, ch, term, app, store, payFact(res.Response, alipay.TradeSuccess), call)
	case res.Status == alipay.PayFailed && !alipay.HasSubCode(res.Err, alipay.SubTradeHasSuccess):
		ae, _ := alipay.AsError(res.Err)
		r := &ChargeResult{Status: ChargeRefused, AgreementGone: alipay.IsAgreementGone(res.Err)}
		if ae != nil {
			r.FailCode = ae.SubCode
			if r.FailCode == "" {
				r.FailCode = ae.Code
			}
			r.FailReason = failMessage(ae.Code, ae.SubCode, ae.SubMsg)
		}
		e.log.Info("agreement charge refused", "out_trade_no", ch.OutTradeNo, "sub_code", r.FailCode)
		return r, nil
	case res.Status == alipay.PayFailed: // ACQ.TRADE_HAS_SUCCESS: paid before; the query says by what
		return e.AgreementChargeStatus(ctx, ch)
	}
	r := &ChargeResult{Status: ChargeUnknown}
	if ae, ok := alipay.AsError(res.Err); ok && ae != nil {
		r.FailCode = ae.SubCode
	}
	if res.Err != nil {
		r.FailReason = callErrorMessage(res.Err)
	}
	return r, nil
}

// AgreementChargeStatus asks alipay.trade.query about a charge's number: paid (the
// order is written PAID, or found written), not there, closed, or still unknown.
func (e *Engine) AgreementChargeStatus(ctx context.Context, ch AgreementCharge) (*ChargeResult, error) {
	term, app, store, c, err := e.chargeClient(ctx, ch)
	if err != nil {
		return nil, err
	}
	st := e.stamp()
	cctx, cancel := e.callCtx(ctx)
	q, err := c.TradeQuery(cctx, &alipay.TradeQueryRequest{OutTradeNo: ch.OutTradeNo, QueryOptions: promotionOptions}, c.Options()...)
	cancel()
	switch {
	case alipay.HasSubCode(err, alipay.SubTradeNotExist):
		return &ChargeResult{Status: ChargeNotExist}, nil
	case err != nil:
		return &ChargeResult{Status: ChargeUnknown, FailReason: callErrorMessage(err)}, nil
	case q.TotalAmount != 0 && q.TotalAmount != ch.Amount:
		return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "Alipay's trade %s is of %s, not the %s charged: the number was used for another payment; an operator must look", ch.OutTradeNo, q.TotalAmount, ch.Amount)
	case q.TradeStatus.Paid():
		call := e.newCall(alipay.MethodTradeQuery, st, alipay.CodeSuccess, nil, string(q.TradeStatus))
		return e.chargePaid(ctx, ch, term, app, store, queryFact(q), call)
	case q.TradeStatus == alipay.TradeClosed:
		return &ChargeResult{Status: ChargeClosed}, nil
	}
	return &ChargeResult{Status: ChargeUnknown, FailReason: "Alipay says the trade is " + string(q.TradeStatus)}, nil
}

func (e *Engine) chargeClient(ctx context.Context, ch AgreementCharge) (*f2fpay.Terminal, *f2fpay.App, *f2fpay.Store, *AppClient, error) {
	term, err := e.store.FindTerminal(ctx, ch.TerminalID)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	store, err := e.store.FindStore(ctx, term.StoreID)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	app, c, err := e.client(ctx, term.AppID, term.MerchantID)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return term, app, store, c, nil
}

// chargePaid writes the paid charge as an order of kind agreement, PAID, with its
// payment.succeeded event and the call that said so; an order already written under
// the number (a crash after the write, a concurrent resolution) is returned as it is.
func (e *Engine) chargePaid(ctx context.Context, ch AgreementCharge, term *f2fpay.Terminal, app *f2fpay.App, store *f2fpay.Store,
	f tradeFact, call *f2fpay.GatewayCall) (*ChargeResult, error) {
	if f.total != 0 && f.total != ch.Amount {
		return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "Alipay paid %s under %s, not the %s charged: an operator must look", f.total, ch.OutTradeNo, ch.Amount)
	}
	now := e.now()
	o := &f2fpay.Order{
		OutTradeNo: ch.OutTradeNo, MerchantID: term.MerchantID, AppID: app.ID, StoreID: store.ID, TerminalID: term.ID,
		Kind: f2fpay.KindAgreement, Subject: ch.Subject, TotalAmount: ch.Amount, BuyerID: ch.BuyerID,
		State: f2fpay.OrderPaying, PayDeadline: now,
	}
	if o.BuyerID == "" {
		o.BuyerID = ch.BuyerOpenID
	}
	e.applyFact(o, f, now, false)
	if o.State != f2fpay.OrderPaid {
		return nil, f2fpay.Errorf(f2fpay.EINTERNAL, "the paid charge %s could not be applied", ch.OutTradeNo)
	}
	ev := e.orderEvent(o)
	// The order has no id yet, so an event name derived from it (eventID) would be the
	// same for every charge and the second paid charge's insert would conflict; the store
	// names it. One charge is one out_trade_no, which the store keeps unique.
	ev.ID = ""
	err := e.store.CreateOrder(ctx, o, ev)
	if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
		prev, ferr := e.store.FindMerchantOrder(ctx, app.ID, term.MerchantID, ch.OutTradeNo)
		if ferr != nil {
			return nil, ferr
		}
		if prev.State != f2fpay.OrderPaid || prev.TotalAmount != ch.Amount {
			return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "order %s exists as %s of %s; it is not this charge", ch.OutTradeNo, prev.State, prev.TotalAmount)
		}
		return &ChargeResult{Status: ChargePaid, Order: prev}, nil
	}
	if err != nil {
		return nil, err
	}
	e.metrics.OrderTransition(o.Kind, "", o.State)
	call.OrderID = o.ID
	if err := e.store.RecordCall(ctx, call); err != nil {
		e.log.Warn("recording the agreement charge's call failed", "out_trade_no", o.OutTradeNo, "err", err)
	}
	e.eventsCommitted([]*f2fpay.Event{ev})
	e.waiters.signal(o.ID)
	return &ChargeResult{Status: ChargePaid, Order: o}, nil
}
