package httpapi

import (
	"context"
	"net/http"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/payment"
)

// Authorizer is what the admin API needs of the engine to onboard a merchant onto a
// service provider's app (docs/vending.md §6); *payment.Engine is one.
type Authorizer interface {
	AuthorizationLink(ctx context.Context, appID, merchantID int64, redirectURI string) (string, error)
	OpenAuthorizationState(state string) (appID, merchantID int64, err error)
	Authorize(ctx context.Context, appID, merchantID int64, code string, opt payment.AuthorizeOptions) (*f2fpay.Authorization, error)
}

var _ Authorizer = (*payment.Engine)(nil)

func (s *Server) authorizer() (Authorizer, error) {
	a, ok := s.engine.(Authorizer)
	if !ok {
		return nil, f2fpay.Errorf(f2fpay.ENOTIMPLEMENTED, "this server's engine does not onboard merchants by authorisation")
	}
	return a, nil
}

// authorizationJSON is an authorisation as the admin API shows it: never the tokens.
// NeedsReauthorization says, plainly, that the merchant must authorise again.
type authorizationJSON struct {
	*f2fpay.Authorization
	NeedsReauthorization bool `json:"needs_reauthorization"`
}

func showAuthorization(a *f2fpay.Authorization) authorizationJSON {
	return authorizationJSON{Authorization: a, NeedsReauthorization: !a.Usable()}
}

// adminAuthorizationLink is POST /admin/apps/{id}/authorizations/link
// {"merchant_id", "redirect_uri"}: the page the merchant opens to authorise the app.
// Alipay sends the merchant back to redirect_uri — normally this service's
// GET /alipay/app-auth — with app_auth_code and the link's state.
func (s *Server) adminAuthorizationLink(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "app id")
	if err != nil {
		return err
	}
	var req struct {
		MerchantID  int64  `json:"merchant_id"`
		RedirectURI string `json:"redirect_uri"`
	}
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	az, err := s.authorizer()
	if err != nil {
		return err
	}
	link, err := az.AuthorizationLink(r.Context(), id, req.MerchantID, req.RedirectURI)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": link})
	return nil
}

// adminCreateAuthorization is POST /admin/apps/{id}/authorizations {"merchant_id",
// "app_auth_code", "sys_service_provider_id"?}: the exchange of a code the merchant's
// redirect brought, when an operator carries it by hand.
func (s *Server) adminCreateAuthorization(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "app id")
	if err != nil {
		return err
	}
	var req struct {
		MerchantID           int64  `json:"merchant_id"`
		AppAuthCode          string `json:"app_auth_code"`
		SysServiceProviderID string `json:"sys_service_provider_id"`
	}
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	az, err := s.authorizer()
	if err != nil {
		return err
	}
	a, err := az.Authorize(r.Context(), id, req.MerchantID, req.AppAuthCode, payment.AuthorizeOptions{SysServiceProviderID: req.SysServiceProviderID})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, showAuthorization(a))
	return nil
}

// adminListAuthorizations is GET /admin/apps/{id}/authorizations: every merchant of
// the app with its state (active, reauthorization_required) and token expiry.
func (s *Server) adminListAuthorizations(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "app id")
	if err != nil {
		return err
	}
	if _, err := s.store.FindApp(r.Context(), id); err != nil {
		return err
	}
	as, err := s.store.ListAuthorizations(r.Context(), id)
	if err != nil {
		return err
	}
	out := make([]authorizationJSON, 0, len(as))
	for _, a := range as {
		out = append(out, showAuthorization(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"authorizations": out})
	return nil
}

// getAppAuth is GET /alipay/app-auth?app_id=&app_auth_code=&state=: where Alipay
// sends a merchant back after it authorised the app. The sealed state names the app
// and the merchant (AuthorizationLink), so nobody can attach a code to another merchant.
// A browser (Accept: text/html) gets a page in Chinese and English that says what
// happened and what to do; anything else gets JSON.
func (s *Server) getAppAuth(w http.ResponseWriter, r *http.Request) {
	a, err := s.appAuth(r)
	if !wantsHTML(r) {
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"authorized": true, "merchant_id": a.MerchantID, "auth_app_id": a.AuthAppID, "state": a.State})
		return
	}
	if err != nil {
		s.appAuthPage(w, r, statusOf(err), appAuthView{Error: publicMessage(err)})
		return
	}
	s.appAuthPage(w, r, http.StatusOK, appAuthView{AuthAppID: a.AuthAppID})
}

func (s *Server) appAuth(r *http.Request) (*f2fpay.Authorization, error) {
	q := r.URL.Query()
	az, err := s.authorizer()
	if err != nil {
		return nil, err
	}
	if q.Get("state") == "" {
		return nil, f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "the authorisation link's state is missing; open the link the administrator gave you, or ask for a new one")
	}
	appID, merchantID, err := az.OpenAuthorizationState(q.Get("state"))
	if err != nil {
		return nil, err
	}
	app, err := s.store.FindApp(r.Context(), appID)
	if err != nil {
		return nil, err
	}
	if q.Get("app_id") != "" && q.Get("app_id") != app.AppID {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "the redirect names app %q, the link was for %s", q.Get("app_id"), app.AppID)
	}
	return az.Authorize(r.Context(), appID, merchantID, q.Get("app_auth_code"), payment.AuthorizeOptions{})
}
