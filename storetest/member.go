package storetest

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

func (fx *fixture) member(t testing.TB, userID, openID string, phoneHash []byte) *f2fpay.Member {
	t.Helper()
	m := &f2fpay.Member{MerchantID: fx.merchant.ID, PhoneSealed: "sealed:phone", PhoneHash: phoneHash, PhoneMasked: "138****5678",
		MemberProfile: f2fpay.MemberProfile{NickName: "小明", Avatar: "https://tfs.alipayobjects.com/a.png", Gender: "m", Province: "浙江省", City: "杭州市"},
		Identities:    []*f2fpay.MemberIdentity{{AppID: fx.app.ID, UserID: userID, OpenID: openID}}}
	if phoneHash == nil {
		m.PhoneSealed, m.PhoneMasked = "", ""
	}
	must(t, fx.s.CreateMember(context.Background(), m))
	return m
}

// testMembers: a member reads back as written from every lookup; an identity or a
// phone used twice is ECONFLICT and writes nothing; identities link, unlink and fill
// in the id an app switched to.
func testMembers(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	m := fx.member(t, "2088000000000001", "", []byte("phone-1"))
	if m.ID == 0 || m.Identities[0].ID == 0 || m.Identities[0].MemberID != m.ID || m.CreatedAt.IsZero() {
		t.Fatalf("CreateMember did not fill ids and times: %+v %+v", m, m.Identities[0])
	}
	got, err := s.FindMember(ctx, m.ID)
	must(t, err)
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("FindMember = %+v\nwant %+v", got, m)
	}
	for name, find := range map[string]func() (*f2fpay.Member, error){
		"user id": func() (*f2fpay.Member, error) { return s.FindMemberByIdentity(ctx, fx.app.ID, "2088000000000001", "") },
		"phone":   func() (*f2fpay.Member, error) { return s.FindMemberByPhone(ctx, fx.merchant.ID, []byte("phone-1")) },
	} {
		got, err := find()
		must(t, err)
		if !reflect.DeepEqual(got, m) {
			t.Errorf("by %s: %+v\nwant %+v", name, got, m)
		}
	}
	_, err = s.FindMemberByIdentity(ctx, fx.app.ID, "2088000000000009", "")
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.FindMemberByPhone(ctx, fx.merchant.ID, []byte("phone-2"))
	wantCode(t, err, f2fpay.ENOTFOUND)

	// The same Alipay account, or the same phone, for a second member: refused whole.
	for name, dup := range map[string]*f2fpay.Member{
		"identity": {MerchantID: fx.merchant.ID, PhoneHash: []byte("phone-3"), Identities: []*f2fpay.MemberIdentity{{AppID: fx.app.ID, UserID: "2088000000000001"}}},
		"phone":    {MerchantID: fx.merchant.ID, PhoneHash: []byte("phone-1"), Identities: []*f2fpay.MemberIdentity{{AppID: fx.app.ID, UserID: "2088000000000003"}}},
	} {
		wantCode(t, s.CreateMember(ctx, dup), f2fpay.ECONFLICT)
		_, err := s.FindMemberByIdentity(ctx, fx.app.ID, "2088000000000003", "")
		wantCode(t, err, f2fpay.ENOTFOUND)
		_, err = s.FindMemberByPhone(ctx, fx.merchant.ID, []byte("phone-3"))
		wantCode(t, err, f2fpay.ENOTFOUND)
		_ = name
	}
	wantCode(t, s.CreateMember(ctx, &f2fpay.Member{MerchantID: fx.merchant.ID}), f2fpay.EINVALID)

	// Open ids: a second identity, its lookup, and a duplicate refused.
	open := &f2fpay.MemberIdentity{AppID: fx.app.ID, OpenID: "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo5"}
	profile := &f2fpay.MemberProfile{NickName: "Ming", City: "上海市"}
	must(t, s.LinkIdentity(ctx, m.ID, open, profile))
	byOpen, err := s.FindMemberByIdentity(ctx, fx.app.ID, "", open.OpenID)
	must(t, err)
	if byOpen.ID != m.ID || len(byOpen.Identities) != 2 || byOpen.NickName != "Ming" || byOpen.City != "上海市" || byOpen.Avatar != "" {
		t.Fatalf("after LinkIdentity: %+v", byOpen)
	}
	other := fx.member(t, "2088000000000002", "", nil)
	wantCode(t, s.LinkIdentity(ctx, other.ID, &f2fpay.MemberIdentity{AppID: fx.app.ID, OpenID: open.OpenID}, nil), f2fpay.ECONFLICT)
	wantCode(t, s.LinkIdentity(ctx, 999999, &f2fpay.MemberIdentity{AppID: fx.app.ID, OpenID: "x1"}, nil), f2fpay.ENOTFOUND)
	wantCode(t, s.LinkIdentity(ctx, m.ID, &f2fpay.MemberIdentity{AppID: fx.app.ID, UserID: "12"}, nil), f2fpay.EINVALID)

	// An app that switched: the user-id identity gets the open id on the next visit.
	must(t, s.TouchIdentity(ctx, other.Identities[0].ID, "", "open-of-other"))
	got, err = s.FindMemberByIdentity(ctx, fx.app.ID, "", "open-of-other")
	must(t, err)
	if got.ID != other.ID || got.Identities[0].UserID != "2088000000000002" {
		t.Fatalf("after TouchIdentity: %+v", got.Identities[0])
	}
	wantCode(t, s.TouchIdentity(ctx, other.Identities[0].ID, "", open.OpenID), "") // the stored open id wins
	wantCode(t, s.TouchIdentity(ctx, 999999, "", ""), f2fpay.ENOTFOUND)

	list, err := s.ListMembers(ctx, f2fpay.MemberFilter{MerchantID: fx.merchant.ID})
	must(t, err)
	if len(list) != 2 || list[0].ID != m.ID || list[1].ID != other.ID || len(list[0].Identities) != 2 {
		t.Fatalf("ListMembers = %+v", list)
	}
	page, err := s.ListMembers(ctx, f2fpay.MemberFilter{MerchantID: fx.merchant.ID, AfterID: m.ID, Limit: 1})
	must(t, err)
	if len(page) != 1 || page[0].ID != other.ID {
		t.Fatalf("second page = %+v", page)
	}

	// Unlink one identity: the other stays, the member's sessions end.
	sess := fx.session(t)
	sess.MemberID = m.ID
	must(t, s.UpdateMemberSession(ctx, sess))
	must(t, s.UnlinkIdentity(ctx, m.ID, open.ID))
	wantCode(t, s.UnlinkIdentity(ctx, other.ID, m.Identities[0].ID), f2fpay.ENOTFOUND)
	_, err = s.FindMemberByIdentity(ctx, fx.app.ID, "", open.OpenID)
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.FindMemberSession(ctx, sess.TokenHash)
	wantCode(t, err, f2fpay.ENOTFOUND)
}

