package payment

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// Third-party authorisation (第三方应用授权, docs/vending.md §6): a service provider's
// app (App.ISV) collects for every merchant that authorised it. Each merchant's
// Authorization holds its app_auth_token; every call the engine makes for that merchant
// carries it, trades belong to the merchant's seller id, and notifications name the
// merchant by auth_app_id.

// Purposes under which an authorisation's tokens are sealed: bound to the ISV app and
// the merchant's auth_app_id, so a token copied to another authorisation does not open.
func AuthTokenPurpose(appID, authAppID string) string {
	return "app:" + appID + ":auth:" + authAppID + ":app_auth_token"
}
func AuthRefreshTokenPurpose(appID, authAppID string) string {
	return "app:" + appID + ":auth:" + authAppID + ":app_refresh_token"
}

// authStatePurpose seals the state of an authorisation link.
const authStatePurpose = "app_auth:state"

// Sealer seals and opens stored secrets (secret.Box); AppClients is one. The engine
// needs it to keep the tokens of authorisations.
type Sealer interface {
	Seal(plain, purpose string) (string, error)
	Open(stored, purpose string) (string, error)
}

// Seal implements Sealer with the clients' box.
func (c *AppClients) Seal(plain, purpose string) (string, error) { return c.box.Seal(plain, purpose) }

// Open implements Sealer with the clients' box.
func (c *AppClients) Open(stored, purpose string) (string, error) { return c.box.Open(stored, purpose) }

// forMerchant returns base acting for the merchant of auth: its token on every call.
func forMerchant(base *AppClient, token string, auth *f2fpay.Authorization) *AppClient {
	return &AppClient{Client: base.Client, opts: []alipay.CallOption{alipay.WithAppAuthToken(token)}, auth: auth}
}

// client returns the app as the merchant sees it and the client to call Alipay with.
// For a service provider's app and another merchant than the provider, the app's
// seller id and rebate PID are the merchant's authorisation's, and the client carries
// the merchant's app_auth_token; an authorisation Alipay refused is refused here,
// before anything is sent, with an error that names the fix.
func (e *Engine) client(ctx context.Context, appID, merchantID int64) (*f2fpay.App, *AppClient, error) {
	app, err := e.store.FindApp(ctx, appID)
	if err != nil {
		return nil, nil, err
	}
	c, err := e.clients.Client(ctx, app)
	if err != nil {
		return nil, nil, err
	}
	if !app.ISV || merchantID == app.MerchantID {
		return app, c, nil
	}
	auth, err := e.store.FindAuthorization(ctx, app.ID, merchantID)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		return nil, nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "merchant %d has not authorised service-provider app %s: an administrator creates an authorisation link with POST /admin/apps/%d/authorizations/link", merchantID, app.AppID, app.ID)
	}
	if err != nil {
		return nil, nil, err
	}
	if !auth.Usable() {
		return nil, nil, f2fpay.ReauthorizationError(auth, app.AppID)
	}
	s, ok := e.clients.(Sealer)
	if !ok {
		return nil, nil, f2fpay.Errorf(f2fpay.EINTERNAL, "payment: the engine's Clients cannot open app_auth_tokens (not a Sealer)")
	}
	token, err := s.Open(auth.AppAuthToken, AuthTokenPurpose(app.AppID, auth.AuthAppID))
	if err != nil {
		return nil, nil, f2fpay.Errorf(f2fpay.EINTERNAL, "app %s: merchant %d's app_auth_token cannot be opened: %v", app.AppID, merchantID, err)
	}
	view := *app
	view.SellerID, view.SysServiceProviderID, view.AppAuthToken = auth.SellerID, auth.SysServiceProviderID, ""
	return &view, forMerchant(c, token, auth), nil
}

// tokenRefused is called with the error of every call made for an order: when Alipay
// refused the merchant's app_auth_token (20001 aop.invalid-app-auth-token,
// aop.app-auth-token-time-out — revoked by the merchant, expired, replaced), the
// authorisation is marked as needing re-authorisation, so the next payment is refused
// with words that name the fix. Only the token the call carried is marked: a call that
// raced a refresh carried the old token, and the new one is fine.
func (e *Engine) tokenRefused(ctx context.Context, c *AppClient, err error) {
	if c == nil || c.auth == nil || !isTokenRefusal(err) {
		return
	}
	ae, _ := alipay.AsError(err)
	ctx, cancel := detached(ctx)
	defer cancel()
	for range 5 {
		a, ferr := e.store.FindAuthorization(ctx, c.auth.AppID, c.auth.MerchantID)
		if ferr != nil || a.AppAuthToken != c.auth.AppAuthToken || a.State != f2fpay.AuthorizationActive {
			return
		}
		a.State = f2fpay.AuthorizationReauthorize
		a.Problem = ae.Code + " " + ae.SubCode + " " + ae.SubMsg
		uerr := e.store.UpdateAuthorization(ctx, a)
		if uerr == nil {
			e.log.Warn("a merchant's authorisation was refused by Alipay; the merchant must authorise again",
				"app_id", a.AppID, "merchant_id", a.MerchantID, "auth_app_id", a.AuthAppID, "sub_code", ae.SubCode)
			return
		}
		if f2fpay.ErrorCode(uerr) != f2fpay.ECONFLICT {
			e.log.Error("marking an authorisation for re-authorisation failed", "err", uerr)
			return
		}
	}
}

