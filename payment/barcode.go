package payment

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// PayRequest is a barcode (or face) payment from a terminal.
type PayRequest struct {
	// TerminalID is the terminal taking the payment (its store and app follow from it).
	TerminalID int64
	// AuthCode is the buyer's payment code as scanned (digits), or a face token with
	// Scene security_code. It is used once and never stored.
	AuthCode string
	Amount   f2fpay.Amount
	Subject  string
	Body     string
	Goods    []alipay.GoodsDetail
	// Scene is alipay.SceneBarCode (default), SceneWaveCode or SceneSecurityCode (face).
	Scene string
	// OperatorID is the cashier's id, sent to Alipay as operator_id.
	OperatorID string
	// Deadline is how long the buyer has to pay (confirming in the wallet when Alipay
	// asks, 10003) before the order is cancelled; default Policy.QueryAttempts ×
	// QueryInterval, at most Policy.MaxWindow.
	Deadline time.Duration
	// OutTradeNo is the order number sent to Alipay; generated when empty.
	OutTradeNo string
	// RequestKey identifies the terminal request (f2fpay.Order.RequestKey): a second
	// creation with the same out_trade_no and RequestKey is that request retried, and
	// gets the order as it stands instead of ECONFLICT.
	RequestKey string
}

var (
	outTradeNoPattern = regexp.MustCompile(`^[A-Za-z0-9_\-.]{1,64}$`)
	barcodePattern    = regexp.MustCompile(`^[0-9]{16,24}$`)
	userIDPattern     = regexp.MustCompile(`^2088[0-9]{12}$`)
)

func checkOrderFields(outTradeNo string, amount f2fpay.Amount, subject, body string, goods []alipay.GoodsDetail) error {
	if outTradeNo != "" && !outTradeNoPattern.MatchString(outTradeNo) {
		return f2fpay.Errorf(f2fpay.EINVALID, "out_trade_no %q must be 1–64 letters, digits, '_', '-' or '.' (or leave it empty to have one generated)", outTradeNo)
	}
	if err := amount.CheckTrade(); err != nil {
		return f2fpay.Errorf(f2fpay.EINVALID, "amount: %v", err)
	}
	if strings.TrimSpace(subject) == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "subject is required: what the buyer sees on the Alipay bill")
	}
	if err := checkLimit(alipay.LimitSubject, subject); err != nil {
		return err
	}
	if err := checkLimit(alipay.LimitBody, body); err != nil {
		return err
	}
	for i, g := range goods {
		if g.GoodsID == "" || g.GoodsName == "" || g.Quantity <= 0 {
			return f2fpay.Errorf(f2fpay.EINVALID, "goods[%d] needs goods_id, goods_name and a positive quantity", i)
		}
		if err := checkLimit(alipay.LimitGoodsID.Named(fmt.Sprintf("goods[%d].goods_id", i)), g.GoodsID); err != nil {
			return err
		}
		if err := checkLimit(alipay.LimitGoodsName.Named(fmt.Sprintf("goods[%d].goods_name", i)), g.GoodsName); err != nil {
			return err
		}
	}
	return nil
}

// checkLimit refuses, before anything is recorded or sent, a string Alipay would
// refuse as too long; the limits and how Alipay counts them (2 per Chinese character)
// are package alipay's (alipay/limits.go).
func checkLimit(l alipay.Limit, v string) error {
	if err := l.Check(v); err != nil {
		return f2fpay.Errorf(f2fpay.EINVALID, "%s", err.Error())
	}
	return nil
}

func (e *Engine) window(d time.Duration, def time.Duration) (time.Duration, error) {
	if d < 0 {
		return 0, f2fpay.Errorf(f2fpay.EINVALID, "deadline must not be negative")
	}
	if d == 0 {
		d = def
	}
	if d > e.policy.MaxWindow {
		return 0, f2fpay.Errorf(f2fpay.EINVALID, "deadline %v is longer than the allowed %v", d, e.policy.MaxWindow)
	}
	return d, nil
}

// timeoutExpress writes a window as Alipay's timeout_express: whole minutes, rounded up,
// one more for the clocks' difference, so Alipay never closes a trade before the engine
// has had its last query.
func timeoutExpress(d time.Duration) string {
	m := int(math.Ceil(d.Minutes())) + 1
	return strconv.Itoa(m) + "m"
}

// maskAuthCode keeps a trace of a payment code for support ("2876**********3940");
// the code itself is single-use and must never be stored.
func maskAuthCode(code string) string {
	if len(code) <= 8 {
		return strings.Repeat("*", len(code))
	}
	return code[:4] + strings.Repeat("*", len(code)-8) + code[len(code)-4:]
}

