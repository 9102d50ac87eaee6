package httpapi_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
)

// TestPromotionsShown: a payment with a voucher shows its discounts, fund bills and
// voucher to the terminal (the pay answer and the status) and to the admin API.
func TestPromotionsShown(t *testing.T) {
	t.Parallel()
	b := setup(t)
	buyer := b.Buyer("100.00")
	v, err := b.sim.AddVoucher(b.ctx, buyer.UserID, alipaysim.Voucher{MerchantContribute: amt("1.00"), OtherContribute: amt("2.00")})
	b.must(err)
	wantBills := []f2fpay.FundBill{{FundChannel: "ALIPAYACCOUNT", Amount: 700}, {FundChannel: "COUPON", Amount: 200},
		{FundChannel: "MCOUPON", Amount: 100}}
	wantVouchers := []f2fpay.Voucher{{ID: v.ID, Name: v.Name, Type: v.Type, Amount: 300, MerchantContribute: 100, OtherContribute: 200}}

	p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("10.00"), Subject: "breakfast"})
	b.must(err)
	again, err := b.client.Payment(b.ctx, p.OutTradeNo, 0)
	b.must(err)
	for what, p := range map[string]*client.Payment{"pay answer": p, "status": again} {
		if p.State != client.StatePaid || p.ReceiptAmount != 900 || p.BuyerPayAmount != 700 || p.DiscountAmount != 300 ||
			p.MerchantDiscountAmount != 100 || !reflect.DeepEqual(p.FundBills, wantBills) || !reflect.DeepEqual(p.Vouchers, wantVouchers) {
			t.Errorf("%s: %+v\nwant PAID, discount 3.00 (1.00 the merchant's), bills %+v, vouchers %+v", what, p, wantBills, wantVouchers)
		}
	}

	type promotions struct {
		DiscountAmount         f2fpay.Amount     `json:"discount_amount"`
		MerchantDiscountAmount f2fpay.Amount     `json:"merchant_discount_amount"`
		FundBills              []f2fpay.FundBill `json:"fund_bill_list"`
		Vouchers               []f2fpay.Voucher  `json:"voucher_detail_list"`
	}
	want := promotions{300, 100, wantBills, wantVouchers}
	status, _, out := b.raw(http.MethodGet, "/admin/orders/"+p.OutTradeNo, "Bearer "+adminToken, "", nil)
	var detail struct{ Order promotions }
	if status != http.StatusOK || json.Unmarshal(out, &detail) != nil || !reflect.DeepEqual(detail.Order, want) {
		t.Errorf("admin order: %d %s\nwant %+v", status, out, want)
	}
	status, _, out = b.raw(http.MethodGet, "/admin/orders", "Bearer "+adminToken, "", nil)
	var list struct{ Orders []promotions }
	if status != http.StatusOK || json.Unmarshal(out, &list) != nil || len(list.Orders) != 1 || !reflect.DeepEqual(list.Orders[0], want) {
		t.Errorf("admin orders: %d %s\nwant one with %+v", status, out, want)
	}
}
