package f2fpay_test

import (
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// validationCase is one record and the error its Validate should give: "" for none,
// else a substring of the message (always EINVALID).
type validationCase struct {
	name string
	v    interface{ Validate() error }
	err  string
}

func runValidation(t *testing.T, tests []validationCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.v.Validate()
			if tc.err == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tc.err)
			}
			if f2fpay.ErrorCode(err) != f2fpay.EINVALID || !strings.Contains(f2fpay.ErrorMessage(err), tc.err) {
				t.Fatalf("Validate() = %v, want EINVALID containing %q", err, tc.err)
			}
		})
	}
}

func TestMerchantValidate(t *testing.T) {
	merchant := func(f func(*f2fpay.Merchant)) *f2fpay.Merchant {
		m := &f2fpay.Merchant{Name: "咖啡 Coffee", WebhookURL: "https://example.com/hook"}
		f(m)
		return m
	}
	runValidation(t, []validationCase{
		{"valid", merchant(func(*f2fpay.Merchant) {}), ""},
		{"no webhook", merchant(func(m *f2fpay.Merchant) { m.WebhookURL = "" }), ""},
		{"http webhook", merchant(func(m *f2fpay.Merchant) { m.WebhookURL = "http://10.0.0.1:8080/x" }), ""},
		{"no name", merchant(func(m *f2fpay.Merchant) { m.Name = "" }), "name is required"},
		{"name of 128 characters", merchant(func(m *f2fpay.Merchant) { m.Name = strings.Repeat("汉", 128) }), ""},
		{"name too long", merchant(func(m *f2fpay.Merchant) { m.Name = strings.Repeat("汉", 129) }), "name is 129 characters long; at most 128 are allowed"},
		{"control character", merchant(func(m *f2fpay.Merchant) { m.Name = "a\nb" }), "name contains a control character (U+000A)"},
		{"relative webhook", merchant(func(m *f2fpay.Merchant) { m.WebhookURL = "/hook" }), `webhook_url "/hook" is not an absolute http(s) URL`},
		{"ftp webhook", merchant(func(m *f2fpay.Merchant) { m.WebhookURL = "ftp://example.com/" }), "not an absolute http(s) URL"},
	})
}

func TestAppValidate(t *testing.T) {
	app := func(f func(*f2fpay.App)) *f2fpay.App {
		a := &f2fpay.App{AppID: "2021000000000001", Name: "till", Gateway: alipay.ProductionGateway, SignType: string(alipay.RSA2),
			KeyMode: f2fpay.KeyModePublicKey, SellerID: "2088000000000001"}
		f(a)
		return a
	}
	runValidation(t, []validationCase{
		{"valid", app(func(*f2fpay.App) {}), ""},
		{"RSA and cert mode", app(func(a *f2fpay.App) { a.SignType, a.KeyMode = "RSA", f2fpay.KeyModeCert }), ""},
		{"service provider", app(func(a *f2fpay.App) { a.SysServiceProviderID = "2088000000000002" }), ""},
		{"no name", app(func(a *f2fpay.App) { a.Name = "" }), ""},
		{"no app_id", app(func(a *f2fpay.App) { a.AppID = "" }), "app_id is required"},
		{"app_id too long", app(func(a *f2fpay.App) { a.AppID = strings.Repeat("1", 33) }), "app_id is 33 characters long; at most 32"},
		{"app_id with a space", app(func(a *f2fpay.App) { a.AppID = "2021 1" }), `app_id "2021 1" contains ' '`},
		{"name too long", app(func(a *f2fpay.App) { a.Name = strings.Repeat("n", 129) }), "name is 129 characters long"},
		{"no gateway", app(func(a *f2fpay.App) { a.Gateway = "" }), `gateway "" is not an absolute http(s) URL`},
		{"bad gateway", app(func(a *f2fpay.App) { a.Gateway = "openapi.alipay.com" }), "gateway"},
		{"bad sign type", app(func(a *f2fpay.App) { a.SignType = "MD5" }), `sign_type "MD5" is not supported; use RSA2`},
		{"bad seller", app(func(a *f2fpay.App) { a.SellerID = "12" }), `seller_id "12" is not an Alipay account id`},
		{"seller not 2088", app(func(a *f2fpay.App) { a.SellerID = "2099000000000001" }), "seller_id"},
		{"seller with a letter", app(func(a *f2fpay.App) { a.SellerID = "208800000000000x" }), "seller_id"},
		{"bad service provider", app(func(a *f2fpay.App) { a.SysServiceProviderID = "x" }), `sys_service_provider_id "x" is not an Alipay PID`},
		{"no key mode", app(func(a *f2fpay.App) { a.KeyMode = "" }), `key_mode "" is not known`},
		{"bad key mode", app(func(a *f2fpay.App) { a.KeyMode = "magic" }), `key_mode "magic" is not known; use "public_key"`},
	})
}

