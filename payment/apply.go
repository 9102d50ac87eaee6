package payment

import (
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// tradeFact is what Alipay said about a trade, whichever message said it: a pay
// answer, a query answer or a verified notification. Applying facts is the only way
// an order's payment outcome changes.
type tradeFact struct {
	status   alipay.TradeStatus // "" when notExist
	notExist bool               // ACQ.TRADE_NOT_EXIST: Alipay has no trade for the out_trade_no

	tradeNo, buyerUserID, buyerLogonID string
	total                              f2fpay.Amount // 0 when the message did not say
	receipt, buyerPay, point           f2fpay.Amount
	// reportedDiscount is discount_amount + mdiscount_amount, which only the pay and
	// query answers carry (and only when asked for): a check of f2fpay.Discounts.
	reportedDiscount f2fpay.Amount
	fundBills        []f2fpay.FundBill
	vouchers         []f2fpay.Voucher
	paidAt           time.Time
	// wasPaid: a TRADE_CLOSED trade had been paid (and so was refunded in full).
	wasPaid bool
}

func queryFact(r *alipay.TradeQueryResponse) tradeFact {
	return tradeFact{
		status: r.TradeStatus, tradeNo: r.TradeNo, buyerUserID: r.BuyerUserID, buyerLogonID: r.BuyerLogonID,
		total: r.TotalAmount, receipt: r.ReceiptAmount, buyerPay: r.BuyerPayAmount, point: r.PointAmount,
		reportedDiscount: r.DiscountAmount + r.MdiscountAmount, fundBills: fundBills(r.FundBillList),
		vouchers: vouchers(r.VoucherDetailList), paidAt: r.SendPayDate.Time,
		wasPaid: r.TradeStatus == alipay.TradeClosed && (r.BuyerPayAmount > 0 || r.ReceiptAmount > 0 || !r.SendPayDate.IsZero()),
	}
}

func payFact(r *alipay.TradePayResponse, status alipay.TradeStatus) tradeFact {
	return tradeFact{
		status: status, tradeNo: r.TradeNo, buyerUserID: r.BuyerUserID, buyerLogonID: r.BuyerLogonID,
		total: r.TotalAmount, receipt: r.ReceiptAmount, buyerPay: r.BuyerPayAmount, point: r.PointAmount,
		reportedDiscount: r.DiscountAmount + r.MdiscountAmount, fundBills: fundBills(r.FundBillList),
		vouchers: vouchers(r.VoucherDetailList), paidAt: r.GmtPayment.Time,
	}
}

func notifyFact(n *alipay.Notification) tradeFact {
	f := tradeFact{
		status: n.TradeStatus, tradeNo: n.TradeNo, buyerUserID: n.BuyerID, buyerLogonID: n.BuyerLogonID,
		total: n.TotalAmount, receipt: n.ReceiptAmount, buyerPay: n.BuyerPayAmount, point: n.PointAmount,
		fundBills: fundBills(n.FundBillList), vouchers: vouchers(n.VoucherDetailList), paidAt: n.GmtPayment.Time,
	}
	f.wasPaid = n.TradeStatus == alipay.TradeClosed && (n.IsRefund() || !n.GmtPayment.IsZero())
	return f
}

// promotionOptions are the query_options of trade.pay and trade.query that make
// Alipay answer with the promotion detail: without them real answers leave out
// voucher_detail_list and the discount amounts (docs/alipay-protocol.md §6.1, §6.4), and an order
// resolved by the answer would keep less than one resolved by the notification.
var promotionOptions = []string{"fund_bill_list", "voucher_detail_list", "discount_amount", "mdiscount_amount"}

func fundBills(l []alipay.FundBill) []f2fpay.FundBill {
	if len(l) == 0 {
		return nil
	}
	out := make([]f2fpay.FundBill, len(l))
	for i, b := range l {
		out[i] = f2fpay.FundBill{FundChannel: b.FundChannel, Amount: b.Amount, RealAmount: b.RealAmount, FundType: b.FundType}
	}
	return out
}

func vouchers(l []alipay.VoucherDetail) []f2fpay.Voucher {
	if len(l) == 0 {
		return nil
	}
	out := make([]f2fpay.Voucher, len(l))
	for i, v := range l {
		out[i] = f2fpay.Voucher{ID: v.ID, Name: v.Name, Type: v.Type, Amount: v.Amount,
			MerchantContribute: v.MerchantContribute, OtherContribute: v.OtherContribute, Memo: v.Memo, TemplateID: v.TemplateID}
	}
	return out
}

// paid records on o what a fact saying the trade is paid tells about the money, the
// same way whichever message it came from: what the merchant receives, what the buyer
// paid, the discounts (f2fpay.Discounts) and the promotion detail.
func (e *Engine) paid(o *f2fpay.Order, f tradeFact) {
	o.ReceiptAmount, o.BuyerPayAmount = f.receipt, f.buyerPay
	if f.receipt == 0 && f.buyerPay == 0 {
		// Some answers (an old notification format) carry no amounts: the
		// merchant received the total.
		o.ReceiptAmount, o.BuyerPayAmount = o.TotalAmount, o.TotalAmount
	}
	o.DiscountAmount, o.MerchantDiscountAmount = f2fpay.Discounts(o.TotalAmount, o.ReceiptAmount, o.BuyerPayAmount, f.point)
	o.FundBills, o.Vouchers = f.fundBills, f.vouchers
	if f.reportedDiscount != 0 && f.reportedDiscount != o.DiscountAmount {
		e.log.Warn("Alipay's discount_amount + mdiscount_amount differ from what its amounts imply; the amounts are kept",
			"out_trade_no", o.OutTradeNo, "order_id", o.ID, "reported", f.reportedDiscount.String(),
			"discount_amount", o.DiscountAmount.String())
	}
}

// unpaid reports whether o is a non-final order still waiting for the outcome of its
// payment (not yet being cancelled).
func unpaid(s f2fpay.OrderState) bool {
	switch s {
	case f2fpay.OrderPaying, f2fpay.OrderWaiting, f2fpay.OrderUnknown, f2fpay.OrderPending:
		return true
	}
	return false
}

func barcodeKind(k f2fpay.OrderKind) bool { return k == f2fpay.KindBarcode || k == f2fpay.KindFace }

// applyFact moves o according to f.
//
//   - Paid (TRADE_SUCCESS, TRADE_FINISHED): an unpaid order becomes PAID. A CANCELLING
//     order does not: its cancel is under way and will refund the buyer (the cashier has
//     already told the buyer the payment failed), unless fromCancel says a cancel was
//     refused for good and this fact comes from the query that followed.
//   - Closed (TRADE_CLOSED): a non-final order becomes CANCELLED when it was being
//     cancelled, CLOSED otherwise; CancelAction says "refund" when the trade had been
//     paid.
//   - Waiting (WAIT_BUYER_PAY): PAYING and UNKNOWN barcode orders become WAITING.
//   - Not exist: a PAYING, UNKNOWN or WAITING barcode order goes to CANCELLING — the
//     pay may still be on its way to Alipay, and only a cancel burns the out_trade_no so
//     that it cannot succeed later. A QR nobody scanned does not exist either; it stays
//     PENDING.
//
// A final order never changes (a PAID order never goes back, a CANCELLED one is never
// "paid again" by a late notification); facts only fill in missing identifiers.
func (e *Engine) applyFact(o *f2fpay.Order, f tradeFact, now time.Time, fromCancel bool) {
	if f.total != 0 && f.total != o.TotalAmount {
		// Alipay's word about another amount: never take it as this order's outcome.
		e.log.Error("Alipay reports a different total for the order; fact ignored", "out_trade_no", o.OutTradeNo,
			"order_id", o.ID, "order_total", o.TotalAmount.String(), "alipay_total", f.total.String(), "status", f.status)
		return
	}
	if f.tradeNo != "" && o.TradeNo != "" && f.tradeNo != o.TradeNo {
		e.log.Error("Alipay reports another trade_no for the order; fact ignored", "out_trade_no", o.OutTradeNo,
			"order_id", o.ID, "trade_no", o.TradeNo, "alipay_trade_no", f.tradeNo)
		return
	}
	if o.TradeNo == "" {
		o.TradeNo = f.tradeNo
	}
	if o.BuyerUserID == "" {
		o.BuyerUserID = f.buyerUserID
	}
	if o.BuyerLogonID == "" {
		o.BuyerLogonID = f.buyerLogonID
	}
	switch {
	case f.status.Paid():
		if unpaid(o.State) || (o.State == f2fpay.OrderCancelling && fromCancel) {
			o.State = f2fpay.OrderPaid
			e.paid(o, f)
			o.PaidAt = f.paidAt
			if o.PaidAt.IsZero() {
				o.PaidAt = now
			}
			o.FailCode, o.FailReason = "", ""
		}
	case f.status == alipay.TradeClosed:
		if o.State.Final() {
			return
		}
		if o.State == f2fpay.OrderCancelling {
			o.State = f2fpay.OrderCancelled
		} else {
			o.State = f2fpay.OrderClosed
		}
		if f.wasPaid {
			o.CancelAction = "refund"
		} else if o.CancelAction == "" {
			o.CancelAction = "close"
		}
	case f.status == alipay.TradeWaitBuyerPay:
		if barcodeKind(o.Kind) && (o.State == f2fpay.OrderPaying || o.State == f2fpay.OrderUnknown) {
			o.State = f2fpay.OrderWaiting
		}
	case f.notExist:
		if barcodeKind(o.Kind) && (o.State == f2fpay.OrderPaying || o.State == f2fpay.OrderUnknown || o.State == f2fpay.OrderWaiting) {
			o.State = f2fpay.OrderCancelling
		}
	}
}

// failMessage is what the cashier reads when Alipay refuses a payment: what happened
// and what to do, in plain words. Alipay's own sub_msg follows for support.
func failMessage(code, subCode, subMsg string) string {
	var m string
	switch subCode {
	case alipay.SubPaymentAuthCodeInvalid:
		m = "The payment code is invalid, expired or already used: ask the buyer to refresh the code in the Alipay app and scan again."
	case alipay.SubBuyerBalanceNotEnough, "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH":
		m = "The buyer's balance is not enough: ask the buyer to choose another funding source in the Alipay app, or to pay another way."
	case "ACQ.PAYMENT_FAIL", "ACQ.PULL_MOBILE_CASHIER_FAIL", "ACQ.PAYMENT_REQUEST_HAS_RISK", "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR",
		"ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR", "ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT", "ACQ.BUYER_ENABLE_STATUS_FORBID",
		"ACQ.BEYOND_PAY_RESTRICTION", "ACQ.BEYOND_PER_RECEIPT_RESTRICTION", "ACQ.BUYER_SELLER_EQUAL":
		m = "Alipay declined the buyer's payment: ask the buyer to check the Alipay app, or to pay another way."
	case alipay.SubTradeHasClose:
		m = "This order number was already closed at Alipay: start a new payment."
	case "ACQ.TOTAL_FEE_EXCEED":
		m = "The amount is above Alipay's limit for one payment."
	case "ACQ.ACCESS_FORBIDDEN", "ACQ.SELLER_BEEN_BLOCKED", "ACQ.PARTNER_ERROR":
		m = "The merchant's Alipay account cannot take this payment (product not signed or account restricted): contact the merchant's administrator."
	case SubInvalidAppAuthToken, SubAppAuthTokenTimeOut:
		m = "The merchant's authorisation of the service provider's app was revoked or has expired: the merchant must authorise the app again; the buyer was not charged."
	case alipay.SubInvalidSignature, "isv.invalid-app-id", "isv.missing-signature-config":
		m = "The service's Alipay configuration is wrong (keys or app id): contact the administrator; the buyer was not charged."
	default:
		m = "Alipay refused the payment; the buyer was not charged."
	}
	detail := subCode
	if detail == "" {
		detail = code
	}
	if subMsg != "" {
		detail += ": " + subMsg
	}
	return m + " (" + detail + ")"
}
