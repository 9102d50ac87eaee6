package storetest

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
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

	// Signed only: set, seen by both lookups (authentication uses the key id), lifted.
	must(t, s.SetTerminalSignedOnly(ctx, fx.terminal.ID, true))
	for name, find := range map[string]func() (*f2fpay.Terminal, error){
		"FindTerminal":        func() (*f2fpay.Terminal, error) { return s.FindTerminal(ctx, fx.terminal.ID) },
		"FindTerminalByKeyID": func() (*f2fpay.Terminal, error) { return s.FindTerminalByKeyID(ctx, fx.terminal.KeyID) },
	} {
		if got, err := find(); err != nil || !got.SignedOnly || got.Disabled {
			t.Errorf("%s after SetTerminalSignedOnly(true): %+v, %v", name, got, err)
		}
	}
	must(t, s.SetTerminalSignedOnly(ctx, fx.terminal.ID, false))
	if got, err := s.FindTerminalByKeyID(ctx, fx.terminal.KeyID); err != nil || got.SignedOnly {
		t.Errorf("after SetTerminalSignedOnly(false): %+v, %v", got, err)
	}
	wantCode(t, s.SetTerminalSignedOnly(ctx, 99999, true), f2fpay.ENOTFOUND)
	signed := &f2fpay.Terminal{MerchantID: fx.merchant.ID, AppID: fx.app.ID, Code: "POS-9", Kind: f2fpay.TerminalCashier,
		KeyID: fmt.Sprintf("tk_signed_%d", fx.merchant.ID), KeyHash: []byte{9}, SigningSecret: "sealed:s", SignedOnly: true}
	must(t, s.CreateTerminal(ctx, signed))
	if got, err := s.FindTerminal(ctx, signed.ID); err != nil || !got.SignedOnly {
		t.Errorf("a terminal created signed only: %+v, %v", got, err)
	}
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

// ptr returns a pointer to v, for the fields of an update.
func ptr[T any](v T) *T { return &v }

