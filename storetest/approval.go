package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// approvalStore returns s as the console's approval store; every store must be one.
func approvalStore(t *testing.T, s f2fpay.Storage) f2fpay.RefundApprovalStore {
	t.Helper()
	as, ok := s.(f2fpay.RefundApprovalStore)
	if !ok {
		t.Fatalf("%T does not implement f2fpay.RefundApprovalStore", s)
	}
	return as
}

func testRefundApprovals(t *testing.T, s f2fpay.Storage) {
	ctx, as, ss := t.Context(), approvalStore(t, s), staffStore(t, s)
	fx := newFixture(t, s)
	o := fx.createOrder(t, f2fpay.OrderPaid)
	clerk := &f2fpay.Staff{Login: "clerk", Role: f2fpay.RoleFinance, MerchantID: fx.merchant.ID, PasswordHash: "h"}
	boss := &f2fpay.Staff{Login: "boss", Role: f2fpay.RoleOwner, PasswordHash: "h"}
	other := &f2fpay.Staff{Login: "other", Role: f2fpay.RoleFinance, PasswordHash: "h"}
	must(t, ss.CreateStaff(ctx, clerk))
	must(t, ss.CreateStaff(ctx, boss))
	must(t, ss.CreateStaff(ctx, other))

	// Thresholds: none, set, changed, removed.
	if _, ok, err := as.RefundApprovalAbove(ctx, fx.merchant.ID); err != nil || ok {
		t.Fatalf("a new merchant's threshold: ok=%v err=%v, want none", ok, err)
	}
	must(t, as.SetRefundApprovalAbove(ctx, fx.merchant.ID, 5000))
	must(t, as.SetRefundApprovalAbove(ctx, fx.merchant.ID, 10000))
	if lim, ok, err := as.RefundApprovalAbove(ctx, fx.merchant.ID); err != nil || !ok || lim != 10000 {
		t.Fatalf("threshold = %v %v %v, want 100.00", lim, ok, err)
	}
	must(t, as.SetRefundApprovalAbove(ctx, fx.merchant.ID, -1))
	if _, ok, _ := as.RefundApprovalAbove(ctx, fx.merchant.ID); ok {
		t.Fatal("a removed threshold is still there")
	}

	a := &f2fpay.RefundApproval{MerchantID: fx.merchant.ID, OrderID: o.ID, OutTradeNo: o.OutTradeNo, RefundID: "console-1",
		Amount: 20000, Reason: "broken", RequestedBy: clerk.ID, RequestedLogin: clerk.Login}
	must(t, as.RequestRefundApproval(ctx, a))
	if a.ID == 0 || a.State != f2fpay.ApprovalPending || a.CreatedAt.IsZero() {
		t.Fatalf("RequestRefundApproval = %+v", a)
	}
	// The same form again: the same approval, not a second one.
	again := &f2fpay.RefundApproval{MerchantID: fx.merchant.ID, OrderID: o.ID, OutTradeNo: o.OutTradeNo, RefundID: "console-1",
		Amount: 999, Reason: "x", RequestedBy: clerk.ID, RequestedLogin: clerk.Login}
	must(t, as.RequestRefundApproval(ctx, again))
	if again.ID != a.ID || again.Amount != 20000 {
		t.Fatalf("a resent request = %+v, want approval %d of 200.00", again, a.ID)
	}
	wantCode(t, as.RequestRefundApproval(ctx, &f2fpay.RefundApproval{OrderID: o.ID, RefundID: "console-2", RequestedBy: clerk.ID}), f2fpay.EINVALID)
	wantCode(t, as.RequestRefundApproval(ctx, &f2fpay.RefundApproval{OrderID: 999999, RefundID: "console-3", Amount: 1, RequestedBy: clerk.ID}), f2fpay.ENOTFOUND)

	// Who asked cannot decide; a decision is made once.
	_, err := as.DecideRefundApproval(ctx, a.ID, f2fpay.ApprovalApproved, clerk)
	wantCode(t, err, f2fpay.EINVALID)
	_, err = as.DecideRefundApproval(ctx, a.ID, "maybe", boss)
	wantCode(t, err, f2fpay.EINVALID)
	_, err = as.DecideRefundApproval(ctx, 999999, f2fpay.ApprovalApproved, boss)
	wantCode(t, err, f2fpay.ENOTFOUND)

	// Two deciders at once: exactly one wins.
	var wg sync.WaitGroup
	results := make([]error, 2)
	for i, st := range []*f2fpay.Staff{boss, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = as.DecideRefundApproval(ctx, a.ID, f2fpay.ApprovalApproved, st)
		}()
	}
	wg.Wait()
	if (results[0] == nil) == (results[1] == nil) {
		t.Fatalf("two concurrent approvals: %v, %v; want exactly one to succeed", results[0], results[1])
	}
	got, err := as.FindRefundApproval(ctx, a.ID)
	must(t, err)
	winner := boss
	if results[0] != nil {
		winner = other
	}
	if got.State != f2fpay.ApprovalApproved || got.DecidedBy != winner.ID || got.DecidedLogin != winner.Login || got.DecidedAt.IsZero() {
		t.Fatalf("decided approval = %+v", got)
	}
	// The winner's resent form is no error; a rejection now is a conflict.
	if again, err := as.DecideRefundApproval(ctx, a.ID, f2fpay.ApprovalApproved, winner); err != nil || again.ID != a.ID {
		t.Fatalf("approving again: %v", err)
	}
	_, err = as.DecideRefundApproval(ctx, a.ID, f2fpay.ApprovalRejected, winner)
	wantCode(t, err, f2fpay.ECONFLICT)

	b := &f2fpay.RefundApproval{MerchantID: fx.merchant.ID, OrderID: o.ID, OutTradeNo: o.OutTradeNo, RefundID: "console-4",
		Amount: 30000, Reason: "r", RequestedBy: clerk.ID, RequestedLogin: clerk.Login}
	must(t, as.RequestRefundApproval(ctx, b))
	mid, oid := fx.merchant.ID, o.ID
	pending, err := as.ListRefundApprovals(ctx, f2fpay.RefundApprovalFilter{MerchantID: &mid, State: f2fpay.ApprovalPending})
	must(t, err)
	if len(pending) != 1 || pending[0].ID != b.ID {
		t.Fatalf("pending approvals = %d, want approval %d", len(pending), b.ID)
	}
	all, err := as.ListRefundApprovals(ctx, f2fpay.RefundApprovalFilter{OrderID: &oid, Limit: 10})
	must(t, err)
	if len(all) != 2 || all[0].ID != b.ID {
		t.Fatalf("the order's approvals = %d, want 2, newest first", len(all))
	}
	other2 := int64(fx.merchant.ID + 1000)
	none, err := as.ListRefundApprovals(ctx, f2fpay.RefundApprovalFilter{MerchantID: &other2})
	must(t, err)
	if len(none) != 0 {
		t.Fatalf("another merchant sees %d approvals", len(none))
	}
	if rej, err := as.DecideRefundApproval(ctx, b.ID, f2fpay.ApprovalRejected, boss); err != nil || rej.State != f2fpay.ApprovalRejected {
		t.Fatalf("reject: %+v %v", rej, err)
	}
}

