package payment

import (
	"context"
	"fmt"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// Fund modes on the trades of a device (docs/vending.md §9): the rule of the terminal,
// else of its store, decides what its trades carry.

// fundTerms is what a device's fund rule adds to one trade.
type fundTerms struct {
	rule     *f2fpay.FundRule // nil: the device has no rule
	sellerID string           // collection restriction: the operator's PID
	royalty  *alipay.RoyaltyInfo
	freeze   bool
}

// fundTerms looks up the rule of term and builds its terms for a trade of amount. The
// shares of a real-time rule are computed here, on the total (Split: rounded down, the
// operator keeps the rest) and sent as fixed amounts, so that Alipay's own rounding of
// percentages never decides who gets a fen. Every sharing mode also names the seller:
// the money shared must come from the operator's account.
func (e *Engine) fundTerms(ctx context.Context, term *f2fpay.Terminal, app *f2fpay.App, amount f2fpay.Amount) (*fundTerms, error) {
	rule, err := e.store.FundRuleFor(ctx, term)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		return &fundTerms{}, nil
	}
	if err != nil {
		return nil, err
	}
	ft := &fundTerms{rule: rule, sellerID: app.SellerID}
	switch rule.Mode {
	case f2fpay.FundRealtime:
		shares, _ := f2fpay.Split(amount, rule.Receivers)
		ft.royalty = royaltyInfo(app.SellerID, shares)
	case f2fpay.FundAsync:
		ft.freeze = true
	}
	return ft, nil
}

// royaltyInfo writes shares as royalty_info, in the rule's order (serial numbers from 1).
func royaltyInfo(sellerID string, shares []f2fpay.Share) *alipay.RoyaltyInfo {
	if len(shares) == 0 {
		return nil
	}
	ri := &alipay.RoyaltyInfo{RoyaltyType: "transfer"}
	for i, s := range shares {
		ri.RoyaltyDetailInfos = append(ri.RoyaltyDetailInfos, alipay.RoyaltyDetail{
			SerialNo: int64(i + 1), TransOutType: "userId", TransOut: sellerID, TransInType: "userId", TransIn: s.Account,
			Amount: s.Amount, Desc: s.Desc,
		})
	}
	return ri
}

// extend returns the trade's extend_params: the app's, with royalty_freeze for an
// asynchronous rule.
func (ft *fundTerms) extend(app *f2fpay.App) *alipay.ExtendParams {
	x := extendParams(app)
	if !ft.freeze {
		return x
	}
	if x == nil {
		x = &alipay.ExtendParams{}
	}
	x.RoyaltyFreeze = "true"
	return x
}

// openSettlement writes the settlement of an order taken under an asynchronous rule,
// before the frozen trade is sent: a trade frozen at Alipay is then never without the
// row that settles it, whatever crash follows.
func (e *Engine) openSettlement(ctx context.Context, o *f2fpay.Order, ft *fundTerms) error {
	if !ft.freeze {
		return nil
	}
	s := &f2fpay.Settlement{OrderID: o.ID, MerchantID: o.MerchantID, State: f2fpay.SettlementWaiting,
		Receivers: ft.rule.Receivers, Delay: ft.rule.SettleDelay, DueAt: o.PayDeadline.Add(ft.rule.SettleDelay)}
	if err := e.store.CreateSettlement(ctx, s); err != nil {
		return fmt.Errorf("recording the settlement of %s: %w", o.OutTradeNo, err)
	}
	return nil
}

// FinalizeSale records that a sale is final (the machine vended: no refund for a
// failed vend will follow), so its frozen money is shared now rather than after the
// rule's delay. It tries the settle at once when the order is paid; otherwise, and
// when Alipay does not answer, the janitor carries on. An order that was not taken
// under an asynchronous rule is EINVALID: there is nothing to settle.
func (e *Engine) FinalizeSale(ctx context.Context, appID int64, outTradeNo string) (*f2fpay.Settlement, error) {
	o, err := e.load(ctx, appID, outTradeNo)
	if err != nil {
		return nil, err
	}
	// The janitor may take the same settlement a step at the same moment (its claim
	// and its writes change the version): a conflict means "read it again", never an
	// error for the caller, who must get the settlement as it stands.
	for attempt := 1; ; attempt++ {
		s, err := e.store.FindSettlement(ctx, o.ID)
		if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "order %s was not taken under asynchronous profit sharing: its money was never frozen, there is nothing to settle", outTradeNo)
		}
		if err != nil || s.State.Final() {
			return s, err
		}
		if !s.Final {
			s.Final, s.DueAt = true, e.now()
			err = e.store.UpdateSettlement(ctx, s)
		}
		if err == nil {
			s, err = e.settle(ctx, s)
		}
		if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT && attempt < finalizeAttempts {
			continue
		}
		return s, err
	}
}

// finalizeAttempts bounds FinalizeSale's re-reads when the janitor keeps changing the
// settlement under it.
const finalizeAttempts = 5