// newOutTradeNo returns a fresh order number: the Beijing date and time, then 10
// random hex digits ("F20260314100000a1b2c3d4e5"), so numbers sort by time in Alipay's
// bills and never collide between instances.
func (e *Engine) newOutTradeNo() string {
	return "F" + e.now().In(alipay.Beijing()).Format("20060102150405") + randomHex(5)
}

// terminal loads a terminal with its app and store, checking it may take payments.
func (e *Engine) terminal(ctx context.Context, id int64) (*f2fpay.Terminal, *f2fpay.App, *f2fpay.Store, *AppClient, error) {
	t, err := e.store.FindTerminal(ctx, id)
	if err != nil {
		if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
			return nil, nil, nil, nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no terminal with id %d", id)
		}
		return nil, nil, nil, nil, err
	}
	if t.Disabled {
		return nil, nil, nil, nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "terminal %s is disabled; an administrator can enable it", t.Code)
	}
	app, c, err := e.client(ctx, t.AppID, t.MerchantID)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	s, err := e.store.FindStore(ctx, t.StoreID)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return t, app, s, c, nil
}

func extendParams(app *f2fpay.App) *alipay.ExtendParams {
	if app.SysServiceProviderID == "" {
		return nil
	}
	return &alipay.ExtendParams{SysServiceProviderID: app.SysServiceProviderID}
}