func TestStoreValidate(t *testing.T) {
	runValidation(t, []validationCase{
		{"valid", &f2fpay.Store{Code: "S-1.a_b", Name: "南京路店"}, ""},
		{"no name", &f2fpay.Store{Code: "S1"}, ""},
		{"no code", &f2fpay.Store{Name: "x"}, "code is required: up to 32 letters"},
		{"code too long", &f2fpay.Store{Code: strings.Repeat("s", 33)}, "code is 33 characters long; at most 32"},
		{"code with Chinese", &f2fpay.Store{Code: "店1"}, `code "店1" contains '店'`},
		{"name with a tab", &f2fpay.Store{Code: "S1", Name: "a\tb"}, "name contains a control character"},
	})
}

func TestTerminalValidate(t *testing.T) {
	runValidation(t, []validationCase{
		{"cashier", &f2fpay.Terminal{Code: "T1", Kind: f2fpay.TerminalCashier}, ""},
		{"vending", &f2fpay.Terminal{Code: "VM-0001", Kind: f2fpay.TerminalVending, Name: "lobby"}, ""},
		{"no code", &f2fpay.Terminal{Kind: f2fpay.TerminalCashier}, "code is required"},
		{"code too long", &f2fpay.Terminal{Code: strings.Repeat("t", 33), Kind: f2fpay.TerminalCashier}, "at most 32"},
		{"name too long", &f2fpay.Terminal{Code: "T1", Kind: f2fpay.TerminalCashier, Name: strings.Repeat("n", 129)}, "name is 129 characters long"},
		{"no kind", &f2fpay.Terminal{Code: "T1"}, `kind "" is not known`},
		{"bad kind", &f2fpay.Terminal{Code: "T1", Kind: "kiosk"}, `kind "kiosk" is not known; use "cashier" or "vending"`},
	})
}

// TestLimitsAgreeWithAlipay keeps the domain's limits on what is sent to Alipay equal
// to the SDK's, which the root package cannot import.
func TestLimitsAgreeWithAlipay(t *testing.T) {
	if f2fpay.MaxCodeLen != alipay.LimitStoreID.Max || f2fpay.MaxCodeLen != alipay.LimitTerminalID.Max {
		t.Errorf("MaxCodeLen = %d, but Alipay's store_id allows %d and terminal_id %d", f2fpay.MaxCodeLen, alipay.LimitStoreID.Max, alipay.LimitTerminalID.Max)
	}
	if f2fpay.SignTypeRSA2 != string(alipay.RSA2) || f2fpay.SignTypeRSA != string(alipay.RSA) {
		t.Errorf("sign types %q, %q differ from the SDK's %q, %q", f2fpay.SignTypeRSA2, f2fpay.SignTypeRSA, alipay.RSA2, alipay.RSA)
	}
}

func TestIsPID(t *testing.T) {
	for v, want := range map[string]bool{
		"2088000000000001": true, "2088123456789012": true,
		"": false, "2088": false, "20880000000000011": false, "3088000000000001": false, "2088 00000000001": false, "２088000000000001": false,
	} {
		if got := f2fpay.IsPID(v); got != want {
			t.Errorf("IsPID(%q) = %v, want %v", v, got, want)
		}
	}
}
