package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/appkey"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/httpapi"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/secret"
)

// provisioned is a merchant set up end to end: its app registered at the sandbox (as a
// developer does on Alipay's console) and in the service, with a store and terminals.
type provisioned struct {
	SandboxApp *simclient.App
	MerchantID int64
	App        *client.App
	StoreID    int64
	Terminals  []*client.Terminal
}

// provision registers an app for key at the sandbox and the merchant, app, store and n
// cashier terminals in the service through its admin API.
func provision(ctx context.Context, sim *simclient.Client, admin *client.AdminClient, key *rsa.PrivateKey, merchant client.MerchantRequest, n int) (*provisioned, error) {
	name := merchant.Name
	sapp, err := sim.RegisterApp(ctx, string(alipay.PublicKeyPEM(&key.PublicKey)), "")
	if err != nil {
		return nil, fmt.Errorf("registering the app at the sandbox: %w", err)
	}
	m, err := admin.CreateMerchant(ctx, merchant)
	if err != nil {
		return nil, fmt.Errorf("creating the merchant: %w", err)
	}
	app, err := admin.CreateApp(ctx, m.ID, client.AppRequest{
		AppID: sapp.AppID, Name: name + " app", Gateway: sim.Gateway(),
		PrivateKey:      string(alipay.PrivateKeyPEM(key)),
		AlipayPublicKey: sapp.AlipayPublicKey, SellerID: sapp.SellerID,
	})
	if err != nil {
		return nil, fmt.Errorf("registering the app in the service: %w", err)
	}
	st, err := admin.CreateStore(ctx, m.ID, "STORE_001", name+" store")
	if err != nil {
		return nil, fmt.Errorf("creating the store: %w", err)
	}
	p := &provisioned{SandboxApp: sapp, MerchantID: m.ID, App: app, StoreID: st.ID}
	for i := range n {
		t, err := admin.CreateTerminal(ctx, m.ID, client.TerminalRequest{
			StoreID: st.ID, AppID: app.ID, Code: fmt.Sprintf("POS-%d", i+1), Name: fmt.Sprintf("cashier %d", i+1),
		})
		if err != nil {
			return nil, fmt.Errorf("creating terminal %d: %w", i+1, err)
		}
		p.Terminals = append(p.Terminals, t)
	}
	return p, nil
}

// terminalClient returns the terminal API client for terminal t.
func terminalClient(serviceURL string, t *client.Terminal, hc *http.Client) *client.Client {
	return client.NewClient(serviceURL, t.APIKey.KeyID, t.APIKey.Secret, hc)
}

const provisionUsage = `Usage: f2fpay provision -merchant NAME -keys DIR (-sandbox URL | -app-id ID -seller-id PID -gateway URL -alipay-public-key FILE) [flags]

Onboard a merchant in one command: its merchant, Alipay app, store and cashier terminal,
and the terminal's API key, printed once. The app's private key comes from the key
directory written by "f2fpay keys generate -dir DIR". The Alipay values come from the
app's page on Alipay's console — or, with -sandbox, from registering the app with the
f2fpay sandbox at that URL. -isv registers the app as a service provider's app; a
merchant it serves is onboarded with -isv-app (see "Service providers" below).

Running it again is safe: the merchant is found by its name, the app by its APPID (with
-sandbox: the merchant's app on that sandbox), the store and the terminal by their codes;
nothing is created twice, and an existing terminal's key, which cannot be shown again, is
replaced only when -rotate-key is given.

It works on the database directly (-db with the master key, as "f2fpay serve" takes
them; SQLite only while no service has it open), or through a running service's admin
API (-admin-url and -admin-token), which is the way for a service that is running.
Every flag can also be set as F2FPAY_<NAME> in the environment (F2FPAY_DB,
F2FPAY_MASTER_KEY, F2FPAY_ADMIN_TOKEN, ...).

Gateways: -sandbox http://127.0.0.1:8090 uses the offline sandbox's
http://127.0.0.1:8090/gateway.do; for real money give -gateway
https://openapi.alipay.com/gateway.do (production) or Alipay's online sandbox
https://openapi-sandbox.dl.alipaydev.com/gateway.do. There is no default: an app that
charges real buyers should not be one by accident.

Service providers (第三方应用授权): after registering the provider's app with -isv,
onboard each merchant it serves with -isv-app APPID (no key directory, no Alipay values:
the merchant pays through the provider's app with its own app_auth_token). Without a
code, it prints the link the merchant opens to authorise the app (-redirect-uri: the
service's public https://…/alipay/app-auth, which takes the code itself); when the
merchant is sent back elsewhere, run again with -app-auth-code CODE. With -sandbox, the
sandbox's merchant consents at once. The terminal is created once the merchant has
authorised; -rebate-pid names the PID earning rebates (sys_service_provider_id).

Flags:
`

