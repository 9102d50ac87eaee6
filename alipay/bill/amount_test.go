package bill

import (
	"testing"

	"github.com/f2fpay/f2fpay/alipay/money"
)

func TestParseTotal(t *testing.T) {
	tests := []struct {
		in   string
		want money.Amount
		ok   bool
	}{
		{"0.00", 0, true},
		{"-0.12", -12, true},
		{"100000000.00", money.MaxAmount, true},
		{"100000000.01", money.MaxAmount + 1, true},
		{"-2879016123.5", -287901612350, true},
		{"123456789012345", 12345678901234500, true},
		{"1234567890123456", 0, false}, // 16 digits
		{"0123456789.00", 0, false},
		{"1234567890.123", 0, false},
		{"1234567890.", 0, false},
		{"12,345", 0, false},
		{"", 0, false},
		{"-", 0, false},
	}
	for _, tt := range tests {
		got, err := parseTotal(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseTotal(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
