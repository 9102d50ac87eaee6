package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Authorisations are not cached with the merchant data: the refresher and a revoked
// token change them, and every instance must use the token as stored.

// CreateAuthorization inserts a; a second one for the app's merchant or auth_app_id is
// ECONFLICT, an unknown app or merchant ENOTFOUND.
func (c *Core) CreateAuthorization(ctx context.Context, a *f2fpay.Authorization) (err error) {
	defer c.Wrap(&err, "create authorization")
	if a.AuthAppID == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "authorization: auth_app_id is empty")
	}
	if a.State == "" {
		a.State = f2fpay.AuthorizationActive
	}
	now := c.Now()
	err = c.cfg.Autocommit.QueryRow(ctx, c.q.CreateAuthorization,
		a.AppID, a.MerchantID, a.AuthAppID, a.SellerID, a.SysServiceProviderID, a.AppAuthToken, a.RefreshToken,
		c.T(a.ExpiresAt), c.T(a.ReExpiresAt), c.T(a.RefreshAt), c.T(a.RefreshedAt), string(a.State), a.Problem,
		c.T(now)).Scan(&a.ID)
	if err != nil {
		return c.constraint(err, fmt.Sprintf("app %d already has an authorisation for merchant %d or auth_app_id %s", a.AppID, a.MerchantID, a.AuthAppID),
			fmt.Sprintf("authorization: app %d or merchant %d not found", a.AppID, a.MerchantID))
	}
	if c.cfg.Flush != nil {
		if err := c.cfg.Flush(); err != nil {
			return err
		}
	}
	a.CreatedAt, a.UpdatedAt, a.Version = now, now, 1
	return nil
}

// FindAuthorization returns the app's authorisation by the merchant.
func (c *Core) FindAuthorization(ctx context.Context, appID, merchantID int64) (_ *f2fpay.Authorization, err error) {
	defer c.Wrap(&err, "find authorization")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindAuthorization, appID, merchantID), scanAuthorization,
		"merchant %d has not authorised app %d", merchantID, appID)
}

// FindAuthorizationByAuthAppID returns the app's authorisation by the merchant whose
// APPID is authAppID.
func (c *Core) FindAuthorizationByAuthAppID(ctx context.Context, appID int64, authAppID string) (_ *f2fpay.Authorization, err error) {
	defer c.Wrap(&err, "find authorization")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindAuthorizationByAuthAppID, appID, authAppID), scanAuthorization,
		"no merchant with auth_app_id %q authorised app %d", authAppID, appID)
}

// ListAuthorizations returns the app's authorisations, oldest first.
func (c *Core) ListAuthorizations(ctx context.Context, appID int64) (_ []*f2fpay.Authorization, err error) {
	defer c.Wrap(&err, "list authorizations")
	rows, err := c.cfg.Read.Query(ctx, c.q.ListAuthorizations, appID)
	return Collect(rows, err, scanAuthorization)
}

// UpdateAuthorization is a compare-and-set on a.Version; it releases the lease.
func (c *Core) UpdateAuthorization(ctx context.Context, a *f2fpay.Authorization) (err error) {
	defer c.Wrap(&err, "update authorization")
	now := c.Now()
	n, err := c.cfg.Autocommit.Exec(ctx, c.q.UpdateAuthorization,
		a.AuthAppID, a.SellerID, a.SysServiceProviderID, a.AppAuthToken, a.RefreshToken, c.T(a.ExpiresAt),
		c.T(a.ReExpiresAt), c.T(a.RefreshAt), c.T(a.RefreshedAt), string(a.State), a.Problem, c.T(now), a.ID, a.Version)
	if err != nil {
		return c.constraint(err, fmt.Sprintf("app %d already has an authorisation for auth_app_id %s", a.AppID, a.AuthAppID), "")
	}
	if n == 0 {
		var v int64
		if err := c.cfg.Read.QueryRow(ctx, c.q.AuthorizationVersion, a.ID).Scan(&v); err != nil {
			if isNoRows(err) {
				return f2fpay.Errorf(f2fpay.ENOTFOUND, "authorization %d not found", a.ID)
			}
			return err
		}
		return f2fpay.Errorf(f2fpay.ECONFLICT, "authorization %d changed meanwhile (version %d is stored, %d was read)", a.ID, v, a.Version)
	}
	if c.cfg.Flush != nil {
		if err := c.cfg.Flush(); err != nil {
			return err
		}
	}
	a.Version++
	a.UpdatedAt = now
	return nil
}

// ClaimDueAuthorizations leases active authorisations due for a refresh.
func (c *Core) ClaimDueAuthorizations(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (_ []*f2fpay.Authorization, err error) {
	defer c.Wrap(&err, "claim due authorizations")
	return claim(c, ctx, c.q.ClaimDueAuthorizations, scanAuthorization, owner, now, lease, limit)
}

// FindMerchantOrder returns the merchant's order under the app with out_trade_no.
func (c *Core) FindMerchantOrder(ctx context.Context, appID, merchantID int64, outTradeNo string) (_ *f2fpay.Order, err error) {
	defer c.Wrap(&err, "find order")
	return FindOne(c.cfg.Read.QueryRow(ctx, c.q.FindMerchantOrder, appID, merchantID, outTradeNo), scanOrder, "order %s not found", outTradeNo)
}
