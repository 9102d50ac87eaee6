package alipaysim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Agreement payment (商家扣款 / 免密支付, docs/vending.md §7). A merchant's page.sign link
// (a signed GET of the gateway) lands the buyer on the wallet's sign page; when the buyer
// agrees the agreement is NORMAL and dut_user_sign goes to the request's notify_url,
// signed and retried like a trade notification. The merchant then charges the buyer
// with trade.pay + agreement_params, no password asked. Either side ends it — the buyer
// in the wallet, the merchant with alipay.user.agreement.unsign — and dut_user_unsign
// follows. Agreements are records, so a sandbox with --data keeps them across restarts.

const (
	kindAgreement   = "agreement"
	kindSignRequest = "agreement_sign_request"
)

// Agreement states (query answers TEMP, NORMAL or STOP; an ended one is UNSIGN and no
// longer found).
const (
	AgreementTemp   = "TEMP"
	AgreementNormal = "NORMAL"
	AgreementStop   = "STOP"
	AgreementUnsign = "UNSIGN"
)

// The personal products the sandbox's merchants have signed with Alipay, and the sales
// product each one's charges use (docs/vending.md §7).
var agreementProducts = map[string]string{
	"GENERAL_WITHHOLDING_P": "GENERAL_WITHHOLDING",
	"ONE_TIME_AUTH_P":       "ONE_TIME_AUTH",
	"CYCLE_PAY_AUTH_P":      "CYCLE_PAY_AUTH",
}

// openEnded is the invalid_time of an agreement signed without a validity period.
var openEnded = time.Date(2115, 2, 1, 0, 0, 0, 0, beijing)

// SignRequestTTL is how long a page.sign link can be opened when it sets no effect_time.
const SignRequestTTL = time.Hour

// Agreement is a signed (or ended) withholding agreement.
type Agreement struct {
	AgreementNo         string     `json:"agreement_no"`
	AppID               string     `json:"app_id"`
	SellerID            string     `json:"seller_id"`
	UserID              string     `json:"alipay_user_id"`
	OpenID              string     `json:"alipay_open_id"`
	LogonID             string     `json:"alipay_logon_id"`
	PersonalProductCode string     `json:"personal_product_code"`
	SignScene           string     `json:"sign_scene"`
	ExternalAgreementNo string     `json:"external_agreement_no,omitempty"`
	ExternalLogonID     string     `json:"external_logon_id,omitempty"`
	ThirdPartyType      string     `json:"third_party_type"`
	Channel             string     `json:"channel"`
	DeviceID            string     `json:"device_id,omitempty"`
	Status              string     `json:"status"`
	SignTime            time.Time  `json:"sign_time"`
	InvalidTime         time.Time  `json:"invalid_time"`
	UnsignTime          *time.Time `json:"unsign_time,omitempty"`
	UnsignedBy          string     `json:"unsigned_by,omitempty"` // buyer or merchant
	LastDeductTime      *time.Time `json:"last_deduct_time,omitempty"`
	NotifyURL           string     `json:"notify_url,omitempty"`
	SignType            string     `json:"sign_type"`
	// ISVAppID is the service provider's app that made the sign link with the
	// merchant's app_auth_token: notifications then carry it as app_id, the merchant's
	// app as auth_app_id.
	ISVAppID string `json:"isv_app_id,omitempty"`
}

func (a *Agreement) recordKind() string  { return kindAgreement }
func (a *Agreement) recordID() string    { return a.AgreementNo }
func (a *Agreement) cloneRecord() record { c := *a; return &c }

