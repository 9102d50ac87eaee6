package storetest

import (
	"context"
	"reflect"
	"testing"

	"github.com/f2fpay/f2fpay"
)

// promotions is a paid order's promotion detail as Alipay reports it: a 3.00 voucher,
// 1.00 of it the merchant's, on a 10.07 total, with text that JSON must keep as it is.
func promotions(o *f2fpay.Order) {
	o.TotalAmount, o.ReceiptAmount, o.BuyerPayAmount = 1007, 907, 707
	o.DiscountAmount, o.MerchantDiscountAmount = 300, 100
	o.FundBills = []f2fpay.FundBill{
		{FundChannel: "ALIPAYACCOUNT", Amount: 707},
		{FundChannel: "COUPON", Amount: 200, RealAmount: 200, FundType: "DEBIT_CARD"},
		{FundChannel: "MCOUPON", Amount: 100},
	}
	o.Vouchers = []f2fpay.Voucher{{
		ID: "2024123456789012345678901234", Name: `早餐券 "8折" & <more>`, Type: "ALIPAY_FIX_VOUCHER", Amount: 300,
		MerchantContribute: 100, OtherContribute: 200, Memo: "学生专用优惠\n周一", TemplateID: "20240101",
	}}
}

// testPromotions: discounts, fund bills and vouchers written at creation or by an update
// (durable or lazy) read back equal from every read path, and an order without them
// reads back nil lists, not empty ones.
func testPromotions(t *testing.T, s f2fpay.Storage) {
	ctx := t.Context()
	fx := newFixture(t, s)
	check := func(t *testing.T, what string, want *f2fpay.Order) {
		t.Helper()
		got, err := s.FindOrderByID(ctx, want.ID)
		must(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: FindOrderByID = %+v\nwant %+v", what, got, want)
		}
		list, err := s.ListOrders(ctx, f2fpay.OrderFilter{MerchantID: &fx.merchant.ID})
		must(t, err)
		for _, l := range list {
			if l.ID == want.ID && !reflect.DeepEqual(l, want) {
				t.Errorf("%s: ListOrders has %+v\nwant %+v", what, l, want)
			}
		}
	}

	created := fx.order(f2fpay.OrderPaid)
	promotions(created)
	must(t, s.CreateOrder(ctx, created))
	check(t, "created paid", created)

	plain := fx.createOrder(t, f2fpay.OrderPaid)
	check(t, "created without promotions", plain)

	for name, update := range map[string]func(context.Context, *f2fpay.Order, []*f2fpay.GatewayCall, ...*f2fpay.Event) error{
		"UpdateOrder": s.UpdateOrder, "UpdateOrderLazy": s.UpdateOrderLazy,
	} {
		t.Run(name, func(t *testing.T) {
			o := fx.createOrder(t, f2fpay.OrderPaying)
			o.State = f2fpay.OrderPaid
			promotions(o)
			o.TotalAmount = 350 // fixed at creation: the update does not write it
			must(t, update(ctx, o, nil))
			check(t, "updated to paid", o)
			// Another update keeps them; one that clears them clears them.
			o.Queries++
			must(t, update(ctx, o, nil))
			check(t, "updated again", o)
			o.FundBills, o.Vouchers, o.DiscountAmount, o.MerchantDiscountAmount = nil, nil, 0, 0
			must(t, update(ctx, o, nil))
			check(t, "cleared", o)
		})
	}

	// The janitor's claim reads them too.
	due := fx.order(f2fpay.OrderUnknown)
	promotions(due)
	must(t, s.CreateOrder(ctx, due))
	claimed, err := s.ClaimDueOrders(ctx, "promotions", base.Add(1<<40), 1<<30, 100)
	must(t, err)
	found := false
	for _, c := range claimed {
		if c.ID == due.ID {
			found = true
			if !reflect.DeepEqual(c.FundBills, due.FundBills) || !reflect.DeepEqual(c.Vouchers, due.Vouchers) ||
				c.DiscountAmount != due.DiscountAmount || c.MerchantDiscountAmount != due.MerchantDiscountAmount {
				t.Errorf("claimed %+v\nwant the promotions of %+v", c, due)
			}
		}
	}
	if !found {
		t.Errorf("order %d not claimed", due.ID)
	}
}
