package member

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"text/template"
	"time"
)

// Sender sends a verification code to a phone number. Implementations must not log
// the number or the code (LogSender, for development, is the one exception).
type Sender interface {
	Send(ctx context.Context, phone, code string) error
}

// DevCodeMarker is the message LogSender logs a code under, for the demo and for
// tests that read the code from the log.
const DevCodeMarker = "DEV-ONLY sms code"

// LogSender "sends" a code by writing it to the service log, at WARN level under
// DevCodeMarker with the attribute sms_code: for development and the demo only, the
// one place in f2fpay where a code is logged. The phone number is logged masked.
type LogSender struct{ Log *slog.Logger }

// Send implements Sender.
func (s LogSender) Send(ctx context.Context, phone, code string) error {
	s.Log.WarnContext(ctx, DevCodeMarker, "phone", maskPhone(phone), "sms_code", code,
		"note", "development sender: configure -sms-url to send real messages")
	return nil
}

// HTTPSender posts each code to an SMS provider's endpoint: the body is Template
// (text/template) with {{.Phone}} and {{.Code}}, JSON-escaped, so an operator adapts
// it to the provider's API. Any 2xx answer is success. Neither the number, the code
// nor the body appear in its errors.
type HTTPSender struct {
	URL         string
	Template    *template.Template
	ContentType string            // "application/json" when ""
	Header      map[string]string // e.g. an API key
	Client      *http.Client      // a 10 s client when nil
}

// NewHTTPSender parses tmpl for url; "" is {"phone":"…","code":"…"}.
func NewHTTPSender(url, tmpl string) (*HTTPSender, error) {
	if tmpl == "" {
		tmpl = `{"phone":{{.Phone}},"code":{{.Code}}}`
	}
	t, err := template.New("sms").Parse(tmpl)
	if err != nil {
		return nil, fmt.Errorf("member: SMS template: %w", err)
	}
	return &HTTPSender{URL: url, Template: t}, nil
}

// quoted is a value that renders as a JSON string.
type quoted string

func (q quoted) String() string { b, _ := json.Marshal(string(q)); return string(b) }

// Send implements Sender.
func (s *HTTPSender) Send(ctx context.Context, phone, code string) error {
	var body bytes.Buffer
	if err := s.Template.Execute(&body, struct{ Phone, Code quoted }{quoted(phone), quoted(code)}); err != nil {
		return fmt.Errorf("member: SMS template failed")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, &body)
	if err != nil {
		return fmt.Errorf("member: SMS endpoint: bad URL")
	}
	ct := s.ContentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	for k, v := range s.Header {
		req.Header.Set(k, v)
	}
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		// The URL is the operator's; the error may quote it, never the body.
		return fmt.Errorf("member: SMS endpoint unreachable: %s", strings.ReplaceAll(err.Error(), s.URL, "<sms-url>"))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("member: SMS endpoint answered %s", resp.Status)
	}
	return nil
}

func maskPhone(p string) string {
	if len(p) < 7 {
		return "***"
	}
	return p[:3] + "****" + p[len(p)-4:]
}