// Settlement returns the settlement of an order (ENOTFOUND when it has none).
func (e *Engine) Settlement(ctx context.Context, appID int64, outTradeNo string) (*f2fpay.Settlement, error) {
	o, err := e.load(ctx, appID, outTradeNo)
	if err != nil {
		return nil, err
	}
	return e.store.FindSettlement(ctx, o.ID)
}

// settle takes a settlement one step: decide (WAITING → SETTLING, the request written
// before it is sent), then send or confirm (SETTLING → SETTLED, FAILED, or due again).
// Refunds before it shrink what is shared: the shares are computed on the receipt
// minus what was refunded, when the settle is decided. Nothing is marked settled
// without Alipay's answer.
func (e *Engine) settle(ctx context.Context, s *f2fpay.Settlement) (*f2fpay.Settlement, error) {
	o, err := e.store.FindOrderByID(ctx, s.OrderID)
	if err != nil {
		return s, err
	}
	now := e.now()
	if s.State == f2fpay.SettlementWaiting {
		switch {
		case !o.State.Final():
			s.DueAt = maxTime(o.NextCheckAt, now.Add(e.policy.PendingInterval))
			return s, e.store.UpdateSettlement(ctx, s)
		case o.State != f2fpay.OrderPaid:
			s.State, s.DueAt = f2fpay.SettlementNone, time.Time{}
			return s, e.store.UpdateSettlement(ctx, s)
		case !s.Final && now.Before(o.PaidAt.Add(s.Delay)):
			s.DueAt = o.PaidAt.Add(s.Delay)
			return s, e.store.UpdateSettlement(ctx, s)
		case !s.Final && e.vendOpen(ctx, o):
			// A vend order's units may still be refunded (docs/vending.md §11): the
			// vend service finalizes the sale when every unit is delivered or refunded.
			s.DueAt = now.Add(e.policy.PendingInterval)
			return s, e.store.UpdateSettlement(ctx, s)
		}
		refunds, err := e.store.ListRefunds(ctx, o.ID)
		if err != nil {
			return s, err
		}
		for _, r := range refunds {
			if r.State == f2fpay.RefundPending || r.State == f2fpay.RefundUnknown {
				// Its outcome changes what is left to share: wait for it.
				s.DueAt = now.Add(e.policy.PendingInterval)
				return s, e.store.UpdateSettlement(ctx, s)
			}
		}
		receipt := o.ReceiptAmount
		if receipt == 0 {
			receipt = o.TotalAmount
		}
		s.Base = max(receipt-o.RefundedAmount, 0)
		s.Shares, _ = f2fpay.Split(s.Base, s.Receivers)
		s.State, s.OutRequestNo = f2fpay.SettlementSettling, fmt.Sprintf("S%d_%s", o.ID, randomHex(4))
		s.DueAt = now.Add(e.policy.CallTimeout + e.policy.Handover)
		if err := e.store.UpdateSettlement(ctx, s); err != nil {
			return s, err
		}
	}
	if s.State != f2fpay.SettlementSettling {
		return s, nil
	}
	app, c, err := e.client(ctx, o.AppID, o.MerchantID)
	if err != nil {
		return s, err
	}
	if s.Attempts > 0 {
		// A request sent before may have been done: ask before sending again (a retry
		// with the same out_request_no is idempotent too, but a refund since then may
		// have made its shares too large for what is left).
		cctx, cancel := e.callCtx(ctx)
		st := e.stamp()
		q, err := c.TradeOrderSettleQuery(cctx, &alipay.TradeOrderSettleQueryRequest{OutRequestNo: s.OutRequestNo, TradeNo: o.TradeNo}, c.Options()...)
		cancel()
		e.recordSettleCall(ctx, o, alipay.MethodTradeOrderSettleQuery, st, err)
		switch {
		case err == nil:
			s.State, s.SettleNo, s.DueAt, s.LastError = f2fpay.SettlementSettled, q.SettleNo, time.Time{}, ""
			return s, e.store.UpdateSettlement(ctx, s)
		case !alipay.HasSubCode(err, alipay.SubSettleNotExist):
			return s, e.settleLater(ctx, s, now, err)
		}
	}
	req := &alipay.TradeOrderSettleRequest{OutRequestNo: s.OutRequestNo, TradeNo: o.TradeNo,
		ExtendParams: &alipay.SettleExtendParams{RoyaltyFinish: "true"}, RoyaltyMode: "sync"}
	for _, sh := range s.Shares {
		req.RoyaltyParameters = append(req.RoyaltyParameters, alipay.SettleRoyalty{RoyaltyType: "transfer",
			TransOutType: "userId", TransOut: app.SellerID, TransInType: "userId", TransIn: sh.Account, Amount: sh.Amount, Desc: sh.Desc})
	}
	cctx, cancel := e.callCtx(context.WithoutCancel(ctx))
	st := e.stamp()
	r, err := c.TradeOrderSettle(cctx, req, c.Options()...)
	cancel()
	e.recordSettleCall(ctx, o, alipay.MethodTradeOrderSettle, st, err)
	s.Attempts++
	switch {
	case err == nil:
		s.State, s.SettleNo, s.DueAt, s.LastError = f2fpay.SettlementSettled, r.SettleNo, time.Time{}, ""
		return s, e.store.UpdateSettlement(ctx, s)
	case alipay.IsUnknown(err) || errNotSent(err) || alipay.HasSubCode(err, "ACQ.SYSTEM_ERROR"):
		return s, e.settleLater(ctx, s, now, err)
	default:
		ae, _ := alipay.AsError(err)
		s.State, s.DueAt = f2fpay.SettlementFailed, time.Time{}
		s.LastError = err.Error()
		if ae != nil {
			s.LastError = failMessage(ae.Code, ae.SubCode, ae.SubMsg)
		}
		e.log.Error("settle refused by Alipay: the frozen money needs an operator", "order_id", o.ID, "out_trade_no", o.OutTradeNo, "err", err)
		return s, e.store.UpdateSettlement(ctx, s)
	}
}