// SignRequest is one page.sign link, waiting for the buyer.
type SignRequest struct {
	Token               string    `json:"token"`
	AppID               string    `json:"app_id"`
	SellerID            string    `json:"seller_id"`
	PersonalProductCode string    `json:"personal_product_code"`
	SignScene           string    `json:"sign_scene"`
	Channel             string    `json:"channel"`
	ExternalAgreementNo string    `json:"external_agreement_no,omitempty"`
	ExternalLogonID     string    `json:"external_logon_id,omitempty"`
	ThirdPartyType      string    `json:"third_party_type"`
	DeviceID            string    `json:"device_id,omitempty"`
	SignUserID          string    `json:"sign_user_id,omitempty"` // identity_params: only this buyer may sign
	Validity            string    `json:"sign_validity_period,omitempty"`
	NotifyURL           string    `json:"notify_url,omitempty"`
	ReturnURL           string    `json:"return_url,omitempty"`
	SignType            string    `json:"sign_type"`
	CreatedAt           time.Time `json:"created_at"`
	ExpiresAt           time.Time `json:"expires_at"`
	AgreementNo         string    `json:"agreement_no,omitempty"` // once signed
	Declined            bool      `json:"declined,omitempty"`
	ISVAppID            string    `json:"isv_app_id,omitempty"`
}

func (r *SignRequest) recordKind() string  { return kindSignRequest }
func (r *SignRequest) recordID() string    { return r.Token }
func (r *SignRequest) cloneRecord() record { c := *r; return &c }

// signBiz is the sandbox's reading of page.sign's biz_content.
type signBiz struct {
	PersonalProductCode jstr `json:"personal_product_code"`
	ProductCode         jstr `json:"product_code"`
	AccessParams        *struct {
		Channel jstr `json:"channel"`
	} `json:"access_params"`
	SignScene           jstr `json:"sign_scene"`
	ExternalAgreementNo jstr `json:"external_agreement_no"`
	ExternalLogonID     jstr `json:"external_logon_id"`
	ThirdPartyType      jstr `json:"third_party_type"`
	SignValidityPeriod  jstr `json:"sign_validity_period"`
	EffectTime          jstr `json:"effect_time"`
	DeviceParams        *struct {
		DeviceID    jstr `json:"device_id"`
		OutDeviceID jstr `json:"out_device_id"` // the 2018 form
	} `json:"device_params"`
	IdentityParams *struct {
		SignUserID jstr `json:"sign_user_id"`
	} `json:"identity_params"`
}

var (
	externalAgreementPattern = regexp.MustCompile(`^[A-Za-z0-9_\-]{1,32}$`) // '-' occurs in real ones
	validityPeriodPattern    = regexp.MustCompile(`^([1-9][0-9]{0,3})([dm])$`)
)

