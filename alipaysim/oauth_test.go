package alipaysim

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
)

// sdk returns f2fpay's own client for an app of the bundle's sandbox (every app in
// these tests shares the test key).
func (b *bundle) sdk(appID string) *alipay.Client {
	b.t.Helper()
	ak, _ := keys(b.t)
	der, _ := x509.MarshalPKCS8PrivateKey(ak)
	c, err := alipay.New(alipay.Config{
		AppID: appID, PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		AlipayPublicKey: b.sim.AlipayPublicKey(), Gateway: b.srv.URL + "/gateway.do",
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

// control sends a JSON request to the control API and decodes the answer into out.
func (b *bundle) control(method, path string, body, out any) int {
	b.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, b.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			b.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// subCode returns the sub_code of an *alipay.Error, "" for another error or nil.
func subCode(err error) string {
	var ae *alipay.Error
	if errors.As(err, &ae) {
		return ae.SubCode
	}
	return ""
}

func (b *bundle) grant(userID, scope string, allow bool) url.Values {
	b.t.Helper()
	var out map[string]string
	if st := b.control("POST", "/sandbox/oauth/grant", map[string]any{"app_id": b.app.AppID, "user_id": userID,
		"scope": scope, "redirect_uri": "https://shop.example/cb?x=1", "state": "s-42", "allow": allow}, &out); st != 200 {
		b.t.Fatalf("grant: %d %v", st, out)
	}
	u, err := url.Parse(out["redirect_url"])
	if err != nil || u.Host != "shop.example" || u.Path != "/cb" {
		b.t.Fatalf("redirect %q", out["redirect_url"])
	}
	return u.Query()
}

func TestOAuthAuthUserFlow(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	c := b.sdk(b.app.AppID)
	by := b.buyer("1.00")

	q := b.grant(by.UserID, "auth_user", true)
	code := q.Get("auth_code")
	if len(code) != 32 || q.Get("app_id") != b.app.AppID || q.Get("source") != "alipay_wallet" ||
		q.Get("scope") != "auth_user" || q.Get("state") != "s-42" || q.Get("x") != "1" {
		t.Fatalf("redirect query %v", q)
	}

	// The raw answer: no code or msg, keys in order, numbers unquoted.
	status, body := b.post(b.request("alipay.system.oauth.token", nil, "grant_type", "authorization_code", "code", code))
	if status != 200 {
		t.Fatal(status)
	}
	env, err := alipay.ParseEnvelope(body, "alipay.system.oauth.token")
	if err != nil {
		t.Fatal(err)
	}
	s := string(env.Content)
	for _, want := range []string{`{"access_token":"authusrB`, `"expires_in":1296000,`, `"re_expires_in":2592000,`, `"user_id":"` + by.UserID + `"}`, `"open_id":"` + by.OpenID + `"`} {
		if !strings.Contains(s, want) {
			t.Errorf("answer %s lacks %s", s, want)
		}
	}
	if strings.Contains(s, `"code"`) || env.Node != "alipay_system_oauth_token_response" {
		t.Errorf("success must carry no code: %s %s", env.Node, s)
	}
	var tok struct{ AccessToken, RefreshToken string }
	json.Unmarshal(env.Content, &struct {
		A *string `json:"access_token"`
		R *string `json:"refresh_token"`
	}{&tok.AccessToken, &tok.RefreshToken})

	// The code is single-use: the SDK sees error_response 40002 isv.code-invalid.
	_, err = c.SystemOauthToken(ctx, alipay.GrantAuthorizationCode, code)
	if subCode(err) != "isv.code-invalid" {
		t.Fatalf("reused code: %v", err)
	}
	status, body = b.post(b.request("alipay.system.oauth.token", nil, "grant_type", "authorization_code", "code", code))
	if env, _ := alipay.ParseEnvelope(body, "alipay.system.oauth.token"); status != 200 || env == nil || env.Node != "error_response" {
		t.Fatalf("reused code must answer under error_response: %s", body)
	}

	info, err := c.UserInfoShare(ctx, tok.AccessToken)
	if err != nil || info.UserID != by.UserID || info.NickName == "" {
		t.Fatalf("user.info.share: %v %+v", err, info)
	}

	// Refresh: a new pair; the old refresh token is spent.
	r1, err := c.SystemOauthToken(ctx, alipay.GrantRefreshToken, tok.RefreshToken)
	if err != nil || r1.AccessToken == tok.AccessToken || r1.UserID != by.UserID || r1.ExpiresIn != 1296000 || r1.ReExpiresIn != 2592000 {
		t.Fatalf("refresh: %v %+v", err, r1)
	}
	if _, err := c.SystemOauthToken(ctx, alipay.GrantRefreshToken, tok.RefreshToken); subCode(err) != "isv.refresh-token-invalid" {
		t.Errorf("refresh token reused: %v", err)
	}
	if _, err := c.UserInfoShare(ctx, r1.AccessToken); err != nil {
		t.Errorf("refreshed token: %v", err)
	}

	// Fifteen days later the access token is dead, the refresh token still works; after
	// thirty the refresh token is too.
	b.advance(AccessTokenTTL)
	if _, err := c.UserInfoShare(ctx, r1.AccessToken); subCode(err) != "aop.auth-token-time-out" {
		t.Errorf("expired token: %v", err)
	}
	b.advance(RefreshTokenTTL - AccessTokenTTL)
	if _, err := c.SystemOauthToken(ctx, alipay.GrantRefreshToken, r1.RefreshToken); subCode(err) != "isv.refresh-token-time-out" {
		t.Errorf("expired refresh token: %v", err)
	}
}

func TestOAuthErrors(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	c := b.sdk(b.app.AppID)
	by := b.buyer("1.00")
	other, err := b.sim.RegisterApp(ctx, AppSpec{PublicKey: b.app.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	baseTok, err := c.SystemOauthToken(ctx, alipay.GrantAuthorizationCode, b.grant(by.UserID, "auth_base", true).Get("auth_code"))
	if err != nil {
		t.Fatal(err)
	}
	expired := b.grant(by.UserID, "auth_user", true).Get("auth_code")
	b.advance(OAuthCodeTTL)
	fresh := b.grant(by.UserID, "auth_user", true).Get("auth_code")

	tests := []struct {
		name string
		call func() error
		code string
		sub  string
	}{
		{"expired code", func() error { _, err := c.SystemOauthToken(ctx, "authorization_code", expired); return err }, "40002", "isv.code-invalid"},
		{"unknown code", func() error {
			_, err := c.SystemOauthToken(ctx, "authorization_code", "0123456789abcdef0123456789abOX12")
			return err
		}, "40002", "isv.code-invalid"},
		{"another app's code", func() error {
			_, err := b.sdk(other.AppID).SystemOauthToken(ctx, "authorization_code", fresh)
			return err
		}, "40002", "isv.code-invalid"},
		{"bad grant_type", func() error {
			_, err := c.Call(ctx, "alipay.system.oauth.token", nil, nil, alipay.WithParam("grant_type", "password"))
			return err
		}, "40002", "isv.grant-type-invalid"},
		{"unknown refresh token", func() error { _, err := c.SystemOauthToken(ctx, "refresh_token", "authusrBnope"); return err }, "40002", "isv.refresh-token-invalid"},
		{"auth_base token", func() error { _, err := c.UserInfoShare(ctx, baseTok.AccessToken); return err }, "40003", "isv.invalid-auth-relations"},
		{"bad token", func() error { _, err := c.UserInfoShare(ctx, "authusrBforged"); return err }, "20001", "aop.invalid-auth-token"},
		{"another app's token", func() error { _, err := b.sdk(other.AppID).UserInfoShare(ctx, baseTok.AccessToken); return err }, "20001", "aop.invalid-auth-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae *alipay.Error
			if !errors.As(err, &ae) || ae.Code != tt.code || ae.SubCode != tt.sub {
				t.Fatalf("got %v, want %s %s", err, tt.code, tt.sub)
			}
		})
	}
	// The fresh code still works after all that.
	if _, err := c.SystemOauthToken(ctx, "authorization_code", fresh); err != nil {
		t.Fatal(err)
	}
}

func TestOAuthDenyAndBadGrants(t *testing.T) {
	b := setup(t)
	by := b.buyer("1.00")
	q := b.grant(by.UserID, "auth_user", false)
	if q.Get("auth_code") != "" || q.Get("error") != "access_denied" || q.Get("state") != "s-42" || q.Get("app_id") != b.app.AppID {
		t.Fatalf("deny redirect %v", q)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		g    OAuthGrant
		want string
	}{
		{"bad scope", OAuthGrant{AppID: b.app.AppID, UserID: by.UserID, Scope: "auth_everything", RedirectURI: "https://a.example/"}, "scope"},
		{"relative redirect", OAuthGrant{AppID: b.app.AppID, UserID: by.UserID, Scope: "auth_base", RedirectURI: "/cb"}, "redirect_uri"},
		{"ftp redirect", OAuthGrant{AppID: b.app.AppID, UserID: by.UserID, Scope: "auth_base", RedirectURI: "ftp://a.example/"}, "redirect_uri"},
		{"unknown app", OAuthGrant{AppID: "2021000000000000", UserID: by.UserID, Scope: "auth_base", RedirectURI: "https://a.example/"}, "no app"},
		{"unknown buyer", OAuthGrant{AppID: b.app.AppID, UserID: "2088000000000000", Scope: "auth_base", RedirectURI: "https://a.example/"}, "no buyer"},
		{"long state", OAuthGrant{AppID: b.app.AppID, UserID: by.UserID, Scope: "auth_base", RedirectURI: "https://a.example/", State: strings.Repeat("s", 101)}, "state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.sim.GrantOAuth(ctx, tt.g)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error about %s", err, tt.want)
			}
		})
	}
	var out map[string]string
	if st := b.control("POST", "/sandbox/oauth/grant", map[string]any{"app_id": b.app.AppID}, &out); st != 400 || !strings.Contains(out["error"], "redirect_uri") {
		t.Errorf("missing fields: %d %v", st, out)
	}
}

// TestOAuthSurvivesRestart checks that codes and tokens are persisted as records.
func TestOAuthSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	store, err := OpenSQLiteStore(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b := setup(t, func(c *Config) { c.Store = store })
	by := b.buyer("1.00")
	code := b.grant(by.UserID, "auth_user", true).Get("auth_code")
	b.sim.Close()
	_, sk := keys(t)
	sim2, err := New(ctx, Config{Store: store, Clock: b.clock, AlipayKey: sk, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	defer sim2.Close()
	var found *OAuthCode
	sim2.e.view(func(tx *txn) { found, _ = tx.rec(kindOAuthCode, code).(*OAuthCode) })
	if found == nil || found.UserID != by.UserID || found.Scope != "auth_user" || !found.ExpiresAt.Equal(testStart.Add(OAuthCodeTTL)) {
		t.Fatalf("code after restart: %+v", found)
	}
}
