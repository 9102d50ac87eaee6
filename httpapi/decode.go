package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// readBody reads the whole body, bounded by the server's limit. Terminals on weak
// networks retry; an unbounded body would let one broken device exhaust memory.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, withStatus(http.StatusRequestEntityTooLarge, f2fpay.EINVALID,
			"request body exceeds %d bytes; send only the documented fields", s.maxBody)
	case err != nil:
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "reading the request body failed: %v; resend the request", err)
	}
	return b, nil
}

// decodeJSON decodes body into v, refusing unknown fields, trailing data, wrong types,
// duplicate keys and text that is not valid UTF-8 (checkStrictJSON) with a message
// that names the field and what to send. An empty body is "{}".
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return f2fpay.Errorf(f2fpay.EINVALID, "request body has data after the JSON object; send exactly one JSON object")
	}
	return checkStrictJSON(body)
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return f2fpay.Errorf(f2fpay.EINVALID, "request body is not valid JSON (at byte %d: %v); send a JSON object such as {\"amount\": \"88.88\"}", se.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return f2fpay.Errorf(f2fpay.EINVALID, "request body is truncated JSON; send a complete JSON object")
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return f2fpay.Errorf(f2fpay.EINVALID, "request body must be a JSON object, not a JSON %s", te.Value)
		}
		return f2fpay.Errorf(f2fpay.EINVALID, "field %q must be a %s, not a JSON %s", field, jsonKind(te.Type.Kind().String()), te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return f2fpay.Errorf(f2fpay.EINVALID, "unknown field %s; check its spelling against docs/api.md", name)
	}
	return f2fpay.Errorf(f2fpay.EINVALID, "request body could not be read as JSON: %v", err)
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string (amounts are strings too, e.g. \"88.88\")"
	case "int", "int64", "int32":
		return "whole number"
	case "bool":
		return "boolean"
	}
	return k
}

// parseAmountField parses a money string of the terminal API: yuan with at most two
// decimals, between 0.01 and 100000000.00. Strings, not JSON numbers, so that no
// client library's float ever touches money.
func parseAmountField(field, v string) (f2fpay.Amount, error) {
	if v == "" {
		return 0, f2fpay.Errorf(f2fpay.EINVALID, "%s is required: the amount in yuan as a string with at most two decimals, e.g. \"88.88\"", field)
	}
	a, err := f2fpay.ParseAmount(v)
	if err == nil {
		err = a.CheckTrade()
	}
	if err != nil {
		return 0, f2fpay.Errorf(f2fpay.EINVALID, "%s: %v", field, err)
	}
	return a, nil
}

// checkAlipayText checks a free-text field the service sends on to Alipay: CheckText's
// rules, with the length counted as Alipay counts it — GBK bytes, 2 per Chinese
// character (alipay/limits.go) — so that a terminal is refused here, before the
// buyer's payment code is used, rather than by Alipay after it.
func checkAlipayText(field, v string, required bool, limit alipay.Limit) error {
	if err := f2fpay.CheckText(field, v, required, math.MaxInt); err != nil {
		return err
	}
	if err := limit.Named(field).Check(v); err != nil {
		return f2fpay.Errorf(f2fpay.EINVALID, "%s", err.Error())
	}
	return nil
}

func fieldf(field, format string, args ...any) error {
	return f2fpay.Errorf(f2fpay.EINVALID, "%s %s", field, fmt.Sprintf(format, args...))
}