// testMemberErase: erasure drops identities, phone, profile and sessions in one go,
// keeps the row and the member's orders and sales, and frees the phone and the
// Alipay account for a new member.
func testMemberErase(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	m := fx.member(t, "2088000000000001", "open-1", []byte("phone-1"))
	o := fx.createOrder(t, f2fpay.OrderPaid)
	sale := fx.sale(t, 500)
	_, err := s.TakeSale(ctx, sale.ID, m.ID)
	must(t, err)
	sess := fx.session(t)
	sess.MemberID = m.ID
	must(t, s.UpdateMemberSession(ctx, sess))

	must(t, s.EraseMember(ctx, m.ID))
	got, err := s.FindMember(ctx, m.ID)
	must(t, err)
	if got.ErasedAt.IsZero() || got.PhoneHash != nil || got.PhoneSealed != "" || got.PhoneMasked != "" ||
		got.MemberProfile != (f2fpay.MemberProfile{}) || len(got.Identities) != 0 {
		t.Fatalf("erased member still holds the person: %+v", got)
	}
	_, err = s.FindMemberSession(ctx, sess.TokenHash)
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.FindOrderByID(ctx, o.ID)
	must(t, err)
	if sl, err := s.FindSale(ctx, sale.ID); err != nil || sl.MemberID != m.ID {
		t.Fatalf("sale after erasure: %+v, %v", sl, err)
	}
	wantCode(t, s.LinkIdentity(ctx, m.ID, &f2fpay.MemberIdentity{AppID: fx.app.ID, UserID: "2088000000000005"}, nil), f2fpay.ENOTFOUND)
	again := fx.member(t, "2088000000000001", "open-1", []byte("phone-1"))
	if again.ID == m.ID {
		t.Fatal("a new member got the erased one's id")
	}
	wantCode(t, s.EraseMember(ctx, 999999), f2fpay.ENOTFOUND)
}

