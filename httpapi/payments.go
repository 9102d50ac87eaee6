package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
)

// paymentRequest is the body of POST /v1/payments/{barcode,qr,jsapi}. Amounts are
// strings ("88.88"), never JSON numbers, so no float in any client library rounds them.
type paymentRequest struct {
	AuthCode    string `json:"auth_code"`
	BuyerID     string `json:"buyer_id"`
	Amount      string `json:"amount"`
	Subject     string `json:"subject"`
	Body        string `json:"body"`
	Scene       string `json:"scene"`
	OperatorID  string `json:"operator_id"`
	WaitSeconds *int   `json:"wait_seconds"`
	// PayTimeoutSeconds is how long the buyer has to pay (confirm in the wallet, scan
	// the QR) before the order is cancelled or closed through Alipay; default
	// wait_seconds for barcode payments, else the service's policy.
	PayTimeoutSeconds *int   `json:"pay_timeout_seconds"`
	OutTradeNo        string `json:"out_trade_no"`
}

// Payment is an order as the terminal API shows it.
type Payment struct {
	OutTradeNo     string        `json:"out_trade_no"`
	TradeNo        string        `json:"trade_no,omitempty"`
	Kind           string        `json:"kind"`
	State          string        `json:"state"`
	Final          bool          `json:"final"`
	Message        string        `json:"message"`
	TotalAmount    f2fpay.Amount `json:"total_amount"`
	ReceiptAmount  f2fpay.Amount `json:"receipt_amount"`
	BuyerPayAmount f2fpay.Amount `json:"buyer_pay_amount"`
	DiscountAmount f2fpay.Amount `json:"discount_amount"`
	RefundedAmount f2fpay.Amount `json:"refunded_amount"`
	Subject        string        `json:"subject"`
	QRCode         string        `json:"qr_code,omitempty"`
	BuyerLogonID   string        `json:"buyer_logon_id,omitempty"`
	AuthCodeMasked string        `json:"auth_code_masked,omitempty"`
	FailCode       string        `json:"fail_code,omitempty"`
	FailReason     string        `json:"fail_reason,omitempty"`
	CancelAction   string        `json:"cancel_action,omitempty"`
	PayDeadline    *time.Time    `json:"pay_deadline,omitempty"`
	PaidAt         *time.Time    `json:"paid_at,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
	// Promotions of a paid payment: the merchant-funded part of DiscountAmount, and
	// Alipay's fund_bill_list and voucher_detail_list.
	MerchantDiscountAmount f2fpay.Amount     `json:"merchant_discount_amount"`
	FundBills              []f2fpay.FundBill `json:"fund_bill_list,omitempty"`
	Vouchers               []f2fpay.Voucher  `json:"voucher_detail_list,omitempty"`
	// Receipt fields: who took the payment, and when it was paid in Beijing time
	// ("2026-03-14 12:05:06", what a Chinese receipt prints), absent until paid.
	MerchantName  string `json:"merchant_name,omitempty"`
	StoreName     string `json:"store_name,omitempty"`
	StoreCode     string `json:"store_code,omitempty"`
	TerminalName  string `json:"terminal_name,omitempty"`
	TerminalCode  string `json:"terminal_code,omitempty"`
	PaidAtBeijing string `json:"paid_at_beijing,omitempty"`
}

// showPayment is o as the terminal API shows it, its message in l; s.payment adds
// the receipt fields.
func showPayment(o *f2fpay.Order, l lang) Payment {
	return Payment{
		OutTradeNo: o.OutTradeNo, TradeNo: o.TradeNo, Kind: string(o.Kind), State: string(o.State),
		Final: o.State.Final(), Message: stateMessage(o, l),
		TotalAmount: o.TotalAmount, ReceiptAmount: o.ReceiptAmount, BuyerPayAmount: o.BuyerPayAmount,
		DiscountAmount: o.DiscountAmount, RefundedAmount: o.RefundedAmount, Subject: o.Subject,
		QRCode: o.QRCode, BuyerLogonID: o.BuyerLogonID, AuthCodeMasked: o.AuthCodeMasked,
		FailCode: o.FailCode, FailReason: o.FailReason, CancelAction: o.CancelAction,
		PayDeadline: f2fpay.PublicTime(o.PayDeadline), PaidAt: f2fpay.PublicTime(o.PaidAt), CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(),
		MerchantDiscountAmount: o.MerchantDiscountAmount, FundBills: o.FundBills, Vouchers: o.Vouchers,
	}
}

// outTradeNoFor derives the out_trade_no of a payment the terminal did not number
// from its Idempotency-Key. A retry whose stored answer was lost (the first attempt
// ended in a 5xx) then reaches the engine with the same out_trade_no, which Alipay and
// the engine pay at most once — so no idempotency failure can charge a buyer twice.
func outTradeNoFor(t *f2fpay.Terminal, key string) string {
	h := sha256.Sum256([]byte(strconv.FormatInt(t.ID, 10) + "\x00" + key))
	return "T" + strconv.FormatInt(t.ID, 10) + "K" + hex.EncodeToString(h[:12])
}

// maxPayTimeoutSeconds bounds pay_timeout_seconds: a day, well inside Alipay's 15-day
// timeout_express, and longer than any buyer stands at a till.
const maxPayTimeoutSeconds = 24 * 3600

// paymentFields are the fields every payment request has, checked.
type paymentFields struct {
	amount f2fpay.Amount
	// outTradeNo is the terminal's number, or one derived from its Idempotency-Key.
	outTradeNo string
	// wait and payTimeout are wait_seconds and pay_timeout_seconds; 0 when absent.
	wait, payTimeout time.Duration
}

// commonFields validates the fields every payment has and fills the order number.
func (s *Server) commonFields(r *http.Request, req *paymentRequest) (paymentFields, error) {
	amount, err := parseAmountField("amount", req.Amount)
	if err != nil {
		return paymentFields{}, err
	}
	if err := checkAlipayText("subject", req.Subject, true, alipay.LimitSubject); err != nil {
		return paymentFields{}, err
	}
	if err := checkAlipayText("body", req.Body, false, alipay.LimitBody); err != nil {
		return paymentFields{}, err
	}
	if err := checkAlipayText("operator_id", req.OperatorID, false, alipay.LimitOperatorID); err != nil {
		return paymentFields{}, err
	}
	if err := f2fpay.CheckID("out_trade_no", req.OutTradeNo, false, alipay.LimitOutTradeNo.Max); err != nil {
		return paymentFields{}, err
	}
	var wait time.Duration
	if req.WaitSeconds != nil {
		if *req.WaitSeconds < 1 || *req.WaitSeconds > int(s.maxWait/time.Second) {
			return paymentFields{}, f2fpay.Errorf(f2fpay.EINVALID, "wait_seconds must be between 1 and %d: how long the terminal waits for the outcome", int(s.maxWait/time.Second))
		}
		wait = time.Duration(*req.WaitSeconds) * time.Second
	}
	var payTimeout time.Duration
	if req.PayTimeoutSeconds != nil {
		if *req.PayTimeoutSeconds < 1 || *req.PayTimeoutSeconds > maxPayTimeoutSeconds {
			return paymentFields{}, f2fpay.Errorf(f2fpay.EINVALID, "pay_timeout_seconds must be between 1 and %d (a day): how many seconds the buyer has to pay", maxPayTimeoutSeconds)
		}
		payTimeout = time.Duration(*req.PayTimeoutSeconds) * time.Second
	}
	no := req.OutTradeNo
	if no == "" {
		no = outTradeNoFor(terminalOf(r.Context()), r.Header.Get("Idempotency-Key"))
	}
	infoOf(r.Context()).outTradeNo = no
	return paymentFields{amount: amount, outTradeNo: no, wait: wait, payTimeout: payTimeout}, nil
}

// answerWithin returns a context that ends a little before the terminal's own
// deadline, so the answer (perhaps "still WAITING, ask again") reaches it in time.
func answerWithin(ctx context.Context, wait time.Duration) (context.Context, context.CancelFunc) {
	margin := min(wait/10, 2*time.Second)
	return context.WithTimeout(ctx, wait-margin)
}

func (s *Server) postBarcode(w http.ResponseWriter, r *http.Request) error {
	var req paymentRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.BuyerID != "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "buyer_id belongs to JSAPI payments (POST /v1/payments/jsapi); a barcode payment takes auth_code")
	}
	var scene string
	switch req.Scene {
	case "", "barcode":
		scene = alipay.SceneBarCode
		if req.AuthCode == "" {
			return f2fpay.Errorf(f2fpay.EINVALID, "auth_code is required: the digits of the buyer's payment code as scanned")
		}
	case "face":
		scene = alipay.SceneSecurityCode
		if req.AuthCode == "" {
			return f2fpay.Errorf(f2fpay.EINVALID, "auth_code is required: the face token (fp…) from the face-payment device")
		}
	default:
		return f2fpay.Errorf(f2fpay.EINVALID, "scene %q is not known; use \"barcode\" (payment code) or \"face\" (face payment)", req.Scene)
	}
	f, err := s.commonFields(r, &req)
	if err != nil {
		return err
	}
	payTimeout := f.payTimeout
	if payTimeout == 0 {
		payTimeout = f.wait
	}
	t := terminalOf(r.Context())
	reqWait := f.wait
	if reqWait == 0 {
		reqWait = min(30*time.Second, s.maxWait)
	}
	ctx, cancel := answerWithin(r.Context(), reqWait)
	defer cancel()
	o, err := s.engine.PayBarcode(ctx, payment.PayRequest{
		TerminalID: t.ID, AuthCode: req.AuthCode, Amount: f.amount, Subject: req.Subject, Body: req.Body,
		Scene: scene, OperatorID: req.OperatorID, Deadline: payTimeout, OutTradeNo: f.outTradeNo,
		RequestKey: infoOf(r.Context()).requestKey,
	})
	return s.answerCreated(w, r, req.OutTradeNo == "", f, o, err)
}

func (s *Server) postQR(w http.ResponseWriter, r *http.Request) error {
	var req paymentRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.AuthCode != "" || req.BuyerID != "" || req.Scene != "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "a QR payment takes no auth_code, buyer_id or scene: the buyer scans the QR code it returns")
	}
	f, err := s.commonFields(r, &req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), min(30*time.Second, s.maxWait))
	defer cancel()
	o, err := s.engine.PrecreateQR(ctx, payment.QRRequest{
		TerminalID: terminalOf(r.Context()).ID, Amount: f.amount, Subject: req.Subject, Body: req.Body,
		OperatorID: req.OperatorID, Deadline: f.payTimeout, OutTradeNo: f.outTradeNo,
		RequestKey: infoOf(r.Context()).requestKey,
	})
	return s.answerCreated(w, r, req.OutTradeNo == "", f, o, err)
}

func (s *Server) postJSAPI(w http.ResponseWriter, r *http.Request) error {
	var req paymentRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if req.AuthCode != "" || req.Scene != "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "a JSAPI payment takes buyer_id, not auth_code or scene")
	}
	if !f2fpay.IsPID(req.BuyerID) {
		return f2fpay.Errorf(f2fpay.EINVALID, "buyer_id %q is not an Alipay user id: send the member's user id (16 digits starting with 2088) from the OAuth login", req.BuyerID)
	}
	f, err := s.commonFields(r, &req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), min(30*time.Second, s.maxWait))
	defer cancel()
	o, err := s.engine.CreateJSAPI(ctx, payment.JSAPIRequest{
		TerminalID: terminalOf(r.Context()).ID, BuyerID: req.BuyerID, Amount: f.amount, Subject: req.Subject,
		Body: req.Body, OperatorID: req.OperatorID, Deadline: f.payTimeout, OutTradeNo: f.outTradeNo,
		RequestKey: infoOf(r.Context()).requestKey,
	})
	return s.answerCreated(w, r, req.OutTradeNo == "", f, o, err)
}

// answerCreated answers a payment creation. An order that exists is always answered
// with its state (even with an error beside it: PrecreateQR returns the order and
// EUNAVAILABLE when Alipay's answer was lost), so the terminal learns the out_trade_no
// to ask about.
func (s *Server) answerCreated(w http.ResponseWriter, r *http.Request, derived bool, f paymentFields, o *f2fpay.Order, err error) error {
	if err != nil && derived && f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
		// The key-derived number is taken by an order made before orders kept the
		// request that made them (RequestKey, which the engine matches itself): this is
		// a retry of a request whose answer was not stored. Answer with that order if it
		// is this terminal's.
		t := terminalOf(r.Context())
		if prev, ferr := s.store.FindMerchantOrder(r.Context(), t.AppID, t.MerchantID, f.outTradeNo); ferr == nil && prev.TerminalID == t.ID && prev.TotalAmount == f.amount && prev.RequestKey == "" {
			o, err = prev, nil
		}
	}
	if o == nil {
		return err
	}
	// A QR order without its code (or a JSAPI order without its trade_no) is useless
	// to the terminal: Alipay's answer was lost. The engine closes it at its deadline;
	// the terminal starts a new payment.
	if !o.State.Final() && ((o.Kind == f2fpay.KindQR && o.QRCode == "") || (o.Kind == f2fpay.KindJSAPI && o.TradeNo == "")) {
		return f2fpay.Errorf(f2fpay.EUNAVAILABLE,
			"Alipay did not answer the request for order %s, which will be closed; start a new payment with a new Idempotency-Key", o.OutTradeNo)
	}
	if err != nil {
		s.log.WarnContext(r.Context(), "payment created with an error", append(logAttrs(r), "state", o.State, "err", err.Error())...)
		if f2fpay.ErrorCode(err) != f2fpay.EUNAVAILABLE {
			return err
		}
	}
	writeJSON(w, http.StatusOK, s.payment(r, o))
	return nil
}

// orderFor loads the order named in the path and checks that the terminal may see
// it. Another merchant's order (or another terminal's, unless the merchant lets its
// terminals see all its orders) is "not found", so terminals cannot probe for order
// numbers.
func (s *Server) orderFor(r *http.Request) (*f2fpay.Order, error) {
	no := r.PathValue("out_trade_no")
	infoOf(r.Context()).outTradeNo = no
	if err := f2fpay.CheckID("out_trade_no", no, true, alipay.LimitOutTradeNo.Max); err != nil {
		return nil, err
	}
	t := terminalOf(r.Context())
	o, err := s.findForTerminal(r.Context(), t, no)
	if err != nil {
		if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
			return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no payment %q for this terminal", no)
		}
		return nil, err
	}
	if o.MerchantID != t.MerchantID || (o.TerminalID != t.ID && !s.seesAll(r.Context(), t)) {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no payment %q for this terminal", no)
	}
	return o, nil
}

// findForTerminal looks an order number up where the terminal's numbers live: its
// app and merchant (numbers are unique per app and merchant, docs/orders.md). A merchant-wide terminal also sees
// the orders of its merchant's other apps, when the number is unambiguous there.
func (s *Server) findForTerminal(ctx context.Context, t *f2fpay.Terminal, no string) (*f2fpay.Order, error) {
	o, err := s.store.FindMerchantOrder(ctx, t.AppID, t.MerchantID, no)
	if err == nil || f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND || !s.seesAll(ctx, t) {
		return o, err
	}
	m := t.MerchantID
	os, lerr := s.store.ListOrders(ctx, f2fpay.OrderFilter{MerchantID: &m, OutTradeNo: no, Limit: 2})
	if lerr != nil {
		return nil, lerr
	}
	if len(os) == 1 {
		return os[0], nil
	}
	return nil, err
}

// parseWait reads ?wait=30s (or 30): how long a long-poll may hold the request.
func (s *Server) parseWait(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, f2fpay.Errorf(f2fpay.EINVALID, "wait=%q is not a duration; write it like wait=30s (at most %v)", v, s.maxWait)
		}
		if n < 0 || n > int(s.maxWait/time.Second) {
			return 0, f2fpay.Errorf(f2fpay.EINVALID, "wait=%q must be between 0s and %v", v, s.maxWait)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 || d > s.maxWait {
		return 0, f2fpay.Errorf(f2fpay.EINVALID, "wait=%q must be between 0s and %v", v, s.maxWait)
	}
	return d, nil
}

// getPayment answers a payment's state; with ?wait=30s it is a long-poll that answers
// as soon as the state changes (or the order is final), so a terminal on a weak
// network learns the outcome without hammering the service.
func (s *Server) getPayment(w http.ResponseWriter, r *http.Request) error {
	wait, err := s.parseWait(r.URL.Query().Get("wait"))
	if err != nil {
		return err
	}
	o, err := s.orderFor(r)
	if err != nil {
		return err
	}
	if wait > 0 && !o.State.Final() {
		n, err := s.engine.WaitOrder(r.Context(), o.AppID, o.OutTradeNo, wait)
		if err != nil && r.Context().Err() == nil {
			return err
		}
		if n != nil {
			o = n
		}
	}
	writeJSON(w, http.StatusOK, s.payment(r, o))
	return nil
}

// actionWait bounds how long a cancel or close request waits for Alipay's answer
// before answering with the order as it stands (the engine carries on).
const actionWait = 15 * time.Second

func (s *Server) postCancel(w http.ResponseWriter, r *http.Request) error {
	return s.abandon(w, r, s.engine.Cancel)
}
func (s *Server) postClose(w http.ResponseWriter, r *http.Request) error {
	return s.abandon(w, r, s.engine.Close)
}

func (s *Server) abandon(w http.ResponseWriter, r *http.Request, op func(context.Context, int64, string) (*f2fpay.Order, error)) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(body)) != "" {
		var empty struct{}
		if err := decodeJSON(body, &empty); err != nil {
			return err
		}
	}
	o, err := s.orderFor(r)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), min(actionWait, s.maxWait))
	defer cancel()
	n, err := op(ctx, o.AppID, o.OutTradeNo)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.payment(r, n))
	return nil
}
