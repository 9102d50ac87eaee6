package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

// vend returns an unsaved vend order of the fixture's terminal with two units.
func (fx *fixture) vend(key string) *f2fpay.VendOrder {
	fx.seq++
	return &f2fpay.VendOrder{
		MerchantID: fx.merchant.ID, TerminalID: fx.terminal.ID, AppID: fx.app.ID,
		OutTradeNo: fmt.Sprintf("vd%d-%d", fx.merchant.ID, fx.seq), PayKind: f2fpay.KindQR, Total: 650,
		State: f2fpay.VendAwaitingPayment, RequestKey: key, PayDeadline: base.Add(5 * time.Minute),
		NextCheckAt: base.Add(time.Minute),
		Items: []f2fpay.VendItem{
			{N: 1, Slot: "A1", GoodsID: "cola-330", Name: "可乐 Cola", Price: 300, State: f2fpay.ItemPending},
			{N: 2, Slot: "B2", GoodsID: "water-550", Name: "矿泉水", Price: 350, State: f2fpay.ItemPending},
		},
	}
}

func testVendOrders(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	v := fx.vend("key-1")
	got, created, err := s.CreateVendOrder(ctx, v)
	must(t, err)
	if !created || got != v || v.ID == 0 || v.Version != 1 || v.CreatedAt.IsZero() {
		t.Fatalf("created %v %+v", created, got)
	}
	// The same request key again: the first vend, unchanged, even with another number.
	again := fx.vend("key-1")
	got, created, err = s.CreateVendOrder(ctx, again)
	must(t, err)
	if created || !reflect.DeepEqual(got, v) {
		t.Fatalf("repeat: created %v\n%+v\nwant %+v", created, got, v)
	}
	// Another key with a number in use: ECONFLICT; an unknown terminal: ENOTFOUND.
	dup := fx.vend("key-2")
	dup.OutTradeNo = v.OutTradeNo
	_, _, err = s.CreateVendOrder(ctx, dup)
	wantCode(t, err, f2fpay.ECONFLICT)
	bad := fx.vend("")
	bad.TerminalID += 1000
	_, _, err = s.CreateVendOrder(ctx, bad)
	wantCode(t, err, f2fpay.ENOTFOUND)
	invalid := fx.vend("")
	invalid.Total = 1
	_, _, err = s.CreateVendOrder(ctx, invalid)
	wantCode(t, err, f2fpay.EINVALID)

	read, err := s.FindVendOrder(ctx, v.ID)
	must(t, err)
	if !reflect.DeepEqual(read, v) {
		t.Fatalf("read back %+v\nwant %+v", read, v)
	}
	byTrade, err := s.FindVendOrderByTrade(ctx, fx.app.ID, fx.merchant.ID, v.OutTradeNo)
	must(t, err)
	if byTrade.ID != v.ID {
		t.Fatalf("by trade: %d, want %d", byTrade.ID, v.ID)
	}
	_, err = s.FindVendOrderByTrade(ctx, fx.app.ID, fx.merchant.ID, "nope")
	wantCode(t, err, f2fpay.ENOTFOUND)
	_, err = s.FindVendOrder(ctx, v.ID+1000)
	wantCode(t, err, f2fpay.ENOTFOUND)

	// Several creations without a key are all new vends.
	for range 2 {
		_, created, err := s.CreateVendOrder(ctx, fx.vend(""))
		must(t, err)
		if !created {
			t.Fatal("a vend without a request key was not created")
		}
	}

	// Compare-and-set; a stale copy is ECONFLICT.
	v.State, v.PaidAt, v.NextCheckAt = f2fpay.VendDispensing, base.Add(time.Second), base.Add(2*time.Minute)
	for i := range v.Items {
		v.Items[i].State, v.Items[i].Deadline, v.Items[i].CommandID = f2fpay.ItemDispensing, base.Add(90*time.Second), int64(10+i)
	}
	stale := *v
	stale.Items = append([]f2fpay.VendItem(nil), v.Items...)
	must(t, s.UpdateVendOrder(ctx, v))
	wantCode(t, s.UpdateVendOrder(ctx, &stale), f2fpay.ECONFLICT)
	read, err = s.FindVendOrder(ctx, v.ID)
	must(t, err)
	if !reflect.DeepEqual(read, v) {
		t.Fatalf("updated %+v\nwant %+v", read, v)
	}
	// A face vend falling back to a QR: the number and kind change, the face
	// attempt's number stays, and both numbers find the vend.
	face := v.OutTradeNo
	v.FaceOutTradeNo, v.OutTradeNo, v.PayKind, v.PayDeadline = face, face+"q", f2fpay.KindQR, base.Add(10*time.Minute)
	must(t, s.UpdateVendOrder(ctx, v))
	for _, no := range []string{face, face + "q"} {
		got, err := s.FindVendOrderByTrade(ctx, fx.app.ID, fx.merchant.ID, no)
		must(t, err)
		if !reflect.DeepEqual(got, v) {
			t.Fatalf("by %s after the fallback: %+v\nwant %+v", no, got, v)
		}
	}
	gone := *v
	gone.ID += 1000
	wantCode(t, s.UpdateVendOrder(ctx, &gone), f2fpay.ENOTFOUND)
	v.State = "DONE"
	wantCode(t, s.UpdateVendOrder(ctx, v), f2fpay.EINVALID)
	v.State = f2fpay.VendDispensing

	tid := fx.terminal.ID
	list, err := s.ListVendOrders(ctx, f2fpay.VendFilter{TerminalID: &tid, States: []f2fpay.VendState{f2fpay.VendDispensing}})
	must(t, err)
	if len(list) != 1 || list[0].ID != v.ID {
		t.Fatalf("dispensing vends: %v", list)
	}
	mid := fx.merchant.ID
	list, err = s.ListVendOrders(ctx, f2fpay.VendFilter{MerchantID: &mid, Limit: 2})
	must(t, err)
	if len(list) != 2 || list[0].ID <= list[1].ID {
		t.Fatalf("newest first, limit 2: %v", list)
	}
	list, err = s.ListVendOrders(ctx, f2fpay.VendFilter{MerchantID: &mid, BeforeID: list[1].ID})
	must(t, err)
	if len(list) != 1 || list[0].ID != v.ID {
		t.Fatalf("the page after: %v", list)
	}
}