func testLoginTokens(t *testing.T, s f2fpay.Storage) {
	ctx, as, ss := t.Context(), approvalStore(t, s), staffStore(t, s)
	owner := &f2fpay.Staff{Login: "owner", Role: f2fpay.RoleOwner, PasswordHash: "h"}
	must(t, ss.CreateStaff(ctx, owner))
	now := time.Now()
	tok := &f2fpay.StaffLoginToken{ID: "hash-1", StaffID: owner.ID, ExpiresAt: now.Add(10 * time.Minute)}
	must(t, as.CreateLoginToken(ctx, tok))
	wantCode(t, as.CreateLoginToken(ctx, &f2fpay.StaffLoginToken{ID: "hash-2", StaffID: 999999, ExpiresAt: now.Add(time.Minute)}), f2fpay.ENOTFOUND)
	wantCode(t, as.CreateLoginToken(ctx, &f2fpay.StaffLoginToken{ID: "", StaffID: owner.ID, ExpiresAt: now}), f2fpay.EINVALID)

	// Used at the same time twice: once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := as.UseLoginToken(ctx, "hash-1", now); err == nil && got.StaffID == owner.ID {
				mu.Lock()
				won++
				mu.Unlock()
			} else if f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
				t.Errorf("UseLoginToken: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("a login token was used %d times, want once", won)
	}
	// Expired: refused.
	must(t, as.CreateLoginToken(ctx, &f2fpay.StaffLoginToken{ID: "hash-3", StaffID: owner.ID, ExpiresAt: now.Add(time.Minute)}))
	_, err := as.UseLoginToken(ctx, "hash-3", now.Add(2*time.Minute))
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = as.UseLoginToken(ctx, "nope", now)
	wantCode(t, err, f2fpay.ENOTFOUND)
}