// PayBarcode charges a buyer's payment code (or face) — the barcode flow of
// docs/alipay-protocol.md §7.2, made durable:
//
//  1. the order is recorded PAYING (auth code masked) before trade.pay is sent;
//  2. the answer is committed with the call: 10000 → PAID, 40004 → FAILED with the
//     sub_code and a message for the cashier, 10003 → WAITING, anything unknown
//     (20000, timeout, lost or unverifiable answer) → UNKNOWN;
//  3. WAITING and UNKNOWN orders are polled with trade.query on the policy's schedule;
//     when the buyer has not paid by the deadline the order goes CANCELLING and
//     trade.cancel is called (retry_flag=Y or no answer: retried, first quickly here,
//     then by the janitor).
//
// It returns the order as it stands when it is final or ctx ends (a terminal sets the
// request's deadline); the janitor carries on with whatever is left. The error is
// non-nil only when the request is refused (EINVALID, ENOTFOUND, EUNAUTHORIZED,
// ECONFLICT for a used out_trade_no) or the order could not be recorded; once the order
// exists, every outcome — even a failed payment — is in the returned order.
func (e *Engine) PayBarcode(ctx context.Context, req PayRequest) (*f2fpay.Order, error) {
	kind := f2fpay.KindBarcode
	switch req.Scene {
	case "", alipay.SceneBarCode, alipay.SceneWaveCode:
		if req.Scene == "" {
			req.Scene = alipay.SceneBarCode
		}
		if !barcodePattern.MatchString(req.AuthCode) {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "auth_code is not an Alipay payment code (16–24 digits): scan the barcode in the buyer's Alipay app again")
		}
	case alipay.SceneSecurityCode:
		kind = f2fpay.KindFace
		if req.AuthCode == "" || len(req.AuthCode) > 64 {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "auth_code must hold the face token (up to 64 characters) for scene security_code")
		}
	default:
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "scene %q must be bar_code, wave_code or security_code", req.Scene)
	}
	if err := checkOrderFields(req.OutTradeNo, req.Amount, req.Subject, req.Body, req.Goods); err != nil {
		return nil, err
	}
	if err := checkLimit(alipay.LimitOperatorID, req.OperatorID); err != nil {
		return nil, err
	}
	win, err := e.window(req.Deadline, e.policy.payWindow())
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
	if req.OutTradeNo == "" {
		req.OutTradeNo = e.newOutTradeNo()
	}
	now := e.now()
	o := &f2fpay.Order{
		OutTradeNo: req.OutTradeNo, MerchantID: term.MerchantID, AppID: app.ID, StoreID: store.ID, TerminalID: term.ID,
		Kind: kind, Subject: req.Subject, Body: req.Body, TotalAmount: req.Amount,
		AuthCodeMasked: maskAuthCode(req.AuthCode), State: f2fpay.OrderPaying,
		PayDeadline: now.Add(win),
		// If this process dies while trade.pay is in flight, the janitor finds the
		// order here, after the call must have ended, and resolves it by query.
		NextCheckAt: now.Add(e.policy.CallTimeout + e.policy.Handover),
		RequestKey:  req.RequestKey,
	}
	if err := e.store.CreateOrder(ctx, o); err != nil {
		if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
			prev, err := e.retried(ctx, app.ID, term.MerchantID, term.ID, req.OutTradeNo, req.RequestKey)
			if err != nil {
				return nil, err
			}
			// The request that made it may have died with its process while trade.pay
			// was in flight: carry the order on from where it stands, so the retry
			// learns the outcome now rather than when the janitor comes by.
			return e.drive(ctx, prev)
		}
		return nil, err
	}
	e.metrics.OrderTransition(o.Kind, "", o.State)
	log := e.log.With("out_trade_no", o.OutTradeNo, "order_id", o.ID, "terminal_id", term.ID)
	if err := e.openSettlement(ctx, o, ft); err != nil {
		return nil, err // nothing sent: the janitor cancels the order
	}

	payReq := &alipay.TradePayRequest{
		OutTradeNo: o.OutTradeNo, Scene: req.Scene, AuthCode: req.AuthCode, Subject: req.Subject,
		TotalAmount: req.Amount, Body: req.Body, GoodsDetail: req.Goods, OperatorID: req.OperatorID,
		StoreID: store.Code, TerminalID: term.Code, ExtendParams: ft.extend(app),
		TimeoutExpress: timeoutExpress(win), QueryOptions: promotionOptions,
		SellerID: ft.sellerID, RoyaltyInfo: ft.royalty,
	}
	// The call is not cancelled with the request: a terminal hanging up must not turn
	// an answer Alipay is about to give into an unknown outcome.
	cctx, cancel := e.callCtx(context.WithoutCancel(ctx))
	st := e.stamp()
	res, err := c.TradePay(cctx, payReq, c.Options()...)
	cancel()
	if res != nil {
		e.tokenRefused(ctx, c, res.Err)
	}
	var call *f2fpay.GatewayCall
	if err != nil {
		// Our client refused to send it: nothing reached Alipay. The order cannot be
		// failed on our own word, so it goes to CANCELLING; the cancel's answer (for a
		// number Alipay never saw, a burned number) ends it.
		log.Error("trade.pay refused by our own client", "err", err)
		call = e.newCall(alipay.MethodTradePay, st, "", err, outcomeNotSent)
	} else {
		code := ""
		if res.Response != nil {
			code = res.Response.Code
		}
		call = e.newCall(alipay.MethodTradePay, st, code, res.Err, res.Status.String())
	}
	now = e.now()
	hand := e.policy.Handover
	o, err = e.commit(ctx, o, []*f2fpay.GatewayCall{call}, func(n *f2fpay.Order) error {
		if n.State != f2fpay.OrderPaying {
			// The terminal cancelled meanwhile (CANCELLING), or a notification or the
			// janitor got there first: the answer only fills in what is missing.
			if res != nil && res.Response != nil && (res.Status == alipay.PayPaid || res.Status == alipay.PayWaiting) {
				status := alipay.TradeWaitBuyerPay
				if res.Status == alipay.PayPaid {
					status = alipay.TradeSuccess
				}
				was := *n
				e.applyFact(n, payFact(res.Response, status), now, false)
				if reflect.DeepEqual(&was, n) {
					// The usual case: the notification told it all (Alipay sends it as
					// the payment succeeds, often before its answer is read here). The
					// answer is only recorded, not written again with nothing new.
					return errSkip
				}
				return nil
			}
			return errSkip
		}
		switch {
		case res == nil:
			n.State = f2fpay.OrderCancelling
			n.NextCheckAt = now.Add(hand)
			return nil
		case res.Status == alipay.PayPaid:
			e.applyFact(n, payFact(res.Response, alipay.TradeSuccess), now, false)
			if n.State != f2fpay.OrderPaid {
				// A 10000 for another amount or trade: not this order's payment. Ask.
				n.State = f2fpay.OrderUnknown
			}
		case res.Status == alipay.PayWaiting:
			e.applyFact(n, payFact(res.Response, alipay.TradeWaitBuyerPay), now, false)
		case res.Status == alipay.PayFailed && !alipay.HasSubCode(res.Err, alipay.SubTradeHasSuccess):
			ae, _ := alipay.AsError(res.Err)
			n.State = f2fpay.OrderFailed
			if ae != nil {
				n.FailCode = ae.SubCode
				if n.FailCode == "" {
					n.FailCode = ae.Code
				}
				n.FailReason = failMessage(ae.Code, ae.SubCode, ae.SubMsg)
			} else {
				n.FailReason = failMessage("", "", "")
			}
			return nil
		default:
			// Unknown, or ACQ.TRADE_HAS_SUCCESS (the number is paid already — by what?):
			// only a query can tell.
			n.State = f2fpay.OrderUnknown
			n.NextCheckAt = minTime(now.Add(e.policy.UnknownDelay), n.PayDeadline).Add(hand)
			return nil
		}
		e.schedule(n, now, hand)
		return nil
	})
	if err != nil {
		// The answer could not be recorded; the order stays PAYING and the janitor
		// resolves it by query, as after a crash.
		log.Error("recording the trade.pay answer failed", "err", err)
		return nil, err
	}
	return e.drive(ctx, o)
}
