package webhook_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/webhook"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("whsec_test")
	now := time.Unix(1715593761, 0)
	body := []byte(`{"id":"evt_1","type":"payment.succeeded"}`)
	h := webhook.Sign(secret, now, body)
	if !strings.HasPrefix(h, "t=1715593761,v1=") {
		t.Fatalf("header %q", h)
	}
	if err := webhook.Verify(secret, h, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("valid webhook refused: %v", err)
	}
	rotated := h + ",v1=" + strings.Repeat("0", 64)
	if err := webhook.Verify(secret, rotated, body, now, time.Minute); err != nil {
		t.Errorf("extra v1 refused: %v", err)
	}
	tests := []struct {
		name   string
		secret string
		header string
		body   string
		at     time.Time
		want   string
	}{
		{"changed body", "whsec_test", h, `{"id":"evt_1","type":"payment.failed"}`, now, "no v1 signature matches"},
		{"other secret", "whsec_other", h, string(body), now, "no v1 signature matches"},
		{"replayed later", "whsec_test", h, string(body), now.Add(10 * time.Minute), "away from now"},
		{"from the future", "whsec_test", h, string(body), now.Add(-10 * time.Minute), "away from now"},
		{"no header", "whsec_test", "", string(body), now, "lacks"},
		{"bad timestamp", "whsec_test", "t=x,v1=00", string(body), now, "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify([]byte(tt.secret), tt.header, []byte(tt.body), tt.at, 5*time.Minute)
			if !errors.Is(err, webhook.ErrSignature) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestScheduleSpansADay(t *testing.T) {
	var total time.Duration
	for _, d := range webhook.DefaultSchedule {
		total += d
	}
	if total < 24*time.Hour {
		t.Fatalf("retries span only %s", total)
	}
}
