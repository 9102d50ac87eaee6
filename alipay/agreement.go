package alipay

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Agreement payment (商家扣款 / 免密支付, docs/vending.md §7): the buyer signs an
// agreement once on an Alipay page (alipay.user.agreement.page.sign), Alipay announces
// it with a dut_user_sign notification, and the merchant then charges the buyer without
// a password with TradePay and AgreementParams — the open-door cabinet charges on door
// close this way. Either side may end it: the buyer in the wallet, the merchant with
// alipay.user.agreement.unsign; Alipay announces it with dut_user_unsign.

// Personal product codes (the product the buyer signs) and sign scenes.
const (
	PersonalGeneralWithholding = "GENERAL_WITHHOLDING_P" // 商家扣款
	PersonalOneTimeAuth        = "ONE_TIME_AUTH_P"       // the 2018–19 vending product
	PersonalCyclePayAuth       = "CYCLE_PAY_AUTH_P"      // periodic deduction

	SceneVendingMachine = "INDUSTRY|VENDING_MACHINE"
	SceneDefault        = "DEFAULT|DEFAULT"
)

// Agreement states.
const (
	AgreementTemp   = "TEMP"   // created, never effective
	AgreementNormal = "NORMAL" // in force: charges go through
	AgreementStop   = "STOP"   // paused
	AgreementUnsign = "UNSIGN" // ended (dut_user_unsign)
)

// Channels of access_params: where the buyer signs.
const (
	ChannelAlipayApp   = "ALIPAYAPP"   // the wallet's H5 page
	ChannelQRCode      = "QRCODE"      // the gateway link shown as a QR code
	ChannelQRCodeOrSMS = "QRCODEORSMS" // QR code, or a link by SMS
)

// AccessParams is access_params of page.sign.
type AccessParams struct {
	Channel string `json:"channel"`
}

// AgreementDeviceParams is device_params of page.sign: the machine the agreement was
// signed at.
type AgreementDeviceParams struct {
	DeviceID   string `json:"device_id,omitempty"`
	DeviceName string `json:"device_name,omitempty"`
	DeviceType string `json:"device_type,omitempty"`
}

// AgreementIdentityParams is identity_params of page.sign: who may sign.
type AgreementIdentityParams struct {
	UserName     string `json:"user_name,omitempty"`
	CertNo       string `json:"cert_no,omitempty"`
	IdentityHash string `json:"identity_hash,omitempty"`
	SignUserID   string `json:"sign_user_id,omitempty"`
	SignOpenID   string `json:"sign_open_id,omitempty"`
}

// AgreementPageSignRequest is the biz_content of alipay.user.agreement.page.sign.
type AgreementPageSignRequest struct {
	PersonalProductCode string       `json:"personal_product_code"`
	AccessParams        AccessParams `json:"access_params"`
	ProductCode         string       `json:"product_code,omitempty"`
	// SignScene is required (and not DEFAULT|DEFAULT) when ExternalAgreementNo is set.
	SignScene           string                   `json:"sign_scene,omitempty"`
	ExternalAgreementNo string                   `json:"external_agreement_no,omitempty"`
	ExternalLogonID     string                   `json:"external_logon_id,omitempty"`
	ThirdPartyType      string                   `json:"third_party_type,omitempty"`
	DeviceParams        *AgreementDeviceParams   `json:"device_params,omitempty"`
	IdentityParams      *AgreementIdentityParams `json:"identity_params,omitempty"`
	// SignValidityPeriod is "<n>d" or "<n>m"; empty signs an open-ended agreement.
	SignValidityPeriod string `json:"sign_validity_period,omitempty"`
	// EffectTime is how many seconds (1–86400) the link may be opened after it is made.
	EffectTime int64 `json:"effect_time,omitempty"`
}

var (
	// agreementNoPattern: Alipay's are 20 digits starting with the year; accept any
	// 16–32 letters or digits so a format change does not stop charges.
	agreementNoPattern  = regexp.MustCompile(`^[A-Za-z0-9]{16,32}$`)
	externalNoPattern   = regexp.MustCompile(`^[A-Za-z0-9_\-]{1,32}$`)
	validityPattern     = regexp.MustCompile(`^[1-9][0-9]{0,3}[dm]$`)
	productCodePattern  = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)
	signScenePattern    = regexp.MustCompile(`^[A-Z0-9_]{1,32}\|[A-Z0-9_]{1,32}$`)
	agreementChannelSet = map[string]bool{ChannelAlipayApp: true, ChannelQRCode: true, ChannelQRCodeOrSMS: true}
)

