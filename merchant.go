package f2fpay

import (
	"context"
	"time"
)

// Merchant is a business that takes payments: a store chain or a vending-machine
// operator. It owns Alipay apps, stores and terminals.
type Merchant struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// WebhookURL receives signed events (payment and refund state changes); empty: none.
	WebhookURL string `json:"webhook_url,omitempty"`
	// WebhookSecret signs webhooks (HMAC-SHA256). Never returned by the admin API.
	WebhookSecret string `json:"-"`
	// TerminalsSeeAllOrders lets every terminal of the merchant see, cancel, close and
	// refund all of the merchant's orders (a cashier refunding at another till, a
	// store's manager at the back office PC); otherwise a terminal sees only the orders
	// it took. Set in the admin API; off by default.
	TerminalsSeeAllOrders bool      `json:"terminals_see_all_orders"`
	CreatedAt             time.Time `json:"created_at"`
	// UpdatedAt is when UpdateMerchant last changed it (CreatedAt until then).
	UpdatedAt time.Time `json:"updated_at"`
}

// MerchantUpdate is a change to a merchant: nil fields are left as they are.
type MerchantUpdate struct {
	Name       *string
	WebhookURL *string
	// WebhookSecret is the new secret as stored (sealed); "" clears it.
	WebhookSecret *string
	// TerminalsSeeAllOrders changes Merchant.TerminalsSeeAllOrders.
	TerminalsSeeAllOrders *bool
}

// WebhookSecretPurpose is the secret.Box purpose under which merchants' webhook secrets
// are sealed: the admin API seals with it, the webhook sender opens with it.
const WebhookSecretPurpose = "merchant:webhook_secret"

// KeyMode says how an app verifies Alipay's answers.
type KeyMode string

const (
	KeyModePublicKey KeyMode = "public_key" // Alipay public key (公钥模式)
	KeyModeCert      KeyMode = "cert"       // certificates (公钥证书模式)
)

// App is an Alipay application a merchant collects with: the app id, our private key,
// Alipay's public key or certificates, and the gateway it talks to.
type App struct {
	ID         int64   `json:"id"`
	MerchantID int64   `json:"merchant_id"`
	AppID      string  `json:"app_id"` // Alipay's APPID
	Name       string  `json:"name"`
	Gateway    string  `json:"gateway"`
	SignType   string  `json:"sign_type"`
	KeyMode    KeyMode `json:"key_mode"`
	// PrivateKey is the app private key as stored: sealed (encrypted with the
	// service's master key) or a file reference "file:/path". Never returned or logged.
	PrivateKey      string `json:"-"`
	AlipayPublicKey string `json:"alipay_public_key,omitempty"`
	AppCert         string `json:"app_cert,omitempty"`
	AlipayCert      string `json:"alipay_cert,omitempty"`
	AlipayRootCert  string `json:"alipay_root_cert,omitempty"`
	// SellerID is the receiving account (2088…), checked against every notification.
	SellerID string `json:"seller_id"`
	// AppAuthToken lets a service provider (ISV) act for this merchant. Secret: sealed
	// like PrivateKey, never returned.
	AppAuthToken string `json:"-"`
	// SysServiceProviderID is the service provider's PID that earns rebates (返佣);
	// sent as extend_params.sys_service_provider_id on every trade.
	SysServiceProviderID string `json:"sys_service_provider_id,omitempty"`
	// ISV marks a service provider's app (第三方应用): registered once, it collects
	// for every merchant that authorised it, each through its own Authorization
	// (token, auth_app_id, seller id, rebate PID). Terminals of those merchants use
	// it; MerchantID is the provider that registered it. Set at creation only.
	ISV       bool      `json:"isv"`
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when UpdateApp last changed it (CreatedAt until then).
	UpdatedAt time.Time `json:"updated_at"`
	// Version is 1 at creation and grows by one with every UpdateApp. Whatever is
	// built from an app and kept (the payment engine's Alipay client) remembers the
	// version it was built from and is rebuilt when the stored app has another: that
	// is how a rotated key reaches every instance, even one whose "file:" reference
	// still names the same path.
	Version int64 `json:"version"`
}