func testMerchantUpdates(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	other := newFixture(t, s)
	m := fx.merchant
	if !m.UpdatedAt.Equal(m.CreatedAt) {
		t.Fatalf("new merchant: UpdatedAt %v, want CreatedAt %v", m.UpdatedAt, m.CreatedAt)
	}

	// Only the named field changes.
	got, err := s.UpdateMerchant(ctx, m.ID, f2fpay.MerchantUpdate{Name: new("Fixture Mart 2")})
	must(t, err)
	want := *m
	want.Name, want.UpdatedAt = "Fixture Mart 2", got.UpdatedAt
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("UpdateMerchant(name) = %+v\nwant %+v", got, &want)
	}
	if got.UpdatedAt.Before(m.CreatedAt) || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("UpdatedAt %v, want a UTC time not before CreatedAt %v", got.UpdatedAt, m.CreatedAt)
	}
	if found, err := s.FindMerchant(ctx, m.ID); err != nil || !reflect.DeepEqual(found, got) {
		t.Errorf("FindMerchant after the update = %+v, %v\nwant %+v", found, err, got)
	}

	// A new secret and URL together; then both cleared with "".
	got, err = s.UpdateMerchant(ctx, m.ID, f2fpay.MerchantUpdate{WebhookURL: new("https://b.example/hook"), WebhookSecret: new("sealed:new")})
	must(t, err)
	if got.Name != "Fixture Mart 2" || got.WebhookURL != "https://b.example/hook" || got.WebhookSecret != "sealed:new" {
		t.Errorf("after the webhook update: %+v", got)
	}
	got, err = s.UpdateMerchant(ctx, m.ID, f2fpay.MerchantUpdate{WebhookURL: new(""), WebhookSecret: new("")})
	must(t, err)
	if got.WebhookURL != "" || got.WebhookSecret != "" || got.Name != "Fixture Mart 2" {
		t.Errorf("after clearing the webhook: %+v", got)
	}

	// The merchant-wide setting of terminals: on, kept by other changes, off again;
	// FindMerchant (the cache) sees each.
	if got.TerminalsSeeAllOrders {
		t.Errorf("terminals_see_all_orders on by default: %+v", got)
	}
	got, err = s.UpdateMerchant(ctx, m.ID, f2fpay.MerchantUpdate{TerminalsSeeAllOrders: new(true)})
	must(t, err)
	if !got.TerminalsSeeAllOrders || got.Name != "Fixture Mart 2" {
		t.Errorf("after terminals_see_all_orders=true: %+v", got)
	}
	got, err = s.UpdateMerchant(ctx, m.ID, f2fpay.MerchantUpdate{Name: new("Fixture Mart 3")})
	must(t, err)
	if found, err := s.FindMerchant(ctx, m.ID); err != nil || !got.TerminalsSeeAllOrders || !found.TerminalsSeeAllOrders {
		t.Errorf("a name change dropped terminals_see_all_orders: %+v / %+v, %v", got, found, err)
	}
	got, err = s.UpdateMerchant(ctx, m.ID, f2fpay.MerchantUpdate{TerminalsSeeAllOrders: new(false)})
	must(t, err)
	if found, err := s.FindMerchant(ctx, m.ID); err != nil || got.TerminalsSeeAllOrders || found.TerminalsSeeAllOrders {
		t.Errorf("after terminals_see_all_orders=false: %+v / %+v, %v", got, found, err)
	}
	wide := &f2fpay.Merchant{Name: "Wide Mart", TerminalsSeeAllOrders: true}
	must(t, s.CreateMerchant(ctx, wide))
	if found, err := s.FindMerchant(ctx, wide.ID); err != nil || !found.TerminalsSeeAllOrders {
		t.Errorf("created with terminals_see_all_orders: %+v, %v", found, err)
	}

	// Other merchants are untouched.
	if found, err := s.FindMerchant(ctx, other.merchant.ID); err != nil || !reflect.DeepEqual(found, other.merchant) {
		t.Errorf("the other merchant changed: %+v, %v", found, err)
	}
	_, err = s.UpdateMerchant(ctx, 99999, f2fpay.MerchantUpdate{Name: new("x")})
	wantCode(t, err, f2fpay.ENOTFOUND)
}