func (fx *fixture) session(t testing.TB) *f2fpay.MemberSession {
	t.Helper()
	fx.seq++
	s := &f2fpay.MemberSession{TokenHash: []byte{byte(fx.seq), 9, 9}, MerchantID: fx.merchant.ID, TerminalID: fx.terminal.ID,
		State: "st", Scope: "auth_base", ExpiresAt: time.Now().Add(time.Hour)}
	must(t, fx.s.CreateMemberSession(context.Background(), s))
	return s
}

// testMemberSessions: sessions round-trip every field, update by compare-and-set,
// expire and are deleted.
func testMemberSessions(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	sess := fx.session(t)
	got, err := s.FindMemberSession(ctx, sess.TokenHash)
	must(t, err)
	if got.ID != sess.ID || got.Version != 1 || got.State != "st" || got.TerminalID != fx.terminal.ID || got.MemberID != 0 {
		t.Fatalf("FindMemberSession = %+v", got)
	}
	m := fx.member(t, "2088000000000001", "", nil)
	got.State, got.Scope, got.MemberID, got.AppID, got.UserID, got.OpenID = "", "auth_user", m.ID, fx.app.ID, "2088000000000001", "o1"
	got.Profile = f2fpay.MemberProfile{NickName: "明 \"x\"", City: "杭州市"}
	got.Consented, got.PhoneSealed, got.PhoneHash, got.CodeHash = true, "sealed", []byte("ph"), []byte("code")
	got.CodeExpiresAt, got.CodeAttempts = base, 3
	stale := *got
	must(t, s.UpdateMemberSession(ctx, got))
	if got.Version != 2 {
		t.Fatalf("version after update = %d", got.Version)
	}
	again, err := s.FindMemberSession(ctx, sess.TokenHash)
	must(t, err)
	again.UpdatedAt, got.UpdatedAt = time.Time{}, time.Time{}
	again.CreatedAt, got.CreatedAt = time.Time{}, time.Time{}
	got.ExpiresAt = got.ExpiresAt.UTC().Truncate(time.Microsecond)
	if !reflect.DeepEqual(again, got) {
		t.Fatalf("session read back %+v\nwant %+v", again, got)
	}
	wantCode(t, s.UpdateMemberSession(ctx, &stale), f2fpay.ECONFLICT)

	// Cleared fields read back empty.
	again.PhoneHash, again.CodeHash, again.CodeExpiresAt, again.MemberID = nil, nil, time.Time{}, 0
	must(t, s.UpdateMemberSession(ctx, again))
	cleared, err := s.FindMemberSession(ctx, sess.TokenHash)
	must(t, err)
	if cleared.PhoneHash != nil || cleared.CodeHash != nil || !cleared.CodeExpiresAt.IsZero() || cleared.MemberID != 0 {
		t.Fatalf("cleared session = %+v", cleared)
	}

	expired := &f2fpay.MemberSession{TokenHash: []byte("old"), MerchantID: fx.merchant.ID, ExpiresAt: time.Now().Add(-time.Second)}
	must(t, s.CreateMemberSession(ctx, expired))
	_, err = s.FindMemberSession(ctx, []byte("old"))
	wantCode(t, err, f2fpay.ENOTFOUND)
	wantCode(t, s.CreateMemberSession(ctx, &f2fpay.MemberSession{TokenHash: []byte("old"), MerchantID: fx.merchant.ID, ExpiresAt: time.Now().Add(time.Hour)}), f2fpay.ECONFLICT)

	must(t, s.DeleteMemberSession(ctx, sess.ID))
	_, err = s.FindMemberSession(ctx, sess.TokenHash)
	wantCode(t, err, f2fpay.ENOTFOUND)
}