// Sub-codes of 20001 that say the app_auth_token is no good (docs/vending.md §6).
const (
	SubInvalidAppAuthToken = "aop.invalid-app-auth-token"
	SubAppAuthTokenTimeOut = "aop.app-auth-token-time-out"
)

func isTokenRefusal(err error) bool {
	ae, ok := alipay.AsError(err)
	return ok && ae != nil && (ae.SubCode == SubInvalidAppAuthToken || ae.SubCode == SubAppAuthTokenTimeOut)
}

// AuthorizationLink returns the page where a merchant authorises the service
// provider's app: Alipay's appToAppAuth page, which sends the merchant back to
// redirectURI with app_auth_code and the state given here. The state is sealed (it
// names the app and the merchant and ends after a day), so the redirect cannot be
// pointed at another merchant.
func (e *Engine) AuthorizationLink(ctx context.Context, appID, merchantID int64, redirectURI string) (string, error) {
	app, err := e.store.FindApp(ctx, appID)
	if err != nil {
		return "", err
	}
	if !app.ISV {
		return "", f2fpay.Errorf(f2fpay.EINVALID, "app %s is not a service provider's app (isv); a merchant's own app needs no authorisation", app.AppID)
	}
	if _, err := e.store.FindMerchant(ctx, merchantID); err != nil {
		return "", err
	}
	if err := f2fpay.CheckHTTPURL("redirect_uri", redirectURI); err != nil {
		return "", err
	}
	s, ok := e.clients.(Sealer)
	if !ok {
		return "", f2fpay.Errorf(f2fpay.EINTERNAL, "payment: the engine's Clients cannot seal (not a Sealer)")
	}
	state, err := s.Seal(fmt.Sprintf("%d:%d:%d", app.ID, merchantID, e.now().Add(24*time.Hour).Unix()), authStatePurpose)
	if err != nil {
		return "", err
	}
	q := url.Values{"app_id": {app.AppID}, "redirect_uri": {redirectURI}, "state": {state}}
	return authPage(app.Gateway) + "?" + q.Encode(), nil
}

// authPage is the appToAppAuth page of the Alipay environment the gateway belongs to.
func authPage(gateway string) string {
	u, err := url.Parse(gateway)
	if err != nil {
		return "https://openauth.alipay.com/oauth2/appToAppAuth.htm"
	}
	switch {
	case u.Host == "openapi.alipay.com":
		return "https://openauth.alipay.com/oauth2/appToAppAuth.htm"
	case strings.HasSuffix(u.Host, "alipaydev.com"):
		return "https://openauth-sandbox.dl.alipaydev.com/oauth2/appToAppAuth.htm"
	}
	// The offline sandbox: the merchant's consent is POST /sandbox/app-auth-codes.
	return u.Scheme + "://" + u.Host + "/oauth2/appToAppAuth.htm"
}

// OpenAuthorizationState checks a link's state and returns the app and merchant it
// names.
func (e *Engine) OpenAuthorizationState(state string) (appID, merchantID int64, err error) {
	s, ok := e.clients.(Sealer)
	if !ok {
		return 0, 0, f2fpay.Errorf(f2fpay.EINTERNAL, "payment: the engine's Clients cannot open (not a Sealer)")
	}
	plain, err := s.Open(state, authStatePurpose)
	parts := strings.Split(plain, ":")
	if err != nil || len(parts) != 3 {
		return 0, 0, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "the authorisation link's state is not ours; ask the administrator for a new link")
	}
	appID, _ = strconv.ParseInt(parts[0], 10, 64)
	merchantID, _ = strconv.ParseInt(parts[1], 10, 64)
	until, _ := strconv.ParseInt(parts[2], 10, 64)
	if e.now().Unix() > until {
		return 0, 0, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "the authorisation link has expired; ask the administrator for a new link")
	}
	return appID, merchantID, nil
}