func testClaimDueVendOrders(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	v := fx.vend("")
	_, _, err := s.CreateVendOrder(ctx, v)
	must(t, err)
	_, err = s.ClaimDueVendOrders(ctx, "", base, time.Minute, 10)
	wantCode(t, err, f2fpay.EINVALID)
	if c, err := s.ClaimDueVendOrders(ctx, "a", base, time.Minute, 10); err != nil || len(c) != 0 {
		t.Fatalf("not due yet: %v %v", c, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	claimed := 0
	for _, owner := range []string{"a", "b", "c"} {
		wg.Go(func() {
			c, err := s.ClaimDueVendOrders(ctx, owner, base.Add(time.Minute), time.Minute, 10)
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
	// The lease holds until it ends or an update releases it.
	if c, err := s.ClaimDueVendOrders(ctx, "d", base.Add(90*time.Second), time.Minute, 10); err != nil || len(c) != 0 {
		t.Fatalf("leased: %v %v", c, err)
	}
	v.NextCheckAt = base.Add(time.Minute)
	must(t, s.UpdateVendOrder(ctx, v))
	c, err := s.ClaimDueVendOrders(ctx, "d", base.Add(90*time.Second), time.Minute, 10)
	if err != nil || len(c) != 1 || !reflect.DeepEqual(c[0], v) {
		t.Fatalf("released by the update: %v %v", c, err)
	}
	v.State, v.NextCheckAt = f2fpay.VendCancelled, time.Time{}
	for i := range v.Items {
		v.Items[i].State = f2fpay.ItemCancelled
	}
	must(t, s.UpdateVendOrder(ctx, v))
	if c, err := s.ClaimDueVendOrders(ctx, "e", base.Add(time.Hour), time.Second, 10); err != nil || len(c) != 0 {
		t.Fatalf("a final vend is not claimed: %v %v", c, err)
	}
}
