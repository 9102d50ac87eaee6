package alipay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Envelope is a synchronous gateway response split into its parts. Content holds the
// exact bytes of the response node's value as they appear in the body — from its '{' to
// the matching '}' — because that, and not a re-serialisation of it, is what Alipay
// signs (docs/alipay-protocol.md §3.2). Re-marshalling a decoded struct is the classic way SDKs
// break verification (key order, "\/" escapes, number formats).
type Envelope struct {
	// Node is the name of the node found: "<method>_response" or "error_response".
	Node string
	// Content is the node's value exactly as sent.
	Content []byte
	// Sign is the base64 signature, "" when the body carries none.
	Sign string
	// CertSN is alipay_cert_sn (certificate mode), "" in public-key mode.
	CertSN string
}

// ResponseNode returns the JSON key of method's response: "alipay.trade.pay" →
// "alipay_trade_pay_response".
func ResponseNode(method string) string {
	return strings.ReplaceAll(method, ".", "_") + "_response"
}

// ErrMalformedResponse is wrapped by every error about a response body that cannot be
// split into node and signature.
var ErrMalformedResponse = errors.New("alipay: malformed response")

// ParseEnvelope splits body, the response to method, into its node, signature and
// certificate serial. It accepts any key order and white space (Alipay's own layout is
// node first, then alipay_cert_sn, then sign), prefers the method's node over
// error_response, and refuses a body whose node, sign or alipay_cert_sn appears twice (a
// smuggled second node could otherwise be verified in place of the first, and SDKs
// disagree on which of two copies they read) or that answers another method. The body
// must be strict JSON (RFC 8259): Content is later decoded with encoding/json, and a node
// that verifies but cannot be decoded would fail far from its cause.
func ParseEnvelope(body []byte, method string) (*Envelope, error) {
	want := ResponseNode(method)
	s := scanner{buf: body}
	s.ws()
	if !s.eat('{') {
		return nil, s.fail("response is not a JSON object")
	}
	env := &Envelope{}
	var errContent []byte
	var other string
	seen, signSeen, certSeen := false, false, false
	s.ws()
	if s.eat('}') {
		return nil, fmt.Errorf("%w: empty JSON object", ErrMalformedResponse)
	}
	for {
		s.ws()
		key, err := s.str()
		if err != nil {
			return nil, err
		}
		s.ws()
		if !s.eat(':') {
			return nil, s.fail("expected ':' after key")
		}
		s.ws()
		start := s.pos
		if err := s.value(0); err != nil {
			return nil, err
		}
		val := body[start:s.pos]
		switch {
		case key == want:
			if seen {
				return nil, fmt.Errorf("%w: node %s appears twice", ErrMalformedResponse, want)
			}
			seen = true
			env.Content = val
		case key == "error_response":
			if errContent != nil {
				return nil, fmt.Errorf("%w: error_response appears twice", ErrMalformedResponse)
			}
			errContent = val
		case key == "sign":
			if signSeen {
				return nil, fmt.Errorf("%w: sign appears twice", ErrMalformedResponse)
			}
			signSeen = true
			if env.Sign, err = jsonString(val); err != nil {
				return nil, fmt.Errorf("%w: sign is not a string", ErrMalformedResponse)
			}
		case key == "alipay_cert_sn":
			if certSeen {
				return nil, fmt.Errorf("%w: alipay_cert_sn appears twice", ErrMalformedResponse)
			}
			certSeen = true
			if env.CertSN, err = jsonString(val); err != nil {
				return nil, fmt.Errorf("%w: alipay_cert_sn is not a string", ErrMalformedResponse)
			}
		case strings.HasSuffix(key, "_response") && other == "":
			other = key
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			break
		}
		return nil, s.fail("expected ',' or '}'")
	}
	s.ws()
	if s.pos != len(body) {
		return nil, s.fail("unexpected data after the JSON object")
	}
	switch {
	case seen:
		env.Node = want
	case errContent != nil:
		env.Node, env.Content = "error_response", errContent
	case other != "":
		return nil, fmt.Errorf("%w: expected %s but the body holds %s (a response to another method)", ErrMalformedResponse, want, other)
	default:
		return nil, fmt.Errorf("%w: no %s node", ErrMalformedResponse, want)
	}
	if len(env.Content) == 0 || (env.Content[0] != '{' && env.Content[0] != '"') {
		return nil, fmt.Errorf("%w: %s is not an object", ErrMalformedResponse, env.Node)
	}
	return env, nil
}

// AppendEnvelope appends a response body in the exact layout the real gateway uses —
// node first, alipay_cert_sn (when certSN is set) next, sign last, compact — which is the
// only layout every public SDK can slice (docs/alipay-protocol.md §3.3).
func AppendEnvelope(b []byte, node string, content []byte, certSN, sign string) []byte {
	b = append(b, `{"`...)
	b = append(b, node...)
	b = append(b, `":`...)
	b = append(b, content...)
	if certSN != "" {
		b = append(b, `,"alipay_cert_sn":`...)
		b = appendJSONString(b, certSN)
	}
	if sign != "" {
		b = append(b, `,"sign":`...)
		b = appendJSONString(b, sign)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string. Base64 signatures and hex serials never
// need escaping; anything else is escaped so the body stays valid JSON whatever a caller
// (or a fuzzer) passes.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func jsonString(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' {
		return "", errors.New("not a string")
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), nil
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err
}

