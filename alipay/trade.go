package alipay

import (
	"context"
	"fmt"
	"regexp"
)

// Scenes of alipay.trade.pay.
const (
	SceneBarCode      = "bar_code"      // the buyer's payment code, scanned by the cashier
	SceneWaveCode     = "wave_code"     // sound-wave payment code (older terminals)
	SceneSecurityCode = "security_code" // face payment: auth_code is a face token ("fp…")
)

// Product codes of alipay.trade.pay.
const (
	ProductFaceToFace = "FACE_TO_FACE_PAYMENT" // 当面付: payment code or face token
	// ProductGeneralWithholding is 商家扣款: a charge on a signed agreement, without
	// the buyer present (docs/vending.md §7).
	ProductGeneralWithholding = "GENERAL_WITHHOLDING"
	ProductCyclePayAuth       = "CYCLE_PAY_AUTH" // periodic deduction on an agreement
)

// AgreementParams names the agreement a withholding trade.pay charges.
type AgreementParams struct {
	AgreementNo      string `json:"agreement_no"`
	AuthConfirmNo    string `json:"auth_confirm_no,omitempty"`
	ApplyToken       string `json:"apply_token,omitempty"`
	DeductPermission string `json:"deduct_permission,omitempty"`
}

// TradePayRequest is the biz_content of alipay.trade.pay (docs/alipay-protocol.md §6.1).
type TradePayRequest struct {
	OutTradeNo           string        `json:"out_trade_no"`
	Scene                string        `json:"scene,omitempty"`
	AuthCode             string        `json:"auth_code,omitempty"`
	Subject              string        `json:"subject"`
	TotalAmount          Amount        `json:"total_amount"`
	ProductCode          string        `json:"product_code,omitempty"`
	SellerID             string        `json:"seller_id,omitempty"`
	BuyerID              string        `json:"buyer_id,omitempty"`
	DiscountableAmount   Amount        `json:"discountable_amount,omitempty"`
	UndiscountableAmount Amount        `json:"undiscountable_amount,omitempty"`
	Body                 string        `json:"body,omitempty"`
	GoodsDetail          []GoodsDetail `json:"goods_detail,omitempty"`
	OperatorID           string        `json:"operator_id,omitempty"`
	StoreID              string        `json:"store_id,omitempty"`
	AlipayStoreID        string        `json:"alipay_store_id,omitempty"`
	TerminalID           string        `json:"terminal_id,omitempty"`
	TerminalParams       string        `json:"terminal_params,omitempty"`
	ExtendParams         *ExtendParams `json:"extend_params,omitempty"`
	TimeoutExpress       string        `json:"timeout_express,omitempty"`
	TimeExpire           string        `json:"time_expire,omitempty"`
	RoyaltyInfo          *RoyaltyInfo  `json:"royalty_info,omitempty"`
	PassbackParams       string        `json:"passback_params,omitempty"`
	QueryOptions         []string      `json:"query_options,omitempty"`
	// AgreementParams makes the call an agreement charge (商家扣款): no scene, no
	// auth_code, product_code GENERAL_WITHHOLDING (TradePay fills it in).
	AgreementParams *AgreementParams `json:"agreement_params,omitempty"`
	BuyerOpenID     string           `json:"buyer_open_id,omitempty"`
}

// TradePayResponse is the answer node of alipay.trade.pay.
type TradePayResponse struct {
	ResponseHeader
	TradeNo             string          `json:"trade_no"`
	OutTradeNo          string          `json:"out_trade_no"`
	BuyerLogonID        string          `json:"buyer_logon_id"`
	TotalAmount         Amount          `json:"total_amount"`
	ReceiptAmount       Amount          `json:"receipt_amount"`
	BuyerPayAmount      Amount          `json:"buyer_pay_amount"`
	PointAmount         Amount          `json:"point_amount"`
	InvoiceAmount       Amount          `json:"invoice_amount"`
	DiscountAmount      Amount          `json:"discount_amount"`
	MdiscountAmount     Amount          `json:"mdiscount_amount"`
	GmtPayment          Time            `json:"gmt_payment"`
	FundBillList        []FundBill      `json:"fund_bill_list"`
	VoucherDetailList   []VoucherDetail `json:"voucher_detail_list"`
	StoreName           string          `json:"store_name"`
	BuyerUserID         string          `json:"buyer_user_id"`
	BuyerOpenID         string          `json:"buyer_open_id"`
	DiscountGoodsDetail string          `json:"discount_goods_detail"`
	AsyncPaymentMode    string          `json:"async_payment_mode"`
}

