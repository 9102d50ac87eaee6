package httpapi_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

// isvHTTP is the bundle with a service provider's app of the bundle's merchant,
// registered through the admin API, and merchants to onboard onto it.
type isvHTTP struct {
	*bundle
	isv      *client.App
	isvSim   *alipaysim.App
	redirect string
}

func setupISVHTTP(t *testing.T, opts ...option) *isvHTTP {
	b := setup(t, opts...)
	ak, _ := keys()
	sa, err := b.sim.RegisterApp(b.ctx, alipaysim.AppSpec{PublicKey: string(alipay.PublicKeyPEM(&ak.PublicKey))})
	b.must(err)
	isv, err := b.admin.CreateApp(b.ctx, b.merchID, client.AppRequest{
		AppID: sa.AppID, Name: "isv", Gateway: b.Sandbox.Gateway(), PrivateKey: pemPKCS8(ak),
		AlipayPublicKey: b.sim.AlipayPublicKey(), SellerID: sa.SellerID, SysServiceProviderID: sa.SellerID, ISV: true,
	})
	b.must(err)
	if !isv.ISV {
		t.Fatalf("the admin API shows the service provider's app without isv: %+v", isv)
	}
	return &isvHTTP{bundle: b, isv: isv, isvSim: sa, redirect: b.srv.URL + "/alipay/app-auth"}
}

// served is a merchant with its own app at Alipay (the auth_app_id to be).
func (h *isvHTTP) served(name string) (*client.Merchant, *alipaysim.App) {
	ak, _ := keys()
	sa, err := h.sim.RegisterApp(h.ctx, alipaysim.AppSpec{PublicKey: string(alipay.PublicKeyPEM(&ak.PublicKey))})
	h.must(err)
	m, err := h.admin.CreateMerchant(h.ctx, client.MerchantRequest{Name: name})
	h.must(err)
	return m, sa
}

// code is the merchant consenting on Alipay's page.
func (h *isvHTTP) code(merchantAppID string) string {
	c, err := h.sim.IssueAppAuthCode(h.ctx, h.isvSim.AppID, merchantAppID)
	h.must(err)
	return c.Code
}

// page opens the redirect as the merchant's browser does.
func (h *isvHTTP) page(query url.Values) (int, string) {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.ctx, http.MethodGet, h.redirect+"?"+query.Encode(), nil)
	h.must(err)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	res, err := http.DefaultClient.Do(req)
	h.must(err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		h.t.Fatalf("the redirect answered %s to a browser: %s", ct, body)
	}
	if res.Header.Get("Referrer-Policy") != "no-referrer" {
		h.t.Errorf("the page leaks its URL (code and state) in Referer")
	}
	return res.StatusCode, string(body)
}

func wantAPIError(t *testing.T, err error, status int, code, words string) {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != status || ce.Code != code || !strings.Contains(ce.Message, words) {
		t.Fatalf("error %v: want %d %s naming %q", err, status, code, words)
	}
}

// TestAuthorizationEndpoints: a service provider onboards merchants over HTTP — the
// link, the merchant's browser coming back to /alipay/app-auth, the exchange of a code
// by hand, the list — and every refusal: a forged, altered, expired or missing state,
// a redirect naming another app, a used or unknown code, a merchant's own app, an
// unknown merchant, a bad redirect URI, no admin token. Tokens never appear in an
// answer or the log.
func TestAuthorizationEndpoints(t *testing.T) {
	testdb.Run(t, testAuthorizationEndpoints)
}

