package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// sameCreated checks that a stored CreatedAt is set, UTC, and within the test's run.
func sameCreated(t *testing.T, what string, got time.Time, start time.Time) {
	t.Helper()
	if got.IsZero() || got.Location() != time.UTC || got.Before(start.Add(-time.Second)) || got.After(time.Now().Add(time.Second)) {
		t.Errorf("%s: CreatedAt %v, want a UTC time of this test run", what, got)
	}
}

func testMerchants(t *testing.T, s f2fpay.Storage) {
	ctx, start := t.Context(), time.Now()
	if list, err := s.ListMerchants(ctx); err != nil || len(list) != 0 {
		t.Fatalf("ListMerchants of an empty store = %v, %v", list, err)
	}
	a := &f2fpay.Merchant{Name: "便利店 A", WebhookURL: "https://a.example/hook", WebhookSecret: "s3cret"}
	b := &f2fpay.Merchant{Name: "Vending B"}
	must(t, s.CreateMerchant(ctx, a))
	must(t, s.CreateMerchant(ctx, b))
	if a.ID == 0 || b.ID == 0 || a.ID == b.ID {
		t.Fatalf("ids %d, %d: want distinct, non-zero", a.ID, b.ID)
	}
	sameCreated(t, "merchant", a.CreatedAt, start)
	got, err := s.FindMerchant(ctx, a.ID)
	must(t, err)
	if !reflect.DeepEqual(got, a) {
		t.Errorf("FindMerchant = %+v, want %+v", got, a)
	}
	list, err := s.ListMerchants(ctx)
	must(t, err)
	if len(list) != 2 || !reflect.DeepEqual(list[0], a) || !reflect.DeepEqual(list[1], b) {
		t.Errorf("ListMerchants = %+v, want [a b]", list)
	}
	_, err = s.FindMerchant(ctx, b.ID+1000)
	wantCode(t, err, f2fpay.ENOTFOUND)
}

func testApps(t *testing.T, s f2fpay.Storage) {
	ctx, start := t.Context(), time.Now()
	fx := newFixture(t, s)
	sameCreated(t, "app", fx.app.CreatedAt, start)
	cert := &f2fpay.App{MerchantID: fx.merchant.ID, AppID: "2021999000000002", Name: "cert app", Gateway: "http://127.0.0.1:1/gateway.do",
		SignType: "RSA2", KeyMode: f2fpay.KeyModeCert, PrivateKey: "file:/etc/f2fpay/app.key", AppCert: "-----BEGIN CERTIFICATE-----a",
		AlipayCert: "-----BEGIN CERTIFICATE-----b", AlipayRootCert: "-----BEGIN CERTIFICATE-----c", SellerID: "2088000000000001",
		AppAuthToken: "sealed:token", SysServiceProviderID: "2088000000000009"}
	must(t, s.CreateApp(ctx, cert))

	got, err := s.FindApp(ctx, cert.ID)
	must(t, err)
	if !reflect.DeepEqual(got, cert) {
		t.Errorf("FindApp = %+v\nwant %+v", got, cert)
	}
	got, err = s.FindAppByAppID(ctx, fx.app.AppID)
	must(t, err)
	if !reflect.DeepEqual(got, fx.app) {
		t.Errorf("FindAppByAppID = %+v\nwant %+v", got, fx.app)
	}
	list, err := s.ListApps(ctx, fx.merchant.ID)
	must(t, err)
	if len(list) != 2 || list[0].ID != fx.app.ID || list[1].ID != cert.ID {
		t.Errorf("ListApps = %+v", list)
	}
	other := newFixture(t, s)
	if list, err := s.ListApps(ctx, other.merchant.ID); err != nil || len(list) != 1 {
		t.Errorf("ListApps(other merchant) = %v, %v; want its one app", list, err)
	}

	for _, tc := range []struct {
		name string
		app  f2fpay.App
		code string
	}{
		{"duplicate APPID", f2fpay.App{MerchantID: fx.merchant.ID, AppID: cert.AppID}, f2fpay.ECONFLICT},
		{"APPID of another merchant", f2fpay.App{MerchantID: other.merchant.ID, AppID: fx.app.AppID}, f2fpay.ECONFLICT},
		{"unknown merchant", f2fpay.App{MerchantID: 99999, AppID: "2021999000000003"}, f2fpay.ENOTFOUND},
		{"empty APPID", f2fpay.App{MerchantID: fx.merchant.ID}, f2fpay.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.app
			wantCode(t, s.CreateApp(ctx, &a), tc.code)
		})
	}
	_, err = s.FindApp(ctx, 99999)
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.FindAppByAppID(ctx, "2021999999999999")
	wantCode(t, err, f2fpay.ENOTFOUND)
}