// provisionConfig is what `f2fpay provision` is told.
type provisionConfig struct {
	DB, MasterKey, MasterKeyFile string
	AdminURL, AdminToken         string

	Keys, KeyName                 string
	Sandbox                       string
	AppID, SellerID, Gateway      string
	AlipayPublicKey               string
	AppCert, AlipayCert, RootCert string

	Merchant, AppName, StoreCode, StoreName, TerminalCode, TerminalName string
	RotateKey                                                           bool

	// Service providers (provision_isv.go).
	ISV                                         bool
	ISVApp, AppAuthCode, RedirectURI, RebatePID string
}

func bindProvisionFlags(fs *flag.FlagSet, c *provisionConfig) {
	fs.StringVar(&c.DB, "db", "sqlite:f2fpay.db", "the service's database: sqlite:PATH or postgres://… (ignored with -admin-url)")
	fs.StringVar(&c.MasterKey, "master-key", "", "base64 master `key` of the service (prefer F2FPAY_MASTER_KEY or -master-key-file)")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", "", "`file` holding the base64 master key")
	fs.StringVar(&c.AdminURL, "admin-url", "", "`URL` of a running service: use its admin API instead of the database")
	fs.StringVar(&c.AdminToken, "admin-token", "", "the service's admin `token` (with -admin-url)")
	fs.StringVar(&c.Keys, "keys", "keys", "key `directory` written by f2fpay keys generate")
	fs.StringVar(&c.KeyName, "key-name", "app", "`name` of the key files in the directory (NAME_private_pkcs8.pem, ...)")
	fs.StringVar(&c.Sandbox, "sandbox", "", "`URL` of an f2fpay sandbox to register the app with (instead of -app-id, -seller-id, -gateway and the Alipay keys)")
	fs.StringVar(&c.AppID, "app-id", "", "the app's APPID from Alipay's console")
	fs.StringVar(&c.SellerID, "seller-id", "", "the merchant's PID (2088…, 16 digits)")
	fs.StringVar(&c.Gateway, "gateway", "", "Alipay's gateway.do `URL`; required without -sandbox (see above)")
	fs.StringVar(&c.AlipayPublicKey, "alipay-public-key", "", "`file` with the Alipay public key (支付宝公钥), public-key mode")
	fs.StringVar(&c.AppCert, "app-cert", "", "`file` with the app public key certificate, certificate mode")
	fs.StringVar(&c.AlipayCert, "alipay-cert", "", "`file` with Alipay's public key certificate, certificate mode")
	fs.StringVar(&c.RootCert, "alipay-root-cert", "", "`file` with Alipay's root certificate, certificate mode")
	fs.StringVar(&c.Merchant, "merchant", "", "the merchant's `name` (required; how a re-run finds it)")
	fs.StringVar(&c.AppName, "app-name", "", "the app's `name` in the service (default: the merchant's name + \" app\")")
	fs.StringVar(&c.StoreCode, "store", "STORE_001", "the store's `code` (sent to Alipay as store_id)")
	fs.StringVar(&c.StoreName, "store-name", "", "the store's `name` (default: the merchant's name + \" store\")")
	fs.StringVar(&c.TerminalCode, "terminal", "POS-1", "the cashier terminal's `code`")
	fs.StringVar(&c.TerminalName, "terminal-name", "", "the terminal's `name` (default: \"cashier \" + its code)")
	fs.BoolVar(&c.RotateKey, "rotate-key", false, "give an existing terminal a new API key (the old one stops working at once)")
	bindISVFlags(fs, c)
}