// testSMSSends: sends are counted per phone and per client, within the window, per
// merchant.
func testSMSSends(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	now := time.Now()
	for _, x := range []struct {
		phone, client string
		ago           time.Duration
	}{{"a", "1.1.1.1", time.Minute}, {"a", "2.2.2.2", time.Minute}, {"b", "1.1.1.1", time.Minute}, {"a", "1.1.1.1", 2 * time.Hour}} {
		must(t, s.RecordSMSSend(ctx, f2fpay.SMSSend{MerchantID: fx.merchant.ID, PhoneHash: []byte(x.phone), Client: x.client, SentAt: now.Add(-x.ago)}))
	}
	p, c, err := s.CountSMSSends(ctx, fx.merchant.ID, []byte("a"), "1.1.1.1", now.Add(-time.Hour))
	must(t, err)
	if p != 2 || c != 2 {
		t.Fatalf("counts = %d to the phone, %d by the client; want 2 and 2", p, c)
	}
	other := newFixture(t, s)
	p, c, err = s.CountSMSSends(ctx, other.merchant.ID, []byte("a"), "1.1.1.1", now.Add(-time.Hour))
	must(t, err)
	if p != 0 || c != 0 {
		t.Fatalf("another merchant's counts = %d, %d", p, c)
	}
}

func (fx *fixture) sale(t testing.TB, amount f2fpay.Amount) *f2fpay.Sale {
	t.Helper()
	fx.seq++
	s := &f2fpay.Sale{MerchantID: fx.merchant.ID, TerminalID: fx.terminal.ID, OutTradeNo: "sale-" + time.Now().Format("150405.000000") + string(rune('a'+fx.seq%26)),
		Amount: amount, Subject: "cola", ExpiresAt: time.Now().Add(time.Minute)}
	must(t, fx.s.CreateSale(context.Background(), s))
	return s
}

// testSales: a machine shows its newest open sale; a new one cancels the old; taking
// is a compare-and-set that the same member may repeat.
func testSales(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	_, err := s.OpenSale(ctx, fx.terminal.ID, time.Now())
	wantCode(t, err, f2fpay.ENOTFOUND)
	first := fx.sale(t, 350)
	second := fx.sale(t, 500)
	open, err := s.OpenSale(ctx, fx.terminal.ID, time.Now())
	must(t, err)
	if open.ID != second.ID || open.Amount != 500 || open.State != f2fpay.SaleOpen {
		t.Fatalf("OpenSale = %+v, want sale %d", open, second.ID)
	}
	if f, _ := s.FindSale(ctx, first.ID); f.State != f2fpay.SaleCancelled {
		t.Fatalf("older sale = %+v, want CANCELLED", f)
	}
	_, err = s.OpenSale(ctx, fx.terminal.ID, time.Now().Add(2*time.Minute))
	wantCode(t, err, f2fpay.ENOTFOUND)

	a := fx.member(t, "2088000000000001", "", nil)
	b := fx.member(t, "2088000000000002", "", nil)
	taken, err := s.TakeSale(ctx, second.ID, a.ID)
	must(t, err)
	if taken.State != f2fpay.SaleTaken || taken.MemberID != a.ID {
		t.Fatalf("TakeSale = %+v", taken)
	}
	_, err = s.TakeSale(ctx, second.ID, a.ID)
	must(t, err)
	_, err = s.TakeSale(ctx, second.ID, b.ID)
	wantCode(t, err, f2fpay.ECONFLICT)
	_, err = s.CancelSale(ctx, second.ID)
	wantCode(t, err, f2fpay.ECONFLICT)
	_, err = s.TakeSale(ctx, first.ID, a.ID)
	wantCode(t, err, f2fpay.ECONFLICT)
	_, err = s.TakeSale(ctx, 999999, a.ID)
	wantCode(t, err, f2fpay.ENOTFOUND)

	third := fx.sale(t, 100)
	c, err := s.CancelSale(ctx, third.ID)
	must(t, err)
	if c.State != f2fpay.SaleCancelled {
		t.Fatalf("CancelSale = %+v", c)
	}
	dup := &f2fpay.Sale{MerchantID: fx.merchant.ID, TerminalID: fx.terminal.ID, OutTradeNo: third.OutTradeNo, Amount: 1, Subject: "x", ExpiresAt: time.Now().Add(time.Minute)}
	wantCode(t, s.CreateSale(ctx, dup), f2fpay.ECONFLICT)
	if _, err := s.FindSale(ctx, third.ID); err != nil || !bytes.Equal(nil, nil) {
		t.Fatal(err)
	}
}