// Validate reports what Alipay would refuse in the request.
func (r *AgreementPageSignRequest) Validate() error {
	switch {
	case !productCodePattern.MatchString(r.PersonalProductCode):
		return invalid("personal_product_code %q is required (e.g. GENERAL_WITHHOLDING_P, as in the merchant's contract)", r.PersonalProductCode)
	case !agreementChannelSet[r.AccessParams.Channel]:
		return invalid("access_params.channel %q must be ALIPAYAPP, QRCODE or QRCODEORSMS", r.AccessParams.Channel)
	case r.ProductCode != "" && !productCodePattern.MatchString(r.ProductCode):
		return invalid("product_code %q is not a product code", r.ProductCode)
	case r.SignScene != "" && !signScenePattern.MatchString(r.SignScene):
		return invalid("sign_scene %q must be INDUSTRY|<scene> from the merchant's scene list", r.SignScene)
	case r.ExternalAgreementNo != "" && !externalNoPattern.MatchString(r.ExternalAgreementNo):
		return invalid("external_agreement_no %q must be 1–32 letters, digits, '_' or '-'", r.ExternalAgreementNo)
	case r.ExternalAgreementNo != "" && (r.SignScene == "" || r.SignScene == SceneDefault):
		return invalid("an external_agreement_no needs a sign_scene other than DEFAULT|DEFAULT")
	case r.SignValidityPeriod != "" && !validityPattern.MatchString(r.SignValidityPeriod):
		return invalid("sign_validity_period %q must be a whole number of days or months, e.g. \"365d\" or \"12m\"", r.SignValidityPeriod)
	case r.EffectTime < 0 || r.EffectTime > 86400:
		return invalid("effect_time must be 0–86400 seconds")
	case len(r.ExternalLogonID) > 100:
		return invalid("external_logon_id is longer than 100 characters")
	}
	return nil
}

// AgreementPageSignURL returns the signed gateway link (GET) that opens Alipay's sign
// page for the buyer: redirect the buyer's browser to it, or show it as a QR code
// (channel QRCODE). Nothing is sent from here; Alipay announces the signed agreement
// with dut_user_sign to the notify URL (Config.NotifyURL or WithNotifyURL) and sends the
// browser to WithReturnURL's address.
func (c *Client) AgreementPageSignURL(ctx context.Context, req *AgreementPageSignRequest, opts ...CallOption) (string, error) {
	if err := req.Validate(); err != nil {
		return "", err
	}
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	query, body, err := c.buildRequest(ctx, MethodUserAgreementPageSign, req, &o)
	if err != nil {
		return "", err
	}
	sep := "?"
	if strings.Contains(c.gateway, "?") {
		sep = "&"
	}
	link := c.gateway + sep + query
	if body != "" {
		link += "&" + body
	}
	return link, nil
}

// WalletAppID is the fixed id of the Alipay wallet's agreement-signing mini app.
const WalletAppID = "60000157"

// AgreementWalletLink turns a page.sign link into the alipays:// scheme that opens the
// signing page inside the Alipay app (channel ALIPAYAPP): the signed parameters,
// URL-encoded once more, as sign_params.
func AgreementWalletLink(pageSignURL string) (string, error) {
	u, err := url.Parse(pageSignURL)
	if err != nil || u.RawQuery == "" {
		return "", fmt.Errorf("%w: %q is not a page.sign link", ErrInvalidRequest, pageSignURL)
	}
	return "alipays://platformapi/startapp?appId=" + WalletAppID + "&appClearTop=false&startMultApp=YES&sign_params=" +
		url.QueryEscape(u.RawQuery), nil
}

// AgreementRef finds one agreement: by AgreementNo (then nothing else counts), or by
// PersonalProductCode + SignScene + one of ExternalAgreementNo, AlipayUserID,
// AlipayOpenID, AlipayLogonID.
type AgreementRef struct {
	AgreementNo         string `json:"agreement_no,omitempty"`
	PersonalProductCode string `json:"personal_product_code,omitempty"`
	SignScene           string `json:"sign_scene,omitempty"`
	ExternalAgreementNo string `json:"external_agreement_no,omitempty"`
	AlipayUserID        string `json:"alipay_user_id,omitempty"`
	AlipayOpenID        string `json:"alipay_open_id,omitempty"`
	AlipayLogonID       string `json:"alipay_logon_id,omitempty"`
	ThirdPartyType      string `json:"third_party_type,omitempty"`
}

