package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// isvFixture is a service provider's app (App.ISV) of the fixture's merchant, and
// merchants it may act for, each with a store and a terminal on the ISV app.
type isvFixture struct {
	*fixture
	seq int
}

func newISVFixture(t testing.TB, s f2fpay.Storage) *isvFixture {
	t.Helper()
	fx := newFixture(t, s)
	// The fixture's app is the provider's own; a second app of the provider is the ISV one.
	isv := *fx.app
	isv.ID, isv.AppID, isv.Name, isv.Version, isv.ISV = 0, fmt.Sprintf("2099%012d", fx.merchant.ID), "isv", 0, true
	must(t, s.CreateApp(context.Background(), &isv))
	fx.app = &isv
	return &isvFixture{fixture: fx}
}

// served creates a merchant the provider serves, with a store and a terminal on the
// ISV app, and returns its id and the terminal.
func (fx *isvFixture) served(t testing.TB, name string) (*f2fpay.Merchant, *f2fpay.Terminal) {
	t.Helper()
	ctx := context.Background()
	fx.seq++
	m := &f2fpay.Merchant{Name: name}
	must(t, fx.s.CreateMerchant(ctx, m))
	st := &f2fpay.Store{MerchantID: m.ID, Code: "S1", Name: name}
	must(t, fx.s.CreateStore(ctx, st))
	term := &f2fpay.Terminal{MerchantID: m.ID, StoreID: st.ID, AppID: fx.app.ID, Code: "POS-1", Kind: f2fpay.TerminalCashier,
		KeyID: fmt.Sprintf("tk_isv_%d", m.ID), KeyHash: []byte{4, 5, 6}, SigningSecret: "sealed:signing"}
	must(t, fx.s.CreateTerminal(ctx, term))
	return m, term
}

// authorization returns an unsaved active authorisation of merchantID.
func (fx *isvFixture) authorization(merchantID int64, authAppID string) *f2fpay.Authorization {
	return &f2fpay.Authorization{AppID: fx.app.ID, MerchantID: merchantID, AuthAppID: authAppID,
		SellerID: "2088" + authAppID[len(authAppID)-12:], SysServiceProviderID: fx.app.SellerID,
		AppAuthToken: "sealed:token-" + authAppID, RefreshToken: "sealed:refresh-" + authAppID,
		ExpiresAt: base.Add(365 * 24 * time.Hour), ReExpiresAt: base.Add(372 * 24 * time.Hour),
		RefreshAt: base.Add(335 * 24 * time.Hour)}
}

