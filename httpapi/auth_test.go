package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

func TestTerminalAuth(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		body := []byte(`{"amount":"1.00","subject":"x"}`)
		other, _ := b.newTerminal("POS-2")
		disabled, _ := b.newTerminal("POS-3")
		disabledSecret := disabled.APIKey.Secret
		_, err := b.admin.SetTerminalDisabled(b.ctx, disabled.ID, true)
		b.must(err)
		tests := []struct {
			name, auth, msg string
		}{
			{"missing", "", "missing credentials"},
			{"not bearer", "Basic dXNlcjpwYXNz", "missing credentials"},
			{"no dot", "Bearer " + b.term.KeyID, "malformed API key"},
			{"unknown key", "Bearer tk_0000000000000000.secret", "not recognised"},
			{"wrong secret", "Bearer " + b.term.KeyID + ".wrong", "not recognised"},
			{"other terminal's secret", "Bearer " + b.term.KeyID + "." + other.APIKey.Secret, "not recognised"},
			{"disabled", "Bearer " + disabled.KeyID + "." + disabledSecret, "disabled"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, h, out := b.raw(http.MethodPost, "/v1/payments/qr", tt.auth, "k-"+tt.name, body)
				if status != http.StatusUnauthorized {
					t.Fatalf("status = %d, want 401: %s", status, out)
				}
				code, msg := errorOf(t, out)
				if code != client.EUNAUTHORIZED || !strings.Contains(msg, tt.msg) {
					t.Fatalf("error = %s %q, want unauthorized mentioning %q", code, msg, tt.msg)
				}
				if h.Get("WWW-Authenticate") == "" {
					t.Fatal("no WWW-Authenticate header")
				}
			})
		}
		// Re-enabled, the key works again.
		_, err = b.admin.SetTerminalDisabled(b.ctx, disabled.ID, false)
		b.must(err)
		status, _, out := b.raw(http.MethodGet, "/v1/payments/nope", "Bearer "+disabled.KeyID+"."+disabledSecret, "", nil)
		if status != http.StatusNotFound {
			t.Fatalf("enabled terminal: status %d: %s", status, out)
		}
	})
}

// TestOrderScope: a terminal sees only its own orders by default, its merchant's with
// MerchantWideTerminals, never another merchant's; all look like "not found".
func TestOrderScope(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		for _, wide := range []bool{false, true} {
			name := "own"
			var opts []option
			if wide {
				name = "merchant-wide"
				opts = append(opts, merchantWide())
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				b := setup(t, append(opts, onDB(kind))...)
				buyer := b.Buyer("100.00")
				p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("1.00"), Subject: "x"})
				b.must(err)
				_, c2 := b.newTerminal("POS-2")
				_, err = c2.Payment(b.ctx, p.OutTradeNo, 0)
				if wide && err != nil {
					t.Fatalf("merchant-wide terminal cannot see a sibling's order: %v", err)
				}
				if !wide && client.ErrorCode(err) != client.ENOTFOUND {
					t.Fatalf("sibling terminal: err = %v, want not_found", err)
				}
				_, err = c2.Refund(b.ctx, p.OutTradeNo, client.RefundRequest{RefundID: "r", Amount: amt("1.00")})
				if !wide && client.ErrorCode(err) != client.ENOTFOUND {
					t.Fatalf("sibling refund: err = %v, want not_found", err)
				}

				// Another merchant's terminal never sees it.
				m2, err := b.admin.CreateMerchant(b.ctx, client.MerchantRequest{Name: "Other"})
				b.must(err)
				st2, err := b.admin.CreateStore(b.ctx, m2.ID, "S9", "")
				b.must(err)
				ak, _ := keys()
				app2, err := b.admin.CreateApp(b.ctx, m2.ID, client.AppRequest{AppID: "2021000000000009", PrivateKey: pemPKCS8(ak), AlipayPublicKey: b.sim.AlipayPublicKey(), SellerID: "2088000000000009"})
				b.must(err)
				t2, err := b.admin.CreateTerminal(b.ctx, m2.ID, client.TerminalRequest{StoreID: st2.ID, AppID: app2.ID, Code: "X"})
				b.must(err)
				c3 := client.NewClient(b.srv.URL, t2.APIKey.KeyID, t2.APIKey.Secret, nil)
				if _, err := c3.Payment(b.ctx, p.OutTradeNo, 0); client.ErrorCode(err) != client.ENOTFOUND {
					t.Fatalf("other merchant: err = %v, want not_found", err)
				}
			})
		}
	})
}

func TestAdminAuth(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		for _, auth := range []string{"", "Bearer wrong", "Bearer " + adminToken + "x", b.termAuth()} {
			status, _, out := b.raw(http.MethodGet, "/admin/merchants", auth, "", nil)
			if status != http.StatusUnauthorized {
				t.Fatalf("auth %q: status %d: %s", auth, status, out)
			}
		}
		status, _, out := b.raw(http.MethodGet, "/admin/merchants", "Bearer "+adminToken, "", nil)
		if status != http.StatusOK || !strings.Contains(string(out), "Test Coffee") {
			t.Fatalf("admin list: %d %s", status, out)
		}
	})
}
