package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// The open-door cabinet (f2fpay.CabinetStore, docs/vending.md §12).

func (fx *fixture) cabinet(t testing.TB) *f2fpay.Terminal {
	t.Helper()
	fx.seq++
	term := &f2fpay.Terminal{MerchantID: fx.merchant.ID, StoreID: fx.store.ID, AppID: fx.app.ID, Code: fmt.Sprintf("CAB-%d", fx.seq),
		Kind: f2fpay.TerminalVending, Name: "cabinet", KeyID: fmt.Sprintf("tk_%d_cab%d", fx.merchant.ID, fx.seq), KeyHash: []byte{4, 5, 6},
		SigningSecret: "sealed:signing"}
	must(t, fx.s.CreateTerminal(context.Background(), term))
	return term
}

func (fx *fixture) agreement(t testing.TB, m *f2fpay.Member, ext string) *f2fpay.Agreement {
	t.Helper()
	a := &f2fpay.Agreement{MerchantID: fx.merchant.ID, MemberID: m.ID, AppID: fx.app.ID, ExternalNo: ext,
		State: f2fpay.AgreementPending, PersonalProductCode: "GENERAL_WITHHOLDING_P", SignScene: "INDUSTRY|RETAIL"}
	must(t, fx.s.CreateAgreement(context.Background(), a))
	return a
}

var cabinetItems = []f2fpay.CabinetItem{
	{Slot: "A1", GoodsID: "cola", Name: "可乐", Price: 300, Count: 2, Amount: 600},
	{Slot: "B2", GoodsID: "chips", Name: "薯片", Price: 550, Count: 1, Amount: 550},
}

// testAgreements: one live agreement per member and app; the external number and the
// agreement number each name one agreement of an app; updates compare and set; an
// unsigned agreement makes room for a new one, which is the latest.
func testAgreements(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	m := fx.member(t, "2088000000000101", "", nil)
	a := fx.agreement(t, m, "K1x01")
	if a.ID == 0 || a.Version != 1 || a.CreatedAt.IsZero() {
		t.Fatalf("CreateAgreement did not fill id, version, times: %+v", a)
	}
	got, err := s.FindAgreementByExternalNo(ctx, fx.app.ID, "K1x01")
	must(t, err)
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("FindAgreementByExternalNo = %+v\nwant %+v", got, a)
	}
	_, err = s.FindAgreementByExternalNo(ctx, fx.app.ID, "K1x02")
	wantCode(t, err, f2fpay.ENOTFOUND)
	// A second live agreement for the same member and app: refused.
	dup := &f2fpay.Agreement{MerchantID: fx.merchant.ID, MemberID: m.ID, AppID: fx.app.ID, ExternalNo: "K1x02", State: f2fpay.AgreementPending}
	wantCode(t, s.CreateAgreement(ctx, dup), f2fpay.ECONFLICT)
	wantCode(t, s.CreateAgreement(ctx, &f2fpay.Agreement{MemberID: m.ID, AppID: fx.app.ID, ExternalNo: "bad no!", State: f2fpay.AgreementPending}), f2fpay.EINVALID)

	// Signed: ACTIVE with Alipay's number.
	stale := *a
	a.State, a.AgreementNo, a.AlipayUserID, a.SignedAt = f2fpay.AgreementActive, "20265310838635316223", "2088000000000101", base
	must(t, s.UpdateAgreement(ctx, a))
	if a.Version != 2 {
		t.Fatalf("version after update = %d", a.Version)
	}
	wantCode(t, s.UpdateAgreement(ctx, &stale), f2fpay.ECONFLICT)
	got, err = s.FindAgreement(ctx, a.ID)
	must(t, err)
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("FindAgreement = %+v\nwant %+v", got, a)
	}
	active := *a
	active.State, active.AgreementNo = f2fpay.AgreementActive, ""
	wantCode(t, s.UpdateAgreement(ctx, &active), f2fpay.EINVALID)

	// Unsigned: final; a new agreement may be asked for, and is the latest.
	a.State, a.UnsignedAt = f2fpay.AgreementUnsigned, base.Add(time.Hour)
	must(t, s.UpdateAgreement(ctx, a))
	b := fx.agreement(t, m, "K1x03")
	latest, err := s.LatestAgreement(ctx, m.ID, fx.app.ID)
	must(t, err)
	if latest.ID != b.ID {
		t.Fatalf("LatestAgreement = %d, want %d", latest.ID, b.ID)
	}
	// Alipay's number names one agreement of the app.
	b.State, b.AgreementNo = f2fpay.AgreementActive, a.AgreementNo
	wantCode(t, s.UpdateAgreement(ctx, b), f2fpay.ECONFLICT)
	other := fx.member(t, "2088000000000102", "", nil)
	_, err = s.LatestAgreement(ctx, other.ID, fx.app.ID)
	wantCode(t, err, f2fpay.ENOTFOUND)
}

