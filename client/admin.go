package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// AdminClient calls the admin API with the service's admin token.
type AdminClient struct {
	base string
	auth authorize
	hc   *http.Client
}

// NewAdminClient returns an admin client; hc may be nil (a client with
// DefaultTimeout).
func NewAdminClient(baseURL, token string, hc *http.Client) *AdminClient {
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	return &AdminClient{base: strings.TrimRight(baseURL, "/"), auth: bearer(token), hc: hc}
}

func (a *AdminClient) call(ctx context.Context, method, path string, in, out any) error {
	// Admin calls are not retried: they are operator actions, and creating a terminal
	// twice would issue two keys.
	_, err := do(ctx, a.hc, a.auth, method, a.base+path, "", in, out, retryPolicy{})
	return err
}

// Merchant is a merchant as the admin API shows it.
type Merchant struct {
	ID               int64  `json:"id"`
	Name             string `json:"name"`
	WebhookURL       string `json:"webhook_url,omitempty"`
	WebhookSecretSet bool   `json:"webhook_secret_set"`
	// TerminalsSeeAllOrders: every terminal of the merchant sees and refunds all of
	// its orders, not only those it took.
	TerminalsSeeAllOrders bool      `json:"terminals_see_all_orders"`
	CreatedAt             time.Time `json:"created_at"`
	UpdatedAt             time.Time `json:"updated_at"`
	// WebhookSecret is filled only in the answer of an UpdateMerchant with
	// RotateWebhookSecret: the secret the service made, shown this once.
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

// MerchantRequest creates a merchant; WebhookSecret is write-only.
type MerchantRequest struct {
	Name                  string `json:"name"`
	WebhookURL            string `json:"webhook_url,omitempty"`
	WebhookSecret         string `json:"webhook_secret,omitempty"`
	TerminalsSeeAllOrders bool   `json:"terminals_see_all_orders,omitempty"`
}

// CreateMerchant creates a merchant.
func (a *AdminClient) CreateMerchant(ctx context.Context, req MerchantRequest) (*Merchant, error) {
	var m Merchant
	return &m, a.call(ctx, http.MethodPost, "/admin/merchants", req, &m)
}

// MerchantUpdate changes a merchant: nil fields stay as they are (Go 1.26:
// Name: new("Corner Coffee")). An empty WebhookURL removes the webhook and its secret.
type MerchantUpdate struct {
	Name          *string `json:"name,omitempty"`
	WebhookURL    *string `json:"webhook_url,omitempty"`
	WebhookSecret *string `json:"webhook_secret,omitempty"` // one you chose, at least 16 characters
	// RotateWebhookSecret has the service make a new secret, returned once in
	// Merchant.WebhookSecret.
	RotateWebhookSecret bool `json:"rotate_webhook_secret,omitempty"`
	// TerminalsSeeAllOrders turns merchant-wide visibility for its terminals on or off.
	TerminalsSeeAllOrders *bool `json:"terminals_see_all_orders,omitempty"`
}

// Merchant returns a merchant.
func (a *AdminClient) Merchant(ctx context.Context, id int64) (*Merchant, error) {
	var m Merchant
	return &m, a.call(ctx, http.MethodGet, "/admin/merchants/"+strconv.FormatInt(id, 10), nil, &m)
}

// AdminRefund is the answer of RefundOrder: the refund and the order as it now stands.
type AdminRefund struct {
	Refund f2fpay.PublicRefund `json:"refund"`
	Order  f2fpay.PublicOrder  `json:"order"`
}

// RefundOrder refunds an order from the back office (POST
// /admin/orders/{out_trade_no}/refunds). appID (f2fpay's id of the app, 0 for none)
// names the app when the number is used by orders of several. req.RefundID makes it
// idempotent: the same id and amount answer the same refund; give back-office
// refunds ids of their own ("bo-…"), apart from the terminals'.
func (a *AdminClient) RefundOrder(ctx context.Context, outTradeNo string, appID int64, req RefundRequest) (*AdminRefund, error) {
	path := "/admin/orders/" + url.PathEscape(outTradeNo) + "/refunds"
	if appID != 0 {
		path += "?app_id=" + strconv.FormatInt(appID, 10)
	}
	var out AdminRefund
	return &out, a.call(ctx, http.MethodPost, path, req, &out)
}

// UpdateMerchant changes a merchant's name or webhook.
func (a *AdminClient) UpdateMerchant(ctx context.Context, id int64, upd MerchantUpdate) (*Merchant, error) {
	var m Merchant
	return &m, a.call(ctx, http.MethodPatch, "/admin/merchants/"+strconv.FormatInt(id, 10), upd, &m)
}

// App is an app as the admin API shows it: never its private key or token.
type App struct {
	ID                   int64  `json:"id"`
	MerchantID           int64  `json:"merchant_id"`
	AppID                string `json:"app_id"`
	Name                 string `json:"name"`
	Gateway              string `json:"gateway"`
	SignType             string `json:"sign_type"`
	KeyMode              string `json:"key_mode"`
	AlipayPublicKey      string `json:"alipay_public_key,omitempty"`
	SellerID             string `json:"seller_id"`
	SysServiceProviderID string `json:"sys_service_provider_id,omitempty"`
	PrivateKeySet        bool   `json:"private_key_set"`
	PrivateKeySource     string `json:"private_key_source"`
	AppAuthTokenSet      bool   `json:"app_auth_token_set"`
	// ISV marks a service provider's app, which collects for the merchants that
	// authorise it (AuthorizationLink).
	ISV       bool      `json:"isv"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version grows by one with every change of the app.
	Version int64 `json:"version"`
}

// AppRequest registers an Alipay app. PrivateKey is PEM, base64 or "file:/path".
type AppRequest struct {
	AppID                string `json:"app_id"`
	Name                 string `json:"name,omitempty"`
	Gateway              string `json:"gateway,omitempty"`
	SignType             string `json:"sign_type,omitempty"`
	KeyMode              string `json:"key_mode,omitempty"`
	PrivateKey           string `json:"private_key"`
	AlipayPublicKey      string `json:"alipay_public_key,omitempty"`
	AppCert              string `json:"app_cert,omitempty"`
	AlipayCert           string `json:"alipay_cert,omitempty"`
	AlipayRootCert       string `json:"alipay_root_cert,omitempty"`
	SellerID             string `json:"seller_id"`
	AppAuthToken         string `json:"app_auth_token,omitempty"`
	SysServiceProviderID string `json:"sys_service_provider_id,omitempty"`
	// ISV registers a service provider's app: merchants authorise it through
	// AuthorizationLink, and each is paid for with its own app_auth_token.
	ISV bool `json:"isv,omitempty"`
}

// CreateApp registers an app for a merchant.
func (a *AdminClient) CreateApp(ctx context.Context, merchantID int64, req AppRequest) (*App, error) {
	var app App
	return &app, a.call(ctx, http.MethodPost, "/admin/merchants/"+strconv.FormatInt(merchantID, 10)+"/apps", req, &app)
}

// AppUpdate changes an app: nil fields stay as they are. The result is checked as a
// new app is (the keys must parse and fit together). PrivateKey rotates the app key
// (PEM, base64 or "file:/path"; the same reference again re-reads a replaced file); an
// empty AppAuthToken or SysServiceProviderID removes it. The APPID never changes.
type AppUpdate struct {
	Name                 *string `json:"name,omitempty"`
	Gateway              *string `json:"gateway,omitempty"`
	SignType             *string `json:"sign_type,omitempty"`
	KeyMode              *string `json:"key_mode,omitempty"`
	PrivateKey           *string `json:"private_key,omitempty"`
	AlipayPublicKey      *string `json:"alipay_public_key,omitempty"`
	AppCert              *string `json:"app_cert,omitempty"`
	AlipayCert           *string `json:"alipay_cert,omitempty"`
	AlipayRootCert       *string `json:"alipay_root_cert,omitempty"`
	SellerID             *string `json:"seller_id,omitempty"`
	AppAuthToken         *string `json:"app_auth_token,omitempty"`
	SysServiceProviderID *string `json:"sys_service_provider_id,omitempty"`
}

// UpdateApp changes an app; the payment engine uses the change from its next call to
// Alipay on.
func (a *AdminClient) UpdateApp(ctx context.Context, id int64, upd AppUpdate) (*App, error) {
	var app App
	return &app, a.call(ctx, http.MethodPatch, "/admin/apps/"+strconv.FormatInt(id, 10), upd, &app)
}

// Store is a merchant's store.
type Store struct {
	ID         int64  `json:"id"`
	MerchantID int64  `json:"merchant_id"`
	Code       string `json:"code"`
	Name       string `json:"name"`
}

// CreateStore creates a store.
func (a *AdminClient) CreateStore(ctx context.Context, merchantID int64, code, name string) (*Store, error) {
	var s Store
	return &s, a.call(ctx, http.MethodPost, "/admin/merchants/"+strconv.FormatInt(merchantID, 10)+"/stores",
		map[string]string{"code": code, "name": name}, &s)
}

// Terminal is a terminal; APIKey is filled only in the answers of CreateTerminal and
// RotateTerminalKey.
type Terminal struct {
	ID         int64  `json:"id"`
	MerchantID int64  `json:"merchant_id"`
	StoreID    int64  `json:"store_id"`
	AppID      int64  `json:"app_id"`
	Code       string `json:"code"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	KeyID      string `json:"key_id"`
	Disabled   bool   `json:"disabled"`
	// SignedRequests says whether the key can sign requests (Client.SignRequests):
	// false for a key made without a master key, or before signed requests existed.
	SignedRequests bool `json:"signed_requests"`
	// SignedOnly: the key is refused as a bearer token.
	SignedOnly bool `json:"signed_only"`
	APIKey     *struct {
		KeyID  string `json:"key_id"`
		Secret string `json:"secret"`
		// Authorization is the bearer header value; empty for a signed-only terminal.
		Authorization string `json:"authorization"`
	} `json:"api_key,omitempty"`
}

// TerminalRequest creates a terminal.
type TerminalRequest struct {
	StoreID int64  `json:"store_id"`
	AppID   int64  `json:"app_id"`
	Code    string `json:"code"`
	Kind    string `json:"kind,omitempty"` // cashier (default) or vending
	Name    string `json:"name,omitempty"`
	// SignedOnly makes the terminal's key good only for signing requests
	// (Client.SignRequests), never as a bearer token.
	SignedOnly bool `json:"signed_only,omitempty"`
}

// CreateTerminal creates a terminal; the answer holds its API key, shown only here.
func (a *AdminClient) CreateTerminal(ctx context.Context, merchantID int64, req TerminalRequest) (*Terminal, error) {
	var t Terminal
	return &t, a.call(ctx, http.MethodPost, "/admin/merchants/"+strconv.FormatInt(merchantID, 10)+"/terminals", req, &t)
}

// SetTerminalDisabled disables or re-enables a terminal's key.
func (a *AdminClient) SetTerminalDisabled(ctx context.Context, id int64, disabled bool) (*Terminal, error) {
	op := "enable"
	if disabled {
		op = "disable"
	}
	var t Terminal
	return &t, a.call(ctx, http.MethodPost, "/admin/terminals/"+strconv.FormatInt(id, 10)+"/"+op, nil, &t)
}

// SetTerminalSignedOnly restricts a terminal to signed requests (its key refused as a
// bearer token), or lifts that.
func (a *AdminClient) SetTerminalSignedOnly(ctx context.Context, id int64, signedOnly bool) (*Terminal, error) {
	var t Terminal
	return &t, a.call(ctx, http.MethodPatch, "/admin/terminals/"+strconv.FormatInt(id, 10), map[string]bool{"signed_only": signedOnly}, &t)
}

// RotateTerminalKey gives a terminal a new API key, returned once in APIKey; the old
// key stops working at once.
func (a *AdminClient) RotateTerminalKey(ctx context.Context, id int64) (*Terminal, error) {
	var t Terminal
	return &t, a.call(ctx, http.MethodPost, "/admin/terminals/"+strconv.FormatInt(id, 10)+"/rotate-key", nil, &t)
}

// GatewayCall is one call to Alipay in an order's history.
type GatewayCall struct {
	Method  string        `json:"method"`
	Code    string        `json:"code,omitempty"`
	SubCode string        `json:"sub_code,omitempty"`
	Message string        `json:"message,omitempty"`
	Outcome string        `json:"outcome"`
	Latency time.Duration `json:"latency_ns"`
	At      time.Time     `json:"at"`
}

// OrderDetail is an order with its gateway calls and refunds.
type OrderDetail struct {
	Order   json.RawMessage `json:"order"`
	Calls   []GatewayCall   `json:"calls"`
	Refunds json.RawMessage `json:"refunds"`
}

// AdminOrder is the subset of an order's stored fields that support looks at.
type AdminOrder struct {
	ID             int64         `json:"id"`
	OutTradeNo     string        `json:"out_trade_no"`
	MerchantID     int64         `json:"merchant_id"`
	AppID          int64         `json:"app_id"`
	TerminalID     int64         `json:"terminal_id"`
	Kind           string        `json:"kind"`
	State          string        `json:"state"`
	TradeNo        string        `json:"trade_no,omitempty"`
	TotalAmount    f2fpay.Amount `json:"total_amount"`
	RefundedAmount f2fpay.Amount `json:"refunded_amount"`
	FailCode       string        `json:"fail_code,omitempty"`
}

// Order returns an order with its whole gateway history.
func (a *AdminClient) Order(ctx context.Context, outTradeNo string) (*AdminOrder, []GatewayCall, error) {
	var d OrderDetail
	if err := a.call(ctx, http.MethodGet, "/admin/orders/"+esc(outTradeNo), nil, &d); err != nil {
		return nil, nil, err
	}
	var o AdminOrder
	if err := json.Unmarshal(d.Order, &o); err != nil {
		return nil, nil, err
	}
	return &o, d.Calls, nil
}

// ListOrders lists one page of orders, newest first; query holds merchant_id, app_id,
// terminal_id, out_trade_no, state, limit and before (the page's end, from
// ListOrdersPage).
func (a *AdminClient) ListOrders(ctx context.Context, query url.Values) ([]AdminOrder, error) {
	orders, _, err := a.ListOrdersPage(ctx, query)
	return orders, err
}

// ListOrdersPage is ListOrders that also returns where the next page starts: pass it
// as before=<next> to continue; 0 means this was the last page.
func (a *AdminClient) ListOrdersPage(ctx context.Context, query url.Values) ([]AdminOrder, int64, error) {
	var out struct {
		Orders     []AdminOrder `json:"orders"`
		NextBefore int64        `json:"next_before"`
	}
	err := a.call(ctx, http.MethodGet, "/admin/orders?"+query.Encode(), nil, &out)
	return out.Orders, out.NextBefore, err
}

// AllOrders reads every order that query matches, a page (query's limit, or 1000) at
// a time, newest first.
func (a *AdminClient) AllOrders(ctx context.Context, query url.Values) ([]AdminOrder, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	if q.Get("limit") == "" {
		q.Set("limit", "1000")
	}
	var all []AdminOrder
	for {
		page, next, err := a.ListOrdersPage(ctx, q)
		if err != nil {
			return all, err
		}
		all = append(all, page...)
		if next == 0 {
			return all, nil
		}
		q.Set("before", strconv.FormatInt(next, 10))
	}
}

// ReplayEvents makes matching outbox events due again; filter holds merchant_id,
// order_id, out_trade_no, since, undelivered or all.
func (a *AdminClient) ReplayEvents(ctx context.Context, filter map[string]any) (int, error) {
	var out struct {
		Replayed int `json:"replayed"`
	}
	return out.Replayed, a.call(ctx, http.MethodPost, "/admin/events/replay", filter, &out)
}
