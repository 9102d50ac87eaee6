package alipaysim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Lifetimes of what member authorisation (会员授权, docs/vending.md §2) issues.
const (
	// OAuthCodeTTL is how long an auth_code works. Alipay documents "3 minutes to 24
	// hours" without saying which; the sandbox takes the short end's order of
	// magnitude so a test that dawdles finds out.
	OAuthCodeTTL = 5 * time.Minute
	// AccessTokenTTL and RefreshTokenTTL are the expires_in (1296000 s, 15 days) and
	// re_expires_in (2592000 s, 30 days) real answers carry.
	AccessTokenTTL  = 1296000 * time.Second
	RefreshTokenTTL = 2592000 * time.Second
)

// OAuth scopes.
const (
	ScopeAuthBase = "auth_base" // silent: yields the user's ids only
	ScopeAuthUser = "auth_user" // with consent: alipay.user.info.share works
)

// OAuthCode is an auth_code handed to an app through the authorisation redirect.
type OAuthCode struct {
	Code      string     `json:"auth_code"`
	AppID     string     `json:"app_id"`
	UserID    string     `json:"user_id"`
	Scope     string     `json:"scope"`
	IssuedAt  time.Time  `json:"issued_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
}

func (c *OAuthCode) recordKind() string  { return kindOAuthCode }
func (c *OAuthCode) recordID() string    { return c.Code }
func (c *OAuthCode) cloneRecord() record { d := *c; return &d }

// OAuthToken is an access token with its refresh token.
type OAuthToken struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	AppID        string    `json:"app_id"`
	UserID       string    `json:"user_id"`
	OpenID       string    `json:"open_id"`
	Scope        string    `json:"scope"`
	IssuedAt     time.Time `json:"auth_start"`
	ExpiresAt    time.Time `json:"expires_at"`
	ReExpiresAt  time.Time `json:"re_expires_at"`
	// Refreshed is set once the refresh token has been used: refresh tokens are
	// single-use, the new answer carries the next one.
	Refreshed bool `json:"refreshed,omitempty"`
}

func (o *OAuthToken) recordKind() string  { return kindOAuthToken }
func (o *OAuthToken) recordID() string    { return o.AccessToken }
func (o *OAuthToken) cloneRecord() record { c := *o; return &c }

// OAuthGrant is the buyer's answer on the authorisation page
// (/oauth/authorize?app_id=…&scope=…&redirect_uri=…&state=…).
type OAuthGrant struct {
	AppID       string `json:"app_id"`
	UserID      string `json:"user_id"` // user id, open id or logon id of a sandbox buyer
	Scope       string `json:"scope"`   // auth_base or auth_user
	RedirectURI string `json:"redirect_uri"`
	State       string `json:"state,omitempty"`
	Allow       bool   `json:"allow"`
}

// GrantOAuth records the buyer's decision and returns where the browser goes next.
//
// Allowed, it is redirect_uri with app_id, source=alipay_wallet, scope, auth_code (32
// characters, single use, valid OAuthCodeTTL) and state, as Alipay redirects
// (docs/alipay-protocol.md §6.13). Denied: Alipay documents no redirect for a refusal (its page
// stays in the wallet); the sandbox redirects anyway, without auth_code and with
// OAuth 2.0's error=access_denied (RFC 6749 §4.1.2.1), so that a test can follow the
// refusal to the merchant's page.
func (s *Sim) GrantOAuth(ctx context.Context, g OAuthGrant) (redirectURL string, err error) {
	scope, err := checkScope(g.Scope)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(g.RedirectURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", f2fpay.Errorf(f2fpay.EINVALID, "redirect_uri %q must be an absolute http:// or https:// URL", g.RedirectURI)
	}
	if len(g.State) > 100 {
		return "", f2fpay.Errorf(f2fpay.EINVALID, "state is longer than Alipay's 100 characters")
	}
	var code string
	err = s.e.update(ctx, func(t *txn) error {
		if t.app(g.AppID) == nil {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "no app %q; register one with POST /sandbox/apps", g.AppID)
		}
		b := t.buyerByAny(g.UserID)
		if b == nil {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "no buyer %q; create one with POST /sandbox/buyers", g.UserID)
		}
		if !g.Allow {
			return nil
		}
		for code == "" || t.rec(kindOAuthCode, code) != nil {
			code = strings.ToLower(hexDigits(t, 28)) + "OX" + t.ids.digits(2)
		}
		t.putRec(&OAuthCode{Code: code, AppID: g.AppID, UserID: b.UserID, Scope: scope,
			IssuedAt: t.now, ExpiresAt: t.now.Add(OAuthCodeTTL)})
		return nil
	})
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("app_id", g.AppID)
	q.Set("source", "alipay_wallet")
	q.Set("scope", scope)
	if g.Allow {
		q.Set("auth_code", code)
	} else {
		q.Set("error", "access_denied")
		q.Set("error_description", "用户拒绝授权 (the buyer refused)")
	}
	if g.State != "" {
		q.Set("state", g.State)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// checkScope accepts auth_base, auth_user or both comma-separated (the wider wins).
func checkScope(s string) (string, error) {
	scope := ""
	for _, p := range strings.Split(s, ",") {
		switch strings.TrimSpace(p) {
		case ScopeAuthUser:
			scope = ScopeAuthUser
		case ScopeAuthBase:
			if scope == "" {
				scope = ScopeAuthBase
			}
		default:
			return "", f2fpay.Errorf(f2fpay.EINVALID, "scope %q must be auth_base or auth_user", s)
		}
	}
	return scope, nil
}

// oauthError is an alipay.system.oauth.token failure: Alipay puts these under
// error_response, not under the method's node.
func oauthError(c *call, sub, msg string) *node {
	c.errorNode = true
	return gatewayError(codeInvalid, sub, msg)
}

// oauthToken is alipay.system.oauth.token. Its parameters are top-level (grant_type,
// code, refresh_token); biz_content is read as a fallback for clients that put them
// there. A success carries no code and msg at all, only the token fields — the real
// gateway's layout, which clients that test code == "10000" get wrong.
func (t *txn) oauthToken(c *call) *node {
	p := c.params
	get := func(k string) string {
		if v := p[k]; v != "" {
			return v
		}
		var m map[string]jstr
		if json.Unmarshal([]byte(p["biz_content"]), &m) == nil {
			return string(m[k])
		}
		return ""
	}
	var tok *OAuthToken
	switch get("grant_type") {
	case "authorization_code":
		code := get("code")
		x, _ := t.rec(kindOAuthCode, code).(*OAuthCode)
		if code == "" || x == nil || x.AppID != c.app.AppID || x.UsedAt != nil || !t.now.Before(x.ExpiresAt) {
			return oauthError(c, "isv.code-invalid", "授权码code无效")
		}
		x = t.recW(kindOAuthCode, code).(*OAuthCode)
		now := t.now
		x.UsedAt = &now
		tok = t.newOAuthToken(c.app.AppID, x.UserID, x.Scope)
	case "refresh_token":
		rt := get("refresh_token")
		var old *OAuthToken
		if rt != "" {
			t.eachRec(kindOAuthToken, func(r record) bool {
				if o := r.(*OAuthToken); o.RefreshToken == rt && o.AppID == c.app.AppID {
					old = o
					return false
				}
				return true
			})
		}
		switch {
		case old == nil || old.Refreshed:
			return oauthError(c, "isv.refresh-token-invalid", "刷新令牌refresh_token无效")
		case !t.now.Before(old.ReExpiresAt):
			return oauthError(c, "isv.refresh-token-time-out", "刷新令牌refresh_token过期")
		}
		t.recW(kindOAuthToken, old.AccessToken).(*OAuthToken).Refreshed = true
		tok = t.newOAuthToken(c.app.AppID, old.UserID, old.Scope)
	case "":
		return oauthError(c, "isv.grant-type-invalid", "grant_type参数不正确 (grant_type is required: authorization_code or refresh_token)")
	default:
		return oauthError(c, "isv.grant-type-invalid", "grant_type参数不正确 (authorization_code or refresh_token)")
	}
	if tok == nil {
		return oauthError(c, "isv.code-invalid", "授权码code无效")
	}
	n := &node{Fields: map[string]any{}}
	return n.set("access_token", tok.AccessToken).set("auth_start", fmtTime(tok.IssuedAt)).
		set("expires_in", int64(AccessTokenTTL/time.Second)).set("open_id", tok.OpenID).
		set("re_expires_in", int64(RefreshTokenTTL/time.Second)).set("refresh_token", tok.RefreshToken).
		set("user_id", tok.UserID)
}

// newOAuthToken issues a token pair ("authusrB" + 29 characters + "X01", like Alipay's).
func (t *txn) newOAuthToken(appID, userID, scope string) *OAuthToken {
	b := t.buyer(userID)
	if b == nil {
		return nil
	}
	mk := func() string {
		for {
			s := "authusrB" + strings.ToLower(hexDigits(t, 29)) + "X01"
			if t.rec(kindOAuthToken, s) == nil {
				return s
			}
		}
	}
	tok := &OAuthToken{AccessToken: mk(), RefreshToken: mk(), AppID: appID, UserID: b.UserID, OpenID: b.OpenID,
		Scope: scope, IssuedAt: t.now, ExpiresAt: t.now.Add(AccessTokenTTL), ReExpiresAt: t.now.Add(RefreshTokenTTL)}
	t.putRec(tok)
	return tok
}

// tokenError is the 20001 answer for a bad user or app token, in the method's node.
func tokenError(sub, msg string) *node {
	return &node{Code: "20001", Msg: "Insufficient Token Permissions", SubCode: sub, SubMsg: msg, Fields: map[string]any{}}
}

// userInfoShare is alipay.user.info.share: the profile behind an auth_user access token.
// The sandbox's buyers have no real profile; the answer is a fixed, plausible one.
func (t *txn) userInfoShare(c *call) *node {
	at := c.params["auth_token"]
	tok, _ := t.rec(kindOAuthToken, at).(*OAuthToken)
	switch {
	case at == "" || tok == nil || tok.AppID != c.app.AppID:
		return tokenError("aop.invalid-auth-token", "无效的访问令牌")
	case !t.now.Before(tok.ExpiresAt):
		return tokenError("aop.auth-token-time-out", "访问令牌已过期")
	case tok.Scope != ScopeAuthUser:
		return &node{Code: "40003", Msg: "Insufficient Conditions", SubCode: "isv.invalid-auth-relations",
			SubMsg: "无效的授权关系 (the user granted auth_base only; ask for scope auth_user)", Fields: map[string]any{}}
	}
	b := t.buyer(tok.UserID)
	if b == nil {
		return tokenError("aop.invalid-auth-token", "无效的访问令牌")
	}
	return success().set("user_id", b.UserID).set("open_id", b.OpenID).
		set("nick_name", "沙箱买家"+b.UserID[len(b.UserID)-4:]).set("gender", "m").
		set("province", "浙江省").set("city", "杭州市").set("is_certified", "T").
		set("is_student_certified", "F").set("user_type", "2").set("user_status", "T")
}

// postOAuthGrant is POST /sandbox/oauth/grant: the consent page without a browser.
// "allow" defaults to true.
func (s *Sim) postOAuthGrant(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AppID       string `json:"app_id"`
		UserID      string `json:"user_id"`
		Scope       string `json:"scope"`
		RedirectURI string `json:"redirect_uri"`
		State       string `json:"state"`
		Allow       *bool  `json:"allow"`
	}
	if err := s.decode(r, &body); err != nil {
		writeError(w, err)
		return
	}
	if body.AppID == "" || body.UserID == "" || body.Scope == "" || body.RedirectURI == "" {
		writeError(w, f2fpay.Errorf(f2fpay.EINVALID, "app_id, user_id, scope (auth_base or auth_user) and redirect_uri are required"))
		return
	}
	g := OAuthGrant{AppID: body.AppID, UserID: body.UserID, Scope: body.Scope, RedirectURI: body.RedirectURI,
		State: body.State, Allow: body.Allow == nil || *body.Allow}
	to, err := s.GrantOAuth(r.Context(), g)
	if err != nil {
		writeError(w, err)
		return
	}
	out := map[string]string{"redirect_url": to}
	if u, err := url.Parse(to); err == nil {
		if code := u.Query().Get("auth_code"); code != "" {
			out["auth_code"] = code
		}
	}
	writeJSON(w, http.StatusOK, out)
}