// loadProvisionConfig reads the flags over the F2FPAY_* environment over the defaults.
// -h prints the usage on stdout and answers flag.ErrHelp.
func loadProvisionConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) (*provisionConfig, error) {
	var c provisionConfig
	fs := flag.NewFlagSet("provision", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bindProvisionFlags(fs, &c)
	usage := func(w io.Writer) {
		fmt.Fprint(w, provisionUsage)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "F2FPAY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = &usageError{fmt.Sprintf("provision: %s=%q: %v", name, v, err)}
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return nil, err
		}
		usage(stderr)
		return nil, &usageError{"provision: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, &usageError{fmt.Sprintf("provision: unexpected argument %q", fs.Arg(0))}
	}
	return &c, c.check()
}

func (c *provisionConfig) check() error {
	bad := func(format string, a ...any) error { return &usageError{"provision: " + fmt.Sprintf(format, a...)} }
	if strings.TrimSpace(c.Merchant) == "" {
		return bad("-merchant is required: the merchant's name, by which a re-run finds it")
	}
	if c.ISVApp != "" {
		return c.checkISV(bad)
	}
	if c.AppAuthCode != "" || c.RedirectURI != "" || c.RebatePID != "" {
		return bad("-app-auth-code, -redirect-uri and -rebate-pid onboard a merchant under a service provider's app: give -isv-app APPID")
	}
	switch {
	case c.Sandbox != "" && (c.AppID != "" || c.SellerID != "" || c.Gateway != "" || c.AlipayPublicKey != "" || c.AppCert != "" || c.AlipayCert != "" || c.RootCert != ""):
		return bad("-sandbox registers the app with the sandbox, which gives the APPID, seller id, gateway and Alipay key: leave out -app-id, -seller-id, -gateway and the Alipay key flags")
	case c.Sandbox == "" && c.Gateway == "":
		return bad("-gateway is required (or -sandbox URL): %s is production (real money), %s Alipay's online sandbox, http://127.0.0.1:8090/gateway.do the f2fpay sandbox", alipay.ProductionGateway, alipay.SandboxGateway)
	case c.Sandbox == "" && (c.AppID == "" || c.SellerID == ""):
		return bad("-app-id and -seller-id are required without -sandbox: the APPID and the PID (2088…) from Alipay's console")
	case c.Sandbox == "" && c.AlipayPublicKey == "" && c.AppCert == "":
		return bad("give -alipay-public-key FILE (public-key mode) or -app-cert, -alipay-cert and -alipay-root-cert (certificate mode)")
	case c.AlipayPublicKey != "" && c.AppCert != "":
		return bad("-alipay-public-key and -app-cert are two different modes: give one")
	case c.AdminURL != "" && c.AdminToken == "":
		return bad("-admin-url needs -admin-token (or F2FPAY_ADMIN_TOKEN)")
	case c.AdminURL == "" && c.MasterKey == "" && c.MasterKeyFile == "":
		return bad("the database needs the service's master key: set F2FPAY_MASTER_KEY (or -master-key-file), or use -admin-url and -admin-token")
	}
	if c.AdminURL == "" {
		if _, _, err := parseDB(c.DB); err != nil {
			return bad("%v", err)
		}
	}
	return nil
}

func runProvision(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := loadProvisionConfig(args, os.Getenv, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	var key *rsa.PrivateKey // a merchant under a service provider's app has no key of its own here
	if c.ISVApp == "" {
		if key, err = readAppKey(c.Keys, c.KeyName); err != nil {
			return err
		}
	}
	admin, how, closeAdmin, err := c.adminClient(ctx)
	if err != nil {
		return err
	}
	defer closeAdmin()
	fmt.Fprintf(stdout, "f2fpay provision: %s\n", how)
	return c.provision(ctx, stdout, admin, key)
}

// readAppKey reads the app private key from a directory written by f2fpay keys
// generate (PKCS#8, or PKCS#1).
func readAppKey(dir, name string) (*rsa.PrivateKey, error) {
	if err := appkey.CheckName(name); err != nil {
		return nil, &usageError{"provision: -key-name: " + err.Error()}
	}
	p := appkey.PathsFor(dir, name)
	for _, path := range []string{p.PrivatePKCS8, p.PrivatePKCS1} {
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("provision: %w", err)
		}
		k, err := alipay.ParsePrivateKey(string(data))
		if err != nil {
			return nil, fmt.Errorf("provision: %s: %v", path, err)
		}
		return k, nil
	}
	return nil, &usageError{fmt.Sprintf("provision: no app private key in %s (%s): make one with f2fpay keys generate -dir %s", dir, p.PrivatePKCS8, dir)}
}

// adminClient is the admin API provision works through: the running service's, or one
// served for this command alone on the database, on a loopback port with a one-time
// token, so that both ways check and seal what they store the same way.
func (c *provisionConfig) adminClient(ctx context.Context) (*client.AdminClient, string, func(), error) {
	if c.AdminURL != "" {
		return client.NewAdminClient(c.AdminURL, c.AdminToken, nil), "through the admin API of " + c.AdminURL, func() {}, nil
	}
	sc := serveConfig{MasterKey: c.MasterKey, MasterKeyFile: c.MasterKeyFile}
	master, err := sc.masterKey()
	if err != nil {
		return nil, "", nil, fmt.Errorf("provision: %s", strings.TrimPrefix(err.Error(), "serve: "))
	}
	box, err := secret.NewBox(master)
	if err != nil {
		return nil, "", nil, fmt.Errorf("provision: %w", err)
	}
	store, _, err := openDB(ctx, c.DB, "", true)
	if err != nil {
		return nil, "", nil, fmt.Errorf("provision: database %s: %w (if a service has it open, use -admin-url and -admin-token)", redactDB(c.DB), err)
	}
	tok := make([]byte, 24)
	rand.Read(tok)
	token := base64.RawURLEncoding.EncodeToString(tok)
	// The engine exchanges app_auth_codes for a merchant under a service provider's app.
	engine, err := payment.New(payment.Config{Storage: store, Clients: payment.NewAppClients(box, payment.AppClientsOptions{})})
	if err != nil {
		store.Close()
		return nil, "", nil, fmt.Errorf("provision: %w", err)
	}
	api, err := httpapi.New(httpapi.Config{Storage: store, Box: box, AdminToken: token, Engine: engine})
	if err != nil {
		store.Close()
		return nil, "", nil, fmt.Errorf("provision: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		store.Close()
		return nil, "", nil, fmt.Errorf("provision: %w", err)
	}
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	stop := func() { shutdown(ctx, srv); store.Close() }
	return client.NewAdminClient("http://"+ln.Addr().String(), token, nil), "on the database " + redactDB(c.DB), stop, nil
}

// provision finds or creates the merchant, app, store and terminal, in that order.
func (c *provisionConfig) provision(ctx context.Context, w io.Writer, admin *client.AdminClient, key *rsa.PrivateKey) error {
	name := strings.TrimSpace(c.Merchant)
	ms, err := admin.ListMerchants(ctx)
	if err != nil {
		return fmt.Errorf("provision: listing merchants: %w", err)
	}
	var m *client.Merchant
	for i := range ms {
		if ms[i].Name == name {
			if m != nil {
				return fmt.Errorf("provision: two merchants are named %q (ids %d and %d); rename one (PATCH /admin/merchants/{id})", name, m.ID, ms[i].ID)
			}
			m = &ms[i]
		}
	}
	if m != nil {
		fmt.Fprintf(w, "  merchant %q (id %d) exists\n", m.Name, m.ID)
	} else if m, err = admin.CreateMerchant(ctx, client.MerchantRequest{Name: name}); err != nil {
		return fmt.Errorf("provision: creating the merchant: %w", err)
	} else {
		fmt.Fprintf(w, "  merchant %q (id %d) created\n", m.Name, m.ID)
	}

	var app *client.App
	if c.ISVApp != "" {
		app, err = c.provisionAuthorization(ctx, w, admin, m)
	} else {
		app, err = c.provisionApp(ctx, w, admin, m, key)
	}
	if err != nil {
		return err
	}

	sts, err := admin.ListStores(ctx, m.ID)
	if err != nil {
		return fmt.Errorf("provision: listing stores: %w", err)
	}
	var st *client.Store
	for i := range sts {
		if sts[i].Code == c.StoreCode {
			st = &sts[i]
		}
	}
	if st != nil {
		fmt.Fprintf(w, "  store %s (id %d) exists\n", st.Code, st.ID)
	} else if st, err = admin.CreateStore(ctx, m.ID, c.StoreCode, cmpOr(c.StoreName, name+" store")); err != nil {
		return fmt.Errorf("provision: creating the store: %w", err)
	} else {
		fmt.Fprintf(w, "  store %s (id %d) created\n", st.Code, st.ID)
	}
	if app == nil { // the merchant has yet to authorise the service provider's app
		return nil
	}

	ts, err := admin.ListTerminals(ctx, m.ID)
	if err != nil {
		return fmt.Errorf("provision: listing terminals: %w", err)
	}
	var term *client.Terminal
	for i := range ts {
		if ts[i].Code == c.TerminalCode {
			term = &ts[i]
		}
	}
	switch {
	case term != nil && c.RotateKey:
		if term, err = admin.RotateTerminalKey(ctx, term.ID); err != nil {
			return fmt.Errorf("provision: rotating the terminal's key: %w", err)
		}
		fmt.Fprintf(w, "  terminal %s (id %d) exists; its key was replaced (the old one no longer works)\n", term.Code, term.ID)
	case term != nil:
		fmt.Fprintf(w, "  terminal %s (id %d) exists; its API key was shown when it was created and cannot be shown again.\n", term.Code, term.ID)
		fmt.Fprintf(w, "  For a new key (the old one stops working at once), run this command again with -rotate-key,\n")
		fmt.Fprintf(w, "  or: curl -X POST <service>/admin/terminals/%d/rotate-key -H \"Authorization: Bearer $F2FPAY_ADMIN_TOKEN\"\n", term.ID)
	default:
		if term, err = admin.CreateTerminal(ctx, m.ID, client.TerminalRequest{StoreID: st.ID, AppID: app.ID, Code: c.TerminalCode,
			Name: cmpOr(c.TerminalName, "cashier "+c.TerminalCode)}); err != nil {
			return fmt.Errorf("provision: creating the terminal: %w", err)
		}
		fmt.Fprintf(w, "  terminal %s (id %d) created\n", term.Code, term.ID)
	}
	if term.AppID != app.ID {
		fmt.Fprintf(w, "  note: terminal %s pays through app id %d, not %d; it was left as it is\n", term.Code, term.AppID, app.ID)
	}
	if term.APIKey != nil {
		fmt.Fprintf(w, "\nThe terminal's API key — shown only this once; put it in the terminal now:\n")
		fmt.Fprintf(w, "  key_id: %s\n  secret: %s\n", term.APIKey.KeyID, term.APIKey.Secret)
		if term.APIKey.Authorization != "" {
			fmt.Fprintf(w, "  header: Authorization: %s\n", term.APIKey.Authorization)
		}
	}
	fmt.Fprintf(w, "\nGateway in use: %s (%s)\n", app.Gateway, gatewayKind(app.Gateway))
	return nil
}

// provisionApp finds or registers the merchant's app: by its APPID, or with -sandbox,
// the merchant's app on that sandbox (which gives the APPID).
func (c *provisionConfig) provisionApp(ctx context.Context, w io.Writer, admin *client.AdminClient, m *client.Merchant, key *rsa.PrivateKey) (*client.App, error) {
	apps, err := admin.ListApps(ctx, m.ID)
	if err != nil {
		return nil, fmt.Errorf("provision: listing apps: %w", err)
	}
	req := client.AppRequest{AppID: c.AppID, Name: cmpOr(c.AppName, m.Name+" app"), Gateway: c.Gateway, SellerID: c.SellerID,
		PrivateKey: string(alipay.PrivateKeyPEM(key)), ISV: c.ISV}
	var sim *simclient.Client
	if c.Sandbox != "" {
		sim = simclient.New(c.Sandbox, nil)
		req.Gateway = sim.Gateway()
	}
	for i := range apps {
		a := &apps[i]
		if (sim == nil && a.AppID == c.AppID) || (sim != nil && a.Gateway == req.Gateway) {
			if sim != nil {
				if _, err := sim.GetApp(ctx, a.AppID); err != nil {
					return nil, fmt.Errorf("provision: the merchant's app %s is registered for the sandbox at %s, which does not know it (%v); was the sandbox restarted without -data?", a.AppID, c.Sandbox, err)
				}
			}
			fmt.Fprintf(w, "  app %s (id %d) exists, gateway %s\n", a.AppID, a.ID, a.Gateway)
			if sim == nil && (a.Gateway != c.Gateway || a.SellerID != c.SellerID) {
				fmt.Fprintf(w, "  note: it has gateway %s and seller %s, not the %s and %s given; it was left as it is (change it with PATCH /admin/apps/%d)\n",
					a.Gateway, a.SellerID, c.Gateway, c.SellerID, a.ID)
			}
			return a, nil
		}
	}
	if sim != nil {
		sa, err := sim.RegisterApp(ctx, string(alipay.PublicKeyPEM(&key.PublicKey)), "")
		if err != nil {
			return nil, fmt.Errorf("provision: registering the app with the sandbox at %s: %w", c.Sandbox, err)
		}
		req.AppID, req.SellerID, req.AlipayPublicKey = sa.AppID, sa.SellerID, sa.AlipayPublicKey
		fmt.Fprintf(w, "  app %s registered with the sandbox at %s (seller %s)\n", sa.AppID, c.Sandbox, sa.SellerID)
	} else {
		read := func(flag, path string) (string, error) {
			if path == "" {
				return "", nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return "", fmt.Errorf("provision: -%s: %w", flag, err)
			}
			return string(b), nil
		}
		if req.AlipayPublicKey, err = read("alipay-public-key", c.AlipayPublicKey); err != nil {
			return nil, err
		}
		if req.AppCert, err = read("app-cert", c.AppCert); err != nil {
			return nil, err
		}
		if req.AlipayCert, err = read("alipay-cert", c.AlipayCert); err != nil {
			return nil, err
		}
		if req.AlipayRootCert, err = read("alipay-root-cert", c.RootCert); err != nil {
			return nil, err
		}
		if req.AppCert != "" {
			req.KeyMode = "cert"
		}
	}
	a, err := admin.CreateApp(ctx, m.ID, req)
	if err != nil {
		return nil, fmt.Errorf("provision: registering the app in the service: %w", err)
	}
	fmt.Fprintf(w, "  app %s (id %d) created, gateway %s\n", a.AppID, a.ID, a.Gateway)
	return a, nil
}

// gatewayKind says in words which Alipay a gateway is.
func gatewayKind(gw string) string {
	switch {
	case gw == alipay.ProductionGateway:
		return "Alipay production: real money"
	case gw == alipay.SandboxGateway:
		return "Alipay's online sandbox"
	case strings.HasSuffix(gw, "/gateway.do") && (strings.Contains(gw, "://127.0.0.1") || strings.Contains(gw, "://localhost")):
		return "a local gateway, such as the f2fpay sandbox"
	}
	return "not one of Alipay's known gateways"
}

func cmpOr(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}
