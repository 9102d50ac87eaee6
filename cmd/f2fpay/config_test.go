package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f2fpay.json")
	os.WriteFile(file, []byte(`{"listen":"127.0.0.1:1","query-count":9,"query-interval":"7s","admin-token":"from-file"}`), 0o600)
	env := map[string]string{
		"F2FPAY_MASTER_KEY":  "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"F2FPAY_LISTEN":      "127.0.0.1:2",
		"F2FPAY_QUERY_COUNT": "4",
		"F2FPAY_DB":          "postgres://f2fpay:hunter2@db.internal:5432/pay",
	}
	cfg, err := loadServeConfig([]string{"-config", file, "-listen", "127.0.0.1:3"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// flag > env > file > default
	if cfg.Listen != "127.0.0.1:3" || cfg.QueryCount != 4 || cfg.QueryInterval != 7*time.Second || cfg.AdminToken != "from-file" || cfg.CancelCount != 3 {
		t.Errorf("cfg = %+v", cfg)
	}
	var out bytes.Buffer
	cfg.print(&out)
	for _, secret := range []string{"hunter2", "from-file", env["F2FPAY_MASTER_KEY"]} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("printed configuration reveals %q:\n%s", secret, out.String())
		}
	}
	if !strings.Contains(out.String(), "db.internal") || !strings.Contains(out.String(), "[redacted]") {
		t.Errorf("printed configuration:\n%s", out.String())
	}
}

func TestServeConfigErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(file, []byte(`{"lisen":"x"}`), 0o600)
	key := func(k string) string {
		if k == "F2FPAY_MASTER_KEY" {
			return "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
		}
		return ""
	}
	tests := []struct {
		name   string
		args   []string
		getenv func(string) string
		want   string
	}{
		{"no master key", nil, func(string) string { return "" }, "no master key"},
		{"unknown file setting", []string{"-config", file}, key, `unknown setting "lisen"`},
		{"bad db", []string{"-db", "mysql://x"}, key, "sqlite:"},
		{"no room for nonces", []string{"-signed-nonces", "0"}, key, "-signed-nonces must be at least 1"},
		{"bad env value", nil, func(k string) string {
			if k == "F2FPAY_QUERY_COUNT" {
				return "many"
			}
			return key(k)
		}, "F2FPAY_QUERY_COUNT"},
		{"same address twice", []string{"-listen", "127.0.0.1:9000", "-admin-listen", "127.0.0.1:9000"}, key, "both 127.0.0.1:9000"},
		{"short admin token off loopback", []string{"-admin-listen", "0.0.0.0:8081", "-admin-token", "secret-admin"}, key, "head -c24 /dev/urandom | base64"},
		{"dull admin token off loopback", []string{"-admin-listen", "10.0.0.5:8081", "-admin-token", strings.Repeat("ab12", 10)}, key, "only 4 different characters"},
		{"short admin token on a public single listener", []string{"-listen", ":8080", "-admin-listen", "", "-admin-token", "x"}, key, "-listen (which serves the admin API"},
		{"negative drain delay", []string{"-drain-delay", "-1s"}, key, "-drain-delay"},
		{"unknown log level", []string{"-log-level", "loud"}, key, `-log-level "loud" is not a level`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadServeConfig(tt.args, tt.getenv, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestServeConfigAdminToken: a weak token is refused only where others can reach it.
func TestServeConfigAdminToken(t *testing.T) {
	key := func(k string) string {
		if k == "F2FPAY_MASTER_KEY" {
			return "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
		}
		return ""
	}
	strong := "q3P9vX2mK7tLw0aZ4rYb8nDc" // 24 characters, 24 different
	for _, args := range [][]string{
		{"-admin-token", "x"},                                  // default: internal listener on loopback
		{"-admin-token", "x", "-listen", "0.0.0.0:8080"},       // public listener, admin still on loopback
		{"-admin-token", "x", "-admin-listen", "[::1]:8081"},   // IPv6 loopback
		{"-admin-token", "x", "-admin-listen", "localhost:81"}, // the name
		{"-admin-token", strong, "-admin-listen", ":8081"},     // all interfaces, strong token
		{"-listen", "0.0.0.0:8080", "-admin-listen", ":8081"},  // no token: no admin API
	} {
		if _, err := loadServeConfig(args, key, io.Discard); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}