func testAppUpdates(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	other := newFixture(t, s)
	a := fx.app
	if a.Version != 1 || !a.UpdatedAt.Equal(a.CreatedAt) {
		t.Fatalf("new app: version %d, UpdatedAt %v; want 1 and CreatedAt %v", a.Version, a.UpdatedAt, a.CreatedAt)
	}

	// A key rotation: only the key and the version change.
	got, err := s.UpdateApp(ctx, a.ID, f2fpay.AppUpdate{PrivateKey: new("sealed:rotated")})
	must(t, err)
	want := *a
	want.PrivateKey, want.Version, want.UpdatedAt = "sealed:rotated", 2, got.UpdatedAt
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("UpdateApp(private key) = %+v\nwant %+v", got, &want)
	}
	if got.UpdatedAt.Before(a.CreatedAt) || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("UpdatedAt %v, want a UTC time not before CreatedAt %v", got.UpdatedAt, a.CreatedAt)
	}
	for name, find := range map[string]func() (*f2fpay.App, error){
		"FindApp":        func() (*f2fpay.App, error) { return s.FindApp(ctx, a.ID) },
		"FindAppByAppID": func() (*f2fpay.App, error) { return s.FindAppByAppID(ctx, a.AppID) },
	} {
		if found, err := find(); err != nil || !reflect.DeepEqual(found, got) {
			t.Errorf("%s after the update = %+v, %v\nwant %+v", name, found, err, got)
		}
	}

	// Every field at once: to certificate mode, with a token that is then cleared.
	all := f2fpay.AppUpdate{
		Name: new("renamed"), Gateway: new("http://127.0.0.1:2/gateway.do"), SignType: new("RSA"), KeyMode: new(f2fpay.KeyModeCert),
		PrivateKey: new("file:/etc/f2fpay/new.key"), AlipayPublicKey: new(""), AppCert: new("-----BEGIN CERTIFICATE-----x"),
		AlipayCert: new("-----BEGIN CERTIFICATE-----y"), AlipayRootCert: new("-----BEGIN CERTIFICATE-----z"),
		SellerID: new("2088000000000002"), AppAuthToken: new("sealed:token"), SysServiceProviderID: new("2088000000000003"),
	}
	got, err = s.UpdateApp(ctx, a.ID, all)
	must(t, err)
	want = f2fpay.App{ID: a.ID, MerchantID: a.MerchantID, AppID: a.AppID, Name: "renamed", Gateway: "http://127.0.0.1:2/gateway.do",
		SignType: "RSA", KeyMode: f2fpay.KeyModeCert, PrivateKey: "file:/etc/f2fpay/new.key", AppCert: "-----BEGIN CERTIFICATE-----x",
		AlipayCert: "-----BEGIN CERTIFICATE-----y", AlipayRootCert: "-----BEGIN CERTIFICATE-----z", SellerID: "2088000000000002",
		AppAuthToken: "sealed:token", SysServiceProviderID: "2088000000000003", CreatedAt: a.CreatedAt, UpdatedAt: got.UpdatedAt, Version: 3}
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("UpdateApp(everything) = %+v\nwant %+v", got, &want)
	}
	got, err = s.UpdateApp(ctx, a.ID, f2fpay.AppUpdate{AppAuthToken: new(""), SysServiceProviderID: new("")})
	must(t, err)
	if got.AppAuthToken != "" || got.SysServiceProviderID != "" || got.Name != "renamed" || got.Version != 4 {
		t.Errorf("after clearing the token: %+v", got)
	}
	// Nothing named still counts as a change: the version moves.
	got, err = s.UpdateApp(ctx, a.ID, f2fpay.AppUpdate{})
	must(t, err)
	if got.Version != 5 {
		t.Errorf("empty update: version %d, want 5", got.Version)
	}

	if found, err := s.FindApp(ctx, other.app.ID); err != nil || !reflect.DeepEqual(found, other.app) {
		t.Errorf("the other merchant's app changed: %+v, %v", found, err)
	}
	_, err = s.UpdateApp(ctx, 99999, f2fpay.AppUpdate{Name: new("x")})
	wantCode(t, err, f2fpay.ENOTFOUND)

	// Compare-and-set: checked against version 5, it applies; against 5 again, it is
	// refused and changes nothing; and the app read after the refusal is the stored
	// one, not a cached copy (the caller retries with it).
	got, err = s.UpdateApp(ctx, a.ID, f2fpay.AppUpdate{Name: new("checked"), IfVersion: 5})
	must(t, err)
	if got.Name != "checked" || got.Version != 6 {
		t.Errorf("compare-and-set on the stored version: %+v", got)
	}
	if _, err := s.FindApp(ctx, a.ID); err != nil { // cache it, where the store caches
		t.Fatal(err)
	}
	_, err = s.UpdateApp(ctx, a.ID, f2fpay.AppUpdate{Name: new("stale"), IfVersion: 5})
	wantCode(t, err, f2fpay.ECONFLICT)
	if found, err := s.FindApp(ctx, a.ID); err != nil || found.Name != "checked" || found.Version != 6 {
		t.Errorf("after a refused compare-and-set: %+v, %v; want the app at version 6, named %q", found, err, "checked")
	}
	_, err = s.UpdateApp(ctx, 99999, f2fpay.AppUpdate{Name: new("x"), IfVersion: 1})
	wantCode(t, err, f2fpay.ENOTFOUND)
}

