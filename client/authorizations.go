package client

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Authorization is a merchant's authorisation of a service provider's app (App.ISV) as
// the admin API shows it: never its tokens.
type Authorization struct {
	ID                   int64     `json:"id"`
	AppID                int64     `json:"app_id"`
	MerchantID           int64     `json:"merchant_id"`
	AuthAppID            string    `json:"auth_app_id"` // the merchant's own APPID
	SellerID             string    `json:"seller_id"`   // the merchant's PID
	SysServiceProviderID string    `json:"sys_service_provider_id,omitempty"`
	ExpiresAt            time.Time `json:"expires_at"`
	ReExpiresAt          time.Time `json:"re_expires_at"`
	RefreshAt            time.Time `json:"refresh_at"`
	RefreshedAt          time.Time `json:"refreshed_at,omitzero"`
	// State is "active" or "reauthorization_required"; NeedsReauthorization says the
	// latter plainly, and Problem carries Alipay's words.
	State                string    `json:"state"`
	NeedsReauthorization bool      `json:"needs_reauthorization"`
	Problem              string    `json:"problem,omitempty"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
	Version              int64     `json:"version"`
}

func authorizationsPath(appID int64) string {
	return "/admin/apps/" + strconv.FormatInt(appID, 10) + "/authorizations"
}

// AuthorizationLink returns the page where the merchant authorises the service
// provider's app appID; Alipay sends the merchant back to redirectURI (normally the
// service's /alipay/app-auth) with app_auth_code and the link's sealed state, valid
// for a day.
func (a *AdminClient) AuthorizationLink(ctx context.Context, appID, merchantID int64, redirectURI string) (string, error) {
	var out struct {
		URL string `json:"url"`
	}
	err := a.call(ctx, http.MethodPost, authorizationsPath(appID)+"/link",
		map[string]any{"merchant_id": merchantID, "redirect_uri": redirectURI}, &out)
	return out.URL, err
}

// AuthorizationRequest exchanges an app_auth_code carried by hand.
type AuthorizationRequest struct {
	MerchantID  int64  `json:"merchant_id"`
	AppAuthCode string `json:"app_auth_code"`
	// SysServiceProviderID is the PID earning rebates on the merchant's trades; the
	// app's own when empty.
	SysServiceProviderID string `json:"sys_service_provider_id,omitempty"`
}

// Authorize exchanges a merchant's app_auth_code (alipay.open.auth.token.app) and
// keeps its authorisation of the service provider's app appID.
func (a *AdminClient) Authorize(ctx context.Context, appID int64, req AuthorizationRequest) (*Authorization, error) {
	var out Authorization
	return &out, a.call(ctx, http.MethodPost, authorizationsPath(appID), req, &out)
}

// Authorizations lists the merchants that authorised the app, with their state.
func (a *AdminClient) Authorizations(ctx context.Context, appID int64) ([]Authorization, error) {
	var out struct {
		Authorizations []Authorization `json:"authorizations"`
	}
	err := a.call(ctx, http.MethodGet, authorizationsPath(appID), nil, &out)
	return out.Authorizations, err
}