// PayStatus is what a barcode payment attempt tells the cashier. The zero value is
// PayUnknown, so a forgotten assignment can never read as paid or failed.
type PayStatus int

const (
	// PayUnknown: 20000, ACQ.SYSTEM_ERROR, a timeout, a lost or unverifiable answer.
	// The buyer may have paid. Query the trade; cancel it if it is not paid in time.
	PayUnknown PayStatus = iota
	// PayPaid: 10000, the money is the merchant's.
	PayPaid
	// PayWaiting: 10003, the buyer must confirm in the wallet (password). Poll
	// trade.query; cancel when the buyer does not pay in time.
	PayWaiting
	// PayFailed: Alipay refused the payment (40004 and the like); no money moved. See
	// PayResult.Err for sub_code and sub_msg to show the cashier.
	PayFailed
)

func (s PayStatus) String() string {
	switch s {
	case PayPaid:
		return "PAID"
	case PayWaiting:
		return "WAITING"
	case PayFailed:
		return "FAILED"
	}
	return "UNKNOWN"
}

// PayResult is the outcome of alipay.trade.pay.
type PayResult struct {
	Status PayStatus
	// Response is Alipay's verified answer; nil when none arrived or it did not verify.
	Response *TradePayResponse
	// Err explains FAILED (an *Error) and UNKNOWN (an *UnknownError, or an *Error with
	// code 20000 or sub_code ACQ.SYSTEM_ERROR). It is nil for PAID and WAITING.
	Err error
}

// TradePay charges a buyer's payment code, face token (scene security_code) or signed
// agreement (AgreementParams). The error is non-nil only when the request was invalid
// and never sent; every sent request yields a PayResult whose Status cannot be misread.
func (c *Client) TradePay(ctx context.Context, req *TradePayRequest, opts ...CallOption) (*PayResult, error) {
	r := *req
	switch {
	case r.AgreementParams != nil:
		if r.ProductCode == "" {
			r.ProductCode = ProductGeneralWithholding
		}
	default:
		if r.Scene == "" {
			r.Scene = SceneBarCode
		}
		if r.ProductCode == "" {
			r.ProductCode = ProductFaceToFace
		}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, MethodTradePay, &r, opts)
	if err != nil {
		if IsUnknown(err) {
			return &PayResult{Status: PayUnknown, Err: err}, nil
		}
		return nil, err
	}
	var out TradePayResponse
	switch {
	case resp.Code == CodeSuccess || resp.Code == CodeWaiting:
		if err := decodeNode(resp, &out); err != nil {
			return &PayResult{Status: PayUnknown, Err: err}, nil
		}
		if resp.Code == CodeSuccess {
			return &PayResult{Status: PayPaid, Response: &out}, nil
		}
		return &PayResult{Status: PayWaiting, Response: &out}, nil
	case resp.Success():
		// A pay answer without a code is not something Alipay sends; do not guess.
		return &PayResult{Status: PayUnknown, Err: &UnknownError{Method: MethodTradePay, Reason: "the answer has no code"}}, nil
	}
	_ = jsonUnmarshal(resp.Content, &out) // best effort: failed answers still carry out_trade_no and zero amounts
	aerr := resp.Err().(*Error)
	if aerr.Unknown() {
		return &PayResult{Status: PayUnknown, Response: &out, Err: aerr}, nil
	}
	return &PayResult{Status: PayFailed, Response: &out, Err: aerr}, nil
}

var (
	outNoPattern    = regexp.MustCompile(fmt.Sprintf(`^[A-Za-z0-9_\-.]{1,%d}$`, LimitOutTradeNo.Max))
	digitsPattern   = regexp.MustCompile(`^[0-9]{10,64}$`)
	timeoutPattern  = regexp.MustCompile(`^([1-9][0-9]*[mhd]|1c)$`)
	requestNoPatten = regexp.MustCompile(fmt.Sprintf(`^[A-Za-z0-9_\-.]{1,%d}$`, LimitOutRequestNo.Max))
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
}

