package httpapi

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/f2fpay/f2fpay"
)

// checkStrictJSON refuses what encoding/json accepts silently and a payment must not:
//
//   - a key given twice in one object. The decoder keeps the last value, so
//     {"amount":"1.00","amount":"2.00"} charges 2.00 while a log, a proxy or the
//     terminal's own check may have read 1.00. Keys are compared as the decoder
//     matches them to fields — without regard to case — so "amount" and "Amount" are
//     the same key too.
//   - a string that is not valid UTF-8, or holds an escaped lone UTF-16 surrogate
//     (\ud800). The decoder turns each into U+FFFD, so the service would store and send
//     Alipay text the terminal never sent.
//
// Every nesting level is checked, objects inside arrays included. body must already
// have decoded as one JSON value (decodeJSON checks it after json.Decoder has), so
// the scan below meets only well-formed JSON. It is one pass over bytes that are
// already bounded by the server's body limit.
func checkStrictJSON(body []byte) error {
	s := strictScanner{b: body}
	return s.value("")
}

type strictScanner struct {
	b []byte
	i int
}

func (s *strictScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value; path names it in messages ("" for the body itself).
func (s *strictScanner) value(path string) error {
	s.space()
	if s.i >= len(s.b) {
		return nil
	}
	switch s.b[s.i] {
	case '{':
		return s.object(path)
	case '[':
		s.i++
		for n := 0; ; n++ {
			s.space()
			if s.i >= len(s.b) || s.b[s.i] == ']' {
				s.i++
				return nil
			}
			if err := s.value(path + "[" + strconv.Itoa(n) + "]"); err != nil {
				return err
			}
			s.space()
			if s.i < len(s.b) && s.b[s.i] == ',' {
				s.i++
			}
		}
	case '"':
		_, err := s.str(path, false)
		return err
	}
	// A number, true, false or null: nothing to check.
	for s.i < len(s.b) && !strings.ContainsRune(",]} \t\r\n", rune(s.b[s.i])) {
		s.i++
	}
	return nil
}

func (s *strictScanner) object(path string) error {
	s.i++                       // {
	seen := map[string]string{} // folded key → the key as sent
	for {
		s.space()
		if s.i >= len(s.b) || s.b[s.i] == '}' {
			s.i++
			return nil
		}
		key, err := s.str(path, true)
		if err != nil {
			return err
		}
		folded := foldKey(key)
		if first, dup := seen[folded]; dup {
			where := "in the JSON body"
			if path != "" {
				where = "in " + strconv.Quote(path) + " of the JSON body"
			}
			if first != key {
				return f2fpay.Errorf(f2fpay.EINVALID, "duplicate key %q %s (the same field as %q: names are matched without regard to case): send each field once", key, where, first)
			}
			return f2fpay.Errorf(f2fpay.EINVALID, "duplicate key %q %s: send each field once", key, where)
		}
		seen[folded] = key
		s.space()
		if s.i < len(s.b) && s.b[s.i] == ':' {
			s.i++
		}
		if err := s.value(join(path, key)); err != nil {
			return err
		}
		s.space()
		if s.i < len(s.b) && s.b[s.i] == ',' {
			s.i++
		}
	}
}

// str scans a string at s.i (its opening quote). It returns the decoded string when
// it is a key (values need no decoding: only their validity matters).
func (s *strictScanner) str(path string, isKey bool) (string, error) {
	start := s.i
	s.i++ // "
	escaped := false
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			raw := s.b[start:s.i]
			if !isKey {
				return "", nil
			}
			if !escaped {
				return string(raw[1 : len(raw)-1]), nil
			}
			var k string
			if err := json.Unmarshal(raw, &k); err != nil {
				return "", f2fpay.Errorf(f2fpay.EINVALID, "request body is not valid JSON: %v", err)
			}
			return k, nil
		case c == '\\':
			escaped = true
			if s.i+1 < len(s.b) && s.b[s.i+1] == 'u' {
				r, ok := hex4(s.b, s.i+2)
				switch {
				case ok && utf16IsHigh(r):
					if low, ok2 := hex4(s.b, s.i+8); ok2 && s.i+7 < len(s.b) && s.b[s.i+6] == '\\' && s.b[s.i+7] == 'u' && utf16IsLow(low) {
						s.i += 12
						continue
					}
					return "", surrogateError(path, isKey, r)
				case ok && utf16IsLow(r):
					return "", surrogateError(path, isKey, r)
				}
				s.i += 6
				continue
			}
			s.i += 2
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				return "", utf8Error(path, isKey)
			}
			s.i += n
		}
	}
	return "", nil
}

func utf8Error(path string, isKey bool) error {
	switch {
	case isKey && path == "":
		return f2fpay.Errorf(f2fpay.EINVALID, "a field name in the JSON body is not valid UTF-8; send the body encoded as UTF-8")
	case isKey:
		return f2fpay.Errorf(f2fpay.EINVALID, "a field name in %q is not valid UTF-8; send the body encoded as UTF-8", path)
	case path == "":
		return f2fpay.Errorf(f2fpay.EINVALID, "the JSON body is not valid UTF-8; send it encoded as UTF-8")
	}
	return f2fpay.Errorf(f2fpay.EINVALID, "field %q is not valid UTF-8; send the text encoded as UTF-8 (a terminal sending GBK must convert it first)", path)
}

func surrogateError(path string, isKey bool, r rune) error {
	what := "field " + strconv.Quote(path)
	switch {
	case isKey && path == "":
		what = "a field name in the JSON body"
	case isKey:
		what = "a field name in " + strconv.Quote(path)
	case path == "":
		what = "the JSON body"
	}
	return f2fpay.Errorf(f2fpay.EINVALID, "%s holds \\u%04x, half of a UTF-16 surrogate pair, which is not text; send valid Unicode", what, r)
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[at:at+4]), 16, 16)
	return rune(v), err == nil
}

func utf16IsHigh(r rune) bool { return r >= 0xd800 && r < 0xdc00 }
func utf16IsLow(r rune) bool  { return r >= 0xdc00 && r < 0xe000 }

// foldKey folds a key as encoding/json folds a key to match it with a struct field
// (its foldName): each rune to the smallest rune of its case-folding orbit, so that
// "amount", "AMOUNT" and "ſubject"/"subject" fold alike.
func foldKey(k string) string {
	var b strings.Builder
	b.Grow(len(k))
	for _, r := range k {
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		b.WriteRune(r)
	}
	return b.String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
