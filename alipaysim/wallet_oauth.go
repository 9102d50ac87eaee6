package alipaysim

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/f2fpay/f2fpay"
)

// The consent page is the sandbox's openauth.alipay.com: a merchant's H5 page sends the
// buyer to /oauth/authorize?app_id=…&scope=auth_base|auth_user&redirect_uri=…&state=…,
// the buyer picks an account and allows or denies, and GrantOAuth decides where the
// browser goes next (redirect_uri with auth_code and state, or with the refusal). The
// page itself only checks what a person can fix on the spot; the grant checks the rest.

type oauthPage struct {
	pageBase
	AppID, Scope, RedirectURI, State string
	App                              *App
	Scopes                           []scopeInfo
	Buyers                           []*Buyer
	Selected                         string
}

type scopeInfo struct {
	Name, Means string
}

// scopeMeanings is what the app tells the buyer each scope shares.
var scopeMeanings = map[string]string{
	"auth_base": "your Alipay user ID (silent authorization: asked only while no account is signed in)",
	"auth_user": "your profile: user ID, nickname, avatar, city and gender",
}

func (s *Sim) oauthRequest(r *http.Request, q url.Values) (oauthPage, error) {
	p := oauthPage{pageBase: s.base("Authorize"), AppID: strings.TrimSpace(q.Get("app_id")),
		Scope: strings.TrimSpace(q.Get("scope")), RedirectURI: strings.TrimSpace(q.Get("redirect_uri")),
		State: q.Get("state"), Buyers: s.buyers(), Selected: s.rememberedBuyer(r)}
	if p.AppID == "" {
		return p, f2fpay.Errorf(f2fpay.EINVALID, "app_id is missing from the authorization link")
	}
	app, err := s.App(p.AppID)
	if err != nil {
		return p, f2fpay.Errorf(f2fpay.ENOTFOUND, "app_id %q is not registered with this sandbox (POST /sandbox/apps)", p.AppID)
	}
	p.App = app
	if p.Scope == "" {
		return p, f2fpay.Errorf(f2fpay.EINVALID, "scope is missing: use auth_base or auth_user")
	}
	for _, sc := range strings.Split(p.Scope, ",") {
		sc = strings.TrimSpace(sc)
		means, ok := scopeMeanings[sc]
		if !ok {
			return p, f2fpay.Errorf(f2fpay.EINVALID, "scope %q is not one the sandbox grants: use auth_base or auth_user", sc)
		}
		p.Scopes = append(p.Scopes, scopeInfo{Name: sc, Means: means})
	}
	if u, err := url.Parse(p.RedirectURI); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return p, f2fpay.Errorf(f2fpay.EINVALID, "redirect_uri %q must be an absolute http:// or https:// URL (URL-encoded in the link)", p.RedirectURI)
	}
	return p, nil
}

func (s *Sim) oauthPage(w http.ResponseWriter, r *http.Request) {
	p, err := s.oauthRequest(r, r.URL.Query())
	if err != nil {
		s.renderError(w, "Authorization link", err)
		return
	}
	// auth_base is silent in the Alipay app, where the buyer is signed in: a browser
	// whose wallet cookie names a buyer (it used the wallet, the QR landing or this
	// page before) is sent straight back with an auth_code. Without one the page asks
	// which account is "signed in", as it does for auth_user's consent.
	if p.Scope == ScopeAuthBase && p.Selected != "" {
		to, err := s.GrantOAuth(r.Context(), OAuthGrant{AppID: p.AppID, UserID: p.Selected, Scope: p.Scope,
			RedirectURI: p.RedirectURI, State: p.State, Allow: true})
		if err == nil {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		p.Error = f2fpay.ErrorMessage(err)
		s.render(w, http.StatusBadRequest, "oauth", p)
		return
	}
	s.render(w, http.StatusOK, "oauth", p)
}

// oauthAnswer is the buyer's Allow or Deny.
func (s *Sim) oauthAnswer(w http.ResponseWriter, r *http.Request) {
	if err := s.parseForm(w, r); err != nil {
		s.renderError(w, "Authorize", err)
		return
	}
	p, err := s.oauthRequest(r, r.PostForm)
	if err != nil {
		s.renderError(w, "Authorization link", err)
		return
	}
	buyer := r.PostForm.Get("buyer_id")
	if buyer == "" {
		p.Error = "Choose the account to sign in with, or create one in the wallet first."
		s.render(w, http.StatusBadRequest, "oauth", p)
		return
	}
	b, err := s.Buyer(buyer)
	if err != nil {
		p.Error = f2fpay.ErrorMessage(err)
		s.render(w, http.StatusBadRequest, "oauth", p)
		return
	}
	to, err := s.GrantOAuth(r.Context(), OAuthGrant{AppID: p.AppID, UserID: b.UserID, Scope: p.Scope,
		RedirectURI: p.RedirectURI, State: p.State, Allow: r.PostForm.Get("decision") == "allow"})
	if err != nil {
		p.Selected = b.UserID
		p.Error = f2fpay.ErrorMessage(err)
		s.render(w, http.StatusBadRequest, "oauth", p)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: walletCookie, Value: b.UserID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, to, http.StatusFound)
}
