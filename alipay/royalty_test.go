package alipay_test

import (
	"encoding/json"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/money"
)

// TestRoyaltyWireForm pins what the SDK sends for profit sharing to what Alipay documents
// (docs/alipay-protocol.md §6.1 royalty_info, §6.9 alipay.trade.order.settle,
// docs/vending.md §3): serial_no and amount_percentage are JSON numbers, amounts yuan
// strings, field names snake_case. Alipay also takes the integers as strings (the
// sandbox accepts both), but numbers are the documented form.
func TestRoyaltyWireForm(t *testing.T) {
	ten := money.MustParse("10.00")
	pay := alipay.TradePayRequest{OutTradeNo: "o1", RoyaltyInfo: &alipay.RoyaltyInfo{RoyaltyDetailInfos: []alipay.RoyaltyDetail{
		{SerialNo: 1, TransIn: "2088000000000001", Amount: ten},
		{SerialNo: 2, TransIn: "2088000000000002", AmountPercentage: 5},
	}}}
	settle := alipay.TradeOrderSettleRequest{OutRequestNo: "s1", TradeNo: "t1", RoyaltyParameters: []alipay.SettleRoyalty{
		{TransIn: "2088000000000001", AmountPercentage: 10},
	}}
	var got struct {
		RoyaltyInfo struct {
			Details []map[string]any `json:"royalty_detail_infos"`
		} `json:"royalty_info"`
		RoyaltyParameters []map[string]any `json:"royalty_parameters"`
	}
	for _, v := range []any{pay, settle} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
	}
	d := got.RoyaltyInfo.Details
	if len(d) != 2 || d[0]["serial_no"] != 1.0 || d[0]["amount"] != "10.00" || d[1]["serial_no"] != 2.0 || d[1]["amount_percentage"] != 5.0 {
		t.Errorf("royalty_detail_infos: %v", d)
	}
	if p := got.RoyaltyParameters; len(p) != 1 || p[0]["amount_percentage"] != 10.0 {
		t.Errorf("settle royalty_parameters: %v", p)
	}

	// the vending document's camelCase form (docs/vending.md §3) gives serialNo as a
	// string or a number; both become the numeric serial_no of the current form.
	details, err := alipay.ParseLegacyRoyaltyParameters([]byte(`[{"serialNo":"2","transOut":"2088000000000009","transIn":"2088000000000001","amount":"1.00"},
		{"serialNo":1,"transOut":"2088000000000009","transIn":"2088000000000002","amount":"2.00"}]`), "vm-1")
	if err != nil || len(details) != 2 || details[0].SerialNo != 1 || details[1].SerialNo != 2 || details[0].OutRelationID != "vm-11" {
		t.Fatalf("legacy: %v %+v", err, details)
	}
	if _, err := alipay.ParseLegacyRoyaltyParameters([]byte(`[{"serialNo":"one","transOut":"2088000000000009","transIn":"2088000000000001","amount":"1.00"}]`), "vm-1"); err == nil {
		t.Error("legacy serialNo \"one\" accepted")
	}
}
