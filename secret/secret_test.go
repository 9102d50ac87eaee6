package secret_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/secret"
)

func TestSealOpen(t *testing.T) {
	box, err := secret.NewBox([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal("-----BEGIN RSA PRIVATE KEY-----\nMIIE...", "app:1:private_key")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "MIIE") || !strings.HasPrefix(sealed, "sealed:v1:") {
		t.Fatalf("sealed value leaks: %s", sealed)
	}
	got, err := box.Open(sealed, "app:1:private_key")
	if err != nil || got != "-----BEGIN RSA PRIVATE KEY-----\nMIIE..." {
		t.Fatalf("open = %q, %v", got, err)
	}
	other, _ := secret.NewBox([]byte("another master key, 32 bytes....."))
	path := filepath.Join(t.TempDir(), "key.pem")
	os.WriteFile(path, []byte("from file"), 0o600)
	for name, tc := range map[string]struct {
		box     *secret.Box
		stored  string
		purpose string
		want    string
	}{
		"moved to another record": {box, sealed, "app:2:private_key", "moved"},
		"wrong master key":        {other, sealed, "app:1:private_key", "wrong master key"},
		"corrupt":                 {box, sealed[:20], "app:1:private_key", "corrupt"},
		"plain text":              {box, "MIIEplain", "x", "neither sealed"},
		"missing file":            {box, "file:/nonexistent/key.pem", "x", "reading"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := tc.box.Open(tc.stored, tc.purpose)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if v, err := box.Open("file:"+path, "x"); err != nil || v != "from file" {
		t.Errorf("file reference: %q %v", v, err)
	}
	if _, err := secret.NewBox([]byte("short")); err == nil {
		t.Error("short master key accepted")
	}
}
