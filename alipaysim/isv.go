package alipaysim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Third-party authorisation (第三方应用授权): a merchant authorises a service
// provider's (ISV's) app to call for it. The merchant's consent yields an
// app_auth_code; the ISV exchanges it with alipay.open.auth.token.app for an
// app_auth_token and sends that with every call it makes for the merchant. The trades
// it creates belong to the merchant: its app_id and seller_id, its balance.
const (
	// AppAuthCodeTTL bounds an unexchanged app_auth_code. Alipay does not document it
	// precisely; a day is what its console's authorisation links live.
	AppAuthCodeTTL = 24 * time.Hour
	// AppAuthTokenTTL and AppRefreshTokenTTL are the expires_in (31536000 s, a year) and
	// re_expires_in (32140800 s) real answers carry.
	AppAuthTokenTTL    = 31536000 * time.Second
	AppRefreshTokenTTL = 32140800 * time.Second
)

// AppAuthCode is a merchant's consent, waiting to be exchanged by the ISV app.
type AppAuthCode struct {
	Code          string     `json:"app_auth_code"`
	ISVAppID      string     `json:"isv_app_id"`
	MerchantAppID string     `json:"merchant_app_id"`
	IssuedAt      time.Time  `json:"issued_at"`
	ExpiresAt     time.Time  `json:"expires_at"`
	UsedAt        *time.Time `json:"used_at,omitempty"`
}

func (c *AppAuthCode) recordKind() string  { return kindAppAuthCode }
func (c *AppAuthCode) recordID() string    { return c.Code }
func (c *AppAuthCode) cloneRecord() record { d := *c; return &d }

// AppAuthToken lets ISVAppID act for MerchantAppID.
type AppAuthToken struct {
	Token         string    `json:"app_auth_token"`
	RefreshToken  string    `json:"app_refresh_token"`
	ISVAppID      string    `json:"isv_app_id"`
	MerchantAppID string    `json:"auth_app_id"`
	UserID        string    `json:"user_id"` // the merchant's seller id
	IssuedAt      time.Time `json:"issued_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	ReExpiresAt   time.Time `json:"re_expires_at"`
	// Revoked is set when the token was refreshed: the refresh answer replaces both
	// tokens (a sandbox decision; Alipay's overlap period is not documented).
	Revoked bool `json:"revoked,omitempty"`
}

func (a *AppAuthToken) recordKind() string  { return kindAppAuthToken }
func (a *AppAuthToken) recordID() string    { return a.Token }
func (a *AppAuthToken) cloneRecord() record { c := *a; return &c }

// IssueAppAuthCode is the merchant (merchantAppID's owner) consenting on Alipay's page
// to the ISV app isvAppID acting for it.
func (s *Sim) IssueAppAuthCode(ctx context.Context, isvAppID, merchantAppID string) (*AppAuthCode, error) {
	if isvAppID == merchantAppID {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "an app cannot authorise itself: give the ISV's app and the merchant's app")
	}
	var out *AppAuthCode
	err := s.e.update(ctx, func(t *txn) error {
		for _, id := range []string{isvAppID, merchantAppID} {
			if t.app(id) == nil {
				return f2fpay.Errorf(f2fpay.ENOTFOUND, "no app %q; register it with POST /sandbox/apps", id)
			}
		}
		code := ""
		for code == "" || t.rec(kindAppAuthCode, code) != nil {
			code = strings.ToLower(hexDigits(t, 28)) + "X" + t.ids.digits(3)
		}
		out = &AppAuthCode{Code: code, ISVAppID: isvAppID, MerchantAppID: merchantAppID, IssuedAt: t.now, ExpiresAt: t.now.Add(AppAuthCodeTTL)}
		t.putRec(out)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// openAuthTokenApp is alipay.open.auth.token.app (grant_type, code, refresh_token in
// biz_content), answered with the single-merchant layout: the token fields at the top
// of the node.
func (t *txn) openAuthTokenApp(c *call) *node {
	var r struct {
		GrantType    string `json:"grant_type"`
		Code         string `json:"code"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(c.params["biz_content"]), &r); err != nil {
		return gatewayError(codeInvalid, "isv.invalid-parameter", "biz_content 格式错误 ("+err.Error()+")")
	}
	var merchant string
	switch r.GrantType {
	case "authorization_code":
		x, _ := t.rec(kindAppAuthCode, r.Code).(*AppAuthCode)
		if r.Code == "" || x == nil || x.ISVAppID != c.app.AppID || x.UsedAt != nil || !t.now.Before(x.ExpiresAt) {
			return gatewayError(codeInvalid, "isv.code-invalid", "授权码code无效")
		}
		now := t.now
		t.recW(kindAppAuthCode, r.Code).(*AppAuthCode).UsedAt = &now
		merchant = x.MerchantAppID
	case "refresh_token":
		var old *AppAuthToken
		if r.RefreshToken != "" {
			t.eachRec(kindAppAuthToken, func(rec record) bool {
				if a := rec.(*AppAuthToken); a.RefreshToken == r.RefreshToken && a.ISVAppID == c.app.AppID {
					old = a
					return false
				}
				return true
			})
		}
		switch {
		case old == nil || old.Revoked:
			return gatewayError(codeInvalid, "isv.refresh-token-invalid", "刷新令牌refresh_token无效")
		case !t.now.Before(old.ReExpiresAt):
			return gatewayError(codeInvalid, "isv.refresh-token-time-out", "刷新令牌refresh_token过期")
		}
		t.recW(kindAppAuthToken, old.Token).(*AppAuthToken).Revoked = true
		merchant = old.MerchantAppID
	default:
		return gatewayError(codeInvalid, "isv.grant-type-invalid", "grant_type参数不正确 (authorization_code or refresh_token)")
	}
	m := t.app(merchant)
	if m == nil {
		return gatewayError(codeInvalid, "isv.code-invalid", "授权码code无效")
	}
	mk := func() string {
		for {
			s := t.now.In(beijing).Format("200601") + "BB" + strings.ToLower(hexDigits(t, 29)) + "X" + t.ids.digits(2)
			if t.rec(kindAppAuthToken, s) == nil {
				return s
			}
		}
	}
	tok := &AppAuthToken{Token: mk(), RefreshToken: mk(), ISVAppID: c.app.AppID, MerchantAppID: m.AppID, UserID: m.SellerID,
		IssuedAt: t.now, ExpiresAt: t.now.Add(AppAuthTokenTTL), ReExpiresAt: t.now.Add(AppRefreshTokenTTL)}
	t.putRec(tok)
	return success().set("app_auth_token", tok.Token).set("app_refresh_token", tok.RefreshToken).
		set("auth_app_id", tok.MerchantAppID).set("expires_in", int64(AppAuthTokenTTL/time.Second)).
		set("re_expires_in", int64(AppRefreshTokenTTL/time.Second)).set("user_id", tok.UserID)
}

