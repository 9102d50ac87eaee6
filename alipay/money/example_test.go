package money_test

import (
	"encoding/json"
	"fmt"

	"github.com/f2fpay/f2fpay/alipay/money"
)

// Amounts are parsed from their text, so what the buyer sees is exactly what is charged.
func ExampleParse() {
	a, err := money.Parse("0.1")
	fmt.Println(int64(a), a, err)

	_, err = money.Parse("1.005")
	fmt.Println(err)
	// Output:
	// 10 0.10 <nil>
	// invalid amount "1.005": more than two decimals; Alipay amounts are in yuan with at most two decimals (fen)
}

// Alipay sends amounts as strings ("88.88"), and its documentation samples as numbers;
// both decode exactly, and amounts always encode as two-decimal strings.
func ExampleAmount_UnmarshalJSON() {
	var v struct {
		Total  money.Amount `json:"total_amount"`
		Refund money.Amount `json:"refund_fee"`
	}
	err := json.Unmarshal([]byte(`{"total_amount":"88.88","refund_fee":0.1}`), &v)
	fmt.Println(v.Total, v.Refund, err)

	b, _ := json.Marshal(v)
	fmt.Println(string(b))
	// Output:
	// 88.88 0.10 <nil>
	// {"total_amount":"88.88","refund_fee":"0.10"}
}

// Arithmetic is integer fen; CheckTrade applies Alipay's limits for one trade.
func ExampleAmount_CheckTrade() {
	price := money.MustParse("19.90")
	total := 3 * price
	fmt.Println(total, total.CheckTrade())
	fmt.Println(money.MaxAmount+money.Fen, (money.MaxAmount + money.Fen).CheckTrade())
	// Output:
	// 59.70 <nil>
	// 100000000.01 invalid amount "100000000.01": exceeds the maximum of 100000000.00 yuan
}
