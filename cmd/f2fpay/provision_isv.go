package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"flag"
	"fmt"
	"io"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
)

// Onboarding a merchant under a service provider's app (docs/vending.md §6).

func bindISVFlags(fs *flag.FlagSet, c *provisionConfig) {
	fs.BoolVar(&c.ISV, "isv", false, "register the app as a service provider's app, which collects for the merchants that authorise it")
	fs.StringVar(&c.ISVApp, "isv-app", "", "onboard the merchant under this service provider's `APPID` (registered with -isv) instead of an app of its own")
	fs.StringVar(&c.AppAuthCode, "app-auth-code", "", "the merchant's app_auth_code, from the redirect after it authorised the -isv-app (single use, a day)")
	fs.StringVar(&c.RedirectURI, "redirect-uri", "", "where Alipay sends the merchant back with its code: the service's public `URL` …/alipay/app-auth (with -isv-app)")
	fs.StringVar(&c.RebatePID, "rebate-pid", "", "the `PID` earning rebates on the merchant's trades (sys_service_provider_id; default the app's)")
}

func (c *provisionConfig) checkISV(bad func(string, ...any) error) error {
	switch {
	case c.ISV:
		return bad("-isv registers a service provider's app, -isv-app onboards a merchant under one: give one")
	case c.AppID != "" || c.SellerID != "" || c.Gateway != "" || c.AlipayPublicKey != "" || c.AppCert != "" || c.AlipayCert != "" || c.RootCert != "":
		return bad("-isv-app: the merchant pays through the service provider's app, whose APPID, gateway and keys the service has; leave out -app-id, -seller-id, -gateway and the Alipay key flags")
	case c.AppAuthCode != "" && c.Sandbox != "":
		return bad("-app-auth-code and -sandbox: with -sandbox the sandbox's merchant consents itself; give one")
	case c.RedirectURI != "" && c.AppAuthCode != "":
		return bad("-redirect-uri prints the merchant's link, -app-auth-code takes the code it brought back: give one")
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

// findISVApp finds the service provider's app by its APPID among every merchant's apps.
func findISVApp(ctx context.Context, admin *client.AdminClient, appID string) (*client.App, error) {
	ms, err := admin.ListMerchants(ctx)
	if err != nil {
		return nil, fmt.Errorf("provision: listing merchants: %w", err)
	}
	for _, m := range ms {
		apps, err := admin.ListApps(ctx, m.ID)
		if err != nil {
			return nil, fmt.Errorf("provision: listing apps: %w", err)
		}
		for i := range apps {
			if apps[i].AppID != appID {
				continue
			}
			if !apps[i].ISV {
				return nil, fmt.Errorf("provision: app %s (id %d) is not a service provider's app; register the provider's app with -isv", appID, apps[i].ID)
			}
			return &apps[i], nil
		}
	}
	return nil, fmt.Errorf("provision: no app %s in the service; register the service provider's app first (f2fpay provision -merchant PROVIDER -isv …)", appID)
}

// provisionAuthorization makes sure merchant m has authorised the service provider's
// app and returns that app, or nil after printing the link the merchant must open.
func (c *provisionConfig) provisionAuthorization(ctx context.Context, w io.Writer, admin *client.AdminClient, m *client.Merchant) (*client.App, error) {
	app, err := findISVApp(ctx, admin, c.ISVApp)
	if err != nil {
		return nil, err
	}
	as, err := admin.Authorizations(ctx, app.ID)
	if err != nil {
		return nil, fmt.Errorf("provision: listing the authorisations of app %s: %w", app.AppID, err)
	}
	for _, a := range as {
		if a.MerchantID == m.ID && !a.NeedsReauthorization && c.AppAuthCode == "" {
			fmt.Fprintf(w, "  merchant authorised service-provider app %s (as %s, seller %s, token until %s)\n",
				app.AppID, a.AuthAppID, a.SellerID, a.ExpiresAt.Format("2006-01-02"))
			return app, nil
		}
		if a.MerchantID == m.ID && a.NeedsReauthorization {
			fmt.Fprintf(w, "  the merchant's authorisation of app %s needs renewing (Alipay said: %s)\n", app.AppID, a.Problem)
		}
	}
	code := c.AppAuthCode
	if code == "" && c.Sandbox != "" {
		// The sandbox's merchant: its own app at the sandbox, consenting at once.
		sim := simclient.New(c.Sandbox, nil)
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		sa, err := sim.RegisterApp(ctx, string(alipay.PublicKeyPEM(&k.PublicKey)), "")
		if err != nil {
			return nil, fmt.Errorf("provision: registering the merchant's own app with the sandbox at %s: %w", c.Sandbox, err)
		}
		ac, err := sim.IssueAppAuthCode(ctx, app.AppID, sa.AppID)
		if err != nil {
			return nil, fmt.Errorf("provision: the sandbox's merchant authorising app %s: %w", app.AppID, err)
		}
		fmt.Fprintf(w, "  the sandbox's merchant (app %s) authorised app %s\n", sa.AppID, app.AppID)
		code = ac.Code
	}
	if code == "" {
		if c.RedirectURI == "" {
			return nil, &usageError{fmt.Sprintf("provision: merchant %q has not authorised service-provider app %s: give -redirect-uri https://<service>/alipay/app-auth to print its authorisation link, or -app-auth-code CODE", m.Name, app.AppID)}
		}
		link, err := admin.AuthorizationLink(ctx, app.ID, m.ID, c.RedirectURI)
		if err != nil {
			return nil, fmt.Errorf("provision: making the authorisation link: %w", err)
		}
		fmt.Fprintf(w, "\nThe merchant authorises service-provider app %s by opening this link (valid for a day) —\n", app.AppID)
		fmt.Fprintf(w, "商户打开以下链接授权服务商应用 %s（一天内有效）:\n\n  %s\n\n", app.AppID, link)
		fmt.Fprintf(w, "Alipay then sends the merchant to %s, which takes the code. If it goes elsewhere,\n", c.RedirectURI)
		fmt.Fprintf(w, "run this command again with -app-auth-code CODE. The terminal is created once the merchant has authorised.\n")
		return nil, nil
	}
	a, err := admin.Authorize(ctx, app.ID, client.AuthorizationRequest{MerchantID: m.ID, AppAuthCode: code, SysServiceProviderID: c.RebatePID})
	if err != nil {
		return nil, fmt.Errorf("provision: exchanging the app_auth_code: %w", err)
	}
	fmt.Fprintf(w, "  merchant authorised service-provider app %s (as %s, seller %s, token until %s)\n",
		app.AppID, a.AuthAppID, a.SellerID, a.ExpiresAt.Format("2006-01-02"))
	return app, nil
}
