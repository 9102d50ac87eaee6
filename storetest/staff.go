package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// staffStore returns s as the console's store; every store must be one.
func staffStore(t *testing.T, s f2fpay.Storage) f2fpay.StaffStore {
	t.Helper()
	ss, ok := s.(f2fpay.StaffStore)
	if !ok {
		t.Fatalf("%T does not implement f2fpay.StaffStore", s)
	}
	return ss
}

func testStaff(t *testing.T, s f2fpay.Storage) {
	ctx, ss := t.Context(), staffStore(t, s)
	fx := newFixture(t, s)
	owner := &f2fpay.Staff{Login: "owner@example", Name: "Ada", Role: f2fpay.RoleOwner, PasswordHash: "$argon2id$x"}
	must(t, ss.CreateStaff(ctx, owner))
	if owner.ID == 0 || owner.CreatedAt.IsZero() {
		t.Fatalf("CreateStaff did not fill ID and CreatedAt: %+v", owner)
	}
	clerk := &f2fpay.Staff{Login: "clerk", Role: f2fpay.RoleFinance, MerchantID: fx.merchant.ID, PasswordHash: "$argon2id$y"}
	must(t, ss.CreateStaff(ctx, clerk))
	wantCode(t, ss.CreateStaff(ctx, &f2fpay.Staff{Login: "clerk", Role: f2fpay.RoleSupport, PasswordHash: "h"}), f2fpay.ECONFLICT)
	wantCode(t, ss.CreateStaff(ctx, &f2fpay.Staff{Login: "x", Role: "admin", PasswordHash: "h"}), f2fpay.EINVALID)
	wantCode(t, ss.CreateStaff(ctx, &f2fpay.Staff{Login: "no spaces", Role: f2fpay.RoleSupport, PasswordHash: "h"}), f2fpay.EINVALID)

	got, err := ss.FindStaffByLogin(ctx, "clerk")
	must(t, err)
	if got.ID != clerk.ID || got.MerchantID != fx.merchant.ID || got.Role != f2fpay.RoleFinance || got.PasswordHash != "$argon2id$y" {
		t.Fatalf("FindStaffByLogin = %+v, want %+v", got, clerk)
	}
	_, err = ss.FindStaffByLogin(ctx, "nobody")
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = ss.FindStaff(ctx, 99999)
	wantCode(t, err, f2fpay.ENOTFOUND)
	all, err := ss.ListStaff(ctx)
	must(t, err)
	if len(all) != 2 || all[0].ID != owner.ID {
		t.Fatalf("ListStaff = %d entries", len(all))
	}

	// Lockout: the third failure in a row locks and starts the count over.
	lock := base.Add(15 * time.Minute)
	for i := 1; i <= 3; i++ {
		st, err := ss.LoginFailed(ctx, clerk.ID, 3, lock)
		must(t, err)
		switch {
		case i < 3 && (st.FailedLogins != i || !st.LockedUntil.IsZero()):
			t.Fatalf("failure %d: count %d, locked until %v", i, st.FailedLogins, st.LockedUntil)
		case i == 3 && (st.FailedLogins != 0 || !st.LockedUntil.Equal(lock)):
			t.Fatalf("failure 3: count %d, locked until %v, want 0 and %v", st.FailedLogins, st.LockedUntil, lock)
		}
	}
	_, err = ss.LoginFailed(ctx, clerk.ID, 3, lock)
	must(t, err)
	must(t, ss.LoginSucceeded(ctx, clerk.ID))
	got, err = ss.FindStaff(ctx, clerk.ID)
	must(t, err)
	if got.FailedLogins != 0 {
		t.Fatalf("after a success: %d failures", got.FailedLogins)
	}

	// Sessions.
	sess := &f2fpay.StaffSession{ID: "abc123", StaffID: clerk.ID, CSRFToken: "csrf", IP: "192.0.2.1", ExpiresAt: base.Add(time.Hour)}
	must(t, ss.CreateSession(ctx, sess))
	found, err := ss.FindSession(ctx, "abc123", base)
	must(t, err)
	if found.StaffID != clerk.ID || found.CSRFToken != "csrf" || found.IP != "192.0.2.1" || !found.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Fatalf("FindSession = %+v", found)
	}
	_, err = ss.FindSession(ctx, "abc123", base.Add(time.Hour))
	wantCode(t, err, f2fpay.ENOTFOUND) // expired
	wantCode(t, ss.CreateSession(ctx, &f2fpay.StaffSession{ID: "x", StaffID: 99999, CSRFToken: "c", ExpiresAt: base}), f2fpay.ENOTFOUND)
	must(t, ss.DeleteSession(ctx, "abc123"))
	must(t, ss.DeleteSession(ctx, "abc123"))
	_, err = ss.FindSession(ctx, "abc123", base)
	wantCode(t, err, f2fpay.ENOTFOUND)
}