// AppUpdate is a change to an app: nil fields are left as they are. The APPID and
// the merchant never change (secrets are sealed for the APPID, notifications name
// it); an app under another APPID is a new app. Secrets are given as stored: sealed,
// or a "file:" reference for PrivateKey.
type AppUpdate struct {
	Name            *string
	Gateway         *string
	SignType        *string
	KeyMode         *KeyMode
	PrivateKey      *string
	AlipayPublicKey *string
	AppCert         *string
	AlipayCert      *string
	AlipayRootCert  *string
	SellerID        *string
	// AppAuthToken: "" clears it (the app then acts for itself, not through an ISV).
	AppAuthToken *string
	// SysServiceProviderID: "" clears it.
	SysServiceProviderID *string

	// IfVersion, when not zero, makes the update compare-and-set: it applies only if
	// the stored Version is IfVersion, and fails with ECONFLICT otherwise. An update
	// checked against one version of the app (keys that must fit together) must not
	// land on another that changed meanwhile.
	IfVersion int64
}

// AppChanged is the ECONFLICT of an UpdateApp whose IfVersion (checked) is not the
// stored version; both stores answer with it.
func AppChanged(id, stored, checked int64) error {
	return Errorf(ECONFLICT, "app %d changed meanwhile (version %d is stored, the update was checked against version %d); read it again and send the update again", id, stored, checked)
}

// IsZero reports whether the update changes nothing.
func (u *AppUpdate) IsZero() bool { return *u == AppUpdate{IfVersion: u.IfVersion} }