// agreementPageSign is alipay.user.agreement.page.sign, reached by the buyer's browser:
// on success the gateway redirects to the wallet's sign page (c.redirect).
func (t *txn) agreementPageSign(c *call) *node {
	var b signBiz
	if err := json.Unmarshal([]byte(orEmptyObject(c.params["biz_content"])), &b); err != nil {
		return invalidParam("biz_content 不是合法的 JSON 对象 (" + err.Error() + ")")
	}
	pc := string(b.PersonalProductCode)
	switch {
	case pc == "":
		return invalidParam("缺少 personal_product_code (e.g. GENERAL_WITHHOLDING_P)")
	case agreementProducts[pc] == "":
		return bizError("PRODUCT_CODE_NOT_SUPPORTED_ERROR", "商户未签约该产品: "+truncate(pc, 64)+" (the sandbox signs GENERAL_WITHHOLDING_P, ONE_TIME_AUTH_P, CYCLE_PAY_AUTH_P)")
	case b.AccessParams == nil || b.AccessParams.Channel == "":
		return invalidParam("缺少 access_params.channel (ALIPAYAPP, QRCODE or QRCODEORSMS)")
	case !slices.Contains([]string{"ALIPAYAPP", "QRCODE", "QRCODEORSMS", "SCANFACE"}, string(b.AccessParams.Channel)):
		return invalidParam("access_params.channel 须为 ALIPAYAPP、QRCODE 或 QRCODEORSMS")
	case b.ProductCode != "" && string(b.ProductCode) != agreementProducts[pc]:
		return invalidParam("product_code 与 personal_product_code 不匹配 (" + agreementProducts[pc] + " goes with " + pc + ")")
	case b.ExternalAgreementNo != "" && !externalAgreementPattern.MatchString(string(b.ExternalAgreementNo)):
		return invalidParam("external_agreement_no 最多 32 位字母、数字、_ 或 -")
	case len(b.ExternalLogonID) > 100:
		return invalidParam("external_logon_id 超过 100 个字符")
	}
	scene := string(b.SignScene)
	if scene == "" {
		scene = "DEFAULT|DEFAULT"
	}
	if b.ExternalAgreementNo != "" && scene == "DEFAULT|DEFAULT" {
		return invalidParam("传入 external_agreement_no 时 sign_scene 不能为 DEFAULT|DEFAULT")
	}
	if b.SignValidityPeriod != "" && !validityPeriodPattern.MatchString(string(b.SignValidityPeriod)) {
		return invalidParam("sign_validity_period 须为整数加 d 或 m，例如 365d、12m")
	}
	ttl := SignRequestTTL
	if b.EffectTime != "" {
		n, err := strconv.Atoi(string(b.EffectTime))
		if err != nil || n < 1 || n > 86400 {
			return invalidParam("effect_time 取值 1～86400 秒")
		}
		ttl = time.Duration(n) * time.Second
	}
	third := string(b.ThirdPartyType)
	if third == "" {
		third = "PARTNER"
	}
	if u := c.params["return_url"]; u != "" && checkURL(u) != nil {
		return invalidParam("return_url 必须是 http(s) 地址")
	}
	r := &SignRequest{
		Token: "sr" + t.ids.digits(24), AppID: c.app.AppID, SellerID: c.app.SellerID, PersonalProductCode: pc,
		SignScene: scene, Channel: string(b.AccessParams.Channel), ExternalAgreementNo: string(b.ExternalAgreementNo),
		ExternalLogonID: string(b.ExternalLogonID), ThirdPartyType: third, Validity: string(b.SignValidityPeriod),
		NotifyURL: c.notifyURL, ReturnURL: c.params["return_url"], SignType: c.signType,
		CreatedAt: t.now, ExpiresAt: t.now.Add(ttl),
	}
	if c.isv != nil {
		r.ISVAppID = c.isv.AppID
	}
	if d := b.DeviceParams; d != nil {
		r.DeviceID = string(d.DeviceID)
		if r.DeviceID == "" {
			r.DeviceID = string(d.OutDeviceID)
		}
	}
	if b.IdentityParams != nil {
		r.SignUserID = string(b.IdentityParams.SignUserID)
	}
	t.putRec(r)
	c.redirect = strings.TrimSuffix(c.baseURL, "/") + "/agreements/sign/" + r.Token
	return success().set("sign_url", c.redirect)
}

func orEmptyObject(s string) string {
	if strings.TrimSpace(s) == "" {
		return "{}"
	}
	return s
}

// AgreementSign is a buyer's answer on the sign page.
type AgreementSign struct {
	Token  string `json:"token"`
	UserID string `json:"user_id"`
	// Allow false is the buyer's refusal: nothing is signed.
	Allow bool `json:"allow"`
}