func checkOutTradeNo(s string) error {
	if !outNoPattern.MatchString(s) {
		return invalid("out_trade_no %q must be 1–64 letters, digits, '_', '-' or '.', unique per merchant", s)
	}
	return nil
}

func checkAmount(field string, a Amount) error {
	if err := a.CheckTrade(); err != nil {
		return invalid("%s: %v", field, err)
	}
	return nil
}

func checkSubject(s string) error {
	if s == "" {
		return invalid("subject is required (what the buyer sees on the bill)")
	}
	return LimitSubject.Check(s)
}

func checkTimeout(s string) error {
	if s != "" && !timeoutPattern.MatchString(s) {
		return invalid("timeout_express %q must be a whole number with m, h or d (e.g. \"5m\", \"2h\"), or \"1c\"", s)
	}
	return nil
}

func checkTradeRef(tradeNo, outTradeNo string) error {
	if tradeNo == "" && outTradeNo == "" {
		return invalid("give trade_no or out_trade_no")
	}
	if outTradeNo != "" {
		return checkOutTradeNo(outTradeNo)
	}
	return nil
}

// Validate reports what Alipay would refuse in the request as ACQ.INVALID_PARAMETER —
// a missing or malformed field, a string longer than Alipay allows (counted as Alipay
// counts, see Width) — so that a caller can refuse it before the buyer's payment code
// is spent. An empty Scene is bar_code, as TradePay sends it.
func (r *TradePayRequest) Validate() error {
	if err := checkOutTradeNo(r.OutTradeNo); err != nil {
		return err
	}
	if r.AgreementParams != nil {
		if err := r.validateAgreement(); err != nil {
			return err
		}
		return r.validateCommon()
	}
	switch r.Scene {
	case "", SceneBarCode, SceneWaveCode:
		if !digitsPattern.MatchString(r.AuthCode) {
			return invalid("auth_code %q is not a payment code: scan the buyer's Alipay barcode (digits only, 16–24 long, starting 25–30)", r.AuthCode)
		}
	case SceneSecurityCode:
		if r.AuthCode == "" {
			return invalid("auth_code must hold the face token for scene security_code")
		}
	default:
		return invalid("scene %q must be bar_code, wave_code or security_code", r.Scene)
	}
	return r.validateCommon()
}

// validateAgreement checks an agreement charge: Alipay takes the agreement as the
// buyer's credential, so a scene or auth_code beside it is a mistake.
func (r *TradePayRequest) validateAgreement() error {
	switch {
	case r.Scene != "" || r.AuthCode != "":
		return invalid("an agreement charge (agreement_params) sends neither scene nor auth_code")
	case !agreementNoPattern.MatchString(r.AgreementParams.AgreementNo):
		return invalid("agreement_params.agreement_no %q is not an agreement number: take it from the dut_user_sign notification or alipay.user.agreement.query", r.AgreementParams.AgreementNo)
	case r.ProductCode != "" && r.ProductCode != ProductGeneralWithholding && r.ProductCode != ProductCyclePayAuth:
		return invalid("product_code %q: an agreement charge is GENERAL_WITHHOLDING (or CYCLE_PAY_AUTH)", r.ProductCode)
	case r.BuyerID != "" && !isUserID(r.BuyerID):
		return invalid("buyer_id %q is not an Alipay user id (2088 and 12 more digits)", r.BuyerID)
	}
	return nil
}

func (r *TradePayRequest) validateCommon() error {
	if err := checkSubject(r.Subject); err != nil {
		return err
	}
	if err := checkAmount("total_amount", r.TotalAmount); err != nil {
		return err
	}
	if r.DiscountableAmount+r.UndiscountableAmount > r.TotalAmount {
		return invalid("discountable_amount + undiscountable_amount exceed total_amount")
	}
	if err := checkValues(value{LimitAuthCode, r.AuthCode}, value{LimitBody, r.Body}, value{LimitOperatorID, r.OperatorID},
		value{LimitStoreID, r.StoreID}, value{LimitTerminalID, r.TerminalID}); err != nil {
		return err
	}
	if err := checkGoods(r.GoodsDetail); err != nil {
		return err
	}
	return checkTimeout(r.TimeoutExpress)
}

