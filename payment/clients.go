package payment

import (
	"context"
	"net/http"
	"sync"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/secret"
)

// AppClient is an Alipay client for one app, with the call options every call for that
// app carries (app_auth_token when a service provider acts for the merchant). It is
// immutable and shared.
type AppClient struct {
	*alipay.Client
	opts []alipay.CallOption
	// auth is the merchant authorisation whose token opts carry (a service
	// provider's app acting for a merchant); nil otherwise.
	auth *f2fpay.Authorization
}

// NewAppClient wraps c; appAuthToken may be empty.
func NewAppClient(c *alipay.Client, appAuthToken string) *AppClient {
	ac := &AppClient{Client: c}
	if appAuthToken != "" {
		ac.opts = []alipay.CallOption{alipay.WithAppAuthToken(appAuthToken)}
	}
	return ac
}

// Options returns the per-call options of the app.
func (c *AppClient) Options() []alipay.CallOption { return c.opts }

// Clients turns a stored app into a ready client. The engine asks for one on every
// operation, so implementations cache.
type Clients interface {
	Client(ctx context.Context, app *f2fpay.App) (*AppClient, error)
}

// Purposes under which an app's secrets are sealed in the store (secret.Box binds a
// sealed value to its purpose, so a value copied to another app does not open). The
// admin layer seals with the same strings.
func PrivateKeyPurpose(appID string) string   { return "app:" + appID + ":private_key" }
func AppAuthTokenPurpose(appID string) string { return "app:" + appID + ":app_auth_token" }

// AppClientsOptions tune AppClients.
type AppClientsOptions struct {
	// HTTPClient sends the requests; the alipay package's bounded default when nil.
	HTTPClient *http.Client
	// NotifyURL returns the notify_url for an app's trades (the service's
	// /alipay/notify/{app} endpoint); no notify_url when nil or "".
	NotifyURL func(app *f2fpay.App) string
	// DisableCertDownload: see alipay.Config.
	DisableCertDownload bool
}

// AppClients opens apps' sealed secrets with a secret.Box and caches one immutable
// client per app. An app whose stored configuration changes (a rotated key, a new
// gateway) gets a new client on its next use: the cache keeps, beside each client,
// everything the client was built from, the app's Version included, and a use whose
// app differs in any of it builds a new one. Comparing the strings as they are costs
// a call at most a comparison of their bytes, and nothing when the store hands out
// the strings it cached; a digest of them, which this used to be, cost every Alipay
// call a SHA-256 of some kilobytes (keys, certificates) and a dozen allocations.
//
// Why this is enough with several instances: the engine reads the app from the store
// at every step that calls Alipay (pay, each query, each cancel, refunds,
// notifications), so an update committed by any instance's admin API is seen by every
// instance at its next step — with PostgreSQL, within the store's one-second cache of
// merchant data (postgres.cacheTTL) on instances other than the one that wrote it —
// without a message between them. The version is compared too, for the one change
// the row's content cannot show: a key file replaced behind the same "file:"
// reference, which is read only when a client is built — updating the app (PATCH
// /admin/apps/{id}, even with the same reference) bumps the version and makes every
// instance read the file again. A step already under way finishes with
// the client it started with.
type AppClients struct {
	box  *secret.Box
	opts AppClientsOptions

	mu    sync.Mutex
	cache map[int64]cachedClient
}

type cachedClient struct {
	from   clientSource
	client *AppClient
}

// clientSource is everything an AppClient is built from: two apps with equal sources
// get equal clients.
type clientSource struct {
	id, version                                               int64
	appID, gateway, signType, keyMode                         string
	privateKey, alipayPublicKey                               string
	appCert, alipayCert, alipayRootCert, appAuthToken, notify string
}

func sourceOf(app *f2fpay.App, notify string) clientSource {
	return clientSource{id: app.ID, version: app.Version, appID: app.AppID, gateway: app.Gateway, signType: app.SignType,
		keyMode: string(app.KeyMode), privateKey: app.PrivateKey, alipayPublicKey: app.AlipayPublicKey,
		appCert: app.AppCert, alipayCert: app.AlipayCert, alipayRootCert: app.AlipayRootCert,
		appAuthToken: app.AppAuthToken, notify: notify}
}

// NewAppClients returns a client cache that opens secrets with box.
func NewAppClients(box *secret.Box, opts AppClientsOptions) *AppClients {
	return &AppClients{box: box, opts: opts, cache: map[int64]cachedClient{}}
}

// Client implements Clients.
func (c *AppClients) Client(_ context.Context, app *f2fpay.App) (*AppClient, error) {
	notify := ""
	if c.opts.NotifyURL != nil {
		notify = c.opts.NotifyURL(app)
	}
	from := sourceOf(app, notify)
	c.mu.Lock()
	cc, ok := c.cache[app.ID]
	c.mu.Unlock()
	if ok && cc.from == from {
		return cc.client, nil
	}
	// Built outside the lock: parsing keys takes a while and other apps must not wait.
	client, err := c.build(app, notify)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.cache[app.ID] = cachedClient{from: from, client: client}
	c.mu.Unlock()
	return client, nil
}

func (c *AppClients) build(app *f2fpay.App, notify string) (*AppClient, error) {
	key, err := c.box.Open(app.PrivateKey, PrivateKeyPurpose(app.AppID))
	if err != nil {
		return nil, f2fpay.Errorf(f2fpay.EINTERNAL, "app %s: the private key cannot be opened: %v", app.AppID, err)
	}
	token, err := c.box.Open(app.AppAuthToken, AppAuthTokenPurpose(app.AppID))
	if err != nil {
		return nil, f2fpay.Errorf(f2fpay.EINTERNAL, "app %s: the app_auth_token cannot be opened: %v", app.AppID, err)
	}
	cfg := alipay.Config{
		AppID:               app.AppID,
		PrivateKey:          key,
		Gateway:             app.Gateway,
		SignType:            alipay.SignType(app.SignType),
		NotifyURL:           notify,
		HTTPClient:          c.opts.HTTPClient,
		DisableCertDownload: c.opts.DisableCertDownload,
	}
	if app.KeyMode == f2fpay.KeyModeCert {
		cfg.AppCert, cfg.AlipayCert, cfg.AlipayRootCert = []byte(app.AppCert), []byte(app.AlipayCert), []byte(app.AlipayRootCert)
	} else {
		cfg.AlipayPublicKey = app.AlipayPublicKey
	}
	client, err := alipay.New(cfg)
	if err != nil {
		return nil, f2fpay.Errorf(f2fpay.EINTERNAL, "app %s is misconfigured: %v", app.AppID, err)
	}
	return NewAppClient(client, token), nil
}
