package alipaysim

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// call is one authenticated gateway request, as the trade engine sees it.
type call struct {
	app       *App
	method    string
	biz       *bizRequest
	signType  string
	notifyURL string
	baseURL   string // where this sandbox is reached, for qr_code URLs
	// pending, set by a pay_pending fault, makes trade.pay answer 10003 and resolve the
	// trade after a delay.
	pending *Fault
	// params are all request parameters: a few methods take theirs at the top level
	// (grant_type, code, auth_token), and app_auth_token rides there too.
	params params
	// isv is the service provider's app that signed the request when its
	// app_auth_token made app the authorising merchant's app (isv.go).
	isv *App
	// errorNode puts the answer under error_response, where alipay.system.oauth.token
	// reports its errors.
	errorNode bool
	// royalty and royaltyFreeze are the request's profit-sharing plan (settle.go).
	royalty       []RoyaltyItem
	royaltyFreeze bool
	// redirect, set by a page method (alipay.user.agreement.page.sign), sends the
	// buyer's browser there instead of answering JSON.
	redirect string
}

// methods maps each supported gateway method to its handler.
// delegated lets a service provider's app call for a merchant with app_auth_token (isv.go).
var methods = map[string]func(t *txn, c *call) *node{
	"alipay.trade.pay":                                  delegated((*txn).pay),
	"alipay.trade.precreate":                            delegated((*txn).precreate),
	"alipay.trade.create":                               delegated((*txn).create),
	"alipay.trade.query":                                delegated(withSettleInfo((*txn).query)),
	"alipay.trade.cancel":                               delegated(withRoyaltyReversal((*txn).cancel)),
	"alipay.trade.close":                                delegated((*txn).close),
	"alipay.trade.refund":                               delegated(withRoyaltyReversal((*txn).refundTrade)),
	"alipay.trade.fastpay.refund.query":                 delegated((*txn).refundQuery),
	"alipay.trade.order.settle":                         delegated((*txn).orderSettle),
	"alipay.trade.order.settle.query":                   delegated((*txn).settleQuery),
	"alipay.trade.royalty.relation.bind":                delegated((*txn).relationBind),
	"alipay.data.dataservice.bill.downloadurl.query":    delegated((*txn).billURL),
	"alipay.system.oauth.token":                         delegated((*txn).oauthToken),
	"alipay.user.info.share":                            delegated((*txn).userInfoShare),
	"alipay.open.auth.token.app":                        (*txn).openAuthTokenApp,
	"monitor.heartbeat.syn":                             delegated((*txn).heartbeat),
	"zoloz.authentication.smilepay.initialize":          delegated((*txn).smilepayInit),         // face.go
	"zoloz.authentication.customer.smilepay.initialize": delegated((*txn).customerSmilepayInit), // face.go
	"alipay.user.agreement.page.sign":                   delegated((*txn).agreementPageSign),    // agreement.go
	"alipay.user.agreement.query":                       delegated((*txn).agreementQuery),
	"alipay.user.agreement.unsign":                      delegated((*txn).agreementUnsign),
	certDownloadMethod:                                  (*txn).certDownloadHandler, // answered by the gateway from the CA (certs.go)
}

func invalidParam(msg string) *node { return bizError("ACQ.INVALID_PARAMETER", "参数有误。"+msg) }

// lengthOf is one string of a request with Alipay's limit for it.
type lengthOf struct {
	limit alipay.Limit
	v     jstr
}

// checkLengths refuses a string longer than Alipay allows. The sandbox reads requests
// with its own code, but the limits and how Alipay counts them (GBK bytes: 2 per
// Chinese character) are facts, written down once in package alipay (alipay/limits.go)
// so that the sandbox and the service cannot disagree about them again.
func checkLengths(vs ...lengthOf) *node {
	for _, x := range vs {
		err := x.limit.Check(string(x.v))
		var le *alipay.LengthError
		switch {
		case errors.As(err, &le):
			return invalidParam(fmt.Sprintf("%s 超过 %d 字节，一个汉字占 2 字节 (%v)", le.Field, le.Max, err))
		case err != nil:
			return invalidParam(fmt.Sprintf("%s 编码错误 (%v)", x.limit.Field, err))
		}
	}
	return nil
}