// SignAgreement records the buyer's answer to a sign request and returns the agreement
// (nil on a refusal) and where the browser goes next (return_url, or "" when the
// request had none). Signing the same request again returns the same agreement.
func (s *Sim) SignAgreement(ctx context.Context, spec AgreementSign) (*Agreement, string, error) {
	var out *Agreement
	var back string
	err := s.e.update(ctx, func(t *txn) error {
		rr := t.rec(kindSignRequest, spec.Token)
		if rr == nil {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "no sign request %q: open the merchant's page.sign link again", spec.Token)
		}
		req := rr.(*SignRequest)
		back = req.ReturnURL
		if req.AgreementNo != "" {
			out = t.rec(kindAgreement, req.AgreementNo).(*Agreement).cloneRecord().(*Agreement)
			return nil
		}
		if req.Declined || !t.now.Before(req.ExpiresAt) {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "this sign link has expired or was declined; ask the merchant for a new one")
		}
		b := t.buyerByAny(spec.UserID)
		if b == nil {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "no buyer %q", spec.UserID)
		}
		if req.SignUserID != "" && req.SignUserID != b.UserID {
			return f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "this link may only be signed by Alipay user %s", req.SignUserID)
		}
		w := t.recW(kindSignRequest, req.Token).(*SignRequest)
		if !spec.Allow {
			w.Declined = true
			return nil
		}
		// One agreement in force per (app, product, scene, external number or buyer):
		// signing again returns it and announces nothing new.
		var existing *Agreement
		t.eachRec(kindAgreement, func(r record) bool {
			a := r.(*Agreement)
			if a.AppID == req.AppID && a.PersonalProductCode == req.PersonalProductCode && a.SignScene == req.SignScene &&
				a.Status != AgreementUnsign && a.ExternalAgreementNo == req.ExternalAgreementNo &&
				(req.ExternalAgreementNo != "" || a.UserID == b.UserID) {
				existing = a
				return false
			}
			return true
		})
		if existing != nil {
			if existing.UserID != b.UserID {
				return f2fpay.Errorf(f2fpay.ECONFLICT, "external_agreement_no %s is already signed by another Alipay user", req.ExternalAgreementNo)
			}
			w.AgreementNo = existing.AgreementNo
			out = existing.cloneRecord().(*Agreement)
			return nil
		}
		a := &Agreement{
			AgreementNo: t.newAgreementNo(), AppID: req.AppID, SellerID: req.SellerID, UserID: b.UserID, OpenID: b.OpenID,
			LogonID: b.LogonID, PersonalProductCode: req.PersonalProductCode, SignScene: req.SignScene,
			ExternalAgreementNo: req.ExternalAgreementNo, ExternalLogonID: req.ExternalLogonID,
			ThirdPartyType: req.ThirdPartyType, Channel: req.Channel, DeviceID: req.DeviceID, Status: AgreementNormal,
			SignTime: t.now, InvalidTime: validUntil(t.now, req.Validity), NotifyURL: req.NotifyURL, SignType: req.SignType,
			ISVAppID: req.ISVAppID,
		}
		w.AgreementNo = a.AgreementNo
		t.putRec(a)
		t.notifyAgreement(a, "dut_user_sign")
		out = a.cloneRecord().(*Agreement)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, back, nil
}

// validUntil is invalid_time: sign time plus "<n>d" or "<n>m", or open-ended.
func validUntil(now time.Time, period string) time.Time {
	m := validityPeriodPattern.FindStringSubmatch(period)
	if m == nil {
		return openEnded
	}
	n, _ := strconv.Atoi(m[1])
	if m[2] == "d" {
		return now.AddDate(0, 0, n)
	}
	return now.AddDate(0, n, 0)
}

// newAgreementNo is 20 digits starting with the Beijing year, as Alipay's are.
func (t *txn) newAgreementNo() string {
	for {
		no := t.now.In(beijing).Format("2006") + t.ids.digits(16)
		if t.rec(kindAgreement, no) == nil {
			return no
		}
	}
}