func testAuthorizationEndpoints(t *testing.T, kind testdb.Kind) {
	h := setupISVHTTP(t, onDB(kind))
	ctx := h.ctx
	ma, saA := h.served("Corner Shop")
	mb, saB := h.served("Station Kiosk")

	// The link: Alipay's appToAppAuth page for the ISV app, back to our redirect.
	link, err := h.admin.AuthorizationLink(ctx, h.isv.ID, ma.ID, h.redirect)
	h.must(err)
	u, err := url.Parse(link)
	h.must(err)
	q := u.Query()
	if !strings.HasSuffix(u.Path, "/oauth2/appToAppAuth.htm") || q.Get("app_id") != h.isv.AppID || q.Get("redirect_uri") != h.redirect || q.Get("state") == "" {
		t.Fatalf("link %s", link)
	}
	state := q.Get("state")

	// Refusals of the link.
	_, err = h.admin.AuthorizationLink(ctx, h.app.ID, ma.ID, h.redirect)
	wantAPIError(t, err, 400, f2fpay.EINVALID, "not a service provider's app")
	_, err = h.admin.AuthorizationLink(ctx, h.isv.ID, ma.ID+1000, h.redirect)
	wantAPIError(t, err, 404, f2fpay.ENOTFOUND, "")
	_, err = h.admin.AuthorizationLink(ctx, h.isv.ID, ma.ID, "javascript:alert(1)")
	wantAPIError(t, err, 400, f2fpay.EINVALID, "redirect_uri")
	_, err = h.admin.AuthorizationLink(ctx, h.isv.ID+1000, ma.ID, h.redirect)
	wantAPIError(t, err, 404, f2fpay.ENOTFOUND, "")
	_, err = client.NewAdminClient(h.srv.URL, "wrong-token-0123456789abcdef", nil).AuthorizationLink(ctx, h.isv.ID, ma.ID, h.redirect)
	wantAPIError(t, err, 401, f2fpay.EUNAUTHORIZED, "")

	// The redirect with a forged, an altered, an expired or no state: a page that says
	// why and what to do, and nothing stored.
	codeA := h.code(saA.AppID)
	altered := []byte(state)
	altered[len(altered)/2] ^= 1
	box := testbundle.Box(t)
	expired, err := box.Seal(fmt.Sprintf("%d:%d:%d", h.isv.ID, ma.ID, time.Now().Add(-time.Minute).Unix()), "app_auth:state")
	h.must(err)
	for _, tc := range []struct {
		name, state, words string
	}{
		{"forged", "forged-state", "state is not ours"},
		{"altered", string(altered), "state is not ours"},
		{"expired", expired, "link has expired"},
		{"missing", "", "state is missing"},
	} {
		st, body := h.page(url.Values{"app_id": {h.isv.AppID}, "app_auth_code": {codeA}, "state": {tc.state}})
		if st != http.StatusForbidden || !strings.Contains(body, tc.words) || !strings.Contains(body, "授权未完成") ||
			!strings.Contains(body, "Ask the service provider's administrator for a new authorisation link") {
			t.Errorf("%s state: %d %s", tc.name, st, body)
		}
	}
	// The same in JSON for a program.
	st, _, body := h.rawAt(h.srv.URL, "GET", "/alipay/app-auth?"+url.Values{"app_auth_code": {codeA}, "state": {"forged"}}.Encode(), "", "", nil)
	if code, msg := errorOf(t, body); st != 401 || code != f2fpay.EUNAUTHORIZED || !strings.Contains(msg, "ask the administrator for a new link") {
		t.Errorf("forged state as JSON: %d %s", st, body)
	}
	// The redirect names another app than the link's.
	st, page := h.page(url.Values{"app_id": {h.app.AppID}, "app_auth_code": {codeA}, "state": {state}})
	if st != 400 || !strings.Contains(page, "the link was for "+h.isv.AppID) {
		t.Errorf("another app: %d %s", st, page)
	}
	if as, err := h.admin.Authorizations(ctx, h.isv.ID); err != nil || len(as) != 0 {
		t.Fatalf("after refused redirects: %d authorisations (%v), want none", len(as), err)
	}

	// The merchant comes back with its code and the link's state: authorised.
	st, page = h.page(url.Values{"app_id": {h.isv.AppID}, "app_auth_code": {codeA}, "state": {state}})
	if st != 200 || !strings.Contains(page, "授权成功") || !strings.Contains(page, saA.AppID) {
		t.Fatalf("redirect: %d %s", st, page)
	}
	// The code is single use: a reload says so, and the authorisation stays.
	st, page = h.page(url.Values{"app_id": {h.isv.AppID}, "app_auth_code": {codeA}, "state": {state}})
	if st != 400 || !strings.Contains(page, "Alipay refused the app_auth_code") {
		t.Errorf("reused code: %d %s", st, page)
	}

	// By hand: merchant B's code carried by an operator, with its rebate PID.
	_, err = h.admin.Authorize(ctx, h.isv.ID, client.AuthorizationRequest{MerchantID: mb.ID, AppAuthCode: "no-such-code"})
	wantAPIError(t, err, 400, f2fpay.EINVALID, "Alipay refused the app_auth_code")
	_, err = h.admin.Authorize(ctx, h.isv.ID, client.AuthorizationRequest{MerchantID: mb.ID})
	wantAPIError(t, err, 400, f2fpay.EINVALID, "app_auth_code is required")
	_, err = h.admin.Authorize(ctx, h.isv.ID, client.AuthorizationRequest{MerchantID: mb.ID, AppAuthCode: "x", SysServiceProviderID: "12345"})
	wantAPIError(t, err, 400, f2fpay.EINVALID, "not an Alipay PID")
	_, err = h.admin.Authorize(ctx, h.app.ID, client.AuthorizationRequest{MerchantID: mb.ID, AppAuthCode: h.code(saB.AppID)})
	wantAPIError(t, err, 400, f2fpay.EINVALID, "not a service provider's app")
	rebate := "2088000000000042"
	ab, err := h.admin.Authorize(ctx, h.isv.ID, client.AuthorizationRequest{MerchantID: mb.ID, AppAuthCode: h.code(saB.AppID), SysServiceProviderID: rebate})
	h.must(err)
	if ab.MerchantID != mb.ID || ab.AuthAppID != saB.AppID || ab.SellerID != saB.SellerID || ab.SysServiceProviderID != rebate ||
		ab.State != "active" || ab.NeedsReauthorization || !ab.ExpiresAt.After(time.Now()) {
		t.Errorf("by hand: %+v", ab)
	}

	// The list: both merchants, their state, never a token.
	as, err := h.admin.Authorizations(ctx, h.isv.ID)
	h.must(err)
	if len(as) != 2 || as[0].MerchantID != ma.ID || as[0].AuthAppID != saA.AppID || as[0].SellerID != saA.SellerID ||
		as[0].SysServiceProviderID != h.isvSim.SellerID || as[1].MerchantID != mb.ID {
		t.Fatalf("list: %+v", as)
	}
	st, _, raw := h.rawAt(h.srv.URL, "GET", fmt.Sprintf("/admin/apps/%d/authorizations", h.isv.ID), "Bearer "+adminToken, "", nil)
	if st != 200 || strings.Contains(string(raw), "token") {
		t.Errorf("the list shows tokens: %d %s", st, raw)
	}
	_, err = h.admin.Authorizations(ctx, h.isv.ID+1000)
	wantAPIError(t, err, 404, f2fpay.ENOTFOUND, "")
	if as, err := h.admin.Authorizations(ctx, h.app.ID); err != nil || len(as) != 0 {
		t.Errorf("the merchant's own app lists %d authorisations (%v)", len(as), err)
	}

	// A revoked authorisation is listed as needing re-authorisation, with Alipay's word.
	a, err := h.db.FindAuthorization(ctx, h.isv.ID, mb.ID)
	h.must(err)
	a.State, a.Problem = f2fpay.AuthorizationReauthorize, "20001 aop.invalid-app-auth-token 无效的应用授权令牌"
	h.must(h.db.UpdateAuthorization(ctx, a))
	as, err = h.admin.Authorizations(ctx, h.isv.ID)
	h.must(err)
	if !as[1].NeedsReauthorization || as[1].State != "reauthorization_required" || !strings.Contains(as[1].Problem, "invalid-app-auth-token") || as[0].NeedsReauthorization {
		t.Errorf("after revocation: %+v", as)
	}
	// A new link and consent put it back to active.
	link, err = h.admin.AuthorizationLink(ctx, h.isv.ID, mb.ID, h.redirect)
	h.must(err)
	u, _ = url.Parse(link)
	st, page = h.page(url.Values{"app_id": {h.isv.AppID}, "app_auth_code": {h.code(saB.AppID)}, "state": {u.Query().Get("state")}})
	if st != 200 {
		t.Fatalf("re-authorisation: %d %s", st, page)
	}
	as, err = h.admin.Authorizations(ctx, h.isv.ID)
	h.must(err)
	if as[1].NeedsReauthorization || as[1].Problem != "" || as[1].Version <= ab.Version {
		t.Errorf("after re-authorisation: %+v", as[1])
	}

	// No token, sealed or plain, reached the log.
	for _, a := range []int64{ma.ID, mb.ID} {
		stored, err := h.db.FindAuthorization(ctx, h.isv.ID, a)
		h.must(err)
		plain, err := box.Open(stored.AppAuthToken, payment.AuthTokenPurpose(h.isv.AppID, stored.AuthAppID))
		h.must(err)
		if logs := h.logs.String(); strings.Contains(logs, plain) || strings.Contains(logs, stored.AppAuthToken) || strings.Contains(logs, stored.RefreshToken) {
			t.Errorf("a token of merchant %d is in the log", a)
		}
	}
}