// drain runs a housekeeping batch until it touches fewer rows than its limit (other
// tests' rows may qualify too) and returns the total.
func drain(t *testing.T, batch func(limit int) (int, error)) int {
	t.Helper()
	total := 0
	for {
		n, err := batch(2)
		must(t, err)
		total += n
		if n < 2 {
			return total
		}
	}
}

// testHousekeeping: open sales past their expiry become EXPIRED (taken, cancelled and
// current ones are left alone), expired member sessions and old SMS sends are purged,
// in batches.
func testHousekeeping(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	now := time.Now()

	m := fx.member(t, "2088000000000009", "", nil)
	taken := fx.sale(t, 100)
	_, err := s.TakeSale(ctx, taken.ID, m.ID)
	must(t, err)
	stale := []*f2fpay.Sale{}
	for i := range 3 {
		sl := &f2fpay.Sale{MerchantID: fx.merchant.ID, TerminalID: fx.terminal.ID, OutTradeNo: fmt.Sprintf("hk-%d-%d", now.UnixNano(), i),
			Amount: 100, Subject: "cola", ExpiresAt: now.Add(-time.Duration(i+1) * time.Minute)}
		must(t, s.CreateSale(ctx, sl))
		stale = append(stale, sl)
	}
	// Only the last is still open (a new sale cancels the machine's older open one);
	// another terminal's sale keeps running.
	current := newFixture(t, s).sale(t, 200)
	if n := drain(t, func(limit int) (int, error) { return s.ExpireSales(ctx, now, limit) }); n < 1 {
		t.Fatalf("ExpireSales expired %d sales, want at least 1", n)
	}
	for sl, want := range map[*f2fpay.Sale]f2fpay.SaleState{stale[0]: f2fpay.SaleCancelled, stale[1]: f2fpay.SaleCancelled,
		stale[2]: f2fpay.SaleExpired, taken: f2fpay.SaleTaken, current: f2fpay.SaleOpen} {
		got, err := s.FindSale(ctx, sl.ID)
		must(t, err)
		if got.State != want {
			t.Errorf("sale %s: %s, want %s", sl.OutTradeNo, got.State, want)
		}
	}
	_, err = s.CancelSale(ctx, stale[2].ID)
	wantCode(t, err, f2fpay.ECONFLICT)
	_, err = s.TakeSale(ctx, stale[2].ID, m.ID)
	wantCode(t, err, f2fpay.ECONFLICT)

	// Sessions: the expired one is deleted (its token can be used again), the live one stays.
	oldToken := []byte(fmt.Sprintf("expired-%d", now.UnixNano()))
	must(t, s.CreateMemberSession(ctx, &f2fpay.MemberSession{TokenHash: oldToken, MerchantID: fx.merchant.ID, ExpiresAt: now.Add(-time.Minute)}))
	live := fx.session(t)
	if n := drain(t, func(limit int) (int, error) { return s.PurgeMemberSessions(ctx, now, limit) }); n < 1 {
		t.Fatalf("PurgeMemberSessions deleted %d, want at least 1", n)
	}
	must(t, s.CreateMemberSession(ctx, &f2fpay.MemberSession{TokenHash: oldToken, MerchantID: fx.merchant.ID, ExpiresAt: now.Add(time.Minute)}))
	if _, err := s.FindMemberSession(ctx, live.TokenHash); err != nil {
		t.Fatalf("the live session: %v", err)
	}

	// SMS sends: older than the cut go, newer stay.
	phone := []byte(fmt.Sprintf("hk-phone-%d", now.UnixNano()))
	for _, ago := range []time.Duration{time.Minute, 25 * time.Hour, 26 * time.Hour, 27 * time.Hour} {
		must(t, s.RecordSMSSend(ctx, f2fpay.SMSSend{MerchantID: fx.merchant.ID, PhoneHash: phone, Client: "9.9.9.9", SentAt: now.Add(-ago)}))
	}
	if n := drain(t, func(limit int) (int, error) { return s.PurgeSMSSends(ctx, now.Add(-24*time.Hour), limit) }); n < 3 {
		t.Fatalf("PurgeSMSSends deleted %d, want at least 3", n)
	}
	p, _, err := s.CountSMSSends(ctx, fx.merchant.ID, phone, "9.9.9.9", now.Add(-30*24*time.Hour))
	must(t, err)
	if p != 1 {
		t.Fatalf("%d sends left to the phone, want the recent one", p)
	}
}