// TradePrecreateRequest is the biz_content of alipay.trade.precreate.
type TradePrecreateRequest struct {
	OutTradeNo           string        `json:"out_trade_no"`
	TotalAmount          Amount        `json:"total_amount"`
	Subject              string        `json:"subject"`
	ProductCode          string        `json:"product_code,omitempty"`
	SellerID             string        `json:"seller_id,omitempty"`
	DiscountableAmount   Amount        `json:"discountable_amount,omitempty"`
	UndiscountableAmount Amount        `json:"undiscountable_amount,omitempty"`
	Body                 string        `json:"body,omitempty"`
	GoodsDetail          []GoodsDetail `json:"goods_detail,omitempty"`
	OperatorID           string        `json:"operator_id,omitempty"`
	StoreID              string        `json:"store_id,omitempty"`
	TerminalID           string        `json:"terminal_id,omitempty"`
	ExtendParams         *ExtendParams `json:"extend_params,omitempty"`
	TimeoutExpress       string        `json:"timeout_express,omitempty"`
	QRCodeTimeoutExpress string        `json:"qr_code_timeout_express,omitempty"`
	TimeExpire           string        `json:"time_expire,omitempty"`
	RoyaltyInfo          *RoyaltyInfo  `json:"royalty_info,omitempty"`
	PassbackParams       string        `json:"passback_params,omitempty"`
}

// TradePrecreateResponse carries the QR content to show. The trade itself exists at
// Alipay only once a buyer scans it: query answers ACQ.TRADE_NOT_EXIST until then.
type TradePrecreateResponse struct {
	ResponseHeader
	OutTradeNo string `json:"out_trade_no"`
	QRCode     string `json:"qr_code"`
	ShareCode  string `json:"share_code,omitempty"`
}

// TradePrecreate asks for a QR code the buyer scans (扫码支付).
func (c *Client) TradePrecreate(ctx context.Context, req *TradePrecreateRequest, opts ...CallOption) (*TradePrecreateResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out TradePrecreateResponse
	return &out, c.typed(ctx, MethodTradePrecreate, req, &out, opts)
}

// Validate reports what Alipay would refuse in the request (see TradePayRequest.Validate).
func (r *TradePrecreateRequest) Validate() error {
	if err := checkOutTradeNo(r.OutTradeNo); err != nil {
		return err
	}
	if err := checkSubject(r.Subject); err != nil {
		return err
	}
	if err := checkAmount("total_amount", r.TotalAmount); err != nil {
		return err
	}
	if err := checkValues(value{LimitBody, r.Body}, value{LimitOperatorID, r.OperatorID},
		value{LimitStoreID, r.StoreID}, value{LimitTerminalID, r.TerminalID}); err != nil {
		return err
	}
	if err := checkGoods(r.GoodsDetail); err != nil {
		return err
	}
	return checkTimeout(r.TimeoutExpress)
}

// TradeCreateRequest is the biz_content of alipay.trade.create (JSAPI payment; the
// vending machine's member flow).
type TradeCreateRequest struct {
	OutTradeNo     string        `json:"out_trade_no"`
	TotalAmount    Amount        `json:"total_amount"`
	Subject        string        `json:"subject"`
	BuyerID        string        `json:"buyer_id,omitempty"`
	BuyerOpenID    string        `json:"buyer_open_id,omitempty"`
	ProductCode    string        `json:"product_code,omitempty"`
	SellerID       string        `json:"seller_id,omitempty"`
	Body           string        `json:"body,omitempty"`
	GoodsDetail    []GoodsDetail `json:"goods_detail,omitempty"`
	OperatorID     string        `json:"operator_id,omitempty"`
	StoreID        string        `json:"store_id,omitempty"`
	TerminalID     string        `json:"terminal_id,omitempty"`
	ExtendParams   *ExtendParams `json:"extend_params,omitempty"`
	TimeoutExpress string        `json:"timeout_express,omitempty"`
	TimeExpire     string        `json:"time_expire,omitempty"`
	RoyaltyInfo    *RoyaltyInfo  `json:"royalty_info,omitempty"`
	PassbackParams string        `json:"passback_params,omitempty"`
}

// TradeCreateResponse carries the trade_no the wallet's tradePay JSAPI needs.
type TradeCreateResponse struct {
	ResponseHeader
	TradeNo    string `json:"trade_no"`
	OutTradeNo string `json:"out_trade_no"`
}

