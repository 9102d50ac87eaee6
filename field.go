package f2fpay

import "net/url"

// The rules for the texts, identifiers and URLs f2fpay keeps, shared by the domain
// types' Validate methods and the HTTP API's request checks, so that a rule and its
// message live in one place. Alipay's own limits (lengths as Alipay counts them) are
// the SDK's: package alipay, limits.go.

// CheckText checks a free-text field: required or not, at most max characters, and
// free of control characters that would corrupt receipts and logs.
func CheckText(field, v string, required bool, max int) error {
	if v == "" {
		if required {
			return Errorf(EINVALID, "%s is required", field)
		}
		return nil
	}
	if n := len([]rune(v)); n > max {
		return Errorf(EINVALID, "%s is %d characters long; at most %d are allowed", field, n, max)
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			return Errorf(EINVALID, "%s contains a control character (%U); send plain text", field, c)
		}
	}
	return nil
}

// CheckID checks an identifier: letters, digits, '_', '-' and '.', at most max of
// them, as Alipay accepts them in out_trade_no, out_request_no, store_id and
// terminal_id.
func CheckID(field, v string, required bool, max int) error {
	if v == "" {
		if required {
			return Errorf(EINVALID, "%s is required: up to %d letters, digits, '_', '-' or '.'", field, max)
		}
		return nil
	}
	if len(v) > max {
		return Errorf(EINVALID, "%s is %d characters long; at most %d are allowed", field, len(v), max)
	}
	for _, c := range v {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.') {
			return Errorf(EINVALID, "%s %q contains %q; use only letters, digits, '_', '-' and '.'", field, v, c)
		}
	}
	return nil
}

// CheckHTTPURL checks a URL the service calls (a webhook, a gateway): absolute, http
// or https.
func CheckHTTPURL(field, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Errorf(EINVALID, "%s %q is not an absolute http(s) URL; write it like https://example.com/path", field, v)
	}
	return nil
}

// IsPID reports whether v is an Alipay account id (a PID, or a buyer's user id):
// "2088" and 12 more digits.
func IsPID(v string) bool {
	if len(v) != 16 || v[:4] != "2088" {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