// notifyAgreement records dut_user_sign or dut_user_unsign for a, to the sign request's
// notify_url or the app's.
func (t *txn) notifyAgreement(a *Agreement, typ string) {
	u := a.NotifyURL
	if u == "" {
		if app := t.app(a.AppID); app != nil {
			u = app.NotifyURL
		}
	}
	if u == "" {
		return
	}
	p := map[string]string{
		"notify_type": typ, "app_id": a.AppID, "auth_app_id": a.AppID, "charset": "utf-8", "version": "1.0",
		"agreement_no": a.AgreementNo, "external_agreement_no": a.ExternalAgreementNo,
		"external_logon_id": a.ExternalLogonID, "personal_product_code": a.PersonalProductCode,
		"sign_scene": a.SignScene, "alipay_user_id": a.UserID, "alipay_open_id": a.OpenID,
		"alipay_logon_id": maskAgreementLogon(a.LogonID), "status": a.Status,
	}
	if a.ISVAppID != "" {
		p["app_id"] = a.ISVAppID // auth_app_id stays the merchant's, as on trade notifications
	}
	if typ == "dut_user_sign" {
		p["sign_time"], p["valid_time"], p["invalid_time"] = fmtTime(a.SignTime), fmtTime(a.SignTime), fmtTime(a.InvalidTime)
	} else if a.UnsignTime != nil {
		p["unsign_time"] = fmtTime(*a.UnsignTime)
	}
	for k, v := range p {
		if v == "" {
			delete(p, k)
		}
	}
	t.e.notifSeq++
	n := &Notification{
		NotifyID: t.now.In(beijing).Format("20060102") + "00222" + t.ids.digits(21),
		AppID:    a.AppID, AgreementNo: a.AgreementNo, Status: a.Status, URL: u, SignType: a.SignType,
		Params: p, CreatedAt: t.now, Seq: t.e.notifSeq, Attempts: []Attempt{},
	}
	// Faults scope agreement notifications by notify_type as method and
	// external_agreement_no as out_trade_no.
	t.queueNotif(n, typ, a.ExternalAgreementNo, a.AgreementNo)
}

// maskAgreementLogon masks a logon id as agreement notifications show it: 157******67.
func maskAgreementLogon(s string) string {
	if strings.IndexByte(s, '@') < 0 && len(s) >= 11 {
		return s[:3] + "******" + s[len(s)-2:]
	}
	return maskLogon(s)
}

// agreementRef is the sandbox's reading of query's and unsign's biz_content.
type agreementRef struct {
	AgreementNo         jstr `json:"agreement_no"`
	PersonalProductCode jstr `json:"personal_product_code"`
	SignScene           jstr `json:"sign_scene"`
	ExternalAgreementNo jstr `json:"external_agreement_no"`
	AlipayUserID        jstr `json:"alipay_user_id"`
	AlipayOpenID        jstr `json:"alipay_open_id"`
	AlipayLogonID       jstr `json:"alipay_logon_id"`
}

// findAgreement resolves a query or unsign: agreement_no wins; otherwise product and
// scene with the external number or the buyer. An agreement in force is preferred to an
// ended one. Query and unsign sub_codes carry no ACQ. prefix.
func (t *txn) findAgreement(c *call) (*Agreement, *node) {
	var ref agreementRef
	if err := json.Unmarshal([]byte(orEmptyObject(c.params["biz_content"])), &ref); err != nil {
		return nil, bizError("INVALID_PARAMETER", "参数有误。biz_content 不是合法的 JSON 对象")
	}
	notExist := bizError("USER_AGREEMENT_NOT_EXIST", "用户协议不存在")
	if ref.AgreementNo != "" {
		r := t.rec(kindAgreement, string(ref.AgreementNo))
		if r == nil {
			return nil, notExist
		}
		a := r.(*Agreement)
		if a.AppID != c.app.AppID {
			return nil, bizError("AUTHOREE_IS_NOT_MATCH", "协议的授权方与当前商户不一致")
		}
		return a, nil
	}
	pc, scene := string(ref.PersonalProductCode), string(ref.SignScene)
	switch {
	case pc == "" || scene == "":
		return nil, bizError("INVALID_PARAMETER", "参数有误。请传入 agreement_no，或 personal_product_code 与 sign_scene")
	case agreementProducts[pc] == "":
		return nil, bizError("PRODUCT_CODE_NOT_SUPPORTED_ERROR", "个人产品码不支持")
	case ref.ExternalAgreementNo == "" && ref.AlipayUserID == "" && ref.AlipayOpenID == "" && ref.AlipayLogonID == "":
		return nil, bizError("INVALID_PARAMETER", "参数有误。请传入 external_agreement_no 或用户标识")
	case ref.ExternalAgreementNo != "" && scene == "DEFAULT|DEFAULT":
		return nil, bizError("INVALID_PARAMETER", "参数有误。传入 external_agreement_no 时 sign_scene 不能为 DEFAULT|DEFAULT")
	}
	userID := ""
	if ref.ExternalAgreementNo == "" {
		id := string(ref.AlipayUserID)
		if id == "" {
			id = string(ref.AlipayOpenID)
		}
		if id == "" {
			id = string(ref.AlipayLogonID)
		}
		b := t.buyerByAny(id)
		if b == nil {
			return nil, bizError("USER_NOT_EXIST_ERROR", "用户不存在")
		}
		userID = b.UserID
	}
	var found *Agreement
	t.eachRec(kindAgreement, func(r record) bool {
		a := r.(*Agreement)
		if a.AppID != c.app.AppID || a.PersonalProductCode != pc || a.SignScene != scene ||
			(ref.ExternalAgreementNo != "" && a.ExternalAgreementNo != string(ref.ExternalAgreementNo)) ||
			(userID != "" && a.UserID != userID) {
			return true
		}
		if found == nil || (found.Status == AgreementUnsign && a.Status != AgreementUnsign) ||
			(found.Status == a.Status && a.SignTime.After(found.SignTime)) {
			found = a
		}
		return true
	})
	if found == nil {
		return nil, notExist
	}
	return found, nil
}