// Store (门店) is a physical location; its Code is sent to Alipay as store_id.
type Store struct {
	ID         int64     `json:"id"`
	MerchantID int64     `json:"merchant_id"`
	Code       string    `json:"code"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
}

// TerminalKind distinguishes cashier desks from vending machines.
type TerminalKind string

const (
	TerminalCashier TerminalKind = "cashier"
	TerminalVending TerminalKind = "vending"
)

// Terminal is a device that calls the terminal API: a cashier's POS or a vending
// machine. Its Code is sent as terminal_id (mandatory for vending machines).
type Terminal struct {
	ID         int64        `json:"id"`
	MerchantID int64        `json:"merchant_id"`
	StoreID    int64        `json:"store_id"`
	AppID      int64        `json:"app_id"` // the App it collects with
	Code       string       `json:"code"`
	Kind       TerminalKind `json:"kind"`
	Name       string       `json:"name"`
	// KeyID is the public half of the terminal's API key; KeyHash the SHA-256 of the
	// secret half, what a bearer token is checked against. The secret is shown once,
	// at creation or rotation.
	KeyID   string `json:"key_id"`
	KeyHash []byte `json:"-"`
	// SigningSecret is the same secret sealed with the master key (purpose
	// TerminalSigningPurpose(KeyID)), for requests signed with HMAC-SHA256: checking
	// an HMAC needs the secret itself, which a hash cannot give back. Empty when the
	// key was made without a master key (or before signed requests existed): the
	// terminal can then only send its key as a bearer token. Never returned or logged.
	SigningSecret string `json:"-"`
	Disabled      bool   `json:"disabled"`
	// SignedOnly refuses the API key as a bearer token: the terminal must sign every
	// request, so a key copied off the wire or out of a log is of no use on its own.
	// It needs a SigningSecret.
	SignedOnly bool      `json:"signed_only"`
	CreatedAt  time.Time `json:"created_at"`
}

// TerminalSigningPurpose is the secret.Box purpose under which a terminal's signing
// secret is sealed. It names the key id, so a sealed secret copied to another
// terminal (or left behind by a rotation) does not open.
func TerminalSigningPurpose(keyID string) string { return "terminal:" + keyID + ":signing_secret" }

// TerminalKey is a terminal's API key as stored, for RotateTerminalKey.
type TerminalKey struct {
	KeyID         string
	KeyHash       []byte
	SigningSecret string // sealed; "" when there is no master key
}

// Lengths of the names and codes of merchants, apps, stores and terminals.
const (
	// MaxNameLen bounds the name of a merchant, app, store or terminal, in characters.
	MaxNameLen = 128
	// MaxCodeLen bounds a store's and a terminal's code, which Alipay receives as
	// store_id and terminal_id (alipay.LimitStoreID and LimitTerminalID; a test keeps
	// them equal).
	MaxCodeLen = 32
	// MaxAppIDLen bounds Alipay's APPID (16 digits today).
	MaxAppIDLen = 32
	// MinWebhookSecretLen is the shortest webhook secret accepted: the merchant's
	// endpoint checks HMAC-SHA256 signatures with it.
	MinWebhookSecretLen = 16
)

// Sign types an app may use, as Alipay names them (alipay.RSA2, alipay.RSA).
const (
	SignTypeRSA2 = "RSA2"
	SignTypeRSA  = "RSA"
)

// Validate checks the merchant's own fields: a name, and a webhook URL the service
// can call. Its webhook secret is checked where it arrives in the clear (the admin
// API), since the merchant holds it sealed.
func (m *Merchant) Validate() error {
	if err := CheckText("name", m.Name, true, MaxNameLen); err != nil {
		return err
	}
	if m.WebhookURL != "" {
		if err := CheckHTTPURL("webhook_url", m.WebhookURL); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the app's identity and settings: APPID, name, gateway, sign type,
// the PIDs and the key mode. Defaults (the production gateway, RSA2, public-key mode)
// are the caller's to fill in first. The keys themselves need the SDK to parse, and
// the private key is sealed here: the admin API checks them.
func (a *App) Validate() error {
	if err := CheckID("app_id", a.AppID, true, MaxAppIDLen); err != nil {
		return err
	}
	if err := CheckText("name", a.Name, false, MaxNameLen); err != nil {
		return err
	}
	if err := CheckHTTPURL("gateway", a.Gateway); err != nil {
		return err
	}
	if a.SignType != SignTypeRSA2 && a.SignType != SignTypeRSA {
		return Errorf(EINVALID, "sign_type %q is not supported; use RSA2 (or RSA for old apps)", a.SignType)
	}
	if !IsPID(a.SellerID) {
		return Errorf(EINVALID, "seller_id %q is not an Alipay account id; send the merchant's PID, 16 digits starting with 2088 (every notification is checked against it)", a.SellerID)
	}
	if a.SysServiceProviderID != "" && !IsPID(a.SysServiceProviderID) {
		return Errorf(EINVALID, "sys_service_provider_id %q is not an Alipay PID; send 16 digits starting with 2088, or leave it out", a.SysServiceProviderID)
	}
	if a.KeyMode != KeyModePublicKey && a.KeyMode != KeyModeCert {
		return Errorf(EINVALID, "key_mode %q is not known; use \"public_key\" (Alipay public key) or \"cert\" (certificates)", a.KeyMode)
	}
	return nil
}

// Validate checks the store's code (sent to Alipay as store_id) and name.
func (s *Store) Validate() error {
	if err := CheckID("code", s.Code, true, MaxCodeLen); err != nil {
		return err
	}
	return CheckText("name", s.Name, false, MaxNameLen)
}

// Validate checks the terminal's code (sent to Alipay as terminal_id), name and kind.
// That its store and app are the merchant's is the caller's check: it needs the
// store.
func (t *Terminal) Validate() error {
	if err := CheckID("code", t.Code, true, MaxCodeLen); err != nil {
		return err
	}
	if err := CheckText("name", t.Name, false, MaxNameLen); err != nil {
		return err
	}
	if t.Kind != TerminalCashier && t.Kind != TerminalVending {
		return Errorf(EINVALID, "kind %q is not known; use \"cashier\" or \"vending\"", t.Kind)
	}
	return nil
}

// MerchantStore persists merchants, apps, stores and terminals.
//
// Create methods fill ID and CreatedAt. Find methods return ENOTFOUND when nothing
// matches. Creating a duplicate (app id, store code or terminal code within a merchant,
// terminal key id) returns ECONFLICT. The APPID is unique across merchants, since
// FindAppByAppID must name one app (a service provider's app serving several
// merchants is one App with ISV set and one Authorization per merchant). A terminal with
// an empty KeyID has no API key; any number of them may exist. Creating something
// that refers to a merchant, store or app that does not exist returns ENOTFOUND.
// List methods return oldest first.
//
// Update methods change only the fields their update names, in one statement (two
// concurrent updates of different fields both take effect), set UpdatedAt, and return
// the record as stored afterwards; an unknown id is ENOTFOUND. They check nothing
// about the values beyond what the schema enforces: validating them (a key that
// parses, a URL) is the caller's job, as for creation.
type MerchantStore interface {
	CreateMerchant(ctx context.Context, m *Merchant) error
	FindMerchant(ctx context.Context, id int64) (*Merchant, error)
	ListMerchants(ctx context.Context) ([]*Merchant, error)
	// UpdateMerchant changes a merchant's name, webhook URL or webhook secret. The
	// webhook sender reads the merchant on every delivery, so the next webhook uses
	// the change.
	UpdateMerchant(ctx context.Context, id int64, upd MerchantUpdate) (*Merchant, error)

	CreateApp(ctx context.Context, a *App) error
	FindApp(ctx context.Context, id int64) (*App, error)
	// FindAppByAppID finds an app by Alipay's APPID (notifications name it).
	FindAppByAppID(ctx context.Context, appID string) (*App, error)
	ListApps(ctx context.Context, merchantID int64) ([]*App, error)
	// UpdateApp changes an app's configuration and increments its Version, even when
	// the values given equal the stored ones (a key file replaced behind the same
	// "file:" reference is a change the store cannot see). With upd.IfVersion it is
	// a compare-and-set (ECONFLICT when the version moved), after which a FindApp of
	// the same instance reads the app as stored, not a cached copy.
	UpdateApp(ctx context.Context, id int64, upd AppUpdate) (*App, error)

	CreateStore(ctx context.Context, s *Store) error
	FindStore(ctx context.Context, id int64) (*Store, error)
	ListStores(ctx context.Context, merchantID int64) ([]*Store, error)

	CreateTerminal(ctx context.Context, t *Terminal) error
	FindTerminal(ctx context.Context, id int64) (*Terminal, error)
	// FindTerminalByKeyID finds the terminal an API key belongs to.
	FindTerminalByKeyID(ctx context.Context, keyID string) (*Terminal, error)
	ListTerminals(ctx context.Context, merchantID int64) ([]*Terminal, error)
	// SetTerminalDisabled enables or disables a terminal's credentials.
	SetTerminalDisabled(ctx context.Context, id int64, disabled bool) error
	// SetTerminalSignedOnly restricts a terminal to signed requests, or lifts that.
	SetTerminalSignedOnly(ctx context.Context, id int64, signedOnly bool) error
	// RotateTerminalKey replaces a terminal's API key: once it returns, the old key
	// id finds nothing (FindTerminalByKeyID is ENOTFOUND) and the new one finds the
	// terminal. A key id another terminal holds is ECONFLICT and changes nothing; an
	// empty KeyID or KeyHash is EINVALID (a terminal is switched off with
	// SetTerminalDisabled, not by taking its key away). Disabled is left as it is:
	// rotating a disabled terminal's key does not enable it. The signing secret is
	// replaced with the key, "" included (the new key then cannot sign).
	RotateTerminalKey(ctx context.Context, id int64, key TerminalKey) (*Terminal, error)
}
