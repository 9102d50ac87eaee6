package alipaysim

import (
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// cancelWindow is how long after payment trade.cancel may still refund. Alipay's limit
// is not documented precisely (docs/alipay-protocol.md §11.7); 24 hours is what merchants report.
const cancelWindow = 24 * time.Hour

// lookup finds the trade a query-style request names: trade_no wins over out_trade_no.
func (t *txn) lookup(c *call) (*Trade, *node) {
	r := c.biz
	if r.TradeNo == "" && r.OutTradeNo == "" {
		return nil, invalidParam("out_trade_no 和 trade_no 不能同时为空")
	}
	var tr *Trade
	if r.TradeNo != "" {
		tr = t.trade(string(r.TradeNo))
		if tr != nil && (tr.AppID != c.app.AppID || (r.OutTradeNo != "" && string(r.OutTradeNo) != tr.OutTradeNo)) {
			tr = nil
		}
	} else {
		tr = t.tradeByOut(c.app.AppID, string(r.OutTradeNo))
	}
	return tr, nil
}

func notExist() *node { return bizError("ACQ.TRADE_NOT_EXIST", "交易不存在") }

// query is alipay.trade.query.
func (t *txn) query(c *call) *node {
	tr, n := t.lookup(c)
	if n != nil {
		return n
	}
	if tr == nil || !tr.Visible {
		return notExist()
	}
	n = success()
	zero := f2fpay.Amount(0)
	n.set("trade_no", tr.TradeNo).set("out_trade_no", tr.OutTradeNo).set("trade_status", tr.Status).
		set("total_amount", tr.Total).set("buyer_logon_id", maskLogon(tr.BuyerLogonID)).
		set("buyer_user_id", tr.BuyerID).set("buyer_open_id", tr.BuyerOpenID).
		set("store_id", tr.StoreID).set("terminal_id", tr.Terminal).set("passback_params", tr.Passback)
	if tr.BuyerID != "" {
		n.set("buyer_user_type", "PRIVATE")
	}
	if tr.PaidAt != nil {
		n.set("buyer_pay_amount", tr.BuyerPay).set("invoice_amount", tr.Invoice).
			set("point_amount", tr.Point).set("receipt_amount", tr.Receipt).
			set("send_pay_date", fmtTime(*tr.PaidAt))
		if len(tr.FundBills) > 0 {
			n.set("fund_bill_list", tr.FundBills)
		}
		if len(tr.Vouchers) > 0 {
			n.set("voucher_detail_list", voucherDetails(tr.Vouchers)).
				set("discount_amount", tr.Discount).set("mdiscount_amount", tr.MDiscount)
		}
	} else {
		n.set("buyer_pay_amount", zero).set("invoice_amount", zero).set("point_amount", zero).set("receipt_amount", zero)
	}
	return n
}

// cancel is alipay.trade.cancel: close an unpaid trade, refund a paid one. Cancelling an
// out_trade_no that never reached Alipay burns it, so a pay that arrives late cannot
// succeed (the reason cashiers cancel after a timeout).
func (t *txn) cancel(c *call) *node {
	tr, n := t.lookup(c)
	if n != nil {
		return n
	}
	if tr == nil {
		if c.biz.OutTradeNo == "" {
			return notExist()
		}
		now := t.now
		burned := &Trade{
			TradeNo: t.newTradeNo(), OutTradeNo: string(c.biz.OutTradeNo), AppID: c.app.AppID,
			SellerID: c.app.SellerID, Method: c.method, Status: TradeClosed, SignType: c.signType,
			CreatedAt: now, ClosedAt: &now, ExpiresAt: now, CancelAction: "close",
		}
		t.putTrade(burned)
		return success().set("out_trade_no", burned.OutTradeNo).set("retry_flag", "N")
	}
	tr = t.tradeW(tr.TradeNo)
	out := func(action string) *node {
		n := success().set("trade_no", tr.TradeNo).set("out_trade_no", tr.OutTradeNo).set("retry_flag", "N").set("action", action)
		if !tr.Visible {
			delete(n.Fields, "trade_no")
		}
		return n
	}
	switch tr.Status {
	case WaitBuyerPay:
		tr.CancelAction = "close"
		t.closeTrade(tr)
		return out("close")
	case TradeClosed:
		a := tr.CancelAction
		if a == "" {
			a = "close"
		}
		return out(a)
	case TradeFinished:
		return bizError("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	if tr.PaidAt != nil && t.now.Sub(*tr.PaidAt) > cancelWindow {
		return bizError("ACQ.TRADE_CANCEL_TIME_OUT", "超过撤销时间范围，请使用退款接口")
	}
	rest := tr.Total - tr.RefundFee
	rf, sub, msg := t.moveRefund(tr, rest)
	if sub != "" {
		return bizError(sub, msg).set("retry_flag", "N")
	}
	rf.OutRequestNo, rf.ByCancel = tr.OutTradeNo+"_cancel", true
	tr.Refunds = append(tr.Refunds, rf)
	tr.RefundFee = tr.Total
	tr.CancelAction = "refund"
	now := t.now
	tr.Status, tr.ClosedAt = TradeClosed, &now
	t.putTrade(tr)
	t.notify(tr, &rf)
	return out("refund").set("gmt_refund_pay", fmtTime(now))
}

// moveRefund computes and moves the money of refunding amt: the buyer gets back real
// money first (never more than they paid), the merchant gives back what it received
// (never more). Whatever Alipay funded returns to Alipay.
func (t *txn) moveRefund(tr *Trade, amt f2fpay.Amount) (Refund, string, string) {
	var backBuyer, debitSeller f2fpay.Amount
	for _, r := range tr.Refunds {
		backBuyer += r.BuyerBack
		debitSeller += r.SellerDebit
	}
	rf := Refund{Amount: amt, At: t.now}
	rf.BuyerBack = min(amt, tr.BuyerPay-backBuyer)
	rf.SellerDebit = min(amt, tr.Receipt-debitSeller)
	app := t.app(tr.AppID)
	if app.Balance < rf.SellerDebit {
		return rf, "ACQ.SELLER_BALANCE_NOT_ENOUGH", "卖家余额不足"
	}
	t.appW(tr.AppID).Balance -= rf.SellerDebit
	if b := t.buyerW(tr.BuyerID); b != nil {
		b.Balance += rf.BuyerBack
	}
	return rf, "", ""
}

// close is alipay.trade.close.
func (t *txn) close(c *call) *node {
	tr, n := t.lookup(c)
	if n != nil {
		return n
	}
	if tr == nil {
		return notExist()
	}
	if !tr.Visible {
		// An unscanned QR: the real gateway says the trade does not exist, yet the
		// out_trade_no can no longer be paid (docs/alipay-protocol.md §6.2).
		if tr.Status == WaitBuyerPay {
			t.closeTrade(t.tradeW(tr.TradeNo))
		}
		return notExist()
	}
	if tr.Status != WaitBuyerPay {
		return bizError("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	tr = t.tradeW(tr.TradeNo)
	t.closeTrade(tr)
	return success().set("trade_no", tr.TradeNo).set("out_trade_no", tr.OutTradeNo)
}

// refundTrade is alipay.trade.refund.
func (t *txn) refundTrade(c *call) *node {
	tr, n := t.lookup(c)
	if n != nil {
		return n
	}
	r := c.biz
	if r.RefundAmount == nil {
		return invalidParam("缺少 refund_amount (refund_amount is required)")
	}
	if err := r.RefundAmount.CheckTrade(); err != nil {
		return bizError("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额无效 (refund_amount must be 0.01 to 100000000.00)")
	}
	if n := checkLengths(lengthOf{alipay.LimitOutRequestNo, r.OutRequestNo}, lengthOf{alipay.LimitRefundReason, r.RefundReason},
		lengthOf{alipay.LimitOperatorID, r.OperatorID}, lengthOf{alipay.LimitStoreID, r.StoreID},
		lengthOf{alipay.LimitTerminalID, r.TerminalID}); n != nil {
		return n
	}
	if tr == nil || !tr.Visible {
		return notExist()
	}
	reqNo := string(r.OutRequestNo)
	if reqNo == "" {
		reqNo = tr.OutTradeNo // Alipay's documented default
	}
	answer := func(fundChange string, at time.Time) *node {
		return success().set("trade_no", tr.TradeNo).set("out_trade_no", tr.OutTradeNo).
			set("buyer_logon_id", maskLogon(tr.BuyerLogonID)).set("buyer_user_id", tr.BuyerID).
			set("buyer_open_id", tr.BuyerOpenID).set("fund_change", fundChange).
			set("refund_fee", tr.RefundFee).set("gmt_refund_pay", fmtTime(at))
	}
	if prev := tr.refund(reqNo); prev != nil {
		if prev.Amount != *r.RefundAmount {
			return bizError("ACQ.DISCORDANT_REPEAT_REQUEST", "退款请求号对应的退款金额与原请求不一致")
		}
		return answer("N", prev.At) // a retry: refunded once, answered again
	}
	switch tr.Status {
	case TradeFinished:
		return bizError("ACQ.TRADE_HAS_FINISHED", "交易已完结")
	case WaitBuyerPay, TradeClosed:
		return bizError("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	if tr.RefundFee+*r.RefundAmount > tr.Total {
		return bizError("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
	}
	tr = t.tradeW(tr.TradeNo)
	rf, sub, msg := t.moveRefund(tr, *r.RefundAmount)
	if sub != "" {
		return bizError(sub, msg)
	}
	rf.OutRequestNo, rf.Reason = reqNo, string(r.RefundReason)
	rf.OperatorID, rf.StoreID, rf.TerminalID = string(r.OperatorID), string(r.StoreID), string(r.TerminalID)
	tr.Refunds = append(tr.Refunds, rf)
	tr.RefundFee += rf.Amount
	if tr.RefundFee == tr.Total {
		now := t.now
		tr.Status, tr.ClosedAt = TradeClosed, &now
	}
	t.putTrade(tr)
	t.notify(tr, &rf)
	return answer("Y", rf.At)
}

// refundQuery is alipay.trade.fastpay.refund.query. An unknown out_request_no answers
// 10000 with no refund fields — Alipay's quirk that has fooled many integrations into
// treating "no refund" as success.
func (t *txn) refundQuery(c *call) *node {
	tr, n := t.lookup(c)
	if n != nil {
		return n
	}
	if tr == nil || !tr.Visible {
		return notExist()
	}
	reqNo := string(c.biz.OutRequestNo)
	if reqNo == "" {
		reqNo = tr.OutTradeNo
	}
	n = success().set("trade_no", tr.TradeNo).set("out_trade_no", tr.OutTradeNo).set("out_request_no", reqNo)
	rf := tr.refund(reqNo)
	if rf == nil {
		return n
	}
	return n.set("refund_amount", rf.Amount).set("total_amount", tr.Total).
		set("refund_status", "REFUND_SUCCESS").set("refund_reason", rf.Reason).
		set("gmt_refund_pay", fmtTime(rf.At)).set("send_back_fee", rf.Amount)
}

// finishTrade handles a finish deadline: a paid trade whose refund window is over
// becomes TRADE_FINISHED (refunds are refused from then on) and its notify_url hears
// of it. A trade closed meanwhile (fully refunded), or not yet due, is left alone.
func (t *txn) finishTrade(no string) {
	tr := t.trade(no)
	if tr == nil || tr.Status != TradeSuccess || tr.PaidAt == nil || t.e.refundWindow <= 0 ||
		tr.PaidAt.Add(t.e.refundWindow).After(t.now) {
		return
	}
	tr = t.tradeW(no)
	tr.Status = TradeFinished
	t.putTrade(tr)
	t.notify(tr, nil)
}

// expireOrResolve handles a trade deadline: a pay_pending fault resolving, or an unpaid
// trade reaching its expiry.
func (t *txn) expireOrResolve(no string) {
	tr := t.trade(no)
	if tr == nil || tr.Status != WaitBuyerPay {
		return
	}
	if tr.ResolveAt != nil && !tr.ResolveAt.After(t.now) {
		tr = t.tradeW(no)
		if tr.ResolveTo == "paid" {
			if sub, _ := t.settle(tr, tr.BuyerID); sub == "" {
				return
			}
		}
		t.closeTrade(tr)
		return
	}
	if !tr.ExpiresAt.After(t.now) {
		t.closeTrade(t.tradeW(no))
	}
}