// agreementQuery is alipay.user.agreement.query. An ended agreement is not found.
func (t *txn) agreementQuery(c *call) *node {
	a, n := t.findAgreement(c)
	if n != nil {
		return n
	}
	if a.Status == AgreementUnsign {
		return bizError("USER_AGREEMENT_NOT_EXIST", "用户协议不存在")
	}
	n = success().set("agreement_no", a.AgreementNo).set("status", a.Status).
		set("sign_time", fmtTime(a.SignTime)).set("valid_time", fmtTime(a.SignTime)).
		set("invalid_time", fmtTime(a.InvalidTime)).set("personal_product_code", a.PersonalProductCode).
		set("sign_scene", a.SignScene).set("third_party_type", a.ThirdPartyType).
		set("principal_id", a.UserID).set("principal_open_id", a.OpenID).
		set("alipay_logon_id", maskAgreementLogon(a.LogonID))
	for k, v := range map[string]string{"external_agreement_no": a.ExternalAgreementNo,
		"external_logon_id": a.ExternalLogonID, "device_id": a.DeviceID} {
		if v != "" {
			n.set(k, v)
		}
	}
	if a.LastDeductTime != nil {
		n.set("last_deduct_time", fmtTime(*a.LastDeductTime))
	}
	return n
}

// agreementUnsign is alipay.user.agreement.unsign: the merchant ends the agreement;
// dut_user_unsign follows (whether Alipay sends it for a merchant's unsign is not
// documented; the sandbox does, docs/vending.md §7).
func (t *txn) agreementUnsign(c *call) *node {
	a, n := t.findAgreement(c)
	if n != nil {
		return n
	}
	if a.Status == AgreementUnsign {
		return bizError("AGREEMENT_HAS_UNSIGNED", "协议已解约")
	}
	t.unsign(a.AgreementNo, "merchant")
	return success()
}

func (t *txn) unsign(agreementNo, by string) *Agreement {
	w := t.recW(kindAgreement, agreementNo).(*Agreement)
	now := t.now
	w.Status, w.UnsignTime, w.UnsignedBy = AgreementUnsign, &now, by
	t.notifyAgreement(w, "dut_user_unsign")
	return w
}

// agreementParams is trade.pay's agreement_params.
type agreementParams struct {
	AgreementNo jstr `json:"agreement_no"`
}

