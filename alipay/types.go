package alipay

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay/alipay/money"
)

// Amount is money.Amount, integer fen written as Alipay's yuan strings ("88.88").
type Amount = money.Amount

// TradeStatus is Alipay's trade state (docs/alipay-protocol.md §7.1).
type TradeStatus string

const (
	TradeWaitBuyerPay TradeStatus = "WAIT_BUYER_PAY" // created, waiting for the buyer
	TradeSuccess      TradeStatus = "TRADE_SUCCESS"  // paid, refundable
	TradeClosed       TradeStatus = "TRADE_CLOSED"   // unpaid and closed, or fully refunded
	TradeFinished     TradeStatus = "TRADE_FINISHED" // paid, no longer refundable
)

// Paid reports whether the buyer's money reached the merchant (TRADE_SUCCESS or
// TRADE_FINISHED).
func (s TradeStatus) Paid() bool { return s == TradeSuccess || s == TradeFinished }

// Final reports whether no further payment can happen.
func (s TradeStatus) Final() bool { return s == TradeClosed || s == TradeFinished }

// Time is a date-time as Alipay writes it: "yyyy-MM-dd HH:mm:ss" in Beijing time,
// sometimes with milliseconds (gmt_refund in notifications). The zero Time is absent.
type Time struct{ time.Time }

// ParseTime parses Alipay's date-time form in Beijing time.
func ParseTime(s string) (Time, error) {
	layout := timeLayout
	if len(s) > len(timeLayout) && s[len(timeLayout)] == '.' {
		layout = "2006-01-02 15:04:05.999999999"
	}
	t, err := time.ParseInLocation(layout, s, beijing)
	if err != nil {
		return Time{}, fmt.Errorf("alipay: time %q is not yyyy-MM-dd HH:mm:ss", s)
	}
	return Time{t}, nil
}

// String writes the time in Alipay's form, "" when zero.
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return t.In(beijing).Format(timeLayout)
}