// testAppUpdatesConcurrent: updates of different fields racing each other all take
// effect, and every one counts in the version.
func testAppUpdatesConcurrent(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	const rounds = 10
	errs := make(chan error, 2*rounds)
	var wg sync.WaitGroup
	for i := range rounds {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := s.UpdateApp(ctx, fx.app.ID, f2fpay.AppUpdate{Name: new(fmt.Sprintf("name %d", i))})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := s.UpdateApp(ctx, fx.app.ID, f2fpay.AppUpdate{PrivateKey: new(fmt.Sprintf("sealed:%d", i))})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	got, err := s.FindApp(ctx, fx.app.ID)
	must(t, err)
	if got.Version != 1+2*rounds {
		t.Errorf("version %d after %d updates, want %d", got.Version, 2*rounds, 1+2*rounds)
	}
	if !strings.HasPrefix(got.Name, "name ") || !strings.HasPrefix(got.PrivateKey, "sealed:") || got.PrivateKey == fx.app.PrivateKey {
		t.Errorf("after concurrent updates: name %q, key %q; want both changed", got.Name, got.PrivateKey)
	}
}

func testTerminalKeyRotation(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	other := newFixture(t, s)
	old := fx.terminal
	must(t, s.SetTerminalDisabled(ctx, old.ID, true))

	got, err := s.RotateTerminalKey(ctx, old.ID, f2fpay.TerminalKey{KeyID: "tk_rotated", KeyHash: []byte{9, 9}, SigningSecret: "sealed:rotated"})
	must(t, err)
	want := *old
	want.KeyID, want.KeyHash, want.SigningSecret, want.Disabled = "tk_rotated", []byte{9, 9}, "sealed:rotated", true
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("RotateTerminalKey = %+v\nwant %+v (still disabled)", got, &want)
	}
	_, err = s.FindTerminalByKeyID(ctx, old.KeyID)
	wantCode(t, err, f2fpay.ENOTFOUND)
	if found, err := s.FindTerminalByKeyID(ctx, "tk_rotated"); err != nil || !reflect.DeepEqual(found, got) {
		t.Errorf("FindTerminalByKeyID(new key) = %+v, %v", found, err)
	}

	// A terminal made without a key gets one.
	keyless := &f2fpay.Terminal{MerchantID: fx.merchant.ID, AppID: fx.app.ID, Code: "VM-1", Kind: f2fpay.TerminalVending}
	must(t, s.CreateTerminal(ctx, keyless))
	if got, err := s.RotateTerminalKey(ctx, keyless.ID, f2fpay.TerminalKey{KeyID: "tk_first", KeyHash: []byte{1}}); err != nil || got.KeyID != "tk_first" || got.SigningSecret != "" {
		t.Errorf("first key of a keyless terminal, without a signing secret: %+v, %v", got, err)
	}

	for _, tc := range []struct {
		name string
		id   int64
		key  f2fpay.TerminalKey
		code string
	}{
		{"key id of another terminal", fx.terminal.ID, f2fpay.TerminalKey{KeyID: other.terminal.KeyID, KeyHash: []byte{7}}, f2fpay.ECONFLICT},
		{"unknown terminal", 99999, f2fpay.TerminalKey{KeyID: "tk_x", KeyHash: []byte{7}}, f2fpay.ENOTFOUND},
		{"no key id", fx.terminal.ID, f2fpay.TerminalKey{KeyHash: []byte{7}}, f2fpay.EINVALID},
		{"no hash", fx.terminal.ID, f2fpay.TerminalKey{KeyID: "tk_y"}, f2fpay.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.RotateTerminalKey(ctx, tc.id, tc.key)
			wantCode(t, err, tc.code)
		})
	}
	// The refused rotations changed nothing.
	if found, err := s.FindTerminal(ctx, fx.terminal.ID); err != nil || !reflect.DeepEqual(found, got) {
		t.Errorf("after refused rotations: %+v, %v; want %+v", found, err, got)
	}
	if found, err := s.FindTerminalByKeyID(ctx, other.terminal.KeyID); err != nil || found.ID != other.terminal.ID {
		t.Errorf("the other terminal's key: %+v, %v", found, err)
	}
}