// testCabinetSessions: one open session per cabinet and per member; closing is
// idempotent (the same report again changes nothing, another report is refused); an
// out_trade_no names one session, so a session is charged under one number.
func testCabinetSessions(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	cab1, cab2 := fx.cabinet(t), fx.cabinet(t)
	m1, m2 := fx.member(t, "2088000000000201", "", nil), fx.member(t, "2088000000000202", "", nil)
	a1 := fx.agreement(t, m1, "K2x01")
	open := func(cab *f2fpay.Terminal, m *f2fpay.Member) (*f2fpay.CabinetSession, error) {
		x := &f2fpay.CabinetSession{MerchantID: fx.merchant.ID, TerminalID: cab.ID, MemberID: m.ID, AppID: fx.app.ID}
		if m.ID == m1.ID {
			x.AgreementID = a1.ID
		}
		return x, s.OpenCabinetSession(ctx, x)
	}
	s1, err := open(cab1, m1)
	must(t, err)
	if s1.ID == 0 || s1.State != f2fpay.CabinetOpen || s1.Version != 1 {
		t.Fatalf("OpenCabinetSession = %+v", s1)
	}
	_, err = open(cab1, m2) // the cabinet is in use
	wantCode(t, err, f2fpay.ECONFLICT)
	_, err = open(cab2, m1) // the member has a door open
	wantCode(t, err, f2fpay.ECONFLICT)
	got, err := s.FindCabinetSession(ctx, s1.ID)
	must(t, err)
	if !reflect.DeepEqual(got, s1) {
		t.Fatalf("FindCabinetSession = %+v\nwant %+v", got, s1)
	}

	// The command, by compare-and-set.
	s1.CommandID = 77
	must(t, s.UpdateCabinetSession(ctx, s1))
	stale := *s1
	stale.Version--
	wantCode(t, s.UpdateCabinetSession(ctx, &stale), f2fpay.ECONFLICT)

	// Close: priced, charged under one number; again with the same items: unchanged.
	cl := f2fpay.CabinetClose{Items: cabinetItems, Amount: 1150, OutTradeNo: "K2-1", NextCheckAt: base}
	bad := cl
	bad.Amount = 1000
	_, _, err = s.CloseCabinetSession(ctx, s1.ID, bad)
	wantCode(t, err, f2fpay.EINVALID)
	closed, ok, err := s.CloseCabinetSession(ctx, s1.ID, cl)
	must(t, err)
	if !ok || closed.State != f2fpay.CabinetCharging || closed.Amount != 1150 || closed.OutTradeNo != "K2-1" ||
		closed.Generation != 1 || closed.CommandID != 77 || !reflect.DeepEqual(closed.Items, cabinetItems) || closed.ClosedAt.IsZero() {
		t.Fatalf("CloseCabinetSession = %v %+v", ok, closed)
	}
	swapped := cl
	swapped.Items = []f2fpay.CabinetItem{cabinetItems[1], cabinetItems[0]}
	again, ok, err := s.CloseCabinetSession(ctx, s1.ID, swapped)
	must(t, err)
	if ok || !reflect.DeepEqual(again, closed) {
		t.Fatalf("a repeated report changed the session: %v %+v\nwant %+v", ok, again, closed)
	}
	other := cl
	other.Items, other.Amount = cabinetItems[:1], 600
	_, _, err = s.CloseCabinetSession(ctx, s1.ID, other)
	wantCode(t, err, f2fpay.ECONFLICT)
	_, _, err = s.CloseCabinetSession(ctx, 999999, cl)
	wantCode(t, err, f2fpay.ENOTFOUND)

	// The cabinet and the member are free again; a second session may not reuse the
	// first one's number.
	s2, err := open(cab1, m2)
	must(t, err)
	_, _, err = s.CloseCabinetSession(ctx, s2.ID, cl)
	wantCode(t, err, f2fpay.ECONFLICT)
	empty, ok, err := s.CloseCabinetSession(ctx, s2.ID, f2fpay.CabinetClose{})
	must(t, err)
	if !ok || empty.State != f2fpay.CabinetEmpty || empty.OutTradeNo != "" || empty.Amount != 0 || len(empty.Items) != 0 {
		t.Fatalf("empty close = %v %+v", ok, empty)
	}

	// Paid: state, order and trade written together; listings by member and state.
	o := fx.order(f2fpay.OrderPaid)
	o.TotalAmount = 1150
	must(t, s.CreateOrder(ctx, o))
	closed.State, closed.OrderID, closed.TradeNo, closed.PaidAt, closed.NextCheckAt = f2fpay.CabinetPaid, o.ID, "2026120722001", base, time.Time{}
	closed.Attempts = 1
	must(t, s.UpdateCabinetSession(ctx, closed))
	got, err = s.FindCabinetSession(ctx, s1.ID)
	must(t, err)
	if !reflect.DeepEqual(got, closed) {
		t.Fatalf("after update = %+v\nwant %+v", got, closed)
	}
	list, err := s.ListCabinetSessions(ctx, f2fpay.CabinetSessionFilter{MemberID: m1.ID})
	must(t, err)
	if len(list) != 1 || list[0].ID != s1.ID {
		t.Fatalf("sessions of member 1: %+v", list)
	}
	list, err = s.ListCabinetSessions(ctx, f2fpay.CabinetSessionFilter{MerchantID: fx.merchant.ID, States: []f2fpay.CabinetSessionState{f2fpay.CabinetEmpty, f2fpay.CabinetOpen}})
	must(t, err)
	if len(list) != 1 || list[0].ID != s2.ID {
		t.Fatalf("empty or open sessions: %+v", list)
	}
	list, err = s.ListCabinetSessions(ctx, f2fpay.CabinetSessionFilter{MerchantID: fx.merchant.ID, BeforeID: s2.ID, Limit: 5})
	must(t, err)
	if len(list) != 1 || list[0].ID != s1.ID {
		t.Fatalf("sessions before %d: %+v", s2.ID, list)
	}
}