// TradeCreate creates a trade for a known buyer. Alipay requires buyer_id (or
// buyer_open_id) from OAuth, and the vending-machine industry requires terminal_id.
func (c *Client) TradeCreate(ctx context.Context, req *TradeCreateRequest, opts ...CallOption) (*TradeCreateResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out TradeCreateResponse
	return &out, c.typed(ctx, MethodTradeCreate, req, &out, opts)
}

// Validate reports what Alipay would refuse in the request (see TradePayRequest.Validate).
func (r *TradeCreateRequest) Validate() error {
	if err := checkOutTradeNo(r.OutTradeNo); err != nil {
		return err
	}
	if err := checkSubject(r.Subject); err != nil {
		return err
	}
	if err := checkAmount("total_amount", r.TotalAmount); err != nil {
		return err
	}
	if r.BuyerID == "" && r.BuyerOpenID == "" {
		return invalid("buyer_id (or buyer_open_id) is required: get it from alipay.system.oauth.token (auth_base) first")
	}
	if r.BuyerID != "" && !isUserID(r.BuyerID) {
		return invalid("buyer_id %q is not an Alipay user id (2088 and 12 more digits)", r.BuyerID)
	}
	if err := checkValues(value{LimitBody, r.Body}, value{LimitOperatorID, r.OperatorID},
		value{LimitStoreID, r.StoreID}, value{LimitTerminalID, r.TerminalID}); err != nil {
		return err
	}
	if err := checkGoods(r.GoodsDetail); err != nil {
		return err
	}
	return checkTimeout(r.TimeoutExpress)
}

// TradeQueryRequest is the biz_content of alipay.trade.query.
type TradeQueryRequest struct {
	OutTradeNo   string   `json:"out_trade_no,omitempty"`
	TradeNo      string   `json:"trade_no,omitempty"`
	QueryOptions []string `json:"query_options,omitempty"`
}

// TradeSettleDetail is one settlement operation of a trade.
type TradeSettleDetail struct {
	OperationType     string `json:"operation_type"`
	OperationSerialNo string `json:"operation_serial_no"`
	OperationDt       Time   `json:"operation_dt"`
	TransOut          string `json:"trans_out"`
	TransIn           string `json:"trans_in"`
	Amount            Amount `json:"amount"`
}

// TradeSettleInfo is trade_settle_info of a query (with query_options trade_settle_info).
type TradeSettleInfo struct {
	TradeUnsettledAmount  Amount              `json:"trade_unsettled_amount"`
	TradeSettleDetailList []TradeSettleDetail `json:"trade_settle_detail_list"`
}

// TradeQueryResponse is the answer node of alipay.trade.query.
type TradeQueryResponse struct {
	ResponseHeader
	TradeNo           string           `json:"trade_no"`
	OutTradeNo        string           `json:"out_trade_no"`
	BuyerLogonID      string           `json:"buyer_logon_id"`
	TradeStatus       TradeStatus      `json:"trade_status"`
	TotalAmount       Amount           `json:"total_amount"`
	BuyerPayAmount    Amount           `json:"buyer_pay_amount"`
	PointAmount       Amount           `json:"point_amount"`
	InvoiceAmount     Amount           `json:"invoice_amount"`
	ReceiptAmount     Amount           `json:"receipt_amount"`
	DiscountAmount    Amount           `json:"discount_amount"`
	MdiscountAmount   Amount           `json:"mdiscount_amount"`
	SendPayDate       Time             `json:"send_pay_date"`
	StoreID           string           `json:"store_id"`
	TerminalID        string           `json:"terminal_id"`
	StoreName         string           `json:"store_name"`
	FundBillList      []FundBill       `json:"fund_bill_list"`
	VoucherDetailList []VoucherDetail  `json:"voucher_detail_list"`
	BuyerUserID       string           `json:"buyer_user_id"`
	BuyerOpenID       string           `json:"buyer_open_id"`
	BuyerUserType     string           `json:"buyer_user_type"`
	TradeSettleInfo   *TradeSettleInfo `json:"trade_settle_info"`
	PassbackParams    string           `json:"passback_params"`
}

