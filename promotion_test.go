package f2fpay_test

import (
	"testing"

	"github.com/f2fpay/f2fpay"
)

func TestDiscounts(t *testing.T) {
	for _, tc := range []struct {
		name                             string
		total, receipt, buyerPay, point  f2fpay.Amount
		wantDiscount, wantMerchantFunded f2fpay.Amount
	}{
		{"no promotion", 1000, 1000, 1000, 0, 0, 0},
		{"voucher, 1.00 of 3.00 the merchant's", 1000, 900, 700, 0, 300, 100},
		{"voucher funded by Alipay only", 1000, 1000, 700, 0, 300, 0},
		{"voucher funded by the merchant only", 1000, 700, 700, 0, 300, 300},
		{"points are the buyer's money, not a discount", 1000, 1000, 800, 200, 0, 0},
		{"points and a voucher", 1000, 900, 500, 200, 300, 100},
		{"no amounts in the message", 1000, 0, 0, 0, 0, 0},
		{"amounts that contradict each other never go negative", 1000, 1200, 1100, 0, 0, 0},
	} {
		d, m := f2fpay.Discounts(tc.total, tc.receipt, tc.buyerPay, tc.point)
		if d != tc.wantDiscount || m != tc.wantMerchantFunded {
			t.Errorf("%s: Discounts = %s, %s; want %s, %s", tc.name, d, m, tc.wantDiscount, tc.wantMerchantFunded)
		}
	}
}
