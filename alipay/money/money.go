// Package money is the SDK's money type: an Amount is integer fen, written on Alipay's
// wire as a yuan string with at most two decimals ("88.88"), parsed from its text and
// never through a float, so 0.10 never becomes 0.1 and 0.1 is exactly 10 fen.
//
// It imports only the standard library, so every layer that handles money — the SDK
// (package alipay and its bill reader), the f2fpay service, whose root package aliases
// Amount, and your own code — shares one type without depending on anything else.
package money

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Amount is a sum of money in fen (分, 1/100 yuan). Alipay speaks yuan strings with
// at most two decimals ("88.88", "0.1", "100"); the SDK and the f2fpay service keep
// money only as this integer, so no float ever rounds a payment. The zero value is 0.00 yuan.
type Amount int64

const (
	// Fen is one fen, the smallest unit Alipay accepts.
	Fen Amount = 1
	// Yuan is one yuan.
	Yuan Amount = 100
	// MinAmount is the smallest amount Alipay accepts for a trade or refund (0.01).
	MinAmount Amount = 1
	// MaxAmount is the largest amount Alipay accepts for a trade (100000000.00 yuan).
	MaxAmount Amount = 100_000_000 * Yuan
)

// Error says why a money string was refused, quoting it so the user can find it.
type Error struct {
	Input  string
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid amount %q: %s", e.Input, e.Reason)
}

// Parse parses a yuan string as Alipay writes it: digits, optionally a dot and
// one or two decimals. It accepts 0.00 (responses carry "0.00" for unpaid parts) up to
// MaxAmount. It refuses signs, exponents, spaces, thousands separators, a bare or
// trailing dot, more than two decimals and leading zeros such as "007" — each with a
// message that says what to write instead. Use CheckTrade for the 0.01 lower limit.
func Parse(s string) (Amount, error) {
	return parse(s, false)
}

// ParseSigned is Parse that also accepts a leading '-', as the refund rows of
// Alipay's bill files carry ("-0.12"). The magnitude has the same limits.
func ParseSigned(s string) (Amount, error) {
	return parse(s, true)
}

func parse(s string, signed bool) (Amount, error) {
	in := s
	if s == "" {
		return 0, &Error{in, "empty; write yuan with up to two decimals, e.g. \"88.88\""}
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		if s[0] == '+' || !signed {
			return 0, &Error{in, "sign not allowed; amounts are written without + or -"}
		}
		neg = true
		s = s[1:]
	}
	intPart, frac := s, ""
	dot := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c == '.':
			if dot >= 0 {
				return 0, &Error{in, "more than one decimal point"}
			}
			dot = i
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return 0, &Error{in, "contains white space; remove it"}
		case c == 'e' || c == 'E':
			return 0, &Error{in, "exponent notation is not allowed; write plain yuan, e.g. \"100.00\""}
		case c == ',':
			return 0, &Error{in, "thousands separators are not allowed"}
		default:
			return 0, &Error{in, fmt.Sprintf("unexpected character %q; only digits and one '.' are allowed", c)}
		}
	}
	if dot >= 0 {
		intPart, frac = s[:dot], s[dot+1:]
		if frac == "" {
			return 0, &Error{in, "nothing after the decimal point; write e.g. \"1.00\" or \"1\""}
		}
	}
	if intPart == "" {
		return 0, &Error{in, "no digits before the decimal point; write e.g. \"0.50\""}
	}
	if len(frac) > 2 {
		return 0, &Error{in, "more than two decimals; Alipay amounts are in yuan with at most two decimals (fen)"}
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return 0, &Error{in, "leading zero; write e.g. \"7.00\", not \"07.00\""}
	}
	if len(intPart) > 9 { // 100000000 has 9 digits; anything longer is over the limit
		return 0, &Error{in, "exceeds the maximum of 100000000.00 yuan"}
	}
	yuan, _ := strconv.ParseInt(intPart, 10, 64) // at most 9 digits: cannot fail or overflow
	var fen int64
	switch len(frac) {
	case 1:
		fen = int64(frac[0]-'0') * 10
	case 2:
		fen = int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	}
	a := Amount(yuan*100 + fen)
	if a > MaxAmount {
		return 0, &Error{in, "exceeds the maximum of 100000000.00 yuan"}
	}
	if neg {
		a = -a
	}
	return a, nil
}

// MustParse is Parse for constants in tests and examples; it panics on error.
func MustParse(s string) Amount {
	a, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return a
}

// CheckTrade reports whether a is an amount Alipay accepts for a trade, refund or
// royalty: between 0.01 and 100000000.00 yuan.
func (a Amount) CheckTrade() error {
	switch {
	case a < 0:
		return &Error{a.String(), "negative; amounts must be at least 0.01"}
	case a < MinAmount:
		return &Error{a.String(), "zero; amounts must be at least 0.01"}
	case a > MaxAmount:
		return &Error{a.String(), "exceeds the maximum of 100000000.00 yuan"}
	}
	return nil
}

// String formats the amount as Alipay does: yuan with exactly two decimals ("0.10").
func (a Amount) String() string {
	var buf [24]byte
	return string(a.AppendTo(buf[:0]))
}

// AppendTo appends the two-decimal yuan form of a to b, without allocating.
func (a Amount) AppendTo(b []byte) []byte {
	v := int64(a)
	if v < 0 {
		b = append(b, '-')
		if v == -v { // math.MinInt64 has no positive twin; format via uint64
			u := uint64(v)
			b = strconv.AppendUint(b, u/100, 10)
			return append(b, '.', byte('0'+u%100/10), byte('0'+u%10))
		}
		v = -v
	}
	b = strconv.AppendInt(b, v/100, 10)
	return append(b, '.', byte('0'+v%100/10), byte('0'+v%10))
}

// MarshalJSON writes the amount as a JSON string, "88.88", which is what Alipay sends and
// expects.
func (a Amount) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 16)
	b = append(b, '"')
	b = a.AppendTo(b)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a JSON string ("88.88") or a JSON number (88.88, as in Alipay's
// own documentation samples). Numbers are parsed from their text, never through float64,
// so 0.1 is exactly 10 fen. Negative amounts are accepted here only because bills and
// refund records carry them; callers that need a payable amount use CheckTrade.
func (a *Amount) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		s, ok := plainString(data)
		if !ok {
			var err error
			if s, err = decodeString(data); err != nil {
				return err
			}
		}
		v, err := ParseSigned(s)
		if err != nil {
			return err
		}
		*a = v
		return nil
	}
	if string(data) == "null" {
		return nil
	}
	v, err := ParseSigned(string(data))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// plainString returns the text of a JSON string that has no escapes and only
// printable ASCII ("88.88", as every amount Alipay sends), which is the bytes between
// its quotes: what json.Unmarshal would decode it to, without the decoder's
// allocations (every amount of every answer comes through here). ok is false for
// anything else, which json.Unmarshal then decodes or refuses.
func plainString(data []byte) (string, bool) {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return "", false
	}
	in := data[1 : len(data)-1]
	for _, c := range in {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(in), true
}

// decodeString is json.Unmarshal into a string, in a function of its own so that the
// string it fills is on the heap only when it runs (UnmarshalJSON's own variables
// stay on the stack).
func decodeString(data []byte) (string, error) {
	var s string
	err := json.Unmarshal(data, &s)
	return s, err
}

// MarshalText and UnmarshalText let amounts live in forms, query strings and configs.
func (a Amount) MarshalText() ([]byte, error) { return a.AppendTo(nil), nil }

// UnmarshalText parses the yuan form; see ParseSigned.
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := ParseSigned(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