// sameAuthorization fails unless got is want as stored (times to the microsecond).
func sameAuthorization(t testing.TB, what string, got, want *f2fpay.Authorization) {
	t.Helper()
	if got.ID != want.ID || got.AppID != want.AppID || got.MerchantID != want.MerchantID || got.AuthAppID != want.AuthAppID ||
		got.SellerID != want.SellerID || got.SysServiceProviderID != want.SysServiceProviderID ||
		got.AppAuthToken != want.AppAuthToken || got.RefreshToken != want.RefreshToken ||
		got.State != want.State || got.Problem != want.Problem || got.Version != want.Version {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
	for _, tc := range []struct {
		name      string
		got, want time.Time
	}{
		{"ExpiresAt", got.ExpiresAt, want.ExpiresAt}, {"ReExpiresAt", got.ReExpiresAt, want.ReExpiresAt},
		{"RefreshAt", got.RefreshAt, want.RefreshAt}, {"RefreshedAt", got.RefreshedAt, want.RefreshedAt},
	} {
		if !tc.got.Equal(tc.want) {
			t.Errorf("%s: %s = %v, want %v", what, tc.name, tc.got, tc.want)
		}
	}
	if got.CreatedAt.IsZero() || got.UpdatedAt.Before(got.CreatedAt) {
		t.Errorf("%s: created %v, updated %v", what, got.CreatedAt, got.UpdatedAt)
	}
}

// testAuthorizations: create, find by merchant and by auth_app_id, list, the two
// uniqueness rules, unknown app or merchant, and the compare-and-set update.
func testAuthorizations(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newISVFixture(t, s)
	ma, _ := fx.served(t, "Corner Shop")
	mb, _ := fx.served(t, "Station Kiosk")

	a := fx.authorization(ma.ID, "2021000000000001")
	wantCode(t, s.CreateAuthorization(ctx, a), "")
	if a.ID == 0 || a.Version != 1 || a.State != f2fpay.AuthorizationActive || a.CreatedAt.IsZero() {
		t.Fatalf("created %+v: want an ID, version 1, state active, CreatedAt", a)
	}
	b := fx.authorization(mb.ID, "2021000000000002")
	b.SysServiceProviderID = ""
	must(t, s.CreateAuthorization(ctx, b))

	got, err := s.FindAuthorization(ctx, fx.app.ID, ma.ID)
	must(t, err)
	sameAuthorization(t, "FindAuthorization(a)", got, a)
	got, err = s.FindAuthorizationByAuthAppID(ctx, fx.app.ID, "2021000000000002")
	must(t, err)
	sameAuthorization(t, "FindAuthorizationByAuthAppID(b)", got, b)

	// Not found: another merchant, another app, an unknown auth_app_id.
	_, err = s.FindAuthorization(ctx, fx.app.ID, fx.merchant.ID)
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.FindAuthorization(ctx, fx.app.ID+1000, ma.ID)
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.FindAuthorizationByAuthAppID(ctx, fx.app.ID, "2021000000000009")
	wantCode(t, err, f2fpay.ENOTFOUND)

	list, err := s.ListAuthorizations(ctx, fx.app.ID)
	must(t, err)
	if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("ListAuthorizations = %d, want a then b", len(list))
	}
	other := newISVFixture(t, s)
	if list, err := s.ListAuthorizations(ctx, other.app.ID); err != nil || len(list) != 0 {
		t.Fatalf("another app lists %d authorisations (%v), want none", len(list), err)
	}

	// One authorisation per merchant and per auth_app_id under an app; another app may
	// hold the same merchant and the same auth_app_id.
	wantCode(t, s.CreateAuthorization(ctx, fx.authorization(ma.ID, "2021000000000003")), f2fpay.ECONFLICT)
	mc, _ := fx.served(t, "Night Market")
	wantCode(t, s.CreateAuthorization(ctx, fx.authorization(mc.ID, "2021000000000001")), f2fpay.ECONFLICT)
	elsewhere := other.authorization(ma.ID, "2021000000000001")
	must(t, s.CreateAuthorization(ctx, elsewhere))
	// Unknown app or merchant; an empty auth_app_id.
	bad := fx.authorization(ma.ID+1000, "2021000000000004")
	wantCode(t, s.CreateAuthorization(ctx, bad), f2fpay.ENOTFOUND)
	bad = fx.authorization(mc.ID, "2021000000000005")
	bad.AppID = other.app.ID + 1000
	wantCode(t, s.CreateAuthorization(ctx, bad), f2fpay.ENOTFOUND)
	bad = fx.authorization(mc.ID, "2021000000000006")
	bad.AuthAppID = ""
	wantCode(t, s.CreateAuthorization(ctx, bad), f2fpay.EINVALID)

	// Update: a compare-and-set on Version that writes every field but identity.
	before := a.UpdatedAt
	stale := *a
	a.AppAuthToken, a.RefreshToken = "sealed:token-2", "sealed:refresh-2"
	a.ExpiresAt, a.ReExpiresAt, a.RefreshAt, a.RefreshedAt = base.Add(400*24*time.Hour), base.Add(410*24*time.Hour), base.Add(370*24*time.Hour), base
	a.State, a.Problem = f2fpay.AuthorizationReauthorize, "20001 aop.invalid-app-auth-token 无效的应用授权令牌"
	a.SellerID = "2088000000000777"
	must(t, s.UpdateAuthorization(ctx, a))
	if a.Version != 2 || a.UpdatedAt.Before(before) {
		t.Errorf("after update: version %d, updated %v (was %v)", a.Version, a.UpdatedAt, before)
	}
	got, err = s.FindAuthorization(ctx, fx.app.ID, ma.ID)
	must(t, err)
	sameAuthorization(t, "after UpdateAuthorization", got, a)
	if got.Usable() {
		t.Error("an authorisation needing re-authorisation is usable")
	}
	stale.Problem = "lost update"
	wantCode(t, s.UpdateAuthorization(ctx, &stale), f2fpay.ECONFLICT)
	// The update keeps auth_app_id unique under the app.
	b.AuthAppID = "2021000000000001"
	wantCode(t, s.UpdateAuthorization(ctx, b), f2fpay.ECONFLICT)
	gone := *b
	gone.ID, gone.AuthAppID = b.ID+1000, "2021000000000008"
	wantCode(t, s.UpdateAuthorization(ctx, &gone), f2fpay.ENOTFOUND)
}

