package main

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
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
