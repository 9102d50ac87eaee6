package alipay

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/f2fpay/f2fpay/alipay/money"
)

// Notification is an asynchronous notification (异步通知) from Alipay, verified. Typed
// fields cover trade_status_sync (docs/alipay-protocol.md §8.2); Extra keeps every other field, and
// Values everything exactly as received, so nothing Alipay adds later is lost.
type Notification struct {
	NotifyID   string
	NotifyType string
	NotifyTime Time
	AppID      string
	AuthAppID  string
	Charset    string
	Version    string
	SignType   SignType

	TradeNo      string
	OutTradeNo   string
	OutBizNo     string // the refund request number, on refund notifications
	BuyerID      string
	BuyerLogonID string
	BuyerOpenID  string
	SellerID     string
	SellerEmail  string
	TradeStatus  TradeStatus

	TotalAmount    Amount
	ReceiptAmount  Amount
	InvoiceAmount  Amount
	BuyerPayAmount Amount
	PointAmount    Amount
	RefundFee      Amount // cumulative refunded amount of the trade
	SendBackFee    Amount

	Subject        string
	Body           string
	PassbackParams string

	GmtCreate  Time
	GmtPayment Time
	GmtRefund  Time
	GmtClose   Time

	FundBillList      []FundBill
	VoucherDetailList []VoucherDetail

	// Extra holds the fields not typed above.
	Extra map[string]string
	// Values is the verified form as received.
	Values url.Values
}

// IsRefund reports whether the notification announces a refund (it carries out_biz_no
// and refund_fee): TRADE_SUCCESS with a refund is a partial refund, not a new payment,
// and TRADE_CLOSED with one is a full refund.
func (n *Notification) IsRefund() bool { return n.RefundFee > 0 || !n.GmtRefund.IsZero() }

// ErrNotification is wrapped by every notification that must not be used.
var ErrNotification = errors.New("alipay: invalid notification")

// MaxNotificationBytes bounds a notification body; real ones are a few KiB.
const MaxNotificationBytes = 64 << 10

// ParseNotification verifies a notification's raw form body (what Alipay POSTed) and
// decodes it. Percent-decoding happens exactly once, here.
func (c *Client) ParseNotification(body []byte) (*Notification, error) {
	if len(body) > MaxNotificationBytes {
		return nil, fmt.Errorf("%w: body larger than %d bytes", ErrNotification, MaxNotificationBytes)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: body is not a form: %v", ErrNotification, err)
	}
	return c.VerifyNotification(form)
}

// ParseNotificationRequest reads r's body (bounded) and verifies it. Only the body
// counts: query parameters in the notify URL are not part of what Alipay signs, and
// merging them (as r.ParseForm does) would let anyone add fields.
func (c *Client) ParseNotificationRequest(r *http.Request) (*Notification, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("%w: method %s, Alipay POSTs notifications", ErrNotification, r.Method)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxNotificationBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading body: %v", ErrNotification, err)
	}
	return c.ParseNotification(body)
}

// VerifyNotification verifies form, a notification's decoded parameters, and decodes it.
//
// The signed content is every parameter except sign and sign_type, empty values dropped,
// sorted (docs/alipay-protocol.md §8.3). A few non-trade messages are signed with sign_type kept; that
// form is tried second, as the Node SDK does. Both are content Alipay signed, so trying
// both never accepts anything Alipay did not write. A notification is for this client's
// app: app_id must match (auth_app_id differs for a service provider's merchants).
func (c *Client) VerifyNotification(form url.Values) (*Notification, error) {
	sign := form.Get("sign")
	if sign == "" {
		return nil, fmt.Errorf("%w: no sign parameter (not from Alipay)", ErrNotification)
	}
	st := SignType(form.Get("sign_type"))
	if st == "" {
		st = c.signType
	}
	key, err := c.notificationKey(form.Get("alipay_cert_sn"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotification, err)
	}
	buf := make([]byte, 0, 1024)
	buf = AppendSignContent(buf, form, "sign", "sign_type")
	if err := VerifySignature(key, st, buf, sign); err != nil {
		buf = AppendSignContent(buf[:0], form, "sign")
		if VerifySignature(key, st, buf, sign) != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotification, err)
		}
	}
	if app := form.Get("app_id"); app != c.appID {
		return nil, fmt.Errorf("%w: app_id %q is not this client's app %q", ErrNotification, app, c.appID)
	}
	n, err := decodeNotification(form)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotification, err)
	}
	n.SignType = st
	return n, nil
}