func (r *AgreementRef) validate() error {
	if r.AgreementNo != "" {
		if !agreementNoPattern.MatchString(r.AgreementNo) {
			return invalid("agreement_no %q is not an agreement number", r.AgreementNo)
		}
		return nil
	}
	switch {
	case r.PersonalProductCode == "" || r.SignScene == "":
		return invalid("give agreement_no, or personal_product_code and sign_scene with the buyer or external_agreement_no")
	case r.ExternalAgreementNo == "" && r.AlipayUserID == "" && r.AlipayOpenID == "" && r.AlipayLogonID == "":
		return invalid("give external_agreement_no, alipay_user_id, alipay_open_id or alipay_logon_id")
	case r.ExternalAgreementNo != "" && r.SignScene == SceneDefault:
		return invalid("with external_agreement_no, sign_scene must be the one signed, not DEFAULT|DEFAULT")
	}
	return nil
}

// AgreementQueryResponse is the answer node of alipay.user.agreement.query. Every field
// is a string on the wire, times included.
type AgreementQueryResponse struct {
	ResponseHeader
	AgreementNo         string `json:"agreement_no"`
	Status              string `json:"status"`
	SignTime            Time   `json:"sign_time"`
	ValidTime           Time   `json:"valid_time"`
	InvalidTime         Time   `json:"invalid_time"`
	PersonalProductCode string `json:"personal_product_code"`
	SignScene           string `json:"sign_scene"`
	ThirdPartyType      string `json:"third_party_type"`
	PrincipalID         string `json:"principal_id"`
	PrincipalOpenID     string `json:"principal_open_id"`
	// PrincipalType is the API's misspelt pricipal_type.
	PrincipalType       string `json:"pricipal_type"`
	AlipayLogonID       string `json:"alipay_logon_id"`
	ExternalAgreementNo string `json:"external_agreement_no"`
	ExternalLogonID     string `json:"external_logon_id"`
	ZmOpenID            string `json:"zm_open_id"`
	CreditAuthMode      string `json:"credit_auth_mode"`
	SingleQuota         string `json:"single_quota"`
	DeviceID            string `json:"device_id"`
	LastDeductTime      Time   `json:"last_deduct_time"`
	NextDeductTime      Time   `json:"next_deduct_time"`
}

// Sub-codes of the agreement calls and of agreement charges. Query and unsign answer
// without the ACQ. prefix (some sources show it with one: IsAgreementGone accepts both).
const (
	SubUserAgreementNotExist      = "USER_AGREEMENT_NOT_EXIST"
	SubAgreementHasUnsigned       = "AGREEMENT_HAS_UNSIGNED"
	SubAuthoreeNotMatch           = "AUTHOREE_IS_NOT_MATCH"
	SubProductCodeNotSupported    = "PRODUCT_CODE_NOT_SUPPORTED_ERROR"
	SubAgreementNotExist          = "ACQ.AGREEMENT_NOT_EXIST"
	SubAgreementInvalid           = "ACQ.AGREEMENT_INVALID"
	SubAgreementStatusNotNormal   = "ACQ.AGREEMENT_STATUS_NOT_NORMAL"
	SubAgreementError             = "ACQ.AGREEMENT_ERROR"
	SubSmilePayMerchantNotMatch   = "ACQ.SMILE_PAY_MERCHANT_NOT_MATCH"
	SubProductAmountLimitExceeded = "ACQ.PRODUCT_AMOUNT_LIMIT_ERROR"
)

// IsAgreementGone reports whether err says the agreement no longer exists or no longer
// works (unsigned, expired, unknown): the buyer must sign again before the next charge.
// A paused agreement (ACQ.AGREEMENT_STATUS_NOT_NORMAL) and a low balance are not gone.
func IsAgreementGone(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch strings.TrimPrefix(e.SubCode, "ACQ.") {
	case SubUserAgreementNotExist, SubAgreementHasUnsigned, "AGREEMENT_NOT_EXIST", "AGREEMENT_INVALID":
		return true
	}
	return false
}

// AgreementQuery reads an agreement. An unknown or ended agreement answers an *Error
// with sub_code USER_AGREEMENT_NOT_EXIST.
func (c *Client) AgreementQuery(ctx context.Context, ref *AgreementRef, opts ...CallOption) (*AgreementQueryResponse, error) {
	if err := ref.validate(); err != nil {
		return nil, err
	}
	var out AgreementQueryResponse
	return &out, c.typed(ctx, MethodUserAgreementQuery, ref, &out, opts)
}

// AgreementUnsignRequest is the biz_content of alipay.user.agreement.unsign.
type AgreementUnsignRequest struct {
	AgreementRef
	ExtendParams string `json:"extend_params,omitempty"`
	OperateType  string `json:"operate_type,omitempty"`
}

// AgreementUnsignResponse is the bare answer of alipay.user.agreement.unsign.
type AgreementUnsignResponse struct {
	ResponseHeader
}