// payAgreement is trade.pay with agreement_params: the agreement is the buyer's
// credential, no password is asked, and a failure creates no trade (the same
// out_trade_no may be charged again once the cause is gone).
func (t *txn) payAgreement(c *call) *node {
	r := c.biz
	failed := func(sub, msg string) *node {
		zero := f2fpay.Amount(0)
		return bizError(sub, msg).set("out_trade_no", string(r.OutTradeNo)).set("buyer_pay_amount", zero).
			set("invoice_amount", zero).set("point_amount", zero).set("receipt_amount", zero)
	}
	var ap agreementParams
	if err := json.Unmarshal(r.AgreementParams, &ap); err != nil || ap.AgreementNo == "" {
		return failed("ACQ.AGREEMENT_ERROR", "协议信息错误：agreement_params.agreement_no 缺失或格式错误")
	}
	switch {
	case r.AuthCode != "" || r.Scene != "":
		return invalidParam("代扣交易 (agreement_params) 不能同时传 scene 或 auth_code")
	case r.ProductCode == "":
		return invalidParam("代扣交易须传 product_code (GENERAL_WITHHOLDING)")
	}
	expires, n := expiry(t.now, r)
	if n != nil {
		return n
	}
	if tr, n := t.existingOrder(c); n != nil {
		return n
	} else if tr != nil {
		return payingNode(tr)
	}
	rec := t.rec(kindAgreement, string(ap.AgreementNo))
	if rec == nil || rec.(*Agreement).AppID != c.app.AppID {
		return failed("ACQ.AGREEMENT_NOT_EXIST", "协议不存在或已解约，请用户重新签约")
	}
	a := rec.(*Agreement)
	switch {
	case a.Status == AgreementUnsign:
		return failed("ACQ.AGREEMENT_NOT_EXIST", "协议已解约，请用户重新签约")
	case a.Status != AgreementNormal:
		return failed("ACQ.AGREEMENT_STATUS_NOT_NORMAL", "协议状态非正常 ("+a.Status+")")
	case !t.now.Before(a.InvalidTime):
		return failed("ACQ.AGREEMENT_INVALID", "协议已失效，请用户重新签约")
	case string(r.ProductCode) != agreementProducts[a.PersonalProductCode]:
		return failed("ACQ.AGREEMENT_ERROR", "product_code "+truncate(string(r.ProductCode), 32)+" 与协议产品 "+a.PersonalProductCode+" 不匹配")
	case r.BuyerID != "" && string(r.BuyerID) != a.UserID, r.BuyerOpenID != "" && string(r.BuyerOpenID) != a.OpenID:
		return failed("ACQ.AGREEMENT_ERROR", "buyer_id 与协议用户不一致")
	}
	buyer := t.buyer(a.UserID)
	if buyer == nil {
		return failed("ACQ.AGREEMENT_NOT_EXIST", "协议用户不存在")
	}
	tr := t.newTrade(c, expires)
	tr.Visible, tr.AgreementNo = true, a.AgreementNo
	t.attachBuyer(tr, buyer)
	if c.pending != nil {
		at := t.now.Add(c.pending.Delay.D())
		tr.Pending, tr.ResolveAt, tr.ResolveTo = "fault", &at, c.pending.ResolveTo
	} else if sub, msg := t.settle(tr, buyer.UserID); sub != "" {
		return failed(sub, msg)
	}
	t.putTrade(tr)
	aw := t.recW(kindAgreement, a.AgreementNo).(*Agreement)
	now := t.now
	aw.LastDeductTime = &now
	if tr.Status == WaitBuyerPay {
		return payingNode(tr)
	}
	return paidNode(success(), tr)
}

// AgreementFilter selects agreements; empty fields match everything.
type AgreementFilter struct {
	AppID, UserID, Status string
}