func testAudit(t *testing.T, s f2fpay.Storage) {
	ctx, ss := t.Context(), staffStore(t, s)
	m := int64(7)
	var ids []int64
	for i, e := range []*f2fpay.AuditEntry{
		{StaffLogin: "ada", Action: "login", IP: "192.0.2.1"},
		{StaffID: 1, StaffLogin: "ada", MerchantID: m, Action: "refund", Target: "order 5", Detail: "1.00 CNY", IP: "192.0.2.1", At: base},
		{StaffLogin: "bob", MerchantID: m, Action: "login_failed", IP: "198.51.100.7"},
	} {
		must(t, ss.AppendAudit(ctx, e))
		if e.ID == 0 || e.At.IsZero() {
			t.Fatalf("entry %d: ID and At not filled", i)
		}
		ids = append(ids, e.ID)
	}
	wantCode(t, ss.AppendAudit(ctx, &f2fpay.AuditEntry{StaffLogin: "x"}), f2fpay.EINVALID)
	all, err := ss.ListAudit(ctx, f2fpay.AuditFilter{})
	must(t, err)
	if len(all) != 3 || all[0].ID != ids[2] || all[1].Detail != "1.00 CNY" || !all[1].At.Equal(base) || all[1].Target != "order 5" {
		t.Fatalf("ListAudit = %+v", all)
	}
	mine, err := ss.ListAudit(ctx, f2fpay.AuditFilter{MerchantID: &m, BeforeID: ids[2], Limit: 5})
	must(t, err)
	if len(mine) != 1 || mine[0].ID != ids[1] {
		t.Fatalf("ListAudit(merchant, before) = %+v", mine)
	}
}

