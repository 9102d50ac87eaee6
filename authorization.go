package f2fpay

import (
	"context"
	"time"
)

// AuthorizationState says whether a service provider may act for a merchant.
type AuthorizationState string

const (
	// AuthorizationActive: the token works (as far as Alipay last told us).
	AuthorizationActive AuthorizationState = "active"
	// AuthorizationReauthorize: Alipay refused the token or its refresh token
	// (revoked by the merchant, expired, replaced): nothing can be done for the
	// merchant until it authorises the app again through a new link. Payments are
	// refused up front with an error that says so.
	AuthorizationReauthorize AuthorizationState = "reauthorization_required"
)

// Authorization is one merchant's consent (第三方应用授权) to a service provider's
// app (App.ISV) acting for it: every call the service makes for that merchant through
// the app carries the merchant's app_auth_token, the trades belong to the merchant's
// seller id, and notifications name the merchant by auth_app_id (docs/vending.md §6).
// One ISV app serves many merchants, each with its own Authorization.
type Authorization struct {
	ID         int64 `json:"id"`
	AppID      int64 `json:"app_id"`      // App.ID of the service provider's app
	MerchantID int64 `json:"merchant_id"` // the merchant acted for
	// AuthAppID is the merchant's own APPID (auth_app_id in the token answer and in
	// notifications): unique within the ISV app.
	AuthAppID string `json:"auth_app_id"`
	// SellerID is the merchant's PID (user_id in the token answer), checked against
	// every notification for the merchant.
	SellerID string `json:"seller_id"`
	// SysServiceProviderID is the provider's PID that earns rebates on this
	// merchant's trades; "" for none.
	SysServiceProviderID string `json:"sys_service_provider_id,omitempty"`
	// AppAuthToken and RefreshToken are sealed (secret.Box, purposes in payment);
	// never returned or logged.
	AppAuthToken string `json:"-"`
	RefreshToken string `json:"-"`
	// ExpiresAt ends the token, ReExpiresAt the refresh token; RefreshAt is when the
	// refresher renews the pair (ClaimDueAuthorizations), well before ExpiresAt.
	ExpiresAt   time.Time          `json:"expires_at"`
	ReExpiresAt time.Time          `json:"re_expires_at"`
	RefreshAt   time.Time          `json:"refresh_at"`
	RefreshedAt time.Time          `json:"refreshed_at,omitzero"`
	State       AuthorizationState `json:"state"`
	// Problem is Alipay's word that put the authorisation in AuthorizationReauthorize
	// (code, sub_code and message), for the admin who asks the merchant again.
	Problem   string    `json:"problem,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version grows with every update; UpdateAuthorization is a compare-and-set on it.
	Version int64 `json:"version"`
}

// Usable reports whether calls may be made with the authorisation's token.
func (a *Authorization) Usable() bool { return a.State == AuthorizationActive }

// ReauthorizationError is what a payment for a merchant whose authorisation is not
// usable answers: it names the fix, not Alipay's code.
func ReauthorizationError(a *Authorization, appID string) error {
	msg := "the merchant's authorisation of service-provider app " + appID + " was revoked or has expired: " +
		"the merchant must authorise the app again (an administrator creates a new link with POST /admin/apps/{id}/authorizations/link); no payment was attempted"
	if a.Problem != "" {
		msg += " (Alipay said: " + a.Problem + ")"
	}
	return Errorf(EUNAUTHORIZED, "%s", msg)
}

// AuthorizationStore persists the authorisations of ISV apps.
//
// CreateAuthorization fills ID, CreatedAt, UpdatedAt and Version (1); a second
// authorisation of the same merchant, or of the same auth_app_id, under one app is
// ECONFLICT; an unknown app or merchant ENOTFOUND. The finds return ENOTFOUND when
// nothing matches. UpdateAuthorization writes every field but identity (app, merchant,
// CreatedAt) if a.Version is the stored one (then increments it and sets UpdatedAt),
// ECONFLICT otherwise, and releases the refresher's lease. ClaimDueAuthorizations
// leases, for owner until now+lease, up to limit active authorisations whose
// RefreshAt is at or before now and that no live lease holds: concurrent claimers
// never get the same one, so exactly one instance refreshes a token.
type AuthorizationStore interface {
	CreateAuthorization(ctx context.Context, a *Authorization) error
	FindAuthorization(ctx context.Context, appID, merchantID int64) (*Authorization, error)
	FindAuthorizationByAuthAppID(ctx context.Context, appID int64, authAppID string) (*Authorization, error)
	ListAuthorizations(ctx context.Context, appID int64) ([]*Authorization, error)
	UpdateAuthorization(ctx context.Context, a *Authorization) error
	ClaimDueAuthorizations(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]*Authorization, error)
}
