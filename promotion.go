package f2fpay

// Promotions: a buyer may pay part of an order with vouchers, funded by Alipay, by the
// merchant, or by both. Alipay reports them three ways — the trade.pay answer, the
// trade.query answer and the trade_status_sync notification — with different
// spellings (fund_channel / fundChannel) and, in the notification, without
// discount_amount or mdiscount_amount. The order keeps what every one of them carries:
// the amounts (TotalAmount, ReceiptAmount, BuyerPayAmount) and the two lists below,
// from which the discounts follow (Discounts). Reconciliation against Alipay's daily
// bill needs both: the bill has a row per trade with the merchant's and Alipay's
// discount and the voucher used.

// FundBill is one source of the money of a paid order (Alipay's fund_bill_list):
// ALIPAYACCOUNT (balance), PCREDIT (Huabei), BANKCARD, POINT, COUPON (an
// Alipay-funded voucher), MCOUPON or MDISCOUNT (merchant-funded), …
type FundBill struct {
	FundChannel string `json:"fund_channel"`
	Amount      Amount `json:"amount"`
	// RealAmount is what the channel really paid, when Alipay says (a bank's own
	// discount on a card payment makes it smaller than Amount).
	RealAmount Amount `json:"real_amount,omitempty"`
	FundType   string `json:"fund_type,omitempty"`
}

// Voucher is one voucher used in a paid order (Alipay's voucher_detail_list). Amount
// is MerchantContribute + OtherContribute: the merchant's part lowers what it
// receives, the other part (Alipay's, or a third party's) does not.
type Voucher struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Type               string `json:"type"` // ALIPAY_FIX_VOUCHER, ALIPAY_DISCOUNT_VOUCHER, ALIPAY_ITEM_VOUCHER, …
	Amount             Amount `json:"amount"`
	MerchantContribute Amount `json:"merchant_contribute"`
	OtherContribute    Amount `json:"other_contribute"`
	Memo               string `json:"memo,omitempty"`
	TemplateID         string `json:"template_id,omitempty"`
}

// Discounts returns what promotions took off a paid trade of total, from the amounts
// every Alipay message about a paid trade carries: discount is everything the buyer did
// not pay with money or points (total − buyer_pay_amount − point_amount), merchant the
// part of it the merchant funds, which it does not receive (total − receipt_amount;
// Alipay's mdiscount_amount). The pay and query answers also carry discount_amount and
// mdiscount_amount, but only when asked for (query_options) and the notification never
// does, so the amounts are the one source all three agree on. A message without
// amounts (receipt and buyerPay 0) reports no promotion; a result that would be
// negative is 0.
func Discounts(total, receipt, buyerPay, point Amount) (discount, merchant Amount) {
	if receipt == 0 && buyerPay == 0 {
		return 0, 0
	}
	discount = max(total-buyerPay-point, 0)
	merchant = min(max(total-receipt, 0), discount)
	return discount, merchant
}