// checkOrder validates the fields every trade-creating method shares.
func checkOrder(c *call) *node {
	r := c.biz
	switch {
	case r.OutTradeNo == "":
		return invalidParam("缺少 out_trade_no (out_trade_no is required)")
	case r.Subject == "":
		return invalidParam("缺少 subject (subject is required)")
	case r.TotalAmount == nil:
		return invalidParam("缺少 total_amount (total_amount is required)")
	}
	if n := checkLengths(
		lengthOf{alipay.LimitOutTradeNo, r.OutTradeNo}, lengthOf{alipay.LimitSubject, r.Subject},
		lengthOf{alipay.LimitBody, r.Body}, lengthOf{alipay.LimitOperatorID, r.OperatorID},
		lengthOf{alipay.LimitStoreID, r.StoreID}, lengthOf{alipay.LimitTerminalID, r.TerminalID},
	); n != nil {
		return n
	}
	if err := r.TotalAmount.CheckTrade(); err != nil {
		if *r.TotalAmount > f2fpay.MaxAmount {
			return bizError("ACQ.TOTAL_FEE_EXCEED", "订单金额超过限额")
		}
		return invalidParam("total_amount 须在 0.01 到 100000000.00 之间")
	}
	if r.SellerID != "" && string(r.SellerID) != c.app.SellerID {
		return invalidParam("seller_id 与 app_id 对应的商户不一致 (seller_id does not belong to this app)")
	}
	return nil
}