// testClaimDueAuthorizations: only active authorisations at or past RefreshAt are
// claimed; a live lease is not claimed again, an expired one is; an update releases the
// lease; concurrent claimers never get the same one.
func testClaimDueAuthorizations(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newISVFixture(t, s)
	now := base.Add(400 * 24 * time.Hour)
	var due []*f2fpay.Authorization
	for i := range 4 {
		m, _ := fx.served(t, fmt.Sprintf("m%d", i))
		a := fx.authorization(m.ID, fmt.Sprintf("20210000000001%02d", i))
		switch i {
		case 0, 1:
			a.RefreshAt = now.Add(-time.Duration(i) * time.Minute) // due (at now, and before)
		case 2:
			a.RefreshAt = now.Add(24 * time.Hour) // not yet
		case 3:
			a.RefreshAt, a.State = now.Add(-time.Hour), f2fpay.AuthorizationReauthorize // never
		}
		must(t, s.CreateAuthorization(ctx, a))
		if i < 2 {
			due = append(due, a)
		}
	}
	claim := func(owner string, at time.Time) map[int64]bool {
		t.Helper()
		got, err := s.ClaimDueAuthorizations(ctx, owner, at, 30*time.Second, 10)
		must(t, err)
		ids := map[int64]bool{}
		for _, a := range got {
			ids[a.ID] = true
			if a.AppAuthToken == "" || a.AuthAppID == "" {
				t.Errorf("claimed authorisation %d without its token or auth_app_id", a.ID)
			}
		}
		return ids
	}
	if got := claim("a", now); len(got) != 2 || !got[due[0].ID] || !got[due[1].ID] {
		t.Fatalf("first claim = %v, want the two due authorisations", got)
	}
	if got := claim("b", now.Add(29*time.Second)); len(got) != 0 {
		t.Errorf("a live lease was claimed again: %v", got)
	}
	if got := claim("b", now.Add(30*time.Second)); len(got) != 2 {
		t.Errorf("expired leases were not reclaimed: %v", got)
	}
	// A refresh writes the new schedule and releases the lease.
	a := due[0]
	a.RefreshAt, a.RefreshedAt = now.Add(time.Hour), now
	must(t, s.UpdateAuthorization(ctx, a))
	if got := claim("c", now.Add(59*time.Minute)); got[a.ID] {
		t.Errorf("claimed before its RefreshAt")
	}
	if got := claim("c", now.Add(time.Hour)); !got[a.ID] {
		t.Errorf("after UpdateAuthorization released the lease, claim = %v", got)
	}

	// Concurrent claimers never get the same authorisation.
	const n, claimers = 30, 6
	other := newISVFixture(t, s)
	for i := range n {
		m, _ := other.served(t, fmt.Sprintf("c%d", i))
		a := other.authorization(m.ID, fmt.Sprintf("20220000000002%02d", i))
		a.RefreshAt = base
		must(t, s.CreateAuthorization(ctx, a))
	}
	var mu sync.Mutex
	owners := map[int64][]string{}
	var wg sync.WaitGroup
	errs := make(chan error, claimers)
	at := now.Add(10 * time.Hour) // every lease above has ended
	for c := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := string(rune('K' + c))
			for {
				got, err := s.ClaimDueAuthorizations(ctx, owner, at, time.Hour, 2)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, a := range got {
					owners[a.ID] = append(owners[a.ID], owner)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(owners) != n+2 { // the 30 and the two of the first app
		t.Errorf("claimed %d distinct authorisations, want %d", len(owners), n+2)
	}
	for id, os := range owners {
		if len(os) != 1 {
			t.Errorf("authorisation %d claimed by %v", id, os)
		}
	}
}

// testISVOrderScope: under one ISV app the order number is unique per merchant, not
// per app: two merchants both have "M-1", each finds its own with FindMerchantOrder,
// FindOrder by the app alone answers ECONFLICT, and a merchant reusing its own number
// is ECONFLICT.
func testISVOrderScope(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newISVFixture(t, s)
	ma, ta := fx.served(t, "Corner Shop")
	mb, tb := fx.served(t, "Station Kiosk")
	order := func(m *f2fpay.Merchant, term *f2fpay.Terminal, no string, amount f2fpay.Amount) *f2fpay.Order {
		return &f2fpay.Order{OutTradeNo: no, MerchantID: m.ID, AppID: fx.app.ID, StoreID: term.StoreID, TerminalID: term.ID,
			Kind: f2fpay.KindBarcode, Subject: "cola", TotalAmount: amount, State: f2fpay.OrderPaying}
	}
	oa, ob := order(ma, ta, "M-1", 350), order(mb, tb, "M-1", 999)
	must(t, s.CreateOrder(ctx, oa))
	must(t, s.CreateOrder(ctx, ob))
	for _, tc := range []struct {
		m    *f2fpay.Merchant
		want *f2fpay.Order
	}{{ma, oa}, {mb, ob}} {
		got, err := s.FindMerchantOrder(ctx, fx.app.ID, tc.m.ID, "M-1")
		must(t, err)
		if got.ID != tc.want.ID || got.MerchantID != tc.m.ID || got.TotalAmount != tc.want.TotalAmount {
			t.Errorf("FindMerchantOrder(merchant %d, M-1) = order %d of merchant %d (%d fen), want order %d (%d fen)",
				tc.m.ID, got.ID, got.MerchantID, got.TotalAmount, tc.want.ID, tc.want.TotalAmount)
		}
	}
	_, err := s.FindOrder(ctx, fx.app.ID, "M-1")
	wantCode(t, err, f2fpay.ECONFLICT)
	// A number only one merchant holds is found by the app alone.
	oc := order(ma, ta, "M-2", 100)
	must(t, s.CreateOrder(ctx, oc))
	if got, err := s.FindOrder(ctx, fx.app.ID, "M-2"); err != nil || got.ID != oc.ID {
		t.Errorf("FindOrder(M-2) = %v, %v; want order %d", got, err, oc.ID)
	}
	_, err = s.FindMerchantOrder(ctx, fx.app.ID, mb.ID, "M-2")
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.FindMerchantOrder(ctx, fx.app.ID+1000, ma.ID, "M-1")
	wantCode(t, err, f2fpay.ENOTFOUND)
	// (app, merchant, out_trade_no) is unique.
	wantCode(t, s.CreateOrder(ctx, order(mb, tb, "M-1", 1)), f2fpay.ECONFLICT)
	// The provider's own orders on its ISV app are a third scope.
	own := fx.order(f2fpay.OrderPaying)
	own.AppID, own.OutTradeNo = fx.app.ID, "M-1"
	must(t, s.CreateOrder(ctx, own))
	if got, err := s.FindMerchantOrder(ctx, fx.app.ID, fx.merchant.ID, "M-1"); err != nil || got.ID != own.ID {
		t.Errorf("the provider's own M-1 = %v, %v; want order %d", got, err, own.ID)
	}
}