// AuthorizeOptions are the merchant's terms of an authorisation.
type AuthorizeOptions struct {
	// SysServiceProviderID is the PID earning rebates on the merchant's trades; the
	// app's own when empty.
	SysServiceProviderID string
}

// Authorize exchanges a merchant's app_auth_code (alipay.open.auth.token.app,
// grant_type authorization_code) and keeps the merchant's authorisation of the
// service provider's app: tokens sealed, auth_app_id and seller id as Alipay answered.
// A merchant authorising again (after a revocation) gets its authorisation back to
// active with the new tokens. A code Alipay refuses is EINVALID with Alipay's words;
// nothing is stored.
func (e *Engine) Authorize(ctx context.Context, appID, merchantID int64, code string, opt AuthorizeOptions) (*f2fpay.Authorization, error) {
	if code == "" {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "app_auth_code is required")
	}
	if opt.SysServiceProviderID != "" && !f2fpay.IsPID(opt.SysServiceProviderID) {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "sys_service_provider_id %q is not an Alipay PID (2088 and 12 more digits)", opt.SysServiceProviderID)
	}
	app, err := e.store.FindApp(ctx, appID)
	if err != nil {
		return nil, err
	}
	if !app.ISV {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "app %s is not a service provider's app (isv)", app.AppID)
	}
	if _, err := e.store.FindMerchant(ctx, merchantID); err != nil {
		return nil, err
	}
	c, err := e.clients.Client(ctx, app)
	if err != nil {
		return nil, err
	}
	cctx, cancel := e.callCtx(ctx)
	r, err := c.OpenAuthTokenApp(cctx, &alipay.OpenAuthTokenAppRequest{GrantType: alipay.GrantAuthorizationCode, Code: code})
	cancel()
	if err != nil {
		if ae, ok := alipay.AsError(err); ok && ae != nil && !ae.Unknown() {
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "Alipay refused the app_auth_code (%s %s: %s); the merchant must authorise again through a new link", ae.Code, ae.SubCode, ae.SubMsg)
		}
		return nil, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "exchanging the app_auth_code: %v", err)
	}
	if r.AppAuthToken == "" || r.AuthAppID == "" {
		return nil, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "Alipay's answer to alipay.open.auth.token.app holds no app_auth_token or auth_app_id")
	}
	rebate := opt.SysServiceProviderID
	if rebate == "" {
		rebate = app.SysServiceProviderID
	}
	now := e.now()
	for range 5 {
		a, err := e.store.FindAuthorization(ctx, app.ID, merchantID)
		fresh := f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND
		if err != nil && !fresh {
			return nil, err
		}
		if fresh {
			a = &f2fpay.Authorization{AppID: app.ID, MerchantID: merchantID}
		}
		a.AuthAppID, a.SellerID, a.SysServiceProviderID = r.AuthAppID, r.UserID, rebate
		if err := e.setTokens(app, a, r, now); err != nil {
			return nil, err
		}
		a.State, a.Problem = f2fpay.AuthorizationActive, ""
		if fresh {
			err = e.store.CreateAuthorization(ctx, a)
		} else {
			err = e.store.UpdateAuthorization(ctx, a)
		}
		if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT && !fresh {
			continue
		}
		if err != nil {
			return nil, err
		}
		e.log.Info("merchant authorised the service provider's app", "app_id", app.AppID, "merchant_id", merchantID, "auth_app_id", a.AuthAppID)
		return a, nil
	}
	return nil, f2fpay.Errorf(f2fpay.ECONFLICT, "the authorisation changed meanwhile; send the code again")
}

// RefreshPolicy says when tokens are renewed.
type RefreshPolicy struct {
	// Before is how long before the token ends it is renewed; default 30 days (a
	// token lives a year).
	Before time.Duration
	// Retry is the wait after a refresh that got no answer; default 10 minutes.
	Retry time.Duration
	// Lease is how long a claimed authorisation is this instance's; default 1 minute.
	Lease time.Duration
	// Interval separates rounds of RunRefresher; default 1 minute.
	Interval time.Duration
}

func (p RefreshPolicy) withDefaults() RefreshPolicy {
	if p.Before <= 0 {
		p.Before = 30 * 24 * time.Hour
	}
	if p.Retry <= 0 {
		p.Retry = 10 * time.Minute
	}
	if p.Lease <= 0 {
		p.Lease = time.Minute
	}
	if p.Interval <= 0 {
		p.Interval = time.Minute
	}
	return p
}