// TradeQuery asks for a trade's state. A trade Alipay has never seen (or a precreate QR
// nobody scanned) answers an *Error with sub_code ACQ.TRADE_NOT_EXIST.
func (c *Client) TradeQuery(ctx context.Context, req *TradeQueryRequest, opts ...CallOption) (*TradeQueryResponse, error) {
	if err := checkTradeRef(req.TradeNo, req.OutTradeNo); err != nil {
		return nil, err
	}
	var out TradeQueryResponse
	return &out, c.typed(ctx, MethodTradeQuery, req, &out, opts)
}

// TradeRef names a trade by Alipay's trade_no or the merchant's out_trade_no.
type TradeRef struct {
	OutTradeNo string `json:"out_trade_no,omitempty"`
	TradeNo    string `json:"trade_no,omitempty"`
}

// TradeCancelResponse is the answer node of alipay.trade.cancel.
type TradeCancelResponse struct {
	ResponseHeader
	TradeNo    string `json:"trade_no"`
	OutTradeNo string `json:"out_trade_no"`
	// RetryFlag "Y" means the cancel did not complete and must be retried.
	RetryFlag string `json:"retry_flag"`
	// Action is "close" (an unpaid trade was closed) or "refund" (a paid one was
	// refunded in full); empty when there was nothing to cancel.
	Action       string `json:"action"`
	GmtRefundPay Time   `json:"gmt_refund_pay"`
}

// Retry reports whether Alipay asks for the cancel to be repeated.
func (r *TradeCancelResponse) Retry() bool { return r.RetryFlag == "Y" }

// TradeCancel reverses a trade whose outcome is unknown: closes it if unpaid, refunds
// it if paid. Use it only for the unknown-result path of barcode payment; refunds of
// known payments go through TradeRefund. An error with Retry semantics is surfaced as
// a response with RetryFlag "Y" together with the *Error.
func (c *Client) TradeCancel(ctx context.Context, ref TradeRef, opts ...CallOption) (*TradeCancelResponse, error) {
	if err := checkTradeRef(ref.TradeNo, ref.OutTradeNo); err != nil {
		return nil, err
	}
	var out TradeCancelResponse
	err := c.typed(ctx, MethodTradeCancel, ref, &out, opts)
	return &out, err
}

// TradeCloseRequest is the biz_content of alipay.trade.close.
type TradeCloseRequest struct {
	OutTradeNo string `json:"out_trade_no,omitempty"`
	TradeNo    string `json:"trade_no,omitempty"`
	OperatorID string `json:"operator_id,omitempty"`
}

// TradeCloseResponse is the answer node of alipay.trade.close.
type TradeCloseResponse struct {
	ResponseHeader
	TradeNo    string `json:"trade_no"`
	OutTradeNo string `json:"out_trade_no"`
}

// TradeClose closes an unpaid (WAIT_BUYER_PAY) trade.
func (c *Client) TradeClose(ctx context.Context, req *TradeCloseRequest, opts ...CallOption) (*TradeCloseResponse, error) {
	if err := checkTradeRef(req.TradeNo, req.OutTradeNo); err != nil {
		return nil, err
	}
	var out TradeCloseResponse
	return &out, c.typed(ctx, MethodTradeClose, req, &out, opts)
}

// RefundRoyalty returns part of a profit split with a refund.
type RefundRoyalty struct {
	RoyaltyType  string `json:"royalty_type,omitempty"`
	TransOut     string `json:"trans_out,omitempty"`
	TransOutType string `json:"trans_out_type,omitempty"`
	TransInType  string `json:"trans_in_type,omitempty"`
	TransIn      string `json:"trans_in,omitempty"`
	Amount       Amount `json:"amount,omitempty"`
	Desc         string `json:"desc,omitempty"`
}

// TradeRefundRequest is the biz_content of alipay.trade.refund.
type TradeRefundRequest struct {
	OutTradeNo   string `json:"out_trade_no,omitempty"`
	TradeNo      string `json:"trade_no,omitempty"`
	RefundAmount Amount `json:"refund_amount"`
	// OutRequestNo identifies this refund. Always set it: retrying with the same number
	// refunds at most once, and a partial refund requires it.
	OutRequestNo            string          `json:"out_request_no"`
	RefundReason            string          `json:"refund_reason,omitempty"`
	OperatorID              string          `json:"operator_id,omitempty"`
	StoreID                 string          `json:"store_id,omitempty"`
	TerminalID              string          `json:"terminal_id,omitempty"`
	GoodsDetail             []GoodsDetail   `json:"goods_detail,omitempty"`
	RefundRoyaltyParameters []RefundRoyalty `json:"refund_royalty_parameters,omitempty"`
	QueryOptions            []string        `json:"query_options,omitempty"`
}