// scanner is a minimal JSON tokenizer that tracks byte offsets, so values can be
// sliced out of the body exactly as sent. It validates structure (strings, nesting,
// literals, numbers) but leaves value semantics to encoding/json.
type scanner struct {
	buf []byte
	pos int
}

const maxDepth = 512

func (s *scanner) fail(msg string) error {
	if s.pos >= len(s.buf) {
		return fmt.Errorf("%w: %s at end of body (truncated?)", ErrMalformedResponse, msg)
	}
	return fmt.Errorf("%w: %s at byte %d", ErrMalformedResponse, msg, s.pos)
}

func (s *scanner) ws() {
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.pos < len(s.buf) && s.buf[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// str reads a JSON string and returns its decoded value.
func (s *scanner) str() (string, error) {
	start := s.pos
	if err := s.skipString(); err != nil {
		return "", err
	}
	v, err := jsonString(s.buf[start:s.pos])
	if err != nil {
		return "", fmt.Errorf("%w: bad string escape at byte %d", ErrMalformedResponse, start)
	}
	return v, nil
}

func (s *scanner) skipString() error {
	if !s.eat('"') {
		return s.fail("expected a string")
	}
	for s.pos < len(s.buf) {
		c := s.buf[s.pos]
		switch {
		case c == '"':
			s.pos++
			return nil
		case c == '\\':
			if err := s.escape(); err != nil {
				return err
			}
		case c < 0x20:
			return s.fail("control character in string")
		default:
			s.pos++
		}
	}
	s.pos = len(s.buf)
	return s.fail("unterminated string")
}

// escape consumes one backslash escape. Only the escapes of RFC 8259 are valid; before
// this check "\x" or a short "\u12" passed the scanner and broke encoding/json later.
func (s *scanner) escape() error {
	start := s.pos
	s.pos++ // the backslash
	if s.pos >= len(s.buf) {
		return s.fail("unterminated string")
	}
	switch s.buf[s.pos] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.pos++
		return nil
	case 'u':
		for i := 1; i <= 4; i++ {
			if s.pos+i >= len(s.buf) {
				s.pos = len(s.buf)
				return s.fail("unterminated string")
			}
			if !isHex(s.buf[s.pos+i]) {
				return fmt.Errorf("%w: bad escape at byte %d", ErrMalformedResponse, start)
			}
		}
		s.pos += 5
		return nil
	}
	return fmt.Errorf("%w: bad escape at byte %d", ErrMalformedResponse, start)
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number consumes a number of the JSON grammar:
// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
// strconv.ParseFloat, used before, also took "01" and "1." which encoding/json refuses.
func (s *scanner) number() error {
	start := s.pos
	bad := func() error { return fmt.Errorf("%w: bad number at byte %d", ErrMalformedResponse, start) }
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.pos < len(s.buf) && s.buf[s.pos] >= '1' && s.buf[s.pos] <= '9':
		s.digits()
	default:
		return bad()
	}
	if s.eat('.') && !s.digits() {
		return bad()
	}
	if s.pos < len(s.buf) && (s.buf[s.pos] == 'e' || s.buf[s.pos] == 'E') {
		s.pos++
		if !s.eat('+') {
			s.eat('-')
		}
		if !s.digits() {
			return bad()
		}
	}
	// "01", "1.2.3", "1e5e5": the number ended but number characters follow.
	if s.pos < len(s.buf) {
		switch c := s.buf[s.pos]; {
		case isDigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-':
			return bad()
		}
	}
	return nil
}

func (s *scanner) digits() bool {
	start := s.pos
	for s.pos < len(s.buf) && isDigit(s.buf[s.pos]) {
		s.pos++
	}
	return s.pos > start
}

func (s *scanner) value(depth int) error {
	if depth > maxDepth {
		return s.fail("nesting too deep")
	}
	if s.pos >= len(s.buf) {
		return s.fail("expected a value")
	}
	switch c := s.buf[s.pos]; {
	case c == '"':
		return s.skipString()
	case c == '{':
		s.pos++
		s.ws()
		if s.eat('}') {
			return nil
		}
		for {
			s.ws()
			if err := s.skipString(); err != nil {
				return err
			}
			s.ws()
			if !s.eat(':') {
				return s.fail("expected ':'")
			}
			s.ws()
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			if s.eat('}') {
				return nil
			}
			return s.fail("expected ',' or '}' in object")
		}
	case c == '[':
		s.pos++
		s.ws()
		if s.eat(']') {
			return nil
		}
		for {
			s.ws()
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.eat(',') {
				continue
			}
			if s.eat(']') {
				return nil
			}
			return s.fail("expected ',' or ']' in array")
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || isDigit(c):
		return s.number()
	default:
		return s.fail(fmt.Sprintf("unexpected character %q", c))
	}
}

func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.buf[s.pos:], []byte(lit)) {
		return s.fail("bad literal")
	}
	s.pos += len(lit)
	return nil
}
