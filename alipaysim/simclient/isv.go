package simclient

import (
	"context"
	"net/http"
)

// AppAuthCode is a merchant's consent to a service provider's app: what Alipay's
// appToAppAuth page hands back to the redirect.
type AppAuthCode struct {
	Code      string `json:"app_auth_code"`
	ExpiresAt string `json:"expires_at"` // "2006-01-02 15:04:05", Beijing time
}

// IssueAppAuthCode is the merchant owning merchantAppID consenting on the sandbox's
// authorisation page to the service provider's app isvAppID (single use, 24 h).
func (c *Client) IssueAppAuthCode(ctx context.Context, isvAppID, merchantAppID string) (*AppAuthCode, error) {
	var a AppAuthCode
	return &a, c.call(ctx, http.MethodPost, "/sandbox/app-auth-codes",
		map[string]string{"isv_app_id": isvAppID, "merchant_app_id": merchantAppID}, &a)
}
