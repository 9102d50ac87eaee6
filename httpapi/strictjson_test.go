package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/f2fpay/f2fpay"
)

func TestStrictJSON(t *testing.T) {
	tests := []struct {
		name, body string
		want       string // "" accepts; else a part of the message
	}{
		{"plain", `{"amount":"1.00","subject":"咖啡"}`, ""},
		{"escapes", `{"subject":"caf\u00e9 \ud83d\ude00 \" \\ \/"}`, ""},
		{"escaped backslash before u", `{"subject":"\\ud800"}`, ""},
		{"same key in sibling objects", `{"a":{"x":1},"b":{"x":2}}`, ""},
		{"same key in array elements", `[{"x":1},{"x":2}]`, ""},
		{"empty object and array", `{"a":{},"b":[],"c":[[]],"d":null,"e":true,"f":-1.5e3}`, ""},
		{"duplicate amount", `{"amount":"1.00","amount":"2.00"}`, `duplicate key "amount" in the JSON body: send each field once`},
		{"duplicate in another case", `{"amount":"1.00","Amount":"2.00"}`, `duplicate key "Amount" in the JSON body (the same field as "amount"`},
		{"duplicate escaped", `{"subject":"a","\u0073ubject":"b"}`, `duplicate key "subject"`},
		{"duplicate by Unicode folding", `{"subject":"a","ſubject":"b"}`, `duplicate key "ſubject"`},
		{"duplicate nested", `{"a":{"b":{"c":1,"c":2}}}`, `duplicate key "c" in "a.b" of the JSON body`},
		{"duplicate in an object in an array", `{"goods":[{"id":"1"},{"id":"2","id":"3"}]}`, `duplicate key "id" in "goods[1]"`},
		{"duplicate at top of array", `[{"k":1,"k":1}]`, `duplicate key "k" in "[0]"`},
		{"bad UTF-8 value", "{\"subject\":\"caf\xe9\"}", `field "subject" is not valid UTF-8`},
		{"truncated UTF-8", "{\"subject\":\"\xe5\x92\"}", `field "subject" is not valid UTF-8`},
		{"overlong UTF-8", "{\"subject\":\"\xc0\xaf\"}", `field "subject" is not valid UTF-8`},
		{"encoded surrogate", "{\"subject\":\"\xed\xa0\x80\"}", `field "subject" is not valid UTF-8`},
		{"bad UTF-8 nested", "{\"a\":{\"b\":[\"ok\",\"\xff\"]}}", `field "a.b[1]" is not valid UTF-8`},
		{"bad UTF-8 key", "{\"\xff\":1}", `a field name in the JSON body is not valid UTF-8`},
		{"bad UTF-8 top-level string", "\"\xff\"", `the JSON body is not valid UTF-8`},
		{"lone high surrogate", `{"subject":"\ud800"}`, `field "subject" holds \ud800`},
		{"high surrogate then text", `{"subject":"\ud83dx"}`, `field "subject" holds \ud83d`},
		{"high then high", `{"subject":"\ud83d\ud83d"}`, `holds \ud83d`},
		{"lone low surrogate", `{"subject":"\udc00"}`, `field "subject" holds \udc00`},
		{"surrogate in a key", `{"\ud800":1}`, `a field name in the JSON body holds \ud800`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			err := decodeJSON([]byte(tt.body), &v)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var fe *f2fpay.Error
			if !errors.As(err, &fe) || fe.Code != f2fpay.EINVALID || !strings.Contains(fe.Message, tt.want) {
				t.Fatalf("err %v, want EINVALID containing %q", err, tt.want)
			}
		})
	}
}

// TestStrictJSONPaymentBody: the duplicate amount of the issue is refused on the
// terminal's own request type, not charged as its last value.
func TestStrictJSONPaymentBody(t *testing.T) {
	var req paymentRequest
	err := decodeJSON([]byte(`{"amount":"1.00","subject":"tea","amount":"2.00"}`), &req)
	if f2fpay.ErrorCode(err) != f2fpay.EINVALID || !strings.Contains(err.Error(), `duplicate key "amount"`) {
		t.Fatalf("err %v", err)
	}
	err = decodeJSON([]byte("{\"amount\":\"1.00\",\"subject\":\"t\xe9a\"}"), &req)
	if f2fpay.ErrorCode(err) != f2fpay.EINVALID || !strings.Contains(err.Error(), `field "subject" is not valid UTF-8`) {
		t.Fatalf("err %v", err)
	}
}

// FuzzStrictJSON: whatever the body, decodeJSON does not panic; a refusal is EINVALID
// with a message; an accepted body is valid UTF-8 and has no key twice in any object
// (checked with a reference walk over encoding/json's tokens).
func FuzzStrictJSON(f *testing.F) {
	for _, s := range []string{
		`{"amount":"1.00","amount":"2.00"}`, `{"amount":"1.00","Amount":"2.00"}`, `{"a":[{"b":1,"b":2}]}`,
		`{"subject":"\ud800"}`, `{"subject":"\ud83d\ude00"}`, "{\"subject\":\"\xff\"}", `{"k":{"k":{"k":1}}}`,
		`[1,"x",{"a":null}]`, `{"\u0061":1,"a":2}`, `{"ſ":1,"s":2}`, `{}`, `""`, `{"a":"\\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v any
		err := decodeJSON(body, &v)
		if err != nil {
			var fe *f2fpay.Error
			if !errors.As(err, &fe) || fe.Code != f2fpay.EINVALID || strings.TrimSpace(fe.Message) == "" {
				t.Fatalf("refusal %v is not an EINVALID error with a message", err)
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
		}
		if dup := referenceDuplicate(body); dup != "" {
			t.Fatalf("accepted a duplicate key %q: %q", dup, body)
		}
	})
}

// referenceDuplicate walks the body's tokens and returns a key given twice in one
// object, compared with strings.EqualFold (the relation encoding/json matches keys
// by), or "".
func referenceDuplicate(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object bool
		keys   []string
		expect bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch x := tok.(type) {
		case json.Delim:
			switch x {
			case '{':
				if top != nil && top.object {
					top.expect = true
				}
				stack = append(stack, &frame{object: true, expect: true})
			case '[':
				if top != nil && top.object {
					top.expect = true
				}
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.object && top.expect {
				for _, k := range top.keys {
					if strings.EqualFold(k, x) {
						return x
					}
				}
				top.keys = append(top.keys, x)
				top.expect = false
				continue
			}
		}
		if top != nil && top.object {
			top.expect = true
		}
	}
}