// MarshalJSON writes Alipay's form.
func (t Time) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// UnmarshalJSON reads Alipay's form; "" and null are the zero Time.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("alipay: time is not a string: %s", b)
	}
	if s == "" {
		*t = Time{}
		return nil
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ResponseHeader holds the fields every response node starts with.
type ResponseHeader struct {
	Code    string `json:"code,omitempty"`
	Msg     string `json:"msg,omitempty"`
	SubCode string `json:"sub_code,omitempty"`
	SubMsg  string `json:"sub_msg,omitempty"`
}

// GoodsDetail is one line of goods_detail.
type GoodsDetail struct {
	GoodsID        string `json:"goods_id"`
	AlipayGoodsID  string `json:"alipay_goods_id,omitempty"`
	GoodsName      string `json:"goods_name"`
	Quantity       int64  `json:"quantity"`
	Price          Amount `json:"price"`
	GoodsCategory  string `json:"goods_category,omitempty"`
	CategoriesTree string `json:"categories_tree,omitempty"`
	Body           string `json:"body,omitempty"`
	ShowURL        string `json:"show_url,omitempty"`
}

// ExtendParams carries extend_params. SysServiceProviderID is the service provider's
// PID (2088…) that earns the rebate (返佣) on the trade.
type ExtendParams struct {
	SysServiceProviderID string `json:"sys_service_provider_id,omitempty"`
	HbFqNum              string `json:"hb_fq_num,omitempty"`
	HbFqSellerPercent    string `json:"hb_fq_seller_percent,omitempty"`
	CardType             string `json:"card_type,omitempty"`
	SpecifiedSellerName  string `json:"specified_seller_name,omitempty"`
	// RoyaltyFreeze "true" keeps funds frozen for a later alipay.trade.order.settle.
	RoyaltyFreeze string `json:"royalty_freeze,omitempty"`
}

// RoyaltyInfo is the current (snake_case) profit-sharing form on a trade.
type RoyaltyInfo struct {
	RoyaltyType        string          `json:"royalty_type,omitempty"`
	RoyaltyDetailInfos []RoyaltyDetail `json:"royalty_detail_infos"`
}

// RoyaltyDetail is one transfer of a profit split.
type RoyaltyDetail struct {
	SerialNo         int64  `json:"serial_no,omitempty"`
	TransInType      string `json:"trans_in_type,omitempty"`
	BatchNo          string `json:"batch_no,omitempty"`
	OutRelationID    string `json:"out_relation_id,omitempty"`
	TransOutType     string `json:"trans_out_type,omitempty"`
	TransOut         string `json:"trans_out,omitempty"`
	TransIn          string `json:"trans_in"`
	Amount           Amount `json:"amount,omitempty"`
	AmountPercentage int64  `json:"amount_percentage,omitempty"`
	Desc             string `json:"desc,omitempty"`
}

// legacyRoyalty is the vending document's older camelCase royalty_parameters item
// (docs/vending.md §3).
type legacyRoyalty struct {
	SerialNo      json.Number `json:"serialNo"`
	OutRelationID string      `json:"outRelationId"`
	TransOutType  string      `json:"transOutType"`
	TransOut      string      `json:"transOut"`
	TransInType   string      `json:"transInType"`
	TransIn       string      `json:"transIn"`
	BatchNo       string      `json:"batchNo"`
	Amount        Amount      `json:"amount"`
	Desc          string      `json:"desc"`
}

// ParseLegacyRoyaltyParameters converts the camelCase royalty_parameters of Alipay's
// vending-machine solution document ([{"serialNo":"1","transOut":"2088…","transIn":
// "2088…","amount":"0.10","desc":"…"}]) into the current snake_case details, which is
// what f2fpay sends (docs/vending.md §3). Missing outRelationId defaults, as that document
// says, to out_trade_no followed by the serial number; details are returned in serialNo
// order, the order in which Alipay executes them.
func ParseLegacyRoyaltyParameters(data []byte, outTradeNo string) ([]RoyaltyDetail, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var items []legacyRoyalty
	if err := dec.Decode(&items); err != nil {
		return nil, fmt.Errorf("alipay: royalty_parameters is not a JSON array of {serialNo, transOut, transIn, amount, ...}: %v", err)
	}
	out := make([]RoyaltyDetail, 0, len(items))
	seen := map[int64]bool{}
	for i, it := range items {
		n, err := it.SerialNo.Int64()
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("alipay: royalty_parameters[%d].serialNo must be a positive integer, got %q", i, it.SerialNo)
		}
		if seen[n] {
			return nil, fmt.Errorf("alipay: royalty_parameters: serialNo %d appears twice", n)
		}
		seen[n] = true
		if !isUserID(it.TransOut) || !isUserID(it.TransIn) {
			return nil, fmt.Errorf("alipay: royalty_parameters[%d]: transOut and transIn must be Alipay user ids (2088 and 12 more digits)", i)
		}
		if err := it.Amount.CheckTrade(); err != nil {
			return nil, fmt.Errorf("alipay: royalty_parameters[%d].amount: %v", i, err)
		}
		rel := it.OutRelationID
		if rel == "" {
			rel = fmt.Sprintf("%s%d", outTradeNo, n)
		}
		typ := func(s string) string {
			if s == "" {
				return "userId"
			}
			return s
		}
		out = append(out, RoyaltyDetail{
			SerialNo: n, OutRelationID: rel, TransOutType: typ(it.TransOutType), TransOut: it.TransOut,
			TransInType: typ(it.TransInType), TransIn: it.TransIn, BatchNo: it.BatchNo,
			Amount: it.Amount, Desc: it.Desc,
		})
	}
	for i := 1; i < len(out); i++ { // insertion sort: a handful of items
		for j := i; j > 0 && out[j].SerialNo < out[j-1].SerialNo; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// isUserID reports whether s is an Alipay user id: "2088" followed by 12 digits.
func isUserID(s string) bool {
	if len(s) != 16 || !strings.HasPrefix(s, "2088") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FundBill is one funding channel of a payment (fund_bill_list). Synchronous responses
// write fund_channel; notifications write fundChannel — both decode here.
type FundBill struct {
	FundChannel string `json:"fund_channel"`
	Amount      Amount `json:"amount"`
	RealAmount  Amount `json:"real_amount,omitempty"`
	FundType    string `json:"fund_type,omitempty"`
}

// UnmarshalJSON accepts both the snake_case (responses) and camelCase (notifications)
// spellings.
func (f *FundBill) UnmarshalJSON(b []byte) error {
	var v struct {
		FundChannel  string `json:"fund_channel"`
		FundChannel2 string `json:"fundChannel"`
		Amount       Amount `json:"amount"`
		RealAmount   Amount `json:"real_amount"`
		RealAmount2  Amount `json:"realAmount"`
		FundType     string `json:"fund_type"`
		FundType2    string `json:"fundType"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = FundBill{FundChannel: or(v.FundChannel, v.FundChannel2), Amount: v.Amount,
		RealAmount: v.RealAmount + v.RealAmount2, FundType: or(v.FundType, v.FundType2)}
	return nil
}

// VoucherDetail is one promotion voucher used in a payment (voucher_detail_list).
type VoucherDetail struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Type               string `json:"type"`
	Amount             Amount `json:"amount"`
	MerchantContribute Amount `json:"merchant_contribute,omitempty"`
	OtherContribute    Amount `json:"other_contribute,omitempty"`
	Memo               string `json:"memo,omitempty"`
	TemplateID         string `json:"template_id,omitempty"`
}

// UnmarshalJSON accepts both snake_case and the camelCase of notifications.
func (d *VoucherDetail) UnmarshalJSON(b []byte) error {
	var v struct {
		ID                  string `json:"id"`
		VoucherID           string `json:"voucherId"`
		Name                string `json:"name"`
		Type                string `json:"type"`
		Amount              Amount `json:"amount"`
		MerchantContribute  Amount `json:"merchant_contribute"`
		MerchantContribute2 Amount `json:"merchantContribute"`
		OtherContribute     Amount `json:"other_contribute"`
		OtherContribute2    Amount `json:"otherContribute"`
		Memo                string `json:"memo"`
		TemplateID          string `json:"template_id"`
		TemplateID2         string `json:"templateId"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = VoucherDetail{ID: or(v.ID, v.VoucherID), Name: v.Name, Type: v.Type, Amount: v.Amount,
		MerchantContribute: v.MerchantContribute + v.MerchantContribute2,
		OtherContribute:    v.OtherContribute + v.OtherContribute2,
		Memo:               v.Memo, TemplateID: or(v.TemplateID, v.TemplateID2)}
	return nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