// testMerchantReadsAfterWrites: what a Find returns is the caller's own copy, and a
// Find after a committed change sees the change (the stores keep merchant data in
// memory, internal/merchcache, but never serve this store's own writes stale, nor a
// value another caller can change).
func testMerchantReadsAfterWrites(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	readAll := func() (*f2fpay.Merchant, *f2fpay.App, *f2fpay.App, *f2fpay.Store, *f2fpay.Terminal, *f2fpay.Terminal) {
		t.Helper()
		m, err := s.FindMerchant(ctx, fx.merchant.ID)
		must(t, err)
		a, err := s.FindApp(ctx, fx.app.ID)
		must(t, err)
		a2, err := s.FindAppByAppID(ctx, fx.app.AppID)
		must(t, err)
		st, err := s.FindStore(ctx, fx.store.ID)
		must(t, err)
		tm, err := s.FindTerminal(ctx, fx.terminal.ID)
		must(t, err)
		tk, err := s.FindTerminalByKeyID(ctx, fx.terminal.KeyID)
		must(t, err)
		return m, a, a2, st, tm, tk
	}
	for range 2 { // twice: the second time from memory, if the store keeps any
		m, a, a2, st, tm, tk := readAll()
		m.Name, a.Gateway, a2.SellerID, st.Name, tm.Name = "x", "x", "x", "x", "x"
		tm.KeyHash[0], tk.KeyHash[0] = 99, 99
	}
	m, a, a2, st, tm, tk := readAll()
	if m.Name != fx.merchant.Name || a.Gateway != fx.app.Gateway || a2.SellerID != fx.app.SellerID || st.Name != fx.store.Name ||
		tm.Name != fx.terminal.Name || tm.KeyHash[0] != 1 || tk.KeyHash[0] != 1 {
		t.Fatalf("a caller's change to a found value reached the next Find: %+v %+v %+v %+v %+v %+v", m, a, a2, st, tm, tk)
	}

	// Each change is checked right after it, with everything read (and possibly kept)
	// just before: a change must not be hidden by what an earlier read left behind.
	name, gw := "Renamed Mart", "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
	readAll()
	_, err := s.UpdateMerchant(ctx, fx.merchant.ID, f2fpay.MerchantUpdate{Name: &name})
	must(t, err)
	if m, _ := s.FindMerchant(ctx, fx.merchant.ID); m == nil || m.Name != name {
		t.Errorf("FindMerchant after UpdateMerchant: %+v", m)
	}
	readAll()
	_, err = s.UpdateApp(ctx, fx.app.ID, f2fpay.AppUpdate{Gateway: &gw})
	must(t, err)
	if a, _ := s.FindApp(ctx, fx.app.ID); a == nil || a.Gateway != gw || a.Version != 2 {
		t.Errorf("FindApp after UpdateApp: %+v", a)
	}
	if a, _ := s.FindAppByAppID(ctx, fx.app.AppID); a == nil || a.Gateway != gw {
		t.Errorf("FindAppByAppID after UpdateApp: %+v", a)
	}
	readAll()
	_, err = s.RotateTerminalKey(ctx, fx.terminal.ID, f2fpay.TerminalKey{KeyID: fx.terminal.KeyID + "_new", KeyHash: []byte{7}})
	must(t, err)
	if _, err := s.FindTerminalByKeyID(ctx, fx.terminal.KeyID); f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
		t.Errorf("the old key id still finds the terminal: %v", err)
	}
	if tm, _ := s.FindTerminal(ctx, fx.terminal.ID); tm == nil || tm.KeyID != fx.terminal.KeyID+"_new" {
		t.Errorf("FindTerminal after rotation: %+v", tm)
	}
	if tk, _ := s.FindTerminalByKeyID(ctx, fx.terminal.KeyID+"_new"); tk == nil || tk.KeyHash[0] != 7 {
		t.Errorf("FindTerminalByKeyID after rotation: %+v", tk)
	}
	must(t, s.SetTerminalDisabled(ctx, fx.terminal.ID, true))
	if tk, _ := s.FindTerminalByKeyID(ctx, fx.terminal.KeyID+"_new"); tk == nil || !tk.Disabled {
		t.Errorf("FindTerminalByKeyID after disabling: %+v", tk)
	}
	if tm, _ := s.FindTerminal(ctx, fx.terminal.ID); tm == nil || !tm.Disabled {
		t.Errorf("FindTerminal after disabling: %+v", tm)
	}
}
