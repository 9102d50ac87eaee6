package client

import (
	"context"
	"net/http"
	"strconv"
)

// ListMerchants returns every merchant.
func (a *AdminClient) ListMerchants(ctx context.Context) ([]Merchant, error) {
	var out struct {
		Merchants []Merchant `json:"merchants"`
	}
	return out.Merchants, a.call(ctx, http.MethodGet, "/admin/merchants", nil, &out)
}

// ListApps returns a merchant's apps, each with the gateway it talks to.
func (a *AdminClient) ListApps(ctx context.Context, merchantID int64) ([]App, error) {
	var out struct {
		Apps []App `json:"apps"`
	}
	return out.Apps, a.call(ctx, http.MethodGet, "/admin/merchants/"+strconv.FormatInt(merchantID, 10)+"/apps", nil, &out)
}

// ListStores returns a merchant's stores.
func (a *AdminClient) ListStores(ctx context.Context, merchantID int64) ([]Store, error) {
	var out struct {
		Stores []Store `json:"stores"`
	}
	return out.Stores, a.call(ctx, http.MethodGet, "/admin/merchants/"+strconv.FormatInt(merchantID, 10)+"/stores", nil, &out)
}

// ListTerminals returns a merchant's terminals (without their keys).
func (a *AdminClient) ListTerminals(ctx context.Context, merchantID int64) ([]Terminal, error) {
	var out struct {
		Terminals []Terminal `json:"terminals"`
	}
	return out.Terminals, a.call(ctx, http.MethodGet, "/admin/merchants/"+strconv.FormatInt(merchantID, 10)+"/terminals", nil, &out)
}
