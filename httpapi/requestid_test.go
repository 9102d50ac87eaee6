package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestRequestID: a valid X-Request-Id is echoed, in the error body and in the log
// lines of the request; an invalid one (too long, a space, non-ASCII) is replaced by
// one the service makes; every answer has one.
func TestRequestID(t *testing.T) {
	b := setup(t)
	status, h, body := b.rawAt(b.srv.URL, "GET", "/v1/payments/NOPE-1", b.termAuth(), "", nil, "X-Request-Id", "till-7:0042")
	if status != http.StatusNotFound || h.Get("X-Request-Id") != "till-7:0042" {
		t.Fatalf("status %d, X-Request-Id %q", status, h.Get("X-Request-Id"))
	}
	var eb struct {
		Error struct {
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error.RequestID != "till-7:0042" {
		t.Fatalf("error body %s: request_id %q", body, eb.Error.RequestID)
	}
	if !strings.Contains(b.logs.String(), `"request_id":"till-7:0042"`) {
		t.Errorf("no log line carries the request id:\n%s", b.logs.String())
	}
	for _, bad := range []string{strings.Repeat("x", 129), "two words", "ünïcode", ""} {
		_, h, body := b.rawAt(b.srv.URL, "GET", "/v1/payments/NOPE-1", b.termAuth(), "", nil, "X-Request-Id", bad)
		id := h.Get("X-Request-Id")
		if id == "" || id == bad || len(id) != 32 || !strings.Contains(string(body), `"request_id":"`+id+`"`) {
			t.Errorf("X-Request-Id %q: answered %q, body %s", bad, id, body)
		}
	}
	if _, h, _ := b.raw("GET", "/healthz", "", "", nil); h.Get("X-Request-Id") == "" {
		t.Error("a successful answer has no X-Request-Id")
	}
}

// TestMethodNotAllowed: a known path asked with a method it does not serve answers
// 405 with Allow, in the API's error shape; an unknown path stays 404.
func TestMethodNotAllowed(t *testing.T) {
	b := setup(t)
	for _, c := range []struct{ method, path, allow string }{
		{"DELETE", "/v1/payments/X-1", "GET, HEAD"},
		{"GET", "/v1/payments/X-1/cancel", "POST"},
		{"PUT", "/admin/merchants", "GET, HEAD, POST"},
		{"POST", "/healthz", "GET, HEAD"},
		{"DELETE", "/", "GET, HEAD"},
	} {
		status, h, body := b.raw(c.method, c.path, b.termAuth(), "", nil)
		if status != http.StatusMethodNotAllowed || h.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want 405 %q: %s", c.method, c.path, status, h.Get("Allow"), c.allow, body)
			continue
		}
		if code, _ := errorOf(t, body); code != "invalid" {
			t.Errorf("%s %s: code %q", c.method, c.path, code)
		}
	}
	if status, _, _ := b.raw("DELETE", "/no/such/path", "", "", nil); status != http.StatusNotFound {
		t.Errorf("unknown path: %d, want 404", status)
	}
}