func (c *Client) notificationKey(sn string) (*rsa.PublicKey, error) {
	if !c.certMode {
		return c.alipayKey, nil
	}
	if sn == "" {
		// Notifications carry no alipay_cert_sn in practice (docs/alipay-protocol.md §11.10): use the
		// configured Alipay certificate.
		return c.configuredCertKey, nil
	}
	k, ok := c.alipayCerts.Load(sn)
	if !ok {
		return nil, fmt.Errorf("unknown alipay_cert_sn %s", sn)
	}
	return k.(*rsa.PublicKey), nil
}

// AckNotification answers Alipay's notification: exactly "success", which stops the
// retries. Call it only after the notification's effects are committed; until then
// answer anything else (e.g. http.Error) and Alipay will retry.
func AckNotification(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "success")
}

// notificationFields are the typed fields; everything else goes to Extra.
var notificationFields = map[string]bool{
	"notify_id": true, "notify_type": true, "notify_time": true, "app_id": true, "auth_app_id": true,
	"charset": true, "version": true, "sign": true, "sign_type": true, "trade_no": true,
	"out_trade_no": true, "out_biz_no": true, "buyer_id": true, "buyer_logon_id": true,
	"buyer_open_id": true, "seller_id": true, "seller_email": true, "trade_status": true,
	"total_amount": true, "receipt_amount": true, "invoice_amount": true, "buyer_pay_amount": true,
	"point_amount": true, "refund_fee": true, "send_back_fee": true, "subject": true, "body": true,
	"passback_params": true, "gmt_create": true, "gmt_payment": true, "gmt_refund": true,
	"gmt_close": true, "fund_bill_list": true, "voucher_detail_list": true,
}

func decodeNotification(form url.Values) (*Notification, error) {
	n := &Notification{
		NotifyID: form.Get("notify_id"), NotifyType: form.Get("notify_type"),
		AppID: form.Get("app_id"), AuthAppID: form.Get("auth_app_id"),
		Charset: form.Get("charset"), Version: form.Get("version"),
		TradeNo: form.Get("trade_no"), OutTradeNo: form.Get("out_trade_no"),
		OutBizNo: form.Get("out_biz_no"), BuyerID: form.Get("buyer_id"),
		BuyerLogonID: form.Get("buyer_logon_id"), BuyerOpenID: form.Get("buyer_open_id"),
		SellerID: form.Get("seller_id"), SellerEmail: form.Get("seller_email"),
		TradeStatus: TradeStatus(form.Get("trade_status")),
		Subject:     form.Get("subject"), Body: form.Get("body"),
		PassbackParams: form.Get("passback_params"),
		Values:         form,
	}
	for _, f := range []struct {
		name string
		dst  *Amount
	}{
		{"total_amount", &n.TotalAmount}, {"receipt_amount", &n.ReceiptAmount},
		{"invoice_amount", &n.InvoiceAmount}, {"buyer_pay_amount", &n.BuyerPayAmount},
		{"point_amount", &n.PointAmount}, {"refund_fee", &n.RefundFee},
		{"send_back_fee", &n.SendBackFee},
	} {
		if v := form.Get(f.name); v != "" {
			a, err := parseAmountField(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", f.name, err)
			}
			*f.dst = a
		}
	}
	for _, f := range []struct {
		name string
		dst  *Time
	}{
		{"notify_time", &n.NotifyTime}, {"gmt_create", &n.GmtCreate}, {"gmt_payment", &n.GmtPayment},
		{"gmt_refund", &n.GmtRefund}, {"gmt_close", &n.GmtClose},
	} {
		if v := form.Get(f.name); v != "" {
			t, err := ParseTime(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", f.name, err)
			}
			*f.dst = t
		}
	}
	if v := form.Get("fund_bill_list"); v != "" {
		if err := json.Unmarshal([]byte(v), &n.FundBillList); err != nil {
			return nil, fmt.Errorf("fund_bill_list is not a JSON list: %v", err)
		}
	}
	if v := form.Get("voucher_detail_list"); v != "" {
		if err := json.Unmarshal([]byte(v), &n.VoucherDetailList); err != nil {
			return nil, fmt.Errorf("voucher_detail_list is not a JSON list: %v", err)
		}
	}
	for k := range form {
		if !notificationFields[k] {
			if n.Extra == nil {
				n.Extra = map[string]string{}
			}
			n.Extra[k] = form.Get(k)
		}
	}
	return n, nil
}

// parseAmountField parses a notification amount exactly; see money.Parse.
func parseAmountField(v string) (Amount, error) {
	return money.Parse(v)
}
