package bill

import (
	"github.com/f2fpay/f2fpay/alipay/money"
)

// parseTotal parses a sum of many amounts: a footer total, a summary cell, an account
// balance. money.ParseSigned caps amounts at 100000000.00 yuan, the limit of one
// trade, but a busy merchant's daily total or balance can exceed it. The syntax is the
// same; the integer part may have up to 15 digits (well inside int64 fen).
func parseTotal(s string) (money.Amount, error) {
	if a, err := money.ParseSigned(s); err == nil {
		return a, nil
	} else if !overLimit(s) {
		return 0, err
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	var v int64
	i := 0
	for ; i < len(s) && s[i] != '.'; i++ {
		v = v*10 + int64(s[i]-'0')
	}
	frac := 0
	if i < len(s) {
		for _, c := range s[i+1:] {
			v = v*10 + int64(c-'0')
			frac++
		}
	}
	for ; frac < 2; frac++ {
		v *= 10
	}
	if neg {
		v = -v
	}
	return money.Amount(v), nil
}

// overLimit reports whether s is a well-formed amount that ParseSignedAmount refused only
// for its size: optional '-', 10 to 15 digits without a leading zero, optionally '.' and
// one or two digits.
func overLimit(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i < 9 || i > 15 || s[0] == '0' {
		return false
	}
	if i == len(s) {
		return true
	}
	if s[i] != '.' {
		return false
	}
	frac := s[i+1:]
	if len(frac) < 1 || len(frac) > 2 {
		return false
	}
	for j := 0; j < len(frac); j++ {
		if frac[j] < '0' || frac[j] > '9' {
			return false
		}
	}
	return true
}