// TradeRefundResponse is the answer node of alipay.trade.refund.
type TradeRefundResponse struct {
	ResponseHeader
	TradeNo      string `json:"trade_no"`
	OutTradeNo   string `json:"out_trade_no"`
	BuyerLogonID string `json:"buyer_logon_id"`
	// FundChange "Y": this call moved money; "N": an earlier call with the same
	// out_request_no already did.
	FundChange           string     `json:"fund_change"`
	RefundFee            Amount     `json:"refund_fee"` // cumulative over the trade
	GmtRefundPay         Time       `json:"gmt_refund_pay"`
	RefundDetailItemList []FundBill `json:"refund_detail_item_list"`
	StoreName            string     `json:"store_name"`
	BuyerUserID          string     `json:"buyer_user_id"`
	BuyerOpenID          string     `json:"buyer_open_id"`
	SendBackFee          Amount     `json:"send_back_fee"`
}

// TradeRefund refunds all or part of a paid trade. On an unknown outcome, retry with the
// same OutRequestNo or confirm with TradeFastpayRefundQuery.
func (c *Client) TradeRefund(ctx context.Context, req *TradeRefundRequest, opts ...CallOption) (*TradeRefundResponse, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var out TradeRefundResponse
	return &out, c.typed(ctx, MethodTradeRefund, req, &out, opts)
}

// Validate reports what Alipay would refuse in the request (see TradePayRequest.Validate).
func (r *TradeRefundRequest) Validate() error {
	if err := checkTradeRef(r.TradeNo, r.OutTradeNo); err != nil {
		return err
	}
	if err := checkAmount("refund_amount", r.RefundAmount); err != nil {
		return err
	}
	if !requestNoPatten.MatchString(r.OutRequestNo) {
		return invalid("out_request_no %q must be 1–64 letters, digits, '_', '-' or '.'; set it so retries refund only once", r.OutRequestNo)
	}
	if err := checkValues(value{LimitRefundReason, r.RefundReason}, value{LimitOperatorID, r.OperatorID},
		value{LimitStoreID, r.StoreID}, value{LimitTerminalID, r.TerminalID}); err != nil {
		return err
	}
	return checkGoods(r.GoodsDetail)
}

// RefundQueryRequest is the biz_content of alipay.trade.fastpay.refund.query.
type RefundQueryRequest struct {
	OutTradeNo   string   `json:"out_trade_no,omitempty"`
	TradeNo      string   `json:"trade_no,omitempty"`
	OutRequestNo string   `json:"out_request_no"`
	QueryOptions []string `json:"query_options,omitempty"`
}

// RefundStatusSuccess is the only refund_status Alipay reports.
const RefundStatusSuccess = "REFUND_SUCCESS"

// RefundQueryResponse is the answer node of alipay.trade.fastpay.refund.query.
type RefundQueryResponse struct {
	ResponseHeader
	TradeNo              string     `json:"trade_no"`
	OutTradeNo           string     `json:"out_trade_no"`
	OutRequestNo         string     `json:"out_request_no"`
	RefundReason         string     `json:"refund_reason"`
	TotalAmount          Amount     `json:"total_amount"`
	RefundAmount         Amount     `json:"refund_amount"`
	RefundStatus         string     `json:"refund_status"`
	GmtRefundPay         Time       `json:"gmt_refund_pay"`
	RefundDetailItemList []FundBill `json:"refund_detail_item_list"`
	SendBackFee          Amount     `json:"send_back_fee"`
	ErrorCode            string     `json:"error_code"`
}

// Refunded reports whether the refund took place. Alipay answers 10000 with no
// refund_status for a refund it never received or that failed (docs/alipay-protocol.md §6.8), so
// success of the call alone means nothing.
func (r *RefundQueryResponse) Refunded() bool { return r.RefundStatus == RefundStatusSuccess }