// AgreementUnsign ends an agreement from the merchant's side. Alipay also announces the
// end with dut_user_unsign. Unsigning twice answers AGREEMENT_HAS_UNSIGNED.
func (c *Client) AgreementUnsign(ctx context.Context, req *AgreementUnsignRequest, opts ...CallOption) (*AgreementUnsignResponse, error) {
	if err := req.AgreementRef.validate(); err != nil {
		return nil, err
	}
	var out AgreementUnsignResponse
	return &out, c.typed(ctx, MethodUserAgreementUnsign, req, &out, opts)
}

// Notification types of agreements.
const (
	NotifyAgreementSign   = "dut_user_sign"
	NotifyAgreementUnsign = "dut_user_unsign"
)

// AgreementNotification is a verified dut_user_sign or dut_user_unsign notification.
type AgreementNotification struct {
	NotifyID   string
	NotifyType string // dut_user_sign or dut_user_unsign
	NotifyTime Time
	AppID      string
	AuthAppID  string

	AgreementNo         string
	ExternalAgreementNo string
	ExternalLogonID     string
	PersonalProductCode string
	SignScene           string
	AlipayUserID        string
	AlipayOpenID        string
	AlipayLogonID       string // masked: 157******67
	// Status is NORMAL on a sign, UNSIGN on an unsign.
	Status      string
	SignTime    Time
	ValidTime   Time
	InvalidTime Time
	UnsignTime  Time

	// Notification is the verified notification itself, Values and Extra included.
	Notification *Notification
}

// Signed reports whether the notification announces an agreement in force.
func (a *AgreementNotification) Signed() bool {
	return a.NotifyType == NotifyAgreementSign && a.Status == AgreementNormal
}

// IsAgreement reports whether the notification is about an agreement (dut_user_sign or
// dut_user_unsign) rather than a trade: a notify URL that receives both dispatches on it.
func (n *Notification) IsAgreement() bool {
	return n.NotifyType == NotifyAgreementSign || n.NotifyType == NotifyAgreementUnsign
}

// Agreement decodes a verified notification as an agreement notification. It fails
// for any other notify_type, and when a field an agreement notification must carry is
// missing or malformed: a notification that cannot be read must not change a member's
// cabinet access.
func (n *Notification) Agreement() (*AgreementNotification, error) {
	f := n.Values
	a := &AgreementNotification{
		NotifyID: n.NotifyID, NotifyType: n.NotifyType, NotifyTime: n.NotifyTime, AppID: n.AppID, AuthAppID: n.AuthAppID,
		AgreementNo: f.Get("agreement_no"), ExternalAgreementNo: f.Get("external_agreement_no"),
		ExternalLogonID: f.Get("external_logon_id"), PersonalProductCode: f.Get("personal_product_code"),
		SignScene: f.Get("sign_scene"), AlipayUserID: f.Get("alipay_user_id"), AlipayOpenID: f.Get("alipay_open_id"),
		AlipayLogonID: f.Get("alipay_logon_id"), Status: f.Get("status"), Notification: n,
	}
	switch {
	case !n.IsAgreement():
		return nil, fmt.Errorf("%w: notify_type %q is not an agreement notification", ErrNotification, n.NotifyType)
	case !agreementNoPattern.MatchString(a.AgreementNo):
		return nil, fmt.Errorf("%w: agreement_no %q is missing or malformed", ErrNotification, a.AgreementNo)
	case a.AlipayUserID == "" && a.AlipayOpenID == "":
		return nil, fmt.Errorf("%w: neither alipay_user_id nor alipay_open_id", ErrNotification)
	case n.NotifyType == NotifyAgreementSign && a.Status != AgreementNormal && a.Status != AgreementTemp && a.Status != AgreementStop:
		return nil, fmt.Errorf("%w: dut_user_sign with status %q", ErrNotification, a.Status)
	case n.NotifyType == NotifyAgreementUnsign && a.Status != AgreementUnsign:
		return nil, fmt.Errorf("%w: dut_user_unsign with status %q", ErrNotification, a.Status)
	}
	for _, t := range []struct {
		name string
		dst  *Time
	}{{"sign_time", &a.SignTime}, {"valid_time", &a.ValidTime}, {"invalid_time", &a.InvalidTime}, {"unsign_time", &a.UnsignTime}} {
		if v := f.Get(t.name); v != "" {
			x, err := ParseTime(v)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrNotification, t.name, err)
			}
			*t.dst = x
		}
	}
	return a, nil
}

// ParseAgreementNotification verifies a notification's raw form body and decodes it as
// an agreement notification. A service that takes every notification on one URL calls
// ParseNotification and then Agreement when NotifyType is dut_user_*.
func (c *Client) ParseAgreementNotification(body []byte) (*AgreementNotification, error) {
	n, err := c.ParseNotification(body)
	if err != nil {
		return nil, err
	}
	return n.Agreement()
}