func testStores(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	other := newFixture(t, s)
	second := &f2fpay.Store{MerchantID: fx.merchant.ID, Code: "S002", Name: "Station"}
	must(t, s.CreateStore(ctx, second))
	got, err := s.FindStore(ctx, second.ID)
	must(t, err)
	if !reflect.DeepEqual(got, second) {
		t.Errorf("FindStore = %+v, want %+v", got, second)
	}
	list, err := s.ListStores(ctx, fx.merchant.ID)
	must(t, err)
	if len(list) != 2 || list[0].ID != fx.store.ID || list[1].ID != second.ID {
		t.Errorf("ListStores = %+v", list)
	}
	for _, tc := range []struct {
		name  string
		store f2fpay.Store
		code  string
	}{
		{"duplicate code", f2fpay.Store{MerchantID: fx.merchant.ID, Code: "S002"}, f2fpay.ECONFLICT},
		{"same code, other merchant", f2fpay.Store{MerchantID: other.merchant.ID, Code: "S002"}, ""},
		{"unknown merchant", f2fpay.Store{MerchantID: 99999, Code: "S009"}, f2fpay.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.store
			wantCode(t, s.CreateStore(ctx, &st), tc.code)
		})
	}
	_, err = s.FindStore(ctx, 99999)
	wantCode(t, err, f2fpay.ENOTFOUND)
}

func testTerminals(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	other := newFixture(t, s)
	// A vending machine outside any store, without an API key yet.
	vending := &f2fpay.Terminal{MerchantID: fx.merchant.ID, AppID: fx.app.ID, Code: "VM-7", Kind: f2fpay.TerminalVending, Name: "lobby"}
	must(t, s.CreateTerminal(ctx, vending))
	got, err := s.FindTerminal(ctx, vending.ID)
	must(t, err)
	if !reflect.DeepEqual(got, vending) {
		t.Errorf("FindTerminal = %+v, want %+v", got, vending)
	}
	got, err = s.FindTerminalByKeyID(ctx, fx.terminal.KeyID)
	must(t, err)
	if !reflect.DeepEqual(got, fx.terminal) {
		t.Errorf("FindTerminalByKeyID = %+v, want %+v", got, fx.terminal)
	}
	_, err = s.FindTerminalByKeyID(ctx, "")
	wantCode(t, err, f2fpay.ENOTFOUND)
	// A second keyless terminal: "no key" is not a key two terminals share.
	must(t, s.CreateTerminal(ctx, &f2fpay.Terminal{MerchantID: fx.merchant.ID, AppID: fx.app.ID, Code: "VM-8", Kind: f2fpay.TerminalVending}))

	list, err := s.ListTerminals(ctx, fx.merchant.ID)
	must(t, err)
	if len(list) != 3 || list[0].ID != fx.terminal.ID || list[1].ID != vending.ID {
		t.Errorf("ListTerminals = %+v", list)
	}

	must(t, s.SetTerminalDisabled(ctx, fx.terminal.ID, true))
	if got, err := s.FindTerminal(ctx, fx.terminal.ID); err != nil || !got.Disabled {
		t.Errorf("after disabling: %+v, %v", got, err)
	}
	must(t, s.SetTerminalDisabled(ctx, fx.terminal.ID, false))
	if got, err := s.FindTerminal(ctx, fx.terminal.ID); err != nil || got.Disabled {
		t.Errorf("after enabling: %+v, %v", got, err)
	}
	wantCode(t, s.SetTerminalDisabled(ctx, 99999, true), f2fpay.ENOTFOUND)
	_, err = s.FindTerminal(ctx, 99999)
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.FindTerminalByKeyID(ctx, "tk_nope")
	wantCode(t, err, f2fpay.ENOTFOUND)

	for _, tc := range []struct {
		name string
		term f2fpay.Terminal
		code string
	}{
		{"duplicate code", f2fpay.Terminal{MerchantID: fx.merchant.ID, AppID: fx.app.ID, Code: "POS-1", Kind: f2fpay.TerminalCashier, KeyID: "tk_new1"}, f2fpay.ECONFLICT},
		{"duplicate key id", f2fpay.Terminal{MerchantID: other.merchant.ID, AppID: other.app.ID, Code: "POS-2", Kind: f2fpay.TerminalCashier, KeyID: fx.terminal.KeyID}, f2fpay.ECONFLICT},
		{"same code, other merchant", f2fpay.Terminal{MerchantID: other.merchant.ID, AppID: other.app.ID, Code: "VM-7", Kind: f2fpay.TerminalVending, KeyID: "tk_new2"}, ""},
		{"unknown merchant", f2fpay.Terminal{MerchantID: 99999, Code: "X", Kind: f2fpay.TerminalCashier}, f2fpay.ENOTFOUND},
		{"unknown store", f2fpay.Terminal{MerchantID: fx.merchant.ID, StoreID: 99999, AppID: fx.app.ID, Code: "X", Kind: f2fpay.TerminalCashier}, f2fpay.ENOTFOUND},
		{"unknown app", f2fpay.Terminal{MerchantID: fx.merchant.ID, AppID: 99999, Code: "Y", Kind: f2fpay.TerminalCashier}, f2fpay.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			term := tc.term
			wantCode(t, s.CreateTerminal(ctx, &term), tc.code)
		})
	}
}
