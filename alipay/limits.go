package alipay

import (
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// How Alipay counts the length of a string parameter (docs/alipay-limits.md).
//
// Alipay's parameter tables give each string a bare "String(N)" or "最大长度 N" with no
// unit. The unit is written down for subject, the one field where it was asked about:
// "subject String(256) … 该参数最长为128个汉字" (mapi create_direct_pay_by_user and the
// mobile/app payment tables) and, in the English edition, "subject String(256) … The
// length of this parameter is up to 128 Chinese characters" (global.alipay.com,
// alipay.acquire.createandpay). 256 units holding 128 Chinese characters is a count
// of bytes in GBK, Alipay's native charset (its default _input_charset and the
// charset of its bills): 1 per ASCII character, 2 per Chinese character. It is
// neither characters (that would allow 256 Chinese characters) nor UTF-8 bytes (only
// 85). Every length here is counted the same way: out_trade_no, operator_id, store_id
// and the like are ASCII in practice, so for them it is simply the number of
// characters.
//
// Characters GBK cannot hold (emoji, rare ideographs) take 4 bytes in GB18030, the
// standard that extends GBK to all of Unicode; they are counted 4 so that the count
// can only be too strict, never too lenient: a request refused here costs the cashier
// a shorter subject, one refused by Alipay costs the buyer's payment code.

// Limit is Alipay's maximum length of one string parameter, counted by Width.
type Limit struct {
	// Field is the parameter as the message about it names it (Alipay's name unless
	// Named gave another).
	Field string
	// Max is the largest Width allowed.
	Max int
}

// Alipay's documented limits (docs/alipay-limits.md lists where each comes from).
var (
	LimitOutTradeNo   = Limit{"out_trade_no", 64}
	LimitSubject      = Limit{"subject", 256}
	LimitBody         = Limit{"body", 128}
	LimitOperatorID   = Limit{"operator_id", 28}
	LimitStoreID      = Limit{"store_id", 32}
	LimitTerminalID   = Limit{"terminal_id", 32}
	LimitAuthCode     = Limit{"auth_code", 64}
	LimitGoodsID      = Limit{"goods_id", 64}
	LimitGoodsName    = Limit{"goods_name", 256}
	LimitOutRequestNo = Limit{"out_request_no", 64}
	LimitRefundReason = Limit{"refund_reason", 256}
)

// Named returns the same limit under the name a caller's own API gives the field
// (the service's "reason" is Alipay's refund_reason), so that its message names what
// the caller sent.
func (l Limit) Named(field string) Limit { return Limit{Field: field, Max: l.Max} }

// Width is the length of s as Alipay counts it: its size in bytes in GB18030 (GBK for
// every character GBK has) — 1 per ASCII character, 2 per Chinese character, 4 per
// character outside GBK. Invalid UTF-8 has no width; Check refuses it.
func Width(s string) int {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return len(s)
	}
	b, err := simplifiedchinese.GB18030.NewEncoder().String(s[i:])
	if err != nil {
		// Only invalid UTF-8 fails to encode; count it at its worst.
		return i + 4*utf8.RuneCountInString(s[i:])
	}
	return i + len(b)
}

// LengthError is a string longer than Alipay allows. It wraps ErrInvalidRequest.
type LengthError struct {
	Field string
	Width int // as Width counts it
	Max   int
	// Wide is set when the value holds non-ASCII characters, where the count surprises.
	Wide bool
}

func (e *LengthError) Error() string {
	hint := ""
	if e.Wide {
		hint = fmt.Sprintf(", that is %d Chinese characters", e.Max/2)
	}
	return fmt.Sprintf("%s is too long for Alipay: %d bytes as Alipay counts them "+
		"(1 per ASCII character, 2 per Chinese character); at most %d are allowed%s",
		e.Field, e.Width, e.Max, hint)
}

func (e *LengthError) Unwrap() error { return ErrInvalidRequest }

// EncodingError is a string that is not valid UTF-8. Alipay's JSON cannot carry it:
// encoding/json would silently turn each bad byte into U+FFFD. It wraps
// ErrInvalidRequest.
type EncodingError struct {
	Field string
}

func (e *EncodingError) Error() string {
	return fmt.Sprintf("%s is not valid UTF-8; send text encoded as UTF-8", e.Field)
}

func (e *EncodingError) Unwrap() error { return ErrInvalidRequest }

// Check returns nil when v fits the limit, else an *EncodingError or a *LengthError.
// An empty v fits; whether a field is required is the caller's rule.
func (l Limit) Check(v string) error {
	if !utf8.ValidString(v) {
		return &EncodingError{Field: l.Field}
	}
	if w := Width(v); w > l.Max {
		return &LengthError{Field: l.Field, Width: w, Max: l.Max, Wide: utf8.RuneCountInString(v) != len(v)}
	}
	return nil
}

// value is one string of a request with its limit.
type value struct {
	limit Limit
	v     string
}

// checkValues returns the first failure of Check, in the order given.
func checkValues(vs ...value) error {
	for _, x := range vs {
		if err := x.limit.Check(x.v); err != nil {
			return err
		}
	}
	return nil
}

func checkGoods(goods []GoodsDetail) error {
	for i, g := range goods {
		if err := checkValues(
			value{LimitGoodsID.Named(fmt.Sprintf("goods_detail[%d].goods_id", i)), g.GoodsID},
			value{LimitGoodsName.Named(fmt.Sprintf("goods_detail[%d].goods_name", i)), g.GoodsName},
		); err != nil {
			return err
		}
	}
	return nil
}
