package alipaysim

import (
	"crypto/rsa"
	"encoding/json"
	"slices"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Trade states, as Alipay names them (docs/alipay-protocol.md §7.1).
const (
	WaitBuyerPay  = "WAIT_BUYER_PAY"
	TradeSuccess  = "TRADE_SUCCESS"
	TradeClosed   = "TRADE_CLOSED"
	TradeFinished = "TRADE_FINISHED"
)

// App is a merchant application registered with the sandbox, as on Alipay's console:
// the developer uploads the app public key and receives an app id; the merchant account
// behind it (seller_id) holds the money the app collects.
type App struct {
	AppID     string        `json:"app_id"`
	PublicKey string        `json:"app_public_key"` // base64 SPKI
	NotifyURL string        `json:"notify_url,omitempty"`
	SellerID  string        `json:"seller_id"`
	Balance   f2fpay.Amount `json:"balance"`
	CreatedAt time.Time     `json:"created_at"`

	pub *rsa.PublicKey
}

// Buyer is a sandbox Alipay user.
type Buyer struct {
	UserID      string        `json:"user_id"`
	OpenID      string        `json:"open_id"`
	LogonID     string        `json:"logon_id"`
	Balance     f2fpay.Amount `json:"balance"`
	PayPassword string        `json:"pay_password,omitempty"`
	// PasswordThreshold, when set, is the largest amount paid without the buyer's
	// confirmation; above it trade.pay answers 10003 and waits.
	PasswordThreshold *f2fpay.Amount `json:"password_threshold,omitempty"`
	Vouchers          []Voucher      `json:"vouchers,omitempty"`
	CreatedAt         time.Time      `json:"created_at"`
}

// Voucher is a coupon a buyer holds. The merchant and Alipay each fund part of it; the
// part the merchant funds is what makes receipt_amount smaller than total_amount.
type Voucher struct {
	ID                 string        `json:"voucher_id"`
	Name               string        `json:"name"`
	Type               string        `json:"type"` // ALIPAY_FIX_VOUCHER, ALIPAY_CASH_VOUCHER, ...
	Amount             f2fpay.Amount `json:"amount"`
	MerchantContribute f2fpay.Amount `json:"merchant_contribute"`
	OtherContribute    f2fpay.Amount `json:"other_contribute"`
}

// Code is a payment code (barcode/wave) or a face token, issued to a buyer.
type Code struct {
	Code      string     `json:"code"`
	Kind      string     `json:"kind"` // "payment" or "face"
	UserID    string     `json:"user_id"`
	IssuedAt  time.Time  `json:"issued_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
	// SellerID and ZimID bind a face token from a face session (face.go) to the
	// merchant whose session produced it.
	SellerID string `json:"seller_id,omitempty"`
	ZimID    string `json:"zim_id,omitempty"`
}

// FundBill is one funding channel of a payment.
type FundBill struct {
	Amount      f2fpay.Amount `json:"amount"`
	FundChannel string        `json:"fund_channel"`
}

// Refund is one refund request of a trade.
type Refund struct {
	OutRequestNo string        `json:"out_request_no"`
	Amount       f2fpay.Amount `json:"refund_amount"`
	Reason       string        `json:"refund_reason,omitempty"`
	At           time.Time     `json:"gmt_refund_pay"`
	BuyerBack    f2fpay.Amount `json:"buyer_back"`   // returned to the buyer's balance
	SellerDebit  f2fpay.Amount `json:"seller_debit"` // taken from the merchant's balance
	ByCancel     bool          `json:"by_cancel,omitempty"`
	OperatorID   string        `json:"operator_id,omitempty"`
	StoreID      string        `json:"store_id,omitempty"`
	TerminalID   string        `json:"terminal_id,omitempty"`
}

// Trade is an Alipay trade with everything the sandbox knows about it.
type Trade struct {
	TradeNo     string        `json:"trade_no"`
	OutTradeNo  string        `json:"out_trade_no"`
	AppID       string        `json:"app_id"`
	SellerID    string        `json:"seller_id"`
	Method      string        `json:"method"` // the method that created it
	Scene       string        `json:"scene,omitempty"`
	ProductCode string        `json:"product_code,omitempty"`
	Subject     string        `json:"subject"`
	Body        string        `json:"body,omitempty"`
	Total       f2fpay.Amount `json:"total_amount"`
	Status      string        `json:"trade_status"`
	// Visible is false while a precreated QR has not been scanned (the real gateway
	// answers TRADE_NOT_EXIST then) and for out_trade_nos burned by cancel/close before
	// any trade existed.
	Visible bool   `json:"visible"`
	QRCode  string `json:"qr_code,omitempty"`
	QRToken string `json:"qr_token,omitempty"`

	BuyerID      string `json:"buyer_user_id,omitempty"`
	BuyerOpenID  string `json:"buyer_open_id,omitempty"`
	BuyerLogonID string `json:"buyer_logon_id,omitempty"`

	BuyerPay  f2fpay.Amount   `json:"buyer_pay_amount"`
	Receipt   f2fpay.Amount   `json:"receipt_amount"`
	Invoice   f2fpay.Amount   `json:"invoice_amount"`
	Point     f2fpay.Amount   `json:"point_amount"`
	Discount  f2fpay.Amount   `json:"discount_amount"`
	MDiscount f2fpay.Amount   `json:"mdiscount_amount"`
	FundBills []FundBill      `json:"fund_bill_list,omitempty"`
	Vouchers  []Voucher       `json:"voucher_detail_list,omitempty"`
	RefundFee f2fpay.Amount   `json:"refund_fee"`
	Refunds   []Refund        `json:"refunds,omitempty"`
	Passback  string          `json:"passback_params,omitempty"`
	NotifyURL string          `json:"notify_url,omitempty"`
	SignType  string          `json:"sign_type"`
	StoreID   string          `json:"store_id,omitempty"`
	Terminal  string          `json:"terminal_id,omitempty"`
	Operator  string          `json:"operator_id,omitempty"`
	Goods     json.RawMessage `json:"goods_detail,omitempty"`
	Extend    json.RawMessage `json:"extend_params,omitempty"`
	// SysServiceProviderID is extend_params.sys_service_provider_id, the ISV that earns a
	// rebate on this trade.
	SysServiceProviderID string `json:"sys_service_provider_id,omitempty"`
	// ISVAppID is the service provider's app that created the trade with the merchant's
	// app_auth_token (isv.go); AppID and SellerID are the merchant's.
	ISVAppID string `json:"isv_app_id,omitempty"`

	// Profit sharing (settle.go): the plan sent with the trade, whether the receipt is
	// frozen for alipay.trade.order.settle, the movements made and the settle requests.
	// SellerParam is the seller_id the request carried ("" when none): collection
	// restriction (收款限制) names the operator's PID on every trade.
	SellerParam    string            `json:"seller_id_param,omitempty"`
	RoyaltyPlan    []RoyaltyItem     `json:"royalty_plan,omitempty"`
	RoyaltyFreeze  bool              `json:"royalty_freeze,omitempty"`
	Royalties      []RoyaltyTransfer `json:"royalties,omitempty"`
	Settles        []SettleRequest   `json:"settles,omitempty"`
	SettleFinished bool              `json:"settle_finished,omitempty"`

	CreatedAt time.Time  `json:"gmt_create"`
	PaidAt    *time.Time `json:"gmt_payment,omitempty"`
	ClosedAt  *time.Time `json:"gmt_close,omitempty"`
	ExpiresAt time.Time  `json:"expires_at"`

	// Pending says why an unpaid trade waits: "password" (above the buyer's threshold),
	// "fault" (a pay_pending fault resolves it at ResolveAt to ResolveTo), "buyer" (a
	// created or scanned trade waiting for the wallet).
	Pending   string     `json:"pending,omitempty"`
	ResolveAt *time.Time `json:"resolve_at,omitempty"`
	ResolveTo string     `json:"resolve_to,omitempty"`
	// CancelAction is what a cancel did ("close" or "refund"), repeated on a retried cancel.
	CancelAction string `json:"cancel_action,omitempty"`
	// AgreementNo is the agreement an agreement charge (商家扣款) drew on (agreement.go).
	AgreementNo string `json:"agreement_no,omitempty"`
}

func (t *Trade) clone() *Trade {
	c := *t
	c.FundBills = slices.Clone(t.FundBills)
	c.Vouchers = slices.Clone(t.Vouchers)
	c.Refunds = slices.Clone(t.Refunds)
	c.RoyaltyPlan = slices.Clone(t.RoyaltyPlan)
	c.Royalties = slices.Clone(t.Royalties)
	c.Settles = slices.Clone(t.Settles)
	return &c
}

func (t *Trade) refund(outRequestNo string) *Refund {
	for i := range t.Refunds {
		if t.Refunds[i].OutRequestNo == outRequestNo {
			return &t.Refunds[i]
		}
	}
	return nil
}

func (b *Buyer) clone() *Buyer {
	c := *b
	c.Vouchers = slices.Clone(b.Vouchers)
	return &c
}

func (a *App) clone() *App { c := *a; return &c }

func (c *Code) clone() *Code { d := *c; return &d }

// Notification is one asynchronous notification (one notify_id) and its delivery
// attempts.
type Notification struct {
	NotifyID   string `json:"notify_id"`
	AppID      string `json:"app_id"`
	TradeNo    string `json:"trade_no"`
	OutTradeNo string `json:"out_trade_no"`
	Status     string `json:"trade_status"`
	// AgreementNo is set on dut_user_sign / dut_user_unsign (TradeNo is empty then).
	AgreementNo string            `json:"agreement_no,omitempty"`
	URL         string            `json:"notify_url"`
	SignType    string            `json:"sign_type"`
	Params      map[string]string `json:"params"` // every field except notify_time, sign
	CreatedAt   time.Time         `json:"created_at"`
	NextAt      *time.Time        `json:"next_attempt_at,omitempty"`
	Delivered   bool              `json:"delivered"`
	GaveUp      bool              `json:"gave_up,omitempty"`
	Dropped     bool              `json:"dropped,omitempty"`   // a notify_drop fault: never sent
	Duplicate   bool              `json:"duplicate,omitempty"` // a notify_duplicate fault: each attempt is sent twice
	HeldFor     string            `json:"held_for,omitempty"`  // a notify_reorder fault: waits for this later notify_id
	Attempts    []Attempt         `json:"attempts"`
	Seq         uint64            `json:"seq"`
}

// Attempt is one POST of a notification.
type Attempt struct {
	At       time.Time `json:"at"`
	Status   int       `json:"http_status,omitempty"`
	Response string    `json:"response,omitempty"`
	Error    string    `json:"error,omitempty"`
	Success  bool      `json:"success"`
}

func (n *Notification) clone() *Notification {
	c := *n
	c.Attempts = slices.Clone(n.Attempts)
	return &c
}