// existingOrder applies out_trade_no idempotency: a number that already names a trade
// either repeats that trade's answer (same content, still waiting) or is refused with the
// sub_code Alipay gives. It returns (nil, nil) for a fresh number.
func (t *txn) existingOrder(c *call) (*Trade, *node) {
	tr := t.tradeByOut(c.app.AppID, string(c.biz.OutTradeNo))
	if tr == nil {
		return nil, nil
	}
	switch {
	case tr.Status == TradeClosed:
		return tr, withOut(bizError("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"), tr)
	case tr.Status == TradeSuccess || tr.Status == TradeFinished:
		if tr.Total != *c.biz.TotalAmount || tr.Subject != string(c.biz.Subject) {
			return tr, bizError("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
		}
		n := bizError("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
		n.set("out_trade_no", tr.OutTradeNo).set("trade_no", tr.TradeNo).
			set("buyer_user_id", tr.BuyerID).set("buyer_logon_id", maskLogon(tr.BuyerLogonID)).
			set("total_amount", tr.Total)
		return tr, n
	case tr.Method != c.method || tr.Total != *c.biz.TotalAmount || tr.Subject != string(c.biz.Subject):
		return tr, bizError("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
	}
	return tr, nil
}

func withOut(n *node, tr *Trade) *node {
	return n.set("out_trade_no", tr.OutTradeNo).set("trade_no", tr.TradeNo)
}

// newTrade builds a WAIT_BUYER_PAY trade from the request.
func (t *txn) newTrade(c *call, expires time.Time) *Trade {
	r := c.biz
	tr := &Trade{
		TradeNo:     t.newTradeNo(),
		OutTradeNo:  string(r.OutTradeNo),
		AppID:       c.app.AppID,
		SellerID:    c.app.SellerID,
		Method:      c.method,
		Scene:       string(r.Scene),
		ProductCode: string(r.ProductCode),
		Subject:     string(r.Subject),
		Body:        string(r.Body),
		Total:       *r.TotalAmount,
		Status:      WaitBuyerPay,
		Passback:    string(r.PassbackParams),
		NotifyURL:   c.notifyURL,
		SignType:    c.signType,
		StoreID:     string(r.StoreID),
		Terminal:    string(r.TerminalID),
		Operator:    string(r.OperatorID),
		Goods:       r.GoodsDetail,
		Extend:      r.ExtendParams,
		CreatedAt:   t.now,
		ExpiresAt:   expires,
	}
	if tr.ProductCode == "" {
		tr.ProductCode = "FACE_TO_FACE_PAYMENT"
	}
	tr.SysServiceProviderID = sysServiceProviderID(r.ExtendParams)
	tr.RoyaltyPlan, tr.RoyaltyFreeze = c.royalty, c.royaltyFreeze
	tr.SellerParam = string(r.SellerID)
	if c.isv != nil {
		tr.ISVAppID = c.isv.AppID
	}
	return tr
}

// newTradeNo returns a fresh 28-digit trade number: the Beijing date, "2200", 16 digits.
func (t *txn) newTradeNo() string {
	for {
		no := t.now.In(beijing).Format("20060102") + "2200" + t.ids.digits(16)
		if t.trade(no) == nil {
			return no
		}
	}
}

func (t *txn) attachBuyer(tr *Trade, b *Buyer) {
	tr.BuyerID, tr.BuyerOpenID, tr.BuyerLogonID = b.UserID, b.OpenID, b.LogonID
}

// pay is alipay.trade.pay: the merchant scans the buyer's payment code (bar_code,
// wave_code) or face (security_code).
func (t *txn) pay(c *call) *node {
	r := c.biz
	if n := checkOrder(c); n != nil {
		return n
	}
	if n := t.checkRoyalty(c); n != nil {
		return n
	}
	if len(r.AgreementParams) > 0 && string(r.AgreementParams) != "null" {
		return t.payAgreement(c)
	}
	scene := string(r.Scene)
	if scene == "" {
		scene = "bar_code"
		r.Scene = "bar_code"
	}
	if scene != "bar_code" && scene != "wave_code" && scene != "security_code" {
		return invalidParam("scene 只支持 bar_code、wave_code、security_code")
	}
	if r.AuthCode == "" {
		return invalidParam("缺少 auth_code (auth_code is required)")
	}
	failed := func(sub, msg string) *node {
		n := bizError(sub, msg)
		zero := f2fpay.Amount(0)
		return n.set("out_trade_no", string(r.OutTradeNo)).set("buyer_pay_amount", zero).
			set("invoice_amount", zero).set("point_amount", zero).set("receipt_amount", zero)
	}
	expires, n := expiry(t.now, r)
	if n != nil {
		return n
	}
	if tr, n := t.existingOrder(c); n != nil {
		return n
	} else if tr != nil {
		// The same pay again while it waits for the buyer: the same 10003.
		return payingNode(tr)
	}
	code := t.code(string(r.AuthCode))
	wantKind := "payment"
	if scene == "security_code" {
		wantKind = "face"
	}
	if code == nil || code.Kind != wantKind || !validCodeFormat(code.Code, wantKind) {
		return failed("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款，如再次收款失败，请联系管理员处理。[SOUNDWAVE_PARSER_FAIL]")
	}
	if code.UsedAt != nil || !t.now.Before(code.ExpiresAt) {
		return failed("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，付款码已使用或已过期，请顾客刷新付款码后重新收款")
	}
	if code.SellerID != "" && code.SellerID != c.app.SellerID {
		return failed("ACQ.SMILE_PAY_MERCHANT_NOT_MATCH", "刷脸支付的商户与收款商户不一致 (the face session belongs to another merchant)")
	}
	buyer := t.buyer(code.UserID)
	if buyer == nil {
		return failed("ACQ.PAYMENT_AUTH_CODE_INVALID", "支付失败，获取顾客账户信息失败")
	}
	tr := t.newTrade(c, expires)
	tr.Visible = true
	t.attachBuyer(tr, buyer)

	waiting := ""
	switch {
	case c.pending != nil:
		waiting = "fault"
		at := t.now.Add(c.pending.Delay.D())
		tr.ResolveAt, tr.ResolveTo = &at, c.pending.ResolveTo
	case buyer.PasswordThreshold != nil && tr.Total > *buyer.PasswordThreshold:
		waiting = "password"
	}
	if waiting == "" {
		if sub, msg := t.settle(tr, buyer.UserID); sub != "" {
			// Nothing is created: the code stays valid and the out_trade_no may be
			// retried once the buyer has money.
			return failed(sub, msg)
		}
	} else {
		tr.Pending = waiting
	}
	used := code.clone()
	now := t.now
	used.UsedAt = &now
	t.putCode(used)
	t.putTrade(tr)
	if tr.Status == WaitBuyerPay {
		return payingNode(tr)
	}
	return paidNode(success(), tr)
}

// validCodeFormat checks what Alipay's scanners check before looking a code up: payment
// codes are 16–24 digits starting 25–30; face tokens are "fp" + 33 characters.
func validCodeFormat(code, kind string) bool {
	if kind == "face" {
		return len(code) == 35 && strings.HasPrefix(code, "fp")
	}
	if len(code) < 16 || len(code) > 24 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	p := code[:2]
	return p >= "25" && p <= "30"
}

// payingNode is the 10003 answer: the trade exists, nothing is paid yet.
func payingNode(tr *Trade) *node {
	zero := f2fpay.Amount(0)
	n := &node{Code: codePaying, Msg: msgPaying, Fields: map[string]any{}}
	return n.set("trade_no", tr.TradeNo).set("out_trade_no", tr.OutTradeNo).
		set("buyer_logon_id", maskLogon(tr.BuyerLogonID)).set("buyer_user_id", tr.BuyerID).
		set("total_amount", tr.Total).set("buyer_pay_amount", zero).set("invoice_amount", zero).
		set("point_amount", zero).set("receipt_amount", zero)
}

// paidNode adds a paid trade's payment fields to n.
func paidNode(n *node, tr *Trade) *node {
	n.set("trade_no", tr.TradeNo).set("out_trade_no", tr.OutTradeNo).
		set("buyer_logon_id", maskLogon(tr.BuyerLogonID)).set("buyer_user_id", tr.BuyerID).
		set("buyer_open_id", tr.BuyerOpenID).
		set("total_amount", tr.Total).set("buyer_pay_amount", tr.BuyerPay).
		set("invoice_amount", tr.Invoice).set("point_amount", tr.Point).
		set("receipt_amount", tr.Receipt)
	if tr.PaidAt != nil {
		n.set("gmt_payment", fmtTime(*tr.PaidAt))
	}
	if len(tr.FundBills) > 0 {
		n.set("fund_bill_list", tr.FundBills)
	}
	if len(tr.Vouchers) > 0 {
		n.set("voucher_detail_list", voucherDetails(tr.Vouchers))
		n.set("discount_amount", tr.Discount).set("mdiscount_amount", tr.MDiscount)
	}
	return n
}

func voucherDetails(vs []Voucher) []map[string]any {
	out := make([]map[string]any, 0, len(vs))
	for _, v := range vs {
		out = append(out, map[string]any{
			"id": v.ID, "name": v.Name, "type": v.Type, "amount": v.Amount,
			"merchant_contribute": v.MerchantContribute, "other_contribute": v.OtherContribute,
		})
	}
	return out
}

// settle moves the money of a waiting trade from the buyer to the merchant and marks it
// paid. A buyer voucher smaller than the total is applied. It returns a sub_code when
// the buyer cannot pay, changing nothing.
func (t *txn) settle(tr *Trade, buyerID string) (string, string) {
	b := t.buyer(buyerID)
	if b == nil {
		return "ACQ.PAYMENT_FAIL", "支付失败，买家不存在"
	}
	var v *Voucher
	vi := -1
	for i := range b.Vouchers {
		if b.Vouchers[i].Amount < tr.Total {
			v, vi = &b.Vouchers[i], i
			break
		}
	}
	buyerPay, receipt := tr.Total, tr.Total
	if v != nil {
		buyerPay -= v.Amount
		receipt -= v.MerchantContribute
	}
	if b.Balance < buyerPay {
		return "ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足"
	}
	bw := t.buyerW(buyerID)
	bw.Balance -= buyerPay
	app := t.appW(tr.AppID)
	app.Balance += receipt
	tr.BuyerPay, tr.Receipt, tr.Invoice, tr.Point = buyerPay, receipt, buyerPay, 0
	tr.FundBills = nil
	if buyerPay > 0 {
		tr.FundBills = append(tr.FundBills, FundBill{FundChannel: "ALIPAYACCOUNT", Amount: buyerPay})
	}
	if v != nil {
		tr.Vouchers = []Voucher{*v}
		tr.Discount, tr.MDiscount = v.OtherContribute, v.MerchantContribute
		if v.OtherContribute > 0 {
			tr.FundBills = append(tr.FundBills, FundBill{FundChannel: "COUPON", Amount: v.OtherContribute})
		}
		if v.MerchantContribute > 0 {
			tr.FundBills = append(tr.FundBills, FundBill{FundChannel: "MCOUPON", Amount: v.MerchantContribute})
		}
		bw.Vouchers = append(bw.Vouchers[:vi:vi], bw.Vouchers[vi+1:]...)
	}
	now := t.now
	tr.Status, tr.PaidAt, tr.Pending, tr.ResolveAt, tr.ResolveTo = TradeSuccess, &now, "", nil, ""
	t.payRoyalties(tr)
	t.putTrade(tr)
	t.notify(tr, nil)
	return "", ""
}

// closeTrade closes a waiting trade (timeout, close, cancel, buyer rejection).
func (t *txn) closeTrade(tr *Trade) {
	now := t.now
	tr.Status, tr.ClosedAt, tr.Pending, tr.ResolveAt, tr.ResolveTo = TradeClosed, &now, "", nil, ""
	t.putTrade(tr)
	if tr.Visible {
		t.notify(tr, nil)
	}
}

// precreate is alipay.trade.precreate: a QR for the buyer to scan. Nothing is visible
// to trade.query until a buyer scans it.
func (t *txn) precreate(c *call) *node {
	if n := checkOrder(c); n != nil {
		return n
	}
	if n := t.checkRoyalty(c); n != nil {
		return n
	}
	expires, n := expiry(t.now, c.biz)
	if n != nil {
		return n
	}
	tr, n := t.existingOrder(c)
	if n != nil {
		return n
	}
	if tr == nil {
		tr = t.newTrade(c, expires)
		tr.QRToken = "bax" + t.ids.digits(20)
		tr.QRCode = strings.TrimSuffix(c.baseURL, "/") + "/qr/" + tr.QRToken
		t.putTrade(tr)
	}
	return success().set("out_trade_no", tr.OutTradeNo).set("qr_code", tr.QRCode)
}

// create is alipay.trade.create: a trade for a known buyer (JSAPI, vending H5), paid
// when the buyer confirms in the wallet.
func (t *txn) create(c *call) *node {
	if n := checkOrder(c); n != nil {
		return n
	}
	if n := t.checkRoyalty(c); n != nil {
		return n
	}
	r := c.biz
	if r.BuyerID == "" && r.BuyerOpenID == "" {
		return invalidParam("buyer_id 和 buyer_open_id 不能同时为空 (trade.create needs the buyer)")
	}
	var b *Buyer
	if r.BuyerID != "" {
		b = t.buyer(string(r.BuyerID))
	} else {
		if uid, ok := t.e.byOpenID[string(r.BuyerOpenID)]; ok {
			b = t.buyer(uid)
		}
	}
	if b == nil {
		return invalidParam("买家不存在 (no sandbox buyer has this buyer_id / buyer_open_id)")
	}
	expires, n := expiry(t.now, r)
	if n != nil {
		return n
	}
	tr, n := t.existingOrder(c)
	if n != nil {
		return n
	}
	if tr == nil {
		tr = t.newTrade(c, expires)
		tr.Visible, tr.Pending = true, "buyer"
		t.attachBuyer(tr, b)
		t.putTrade(tr)
	} else if tr.BuyerID != b.UserID {
		return bizError("ACQ.TRADE_BUYER_NOT_MATCH", "交易买家不匹配")
	}
	return success().set("out_trade_no", tr.OutTradeNo).set("trade_no", tr.TradeNo)
}