// testClaimDueCabinetSessions: due CHARGING and DEBT sessions are leased to one
// claimer at a time; a DEBT without a next check waits; an update releases the lease.
func testClaimDueCabinetSessions(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	const sessions, claimers = 24, 6
	var due []int64
	for i := range sessions {
		cab := fx.cabinet(t)
		m := fx.member(t, fmt.Sprintf("20880000000003%02d", i), "", nil)
		x := &f2fpay.CabinetSession{MerchantID: fx.merchant.ID, TerminalID: cab.ID, MemberID: m.ID, AppID: fx.app.ID}
		must(t, s.OpenCabinetSession(ctx, x))
		cl := f2fpay.CabinetClose{Items: cabinetItems, Amount: 1150, OutTradeNo: fmt.Sprintf("K3-%d-1", i), NextCheckAt: base.Add(-time.Duration(i) * time.Second)}
		closed, _, err := s.CloseCabinetSession(ctx, x.ID, cl)
		must(t, err)
		switch i % 4 {
		case 1: // a debt due
			closed.State = f2fpay.CabinetDebt
			must(t, s.UpdateCabinetSession(ctx, closed))
		case 2: // a debt waiting for nothing in particular: not due
			closed.State, closed.NextCheckAt = f2fpay.CabinetDebt, time.Time{}
			must(t, s.UpdateCabinetSession(ctx, closed))
			continue
		case 3: // due later
			closed.NextCheckAt = base.Add(time.Hour)
			must(t, s.UpdateCabinetSession(ctx, closed))
			continue
		}
		due = append(due, x.ID)
	}
	var mu sync.Mutex
	owners := map[int64][]string{}
	var wg sync.WaitGroup
	errs := make(chan error, claimers)
	for c := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := string(rune('A' + c))
			for {
				got, err := s.ClaimDueCabinetSessions(ctx, owner, base, time.Minute, 2)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, x := range got {
					owners[x.ID] = append(owners[x.ID], owner)
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
	if len(owners) != len(due) {
		t.Fatalf("claimed %d sessions, want the %d due", len(owners), len(due))
	}
	for _, id := range due {
		if len(owners[id]) != 1 {
			t.Fatalf("session %d claimed by %v, want exactly one claimer", id, owners[id])
		}
	}
	// Leased: not claimed again before the lease ends; after it, and after an update, due again.
	got, err := s.ClaimDueCabinetSessions(ctx, "Z", base.Add(30*time.Second), time.Minute, 100)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("claimed %d leased sessions", len(got))
	}
	got, err = s.ClaimDueCabinetSessions(ctx, "Z", base.Add(2*time.Minute), time.Minute, 100)
	must(t, err)
	if len(got) != len(due) {
		t.Fatalf("after the leases: claimed %d, want %d", len(got), len(due))
	}
	x := got[0]
	x.NextCheckAt = base
	must(t, s.UpdateCabinetSession(ctx, x))
	again, err := s.ClaimDueCabinetSessions(ctx, "Y", base.Add(2*time.Minute), time.Minute, 100)
	must(t, err)
	if len(again) != 1 || again[0].ID != x.ID {
		t.Fatalf("after an update released the lease: %+v", again)
	}
}
