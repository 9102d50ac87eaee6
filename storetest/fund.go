package storetest

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

const (
	receiverA = "2088000000000101"
	receiverB = "2088000000000102"
)

// testFundRules: a rule is saved on a store or a terminal, the terminal's wins, saving
// again replaces it, and a rule over 100% or naming an unbound receiver is refused with
// a message that says why, writing nothing.
func testFundRules(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	if _, err := s.FundRuleFor(ctx, fx.terminal); f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
		t.Fatalf("no rule yet: %v", err)
	}
	storeRule := &f2fpay.FundRule{MerchantID: fx.merchant.ID, StoreID: fx.store.ID, Mode: f2fpay.FundCollection}
	must(t, s.SaveFundRule(ctx, storeRule))
	got, err := s.FundRuleFor(ctx, fx.terminal)
	must(t, err)
	if got.ID != storeRule.ID || got.Mode != f2fpay.FundCollection || got.StoreID != fx.store.ID || got.TerminalID != 0 {
		t.Fatalf("store rule applies: %+v", got)
	}

	rule := &f2fpay.FundRule{MerchantID: fx.merchant.ID, TerminalID: fx.terminal.ID, Mode: f2fpay.FundAsync, SettleDelay: 90 * time.Minute,
		Receivers: []f2fpay.FundReceiver{{Account: receiverA, Name: "site 景点", BasisPoints: 3000, Desc: "场地费"}, {Account: receiverB, Fixed: 15}}}
	// Unbound receivers: refused, nothing written.
	err = s.SaveFundRule(ctx, rule)
	wantCode(t, err, f2fpay.EINVALID)
	if !strings.Contains(err.Error(), receiverA) || !strings.Contains(err.Error(), "not bound") {
		t.Fatalf("message does not name the unbound receiver: %v", err)
	}
	if got, _ := s.FundRuleFor(ctx, fx.terminal); got.ID != storeRule.ID {
		t.Fatalf("a refused rule was written: %+v", got)
	}
	must(t, s.SaveRoyaltyRelation(ctx, &f2fpay.RoyaltyRelation{AppID: fx.app.ID, Account: receiverA, Name: "site", OutRequestNo: "b1"}))
	err = s.SaveFundRule(ctx, rule)
	if err == nil || !strings.Contains(err.Error(), receiverB) {
		t.Fatalf("B unbound: %v", err)
	}
	must(t, s.SaveRoyaltyRelation(ctx, &f2fpay.RoyaltyRelation{AppID: fx.app.ID, Account: receiverB, OutRequestNo: "b2"}))
	must(t, s.SaveRoyaltyRelation(ctx, &f2fpay.RoyaltyRelation{AppID: fx.app.ID, Account: receiverB, OutRequestNo: "b3"})) // again: kept
	rels, err := s.ListRoyaltyRelations(ctx, fx.app.ID)
	must(t, err)
	if len(rels) != 2 || rels[1].Account != receiverB || rels[1].OutRequestNo != "b2" {
		t.Fatalf("relations: %+v", rels)
	}
	must(t, s.SaveFundRule(ctx, rule))
	got, err = s.FundRuleFor(ctx, fx.terminal)
	must(t, err)
	if got.ID != rule.ID || !reflect.DeepEqual(got.Receivers, rule.Receivers) || got.SettleDelay != rule.SettleDelay || got.Mode != f2fpay.FundAsync {
		t.Fatalf("terminal rule wins: %+v, want %+v", got, rule)
	}

	// Replacing keeps the id and creation time.
	created := rule.CreatedAt
	rule.Mode, rule.SettleDelay = f2fpay.FundRealtime, 0
	must(t, s.SaveFundRule(ctx, rule))
	got, err = s.FindFundRule(ctx, 0, fx.terminal.ID)
	must(t, err)
	if got.ID != rule.ID || got.Mode != f2fpay.FundRealtime || !got.CreatedAt.Equal(created) {
		t.Fatalf("replaced: %+v (created %v)", got, created)
	}

	// Over 100%: refused.
	over := &f2fpay.FundRule{MerchantID: fx.merchant.ID, TerminalID: fx.terminal.ID, Mode: f2fpay.FundRealtime,
		Receivers: []f2fpay.FundReceiver{{Account: receiverA, BasisPoints: 9000}, {Account: receiverB, BasisPoints: 1001}}}
	err = s.SaveFundRule(ctx, over)
	wantCode(t, err, f2fpay.EINVALID)
	if !strings.Contains(err.Error(), "more than 100%") {
		t.Fatalf("over 100%%: %v", err)
	}
	if got, _ := s.FindFundRule(ctx, 0, fx.terminal.ID); got.Mode != f2fpay.FundRealtime || len(got.Receivers) != 2 || got.Receivers[0].BasisPoints != 3000 {
		t.Fatalf("a refused rule changed the stored one: %+v", got)
	}

	// Another merchant's terminal: not found.
	other := newFixture(t, s)
	wantCode(t, s.SaveFundRule(ctx, &f2fpay.FundRule{MerchantID: fx.merchant.ID, TerminalID: other.terminal.ID, Mode: f2fpay.FundCollection}), f2fpay.ENOTFOUND)

	must(t, s.DeleteFundRule(ctx, 0, fx.terminal.ID))
	wantCode(t, s.DeleteFundRule(ctx, 0, fx.terminal.ID), f2fpay.ENOTFOUND)
	if got, _ := s.FundRuleFor(ctx, fx.terminal); got == nil || got.ID != storeRule.ID {
		t.Fatalf("after deleting the terminal's rule the store's applies: %+v", got)
	}
}

