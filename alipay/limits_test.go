package alipay_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/money"
)

func TestWidth(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"", 0},
		{"Iphone6 16G", 11},
		{"大乐透", 6},    // GBK: 2 bytes per Chinese character (UTF-8 would be 9)
		{"咖啡 x2", 7},  // 2+2 for the characters, 1 each for " x2"
		{"€", 2},      // in GB18030's two-byte area
		{"😀", 4},      // outside GBK: a four-byte GB18030 sequence
		{"café", 5},   // é is in GBK
		{"\u00a0", 4}, // NBSP is not in GBK
		{strings.Repeat("汉", 128), 256},
	}
	for _, tt := range tests {
		if got := alipay.Width(tt.s); got != tt.want {
			t.Errorf("Width(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

func TestLimitCheck(t *testing.T) {
	tests := []struct {
		name  string
		limit alipay.Limit
		v     string
		want  string // "" accepts; else a part of the message
	}{
		{"empty fits", alipay.LimitSubject, "", ""},
		{"256 ASCII", alipay.LimitSubject, strings.Repeat("a", 256), ""},
		{"257 ASCII", alipay.LimitSubject, strings.Repeat("a", 257), "subject is too long for Alipay: 257 bytes"},
		{"128 Chinese fit", alipay.LimitSubject, strings.Repeat("汉", 128), ""},
		{"129 Chinese do not", alipay.LimitSubject, strings.Repeat("汉", 129), "at most 256 are allowed, that is 128 Chinese characters"},
		{"100 Chinese fit subject", alipay.LimitSubject, strings.Repeat("汉", 100), ""},
		{"64 Chinese fill body", alipay.LimitBody, strings.Repeat("汉", 64), ""},
		{"65 Chinese overflow body", alipay.LimitBody, strings.Repeat("汉", 65), "body is too long for Alipay: 130 bytes"},
		{"operator_id 14 Chinese", alipay.LimitOperatorID, strings.Repeat("张", 14), ""},
		{"operator_id 15 Chinese", alipay.LimitOperatorID, strings.Repeat("张", 15), "operator_id is too long for Alipay: 30 bytes"},
		{"operator_id 29 ASCII", alipay.LimitOperatorID, strings.Repeat("a", 29), "at most 28 are allowed"},
		{"store_id 33", alipay.LimitStoreID, strings.Repeat("S", 33), "store_id"},
		{"terminal_id 33", alipay.LimitTerminalID, strings.Repeat("T", 33), "terminal_id"},
		{"refund_reason 129 Chinese", alipay.LimitRefundReason, strings.Repeat("退", 129), "refund_reason"},
		{"renamed", alipay.LimitRefundReason.Named("reason"), strings.Repeat("退", 129), "reason is too long"},
		{"invalid UTF-8", alipay.LimitSubject, "ab\xffc", "subject is not valid UTF-8"},
		{"emoji count 4", alipay.LimitBody, strings.Repeat("😀", 33), "132 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.limit.Check(tt.v)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one containing %q", err, tt.want)
			}
			if !errors.Is(err, alipay.ErrInvalidRequest) {
				t.Errorf("%v does not wrap ErrInvalidRequest", err)
			}
		})
	}
}

func TestLengthErrorNamesTheUnit(t *testing.T) {
	err := alipay.LimitSubject.Check(strings.Repeat("汉", 100) + strings.Repeat("a", 57))
	var le *alipay.LengthError
	if !errors.As(err, &le) || le.Width != 257 || le.Max != 256 || le.Field != "subject" {
		t.Fatalf("err %#v", err)
	}
	for _, part := range []string{"257 bytes", "2 per Chinese character", "at most 256", "128 Chinese characters"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("%q lacks %q", err, part)
		}
	}
	// An ASCII value is not told about Chinese characters it does not have.
	if err := alipay.LimitOutTradeNo.Check(strings.Repeat("1", 65)); err == nil || strings.Contains(err.Error(), "that is") {
		t.Errorf("out_trade_no: %v", err)
	}
}

func TestValidate(t *testing.T) {
	amount := money.MustParse("1.00")
	long := strings.Repeat("汉", 129)
	tests := []struct {
		name string
		v    interface{ Validate() error }
		want string
	}{
		{"pay ok", &alipay.TradePayRequest{OutTradeNo: "A1", AuthCode: "287634438256643940", Subject: strings.Repeat("汉", 128), TotalAmount: amount}, ""},
		{"pay subject", &alipay.TradePayRequest{OutTradeNo: "A1", AuthCode: "287634438256643940", Subject: long, TotalAmount: amount}, "subject"},
		{"pay body", &alipay.TradePayRequest{OutTradeNo: "A1", AuthCode: "287634438256643940", Subject: "s", Body: long, TotalAmount: amount}, "body"},
		{"pay operator", &alipay.TradePayRequest{OutTradeNo: "A1", AuthCode: "287634438256643940", Subject: "s", OperatorID: strings.Repeat("张", 15), TotalAmount: amount}, "operator_id"},
		{"pay store", &alipay.TradePayRequest{OutTradeNo: "A1", AuthCode: "287634438256643940", Subject: "s", StoreID: strings.Repeat("1", 33), TotalAmount: amount}, "store_id"},
		{"pay terminal", &alipay.TradePayRequest{OutTradeNo: "A1", AuthCode: "287634438256643940", Subject: "s", TerminalID: strings.Repeat("1", 33), TotalAmount: amount}, "terminal_id"},
		{"pay goods name", &alipay.TradePayRequest{OutTradeNo: "A1", AuthCode: "287634438256643940", Subject: "s", TotalAmount: amount,
			GoodsDetail: []alipay.GoodsDetail{{GoodsID: "g", GoodsName: long, Quantity: 1}}}, "goods_detail[0].goods_name"},
		{"precreate ok", &alipay.TradePrecreateRequest{OutTradeNo: "A1", Subject: "s", TotalAmount: amount}, ""},
		{"precreate subject", &alipay.TradePrecreateRequest{OutTradeNo: "A1", Subject: long, TotalAmount: amount}, "subject"},
		{"precreate bad UTF-8", &alipay.TradePrecreateRequest{OutTradeNo: "A1", Subject: "\xc3(", TotalAmount: amount}, "not valid UTF-8"},
		{"create ok", &alipay.TradeCreateRequest{OutTradeNo: "A1", Subject: "s", TotalAmount: amount, BuyerID: "2088102146225135"}, ""},
		{"create body", &alipay.TradeCreateRequest{OutTradeNo: "A1", Subject: "s", Body: long, TotalAmount: amount, BuyerID: "2088102146225135"}, "body"},
		{"refund ok", &alipay.TradeRefundRequest{OutTradeNo: "A1", RefundAmount: amount, OutRequestNo: "rf-1", RefundReason: strings.Repeat("退", 128)}, ""},
		{"refund reason", &alipay.TradeRefundRequest{OutTradeNo: "A1", RefundAmount: amount, OutRequestNo: "rf-1", RefundReason: strings.Repeat("退", 129)}, "refund_reason"},
		{"refund request no", &alipay.TradeRefundRequest{OutTradeNo: "A1", RefundAmount: amount, OutRequestNo: strings.Repeat("r", 65)}, "out_request_no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.v.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, alipay.ErrInvalidRequest)):
				t.Fatalf("err %v, want ErrInvalidRequest mentioning %q", err, tt.want)
			}
		})
	}
}