// settleLater schedules another attempt on the refund backoff.
func (e *Engine) settleLater(ctx context.Context, s *f2fpay.Settlement, now time.Time, err error) error {
	b := e.policy.RefundBackoff
	s.DueAt = now.Add(b[min(max(s.Attempts-1, 0), len(b)-1)])
	s.LastError = truncateUTF8(err.Error(), maxCallMessage)
	return e.store.UpdateSettlement(ctx, s)
}

func (e *Engine) recordSettleCall(ctx context.Context, o *f2fpay.Order, method string, st stamp, err error) {
	outcome := outcomeOK
	switch {
	case err == nil:
	case alipay.IsUnknown(err):
		outcome = outcomeUnknown
	case errNotSent(err):
		outcome = outcomeNotSent
	default:
		outcome = outcomeError
	}
	c := e.newCall(method, st, "", err, outcome)
	if err == nil {
		c.Code = "10000"
	}
	c.OrderID = o.ID
	if rerr := e.store.RecordCall(ctx, c); rerr != nil {
		e.log.Error("recording a settle call failed", "order_id", o.ID, "err", rerr)
	}
}

// settleDue takes the claimed settlements one step each.
func (e *Engine) settleDue(ctx context.Context, list []*f2fpay.Settlement) {
	for _, s := range list {
		if _, err := e.settle(ctx, s); err != nil && ctx.Err() == nil {
			e.log.Error("janitor: settlement failed", "order_id", s.OrderID, "err", err)
		}
	}
}

// vendOpen reports whether o pays a vend order that is not final yet; when the store
// cannot tell (an error), the settlement waits and asks again.
func (e *Engine) vendOpen(ctx context.Context, o *f2fpay.Order) bool {
	v, err := e.store.FindVendOrderByTrade(ctx, o.AppID, o.MerchantID, o.OutTradeNo)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		return false
	}
	return err != nil || !v.State.Final()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// SaveFundRule binds the rule's receivers to every app of the merchant that does not
// have them yet (alipay.trade.royalty.relation.bind, once per receiver and app), then
// saves the rule. A receiver Alipay refuses to bind refuses the rule, with Alipay's
// reason; bindings Alipay confirmed are kept either way (they are facts at Alipay).
func (e *Engine) SaveFundRule(ctx context.Context, r *f2fpay.FundRule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	apps, err := e.store.ListApps(ctx, r.MerchantID)
	if err != nil {
		return err
	}
	for _, a := range apps {
		bound, err := e.store.ListRoyaltyRelations(ctx, a.ID)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, b := range bound {
			have[b.Account] = true
		}
		req := &alipay.RoyaltyRelationBindRequest{OutRequestNo: "B" + randomHex(12)}
		for _, x := range r.Receivers {
			if !have[x.Account] {
				req.ReceiverList = append(req.ReceiverList, alipay.RoyaltyEntity{Type: "userId", Account: x.Account, Name: x.Name})
			}
		}
		if len(req.ReceiverList) == 0 {
			continue
		}
		_, c, err := e.client(ctx, a.ID, r.MerchantID)
		if err != nil {
			return err
		}
		cctx, cancel := e.callCtx(ctx)
		res, err := c.TradeRoyaltyRelationBind(cctx, req, c.Options()...)
		cancel()
		if err == nil && res.ResultCode != "" && res.ResultCode != "SUCCESS" {
			err = fmt.Errorf("result_code %s", res.ResultCode)
		}
		if err != nil {
			msg := err.Error()
			if ae, ok := alipay.AsError(err); ok {
				msg = failMessage(ae.Code, ae.SubCode, ae.SubMsg) + " (" + ae.SubCode + ")"
			}
			if alipay.IsUnknown(err) {
				return f2fpay.Errorf(f2fpay.EUNAVAILABLE, "binding the receivers to app %s: Alipay did not answer; save the rule again", a.AppID)
			}
			return f2fpay.Errorf(f2fpay.EINVALID, "Alipay refused to bind the receivers to app %s: %s; nothing was saved", a.AppID, msg)
		}
		for _, x := range req.ReceiverList {
			if err := e.store.SaveRoyaltyRelation(ctx, &f2fpay.RoyaltyRelation{AppID: a.ID, Account: x.Account, Name: x.Name, OutRequestNo: req.OutRequestNo}); err != nil {
				return err
			}
		}
	}
	return e.store.SaveFundRule(ctx, r)
}