func testOrderStats(t *testing.T, s f2fpay.Storage) {
	ctx, ss := t.Context(), staffStore(t, s)
	fx := newFixture(t, s)
	other := newFixture(t, s)
	paid := fx.createOrder(t, f2fpay.OrderPaid)
	fx.createOrder(t, f2fpay.OrderPaid)
	fx.createOrder(t, f2fpay.OrderFailed)
	last := other.createOrder(t, f2fpay.OrderPaid)
	m := fx.merchant.ID
	f := f2fpay.OrderStatsFilter{MerchantID: &m, From: paid.CreatedAt, To: last.CreatedAt.Add(time.Microsecond)}
	stats, err := ss.OrderStats(ctx, f)
	must(t, err)
	byState := map[f2fpay.OrderState]f2fpay.OrderStats{}
	for _, st := range stats {
		if st.StoreID != fx.store.ID || st.TerminalID != fx.terminal.ID {
			t.Fatalf("stats of another store or terminal: %+v", st)
		}
		byState[st.State] = st
	}
	if p := byState[f2fpay.OrderPaid]; p.Count != 2 || p.Total != 700 || byState[f2fpay.OrderFailed].Count != 1 || len(byState) != 2 {
		t.Fatalf("OrderStats = %+v", stats)
	}
	empty, err := ss.OrderStats(ctx, f2fpay.OrderStatsFilter{MerchantID: &m, From: last.CreatedAt.Add(time.Hour)})
	must(t, err)
	if len(empty) != 0 {
		t.Fatalf("OrderStats of a later period = %+v", empty)
	}

	series, err := ss.OrderSeries(ctx, f2fpay.OrderStatsFilter{From: paid.CreatedAt, To: f.To}, time.Hour)
	must(t, err)
	var count, paidCount int64
	var paidSum f2fpay.Amount
	for _, b := range series {
		count, paidCount, paidSum = count+b.Count, paidCount+b.PaidCount, paidSum+b.Paid
		if b.Start.Before(paid.CreatedAt) || (b.Start.Sub(paid.CreatedAt))%time.Hour != 0 {
			t.Fatalf("bucket starts at %v, from %v", b.Start, paid.CreatedAt)
		}
	}
	if count != 4 || paidCount != 3 || paidSum != 1050 {
		t.Fatalf("OrderSeries = %+v", series)
	}
	_, err = ss.OrderSeries(ctx, f2fpay.OrderStatsFilter{}, time.Hour)
	wantCode(t, err, f2fpay.EINVALID)

	var calls []*f2fpay.GatewayCall
	for i := 1; i <= 100; i++ {
		calls = append(calls, &f2fpay.GatewayCall{OrderID: paid.ID, Method: "alipay.trade.pay", Code: "10000", Outcome: "PAID", Latency: time.Duration(i) * time.Millisecond})
	}
	calls = append(calls, &f2fpay.GatewayCall{OrderID: paid.ID, Method: "alipay.trade.query", Latency: time.Hour})
	for _, c := range calls {
		must(t, s.RecordCall(ctx, c))
	}
	cf := f2fpay.OrderStatsFilter{MerchantID: &m, From: paid.CreatedAt, To: time.Now().Add(time.Hour)}
	n, lat, err := ss.CallLatencies(ctx, cf, []string{"alipay.trade.pay"}, []float64{0.5, 0.99, 1})
	must(t, err)
	if want := []time.Duration{50 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond}; n != 100 || !reflect.DeepEqual(lat, want) {
		t.Fatalf("CallLatencies = %d, %v; want 100, %v", n, lat, want)
	}
	om := other.merchant.ID
	n, lat, err = ss.CallLatencies(ctx, f2fpay.OrderStatsFilter{MerchantID: &om}, []string{"alipay.trade.pay"}, []float64{0.5})
	must(t, err)
	if n != 0 || lat[0] != 0 {
		t.Fatalf("another merchant's latencies = %d, %v", n, lat)
	}
}

// testConsoleFilters checks the filters the console searches with.
func testConsoleFilters(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	small := fx.createOrder(t, f2fpay.OrderPaid)
	big := fx.order(f2fpay.OrderPaid)
	big.TotalAmount = 10000
	must(t, s.CreateOrder(ctx, big))
	big.TradeNo, big.BuyerLogonID, big.BuyerUserID = "2025031422001400001234567890", "ada***@example.com", "2088000000000001"
	must(t, s.UpdateOrder(ctx, big, nil))
	storeless := fx.order(f2fpay.OrderFailed)
	storeless.StoreID = 0
	must(t, s.CreateOrder(ctx, storeless))
	st := fx.store.ID
	lo, hi := f2fpay.Amount(1000), f2fpay.Amount(10000)
	for _, tc := range []struct {
		name string
		f    f2fpay.OrderFilter
		want []int64
	}{
		{"store", f2fpay.OrderFilter{StoreID: &st}, []int64{big.ID, small.ID}},
		{"trade_no", f2fpay.OrderFilter{TradeNo: big.TradeNo}, []int64{big.ID}},
		{"buyer logon id", f2fpay.OrderFilter{Buyer: "ada***@example.com"}, []int64{big.ID}},
		{"buyer user id", f2fpay.OrderFilter{Buyer: "2088000000000001"}, []int64{big.ID}},
		{"amount range", f2fpay.OrderFilter{MinAmount: &lo, MaxAmount: &hi}, []int64{big.ID}},
		{"max amount", f2fpay.OrderFilter{MaxAmount: &lo, StoreID: &st}, []int64{small.ID}},
		{"created from", f2fpay.OrderFilter{CreatedFrom: big.CreatedAt}, []int64{storeless.ID, big.ID}},
		{"created to", f2fpay.OrderFilter{CreatedFrom: small.CreatedAt, CreatedTo: big.CreatedAt}, []int64{small.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListOrders(ctx, tc.f)
			must(t, err)
			var ids []int64
			for _, o := range got {
				ids = append(ids, o.ID)
			}
			if !reflect.DeepEqual(ids, tc.want) {
				t.Errorf("ListOrders = %v, want %v", ids, tc.want)
			}
		})
	}
}