// delegated wraps a method so that a request carrying app_auth_token runs as the
// authorising merchant's app. A token that is unknown, revoked, or another ISV's
// answers 20001 aop.invalid-app-auth-token; an expired one aop.app-auth-token-time-out
// (both listed by Alipay's public error table, docs/alipay-protocol.md §5.1).
func delegated(h func(*txn, *call) *node) func(*txn, *call) *node {
	return func(t *txn, c *call) *node {
		tok := c.params["app_auth_token"]
		if tok == "" || c.isv != nil {
			return h(t, c)
		}
		a, _ := t.rec(kindAppAuthToken, tok).(*AppAuthToken)
		switch {
		case a == nil || a.Revoked || a.ISVAppID != c.app.AppID:
			return tokenError("aop.invalid-app-auth-token", "无效的应用授权令牌")
		case !t.now.Before(a.ExpiresAt):
			return tokenError("aop.app-auth-token-time-out", "应用授权令牌已过期")
		}
		m := t.app(a.MerchantAppID)
		if m == nil {
			return tokenError("aop.invalid-app-auth-token", "无效的应用授权令牌")
		}
		c.isv, c.app = c.app, m
		return h(t, c)
	}
}

// postAppAuthCode is POST /sandbox/app-auth-codes {"isv_app_id", "merchant_app_id"}:
// the merchant's consent, without the authorisation page.
func (s *Sim) postAppAuthCode(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ISVAppID      string `json:"isv_app_id"`
		MerchantAppID string `json:"merchant_app_id"`
	}
	if err := s.decode(r, &body); err != nil {
		writeError(w, err)
		return
	}
	if body.ISVAppID == "" || body.MerchantAppID == "" {
		writeError(w, f2fpay.Errorf(f2fpay.EINVALID, "isv_app_id (the service provider's app) and merchant_app_id (the authorising merchant's app) are required"))
		return
	}
	c, err := s.IssueAppAuthCode(r.Context(), body.ISVAppID, body.MerchantAppID)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"app_auth_code": c.Code, "expires_at": fmtTime(c.ExpiresAt),
		"isv_app_id": c.ISVAppID, "merchant_app_id": c.MerchantAppID})
}