// testSettlements: created with the order, read back equal, compare-and-set, claimed
// when due by one claimer at a time, and no longer once final.
func testSettlements(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	o := fx.createOrder(t, f2fpay.OrderPaying)
	st := &f2fpay.Settlement{OrderID: o.ID, MerchantID: fx.merchant.ID, State: f2fpay.SettlementWaiting,
		Receivers: []f2fpay.FundReceiver{{Account: receiverA, BasisPoints: 2500}}, Delay: time.Hour, DueAt: base}
	must(t, s.CreateSettlement(ctx, st))
	wantCode(t, s.CreateSettlement(ctx, &f2fpay.Settlement{OrderID: o.ID, MerchantID: fx.merchant.ID, State: f2fpay.SettlementWaiting}), f2fpay.ECONFLICT)
	wantCode(t, s.CreateSettlement(ctx, &f2fpay.Settlement{OrderID: o.ID + 1000, MerchantID: fx.merchant.ID, State: f2fpay.SettlementWaiting}), f2fpay.ENOTFOUND)
	got, err := s.FindSettlement(ctx, o.ID)
	must(t, err)
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("read back %+v\nwant %+v", got, st)
	}

	if c, err := s.ClaimDueSettlements(ctx, "a", base.Add(-time.Second), time.Minute, 10); err != nil || len(c) != 0 {
		t.Fatalf("not due yet: %v %v", c, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	claimed := 0
	for _, owner := range []string{"a", "b", "c"} {
		wg.Go(func() {
			c, err := s.ClaimDueSettlements(ctx, owner, base, time.Minute, 10)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			claimed += len(c)
			mu.Unlock()
		})
	}
	wg.Wait()
	if claimed != 1 {
		t.Fatalf("claimed %d times", claimed)
	}

	st.State, st.Final, st.OutRequestNo, st.Base, st.Attempts = f2fpay.SettlementSettling, true, "S1_abc", 1000, 1
	st.Shares = []f2fpay.Share{{Account: receiverA, Amount: 250, Desc: "场地费"}}
	st.DueAt = base.Add(time.Minute)
	stale := *st
	must(t, s.UpdateSettlement(ctx, st))
	wantCode(t, s.UpdateSettlement(ctx, &stale), f2fpay.ECONFLICT)
	got, err = s.FindSettlement(ctx, o.ID)
	must(t, err)
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("updated %+v\nwant %+v", got, st)
	}
	// The update released the lease: due again at DueAt.
	if c, err := s.ClaimDueSettlements(ctx, "d", base.Add(time.Minute), time.Minute, 10); err != nil || len(c) != 1 || c[0].ID != st.ID {
		t.Fatalf("due again: %v %v", c, err)
	}
	st.State, st.SettleNo, st.DueAt = f2fpay.SettlementSettled, "2025031400250000000001", time.Time{}
	must(t, s.UpdateSettlement(ctx, st))
	if c, err := s.ClaimDueSettlements(ctx, "e", base.Add(time.Hour), time.Second, 10); err != nil || len(c) != 0 {
		t.Fatalf("a settled settlement is not claimed: %v %v", c, err)
	}
	st.State = "DONE"
	wantCode(t, s.UpdateSettlement(ctx, st), f2fpay.EINVALID)
}
