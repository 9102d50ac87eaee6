package payment

import (
	"context"

	"github.com/f2fpay/f2fpay/alipay"
)

// Member authorisation (docs/vending.md §2, §8) goes through the same per-app clients
// as payments, so an app's keys, gateway and app_auth_token are configured once.

// OAuthToken exchanges an auth_code from the authorisation redirect for the buyer's
// ids and access token (alipay.system.oauth.token). Alipay refuses a code used twice
// or expired (isv.code-invalid). The token is the caller's to keep out of logs.
func (e *Engine) OAuthToken(ctx context.Context, appID int64, authCode string) (*alipay.OauthTokenResponse, error) {
	_, c, err := e.client(ctx, appID, scopedMerchant(ctx))
	if err != nil {
		return nil, err
	}
	cctx, cancel := e.callCtx(ctx)
	defer cancel()
	return c.SystemOauthToken(cctx, alipay.GrantAuthorizationCode, authCode, c.Options()...)
}

// UserInfo reads the profile of a buyer who consented with scope auth_user
// (alipay.user.info.share).
func (e *Engine) UserInfo(ctx context.Context, appID int64, accessToken string) (*alipay.UserInfoShareResponse, error) {
	_, c, err := e.client(ctx, appID, scopedMerchant(ctx))
	if err != nil {
		return nil, err
	}
	cctx, cancel := e.callCtx(ctx)
	defer cancel()
	return c.UserInfoShare(cctx, accessToken, c.Options()...)
}
