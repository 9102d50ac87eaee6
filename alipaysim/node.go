package alipaysim

import (
	"bytes"
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// Result codes and messages of the gateway (docs/alipay-protocol.md §5.1). Note the leading space in
// 10003's msg: it is what Alipay sends.
const (
	codeSuccess    = "10000"
	codePaying     = "10003"
	codeUnknown    = "20000"
	codeMissing    = "40001"
	codeInvalid    = "40002"
	codeBizFailed  = "40004"
	msgSuccess     = "Success"
	msgPaying      = " order success pay inprocess"
	msgUnknown     = "Service Currently Unavailable"
	msgMissing     = "Missing Required Arguments"
	msgInvalid     = "Invalid Arguments"
	msgBizFailed   = "Business Failed"
	errorNode      = "error_response"
	maxRequestSize = 1 << 20
)

// node is a response node: code, msg, sub_code and sub_msg first, then the other fields
// in alphabetical order, which is how the real gateway lays them out.
type node struct {
	Code, Msg, SubCode, SubMsg string
	Fields                     map[string]any
}

func success() *node { return &node{Code: codeSuccess, Msg: msgSuccess, Fields: map[string]any{}} }

func bizError(subCode, subMsg string) *node {
	return &node{Code: codeBizFailed, Msg: msgBizFailed, SubCode: subCode, SubMsg: subMsg, Fields: map[string]any{}}
}

func gatewayError(code, subCode, subMsg string) *node {
	msg := msgInvalid
	switch code {
	case codeMissing:
		msg = msgMissing
	case codeUnknown:
		msg = msgUnknown
	}
	return &node{Code: code, Msg: msg, SubCode: subCode, SubMsg: subMsg, Fields: map[string]any{}}
}

// set adds a field unless the value is empty: Alipay omits absent fields rather than
// sending "" or null.
func (n *node) set(key string, v any) *node {
	switch x := v.(type) {
	case string:
		if x == "" {
			return n
		}
	case nil:
		return n
	}
	n.Fields[key] = v
	return n
}

// encode writes the node compactly, without HTML escaping and without escaping '/',
// exactly as the bytes to sign.
func (n *node) encode() []byte {
	var buf bytes.Buffer
	buf.Grow(256)
	buf.WriteByte('{')
	first := true
	field := func(k string, v any) {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		appendJSONString(&buf, k)
		buf.WriteByte(':')
		if s, ok := v.(string); ok {
			appendJSONString(&buf, s)
			return
		}
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			buf.WriteString(`null`)
			return
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
	if n.Code != "" {
		field("code", n.Code)
		field("msg", n.Msg)
	}
	if n.SubCode != "" {
		field("sub_code", n.SubCode)
		field("sub_msg", n.SubMsg)
	}
	keys := make([]string, 0, len(n.Fields))
	for k := range n.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		field(k, n.Fields[k])
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// appendJSONString quotes s as JSON without escaping '<', '>', '&' or '/': the real
// gateway sends Chinese text and URLs raw. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(buf *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf.WriteByte('\\')
				buf.WriteByte(c)
			case c == '\n':
				buf.WriteString(`\n`)
			case c == '\r':
				buf.WriteString(`\r`)
			case c == '\t':
				buf.WriteString(`\t`)
			case c < 0x20:
				buf.WriteString(`\u00`)
				buf.WriteByte(hex[c>>4])
				buf.WriteByte(hex[c&0xf])
			default:
				buf.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf.WriteString("\ufffd")
		} else if r == '\u2028' || r == '\u2029' {
			buf.WriteString(`\u202`)
			buf.WriteByte(hex[r&0xf])
		} else {
			buf.WriteString(s[i : i+size])
		}
		i += size
	}
	buf.WriteByte('"')
}
