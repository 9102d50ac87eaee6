package alipaysim

import (
	"strings"
	"testing"
)

// TestLengthLimits: the sandbox counts lengths as Alipay does (alipay/limits.go): GBK
// bytes, 2 per Chinese character. A 128-character Chinese subject is Alipay's maximum
// and pays; one more character is ACQ.INVALID_PARAMETER, and the message says why.
func TestLengthLimits(t *testing.T) {
	b := setup(t)
	by := b.buyer("1000.00")
	han := func(n int) string { return strings.Repeat("汉", n) }
	tests := []struct {
		name  string
		field string
		value string
		want  string // "" pays; else a part of sub_msg
	}{
		{"subject of 100 Chinese characters", "subject", han(100), ""},
		{"subject of 128 Chinese characters", "subject", han(128), ""},
		{"subject of 129 Chinese characters", "subject", han(129), "subject 超过 256 字节"},
		{"subject of 257 ASCII", "subject", strings.Repeat("s", 257), "subject 超过 256 字节"},
		{"body of 64 Chinese characters", "body", han(64), ""},
		{"body of 65 Chinese characters", "body", han(65), "body 超过 128 字节"},
		{"operator_id of 14 Chinese characters", "operator_id", han(14), ""},
		{"operator_id of 15 Chinese characters", "operator_id", han(15), "operator_id 超过 28 字节"},
		{"store_id of 33", "store_id", strings.Repeat("S", 33), "store_id 超过 32 字节"},
		{"terminal_id of 33", "terminal_id", strings.Repeat("T", 33), "terminal_id 超过 32 字节"},
		{"out_trade_no of 65", "out_trade_no", strings.Repeat("1", 65), "out_trade_no 超过 64 字节"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			biz := pay("len"+strings.Repeat("x", i), b.code(by.UserID), "0.01")
			biz[tt.field] = tt.value
			m := b.call("alipay.trade.pay", biz)
			if tt.want == "" {
				wantFields(t, m, map[string]string{"code": "10000"})
				return
			}
			wantFields(t, m, map[string]string{"code": "40004", "sub_code": "ACQ.INVALID_PARAMETER"})
			if msg, _ := m["sub_msg"].(string); !strings.Contains(msg, tt.want) {
				t.Errorf("sub_msg %q lacks %q", msg, tt.want)
			}
		})
	}

	m := b.call("alipay.trade.precreate", map[string]any{"out_trade_no": "qr1", "subject": han(129), "total_amount": "1.00"})
	wantFields(t, m, map[string]string{"code": "40004", "sub_code": "ACQ.INVALID_PARAMETER"})

	m = b.call("alipay.trade.pay", pay("rf", b.code(by.UserID), "5.00"))
	wantFields(t, m, map[string]string{"code": "10000"})
	for _, tt := range []struct {
		name, field, value, want string
	}{
		{"refund_reason of 129 Chinese characters", "refund_reason", han(129), "refund_reason 超过 256 字节"},
		{"out_request_no of 65", "out_request_no", strings.Repeat("r", 65), "out_request_no 超过 64 字节"},
		{"refund_reason of 128 Chinese characters", "refund_reason", han(128), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			biz := map[string]string{"out_trade_no": "rf", "out_request_no": "r-" + tt.field, "refund_amount": "0.01", tt.field: tt.value}
			m := b.call("alipay.trade.refund", biz)
			if tt.want == "" {
				wantFields(t, m, map[string]string{"code": "10000"})
				return
			}
			wantFields(t, m, map[string]string{"code": "40004", "sub_code": "ACQ.INVALID_PARAMETER"})
			if msg, _ := m["sub_msg"].(string); !strings.Contains(msg, tt.want) {
				t.Errorf("sub_msg %q lacks %q", msg, tt.want)
			}
		})
	}
}