// TradeFastpayRefundQuery asks whether a refund happened.
func (c *Client) TradeFastpayRefundQuery(ctx context.Context, req *RefundQueryRequest, opts ...CallOption) (*RefundQueryResponse, error) {
	if err := checkTradeRef(req.TradeNo, req.OutTradeNo); err != nil {
		return nil, err
	}
	if req.OutRequestNo == "" {
		return nil, invalid("out_request_no is required (for a refund sent without one, it is the out_trade_no)")
	}
	var out RefundQueryResponse
	return &out, c.typed(ctx, MethodTradeFastpayRefundQry, req, &out, opts)
}

// SettleRoyalty is one transfer of alipay.trade.order.settle.
type SettleRoyalty struct {
	RoyaltyType      string `json:"royalty_type,omitempty"`
	TransOut         string `json:"trans_out,omitempty"`
	TransOutType     string `json:"trans_out_type,omitempty"`
	TransInType      string `json:"trans_in_type,omitempty"`
	TransIn          string `json:"trans_in"`
	TransInName      string `json:"trans_in_name,omitempty"`
	Amount           Amount `json:"amount,omitempty"`
	AmountPercentage int64  `json:"amount_percentage,omitempty"`
	Desc             string `json:"desc,omitempty"`
	RoyaltyScene     string `json:"royalty_scene,omitempty"`
}

// SettleExtendParams carries royalty_finish.
type SettleExtendParams struct {
	RoyaltyFinish string `json:"royalty_finish,omitempty"`
}

// TradeOrderSettleRequest is the biz_content of alipay.trade.order.settle.
type TradeOrderSettleRequest struct {
	OutRequestNo      string              `json:"out_request_no"`
	TradeNo           string              `json:"trade_no"`
	RoyaltyParameters []SettleRoyalty     `json:"royalty_parameters,omitempty"`
	OperatorID        string              `json:"operator_id,omitempty"`
	ExtendParams      *SettleExtendParams `json:"extend_params,omitempty"`
	RoyaltyMode       string              `json:"royalty_mode,omitempty"`
}

// TradeOrderSettleResponse is the answer node of alipay.trade.order.settle.
type TradeOrderSettleResponse struct {
	ResponseHeader
	TradeNo  string `json:"trade_no"`
	SettleNo string `json:"settle_no"`
}

var settleNoPattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)

// TradeOrderSettle splits a paid trade's funds (asynchronous profit sharing).
func (c *Client) TradeOrderSettle(ctx context.Context, req *TradeOrderSettleRequest, opts ...CallOption) (*TradeOrderSettleResponse, error) {
	if !settleNoPattern.MatchString(req.OutRequestNo) {
		return nil, invalid("out_request_no %q must be 1–32 letters, digits or '_'", req.OutRequestNo)
	}
	if req.TradeNo == "" {
		return nil, invalid("trade_no (Alipay's, not out_trade_no) is required")
	}
	for i, r := range req.RoyaltyParameters {
		if r.Amount == 0 && r.AmountPercentage == 0 {
			return nil, invalid("royalty_parameters[%d] needs amount or amount_percentage", i)
		}
		if r.Amount != 0 {
			if err := checkAmount(fmt.Sprintf("royalty_parameters[%d].amount", i), r.Amount); err != nil {
				return nil, err
			}
		}
	}
	var out TradeOrderSettleResponse
	return &out, c.typed(ctx, MethodTradeOrderSettle, req, &out, opts)
}

// typed calls method and decodes a successful node into out.
func (c *Client) typed(ctx context.Context, method string, biz, out any, opts []CallOption) error {
	resp, err := c.do(ctx, method, biz, opts)
	if err != nil {
		return err
	}
	if !resp.Success() {
		_ = jsonUnmarshal(resp.Content, out) // best effort: e.g. cancel's retry_flag rides on failures
		return resp.Err()
	}
	return decodeNode(resp, out)
}

// decodeNode decodes the verified node; failures (an amount Alipay would never send)
// are unknown outcomes, not failures, since the call itself went through.
func decodeNode(resp *Response, out any) error {
	if out == nil {
		return nil
	}
	if err := jsonUnmarshal(resp.Content, out); err != nil {
		return &UnknownError{Method: resp.Method, Reason: "the verified answer does not decode", Err: err}
	}
	return nil
}