// Agreements lists agreements, newest first.
func (s *Sim) Agreements(f AgreementFilter) []Agreement {
	var out []Agreement
	s.e.view(func(t *txn) {
		t.eachRec(kindAgreement, func(r record) bool {
			a := r.(*Agreement)
			if (f.AppID == "" || a.AppID == f.AppID) && (f.UserID == "" || a.UserID == f.UserID) && (f.Status == "" || a.Status == f.Status) {
				out = append(out, *a)
			}
			return true
		})
	})
	slices.SortFunc(out, func(a, b Agreement) int {
		if c := b.SignTime.Compare(a.SignTime); c != 0 {
			return c
		}
		return strings.Compare(b.AgreementNo, a.AgreementNo)
	})
	return out
}

// Agreement returns one agreement.
func (s *Sim) Agreement(no string) (*Agreement, error) {
	var a *Agreement
	s.e.view(func(t *txn) {
		if r := t.rec(kindAgreement, no); r != nil {
			a = r.cloneRecord().(*Agreement)
		}
	})
	if a == nil {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no agreement %q", no)
	}
	return a, nil
}

// UnsignAgreement is the buyer ending an agreement in the wallet (我的 → 设置 → 支付设置 →
// 免密支付/自动扣款): dut_user_unsign follows.
func (s *Sim) UnsignAgreement(ctx context.Context, no string) (*Agreement, error) {
	var out *Agreement
	err := s.e.update(ctx, func(t *txn) error {
		r := t.rec(kindAgreement, no)
		if r == nil {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "no agreement %q", no)
		}
		if r.(*Agreement).Status == AgreementUnsign {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "agreement %s is already unsigned", no)
		}
		out = t.unsign(no, "buyer").cloneRecord().(*Agreement)
		return nil
	})
	return out, err
}

// StopAgreement pauses an agreement (status STOP) or resumes it (NORMAL): charges are
// refused with ACQ.AGREEMENT_STATUS_NOT_NORMAL meanwhile. Alipay pauses agreements on
// its own (risk control); no notification is sent.
func (s *Sim) StopAgreement(ctx context.Context, no string, stop bool) (*Agreement, error) {
	var out *Agreement
	err := s.e.update(ctx, func(t *txn) error {
		r := t.rec(kindAgreement, no)
		if r == nil {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "no agreement %q", no)
		}
		if r.(*Agreement).Status == AgreementUnsign {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "agreement %s is unsigned", no)
		}
		w := t.recW(kindAgreement, no).(*Agreement)
		w.Status = AgreementNormal
		if stop {
			w.Status = AgreementStop
		}
		out = w.cloneRecord().(*Agreement)
		return nil
	})
	return out, err
}

// getAgreements is GET /sandbox/agreements?app_id=&user_id=&status=.
func (s *Sim) getAgreements(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	as := s.Agreements(AgreementFilter{AppID: q.Get("app_id"), UserID: q.Get("user_id"), Status: q.Get("status")})
	if as == nil {
		as = []Agreement{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"agreements": as})
}

func (s *Sim) getAgreement(w http.ResponseWriter, r *http.Request) {
	a, err := s.Agreement(r.PathValue("agreement_no"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// postAgreementSign is POST /sandbox/agreements/sign: the buyer's answer without a
// browser. The token is the last path segment of the sign page the gateway redirected to.
func (s *Sim) postAgreementSign(w http.ResponseWriter, r *http.Request) {
	var spec AgreementSign
	if err := s.decode(r, &spec); err != nil {
		writeError(w, err)
		return
	}
	a, back, err := s.SignAgreement(r.Context(), spec)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"agreement": a, "return_url": back})
}

func (s *Sim) postAgreementUnsign(w http.ResponseWriter, r *http.Request) {
	a, err := s.UnsignAgreement(r.Context(), r.PathValue("agreement_no"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Sim) postAgreementStop(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Resume bool `json:"resume"`
	}
	if err := s.decode(r, &body); err != nil {
		writeError(w, err)
		return
	}
	a, err := s.StopAgreement(r.Context(), r.PathValue("agreement_no"), !body.Resume)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// signLink is where the buyer's browser goes after the page: return_url as given.
func signLink(back string) string {
	if u, err := url.Parse(back); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return back
	}
	return ""
}