func (e *Engine) setTokens(app *f2fpay.App, a *f2fpay.Authorization, r *alipay.OpenAuthTokenAppResponse, now time.Time) error {
	s, ok := e.clients.(Sealer)
	if !ok {
		return f2fpay.Errorf(f2fpay.EINTERNAL, "payment: the engine's Clients cannot seal (not a Sealer)")
	}
	var err error
	if a.AppAuthToken, err = s.Seal(r.AppAuthToken, AuthTokenPurpose(app.AppID, a.AuthAppID)); err != nil {
		return err
	}
	if a.RefreshToken, err = s.Seal(r.AppRefreshToken, AuthRefreshTokenPurpose(app.AppID, a.AuthAppID)); err != nil {
		return err
	}
	a.ExpiresAt = now.Add(time.Duration(r.ExpiresIn) * time.Second)
	a.ReExpiresAt = now.Add(time.Duration(r.ReExpiresIn) * time.Second)
	a.RefreshAt = a.ExpiresAt.Add(-e.refresh.Before)
	if a.RefreshAt.Before(now) {
		a.RefreshAt = now
	}
	return nil
}

// RunRefresher renews tokens before they end until ctx is done. Several instances may
// run it: ClaimDueAuthorizations leases each authorisation to one of them.
func (e *Engine) RunRefresher(ctx context.Context) error {
	t := time.NewTicker(e.refresh.Interval)
	defer t.Stop()
	for {
		if _, err := e.RefreshRound(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("token refresh round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RefreshRound claims the authorisations due for renewal and renews them with
// alipay.open.auth.token.app (grant_type refresh_token), returning how many it
// claimed. A refresh Alipay refuses (the merchant revoked the authorisation, the
// refresh token ended) marks the authorisation as needing re-authorisation; one that
// got no answer is tried again after RefreshPolicy.Retry.
func (e *Engine) RefreshRound(ctx context.Context) (int, error) {
	now := e.now()
	due, err := e.store.ClaimDueAuthorizations(ctx, e.owner, now, e.refresh.Lease, 50)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, a := range due {
		if err := e.refreshOne(ctx, a); err != nil {
			errs = append(errs, err)
		}
	}
	return len(due), errors.Join(errs...)
}

func (e *Engine) refreshOne(ctx context.Context, a *f2fpay.Authorization) error {
	app, err := e.store.FindApp(ctx, a.AppID)
	if err != nil {
		return err
	}
	c, err := e.clients.Client(ctx, app)
	if err != nil {
		return err
	}
	s, ok := e.clients.(Sealer)
	if !ok {
		return f2fpay.Errorf(f2fpay.EINTERNAL, "payment: the engine's Clients cannot open (not a Sealer)")
	}
	refresh, err := s.Open(a.RefreshToken, AuthRefreshTokenPurpose(app.AppID, a.AuthAppID))
	if err != nil {
		return fmt.Errorf("authorisation %d: the refresh token cannot be opened: %w", a.ID, err)
	}
	cctx, cancel := e.callCtx(ctx)
	r, err := c.OpenAuthTokenApp(cctx, &alipay.OpenAuthTokenAppRequest{GrantType: alipay.GrantRefreshToken, RefreshToken: refresh})
	cancel()
	now := e.now()
	log := e.log.With("app_id", app.AppID, "merchant_id", a.MerchantID, "auth_app_id", a.AuthAppID)
	switch ae, isAE := alipay.AsError(err); {
	case err == nil && r.AppAuthToken != "":
		if r.AuthAppID != "" && r.AuthAppID != a.AuthAppID {
			return fmt.Errorf("authorisation %d: the refresh answered auth_app_id %s, not %s", a.ID, r.AuthAppID, a.AuthAppID)
		}
		if err := e.setTokens(app, a, r, now); err != nil {
			return err
		}
		a.RefreshedAt = now
		log.Info("app_auth_token refreshed", "expires_at", a.ExpiresAt)
	case isAE && ae != nil && !ae.Unknown():
		// Alipay's word: this refresh token is no good. Only the merchant can fix it.
		a.State = f2fpay.AuthorizationReauthorize
		a.Problem = ae.Code + " " + ae.SubCode + " " + ae.SubMsg
		log.Warn("token refresh refused; the merchant must authorise again", "sub_code", ae.SubCode)
	default:
		a.RefreshAt = now.Add(e.refresh.Retry)
		log.Warn("token refresh got no answer; trying again later", "err", err)
	}
	// A conflict means another writer (a revocation seen by a payment, a new
	// authorisation) got there first: theirs stands.
	if err := e.store.UpdateAuthorization(ctx, a); err != nil && f2fpay.ErrorCode(err) != f2fpay.ECONFLICT {
		return err
	}
	return nil
}
