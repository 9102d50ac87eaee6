package appkey

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "keys") // missing: WriteFiles creates it
	k := keyA()
	p, err := WriteFiles(dir, "app", k, false)
	if err != nil {
		t.Fatal(err)
	}
	if p != PathsFor(dir, "app") {
		t.Errorf("paths %+v", p)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("key directory: %v, mode %v; want 0700", err, st.Mode().Perm())
	}
	tests := []struct {
		path  string
		label string
		mode  fs.FileMode
		parse func([]byte) (any, error)
	}{
		{p.PrivatePKCS1, "RSA PRIVATE KEY", 0o600, func(b []byte) (any, error) { return x509.ParsePKCS1PrivateKey(b) }},
		{p.PrivatePKCS8, "PRIVATE KEY", 0o600, x509.ParsePKCS8PrivateKey},
		{p.Public, "PUBLIC KEY", 0o644, x509.ParsePKIXPublicKey},
	}
	for _, tt := range tests {
		st, err := os.Stat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		// Private files must be exactly 0600; the public file may lose bits to the umask.
		if tt.mode == 0o600 && st.Mode().Perm() != 0o600 || st.Mode().Perm()&^tt.mode != 0 {
			t.Errorf("%s: mode %v, want %v", tt.path, st.Mode().Perm(), tt.mode)
		}
		data, _ := os.ReadFile(tt.path)
		block, rest := pem.Decode(data)
		if block == nil || block.Type != tt.label || len(strings.TrimSpace(string(rest))) != 0 {
			t.Fatalf("%s: want one %q PEM block", tt.path, tt.label)
		}
		key, err := tt.parse(block.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		var same bool
		switch key := key.(type) {
		case *rsa.PrivateKey:
			same = key.Equal(k)
		case *rsa.PublicKey:
			same = key.Equal(&k.PublicKey)
		}
		if !same {
			t.Errorf("%s holds a different key", tt.path)
		}
	}
}

func TestWriteFilesExisting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		existing  []string // files present before, relative to the paths of "app"
		overwrite bool
		wantErr   bool
	}{
		{"nothing there", nil, false, false},
		{"private PKCS#8 there", []string{"app_private_pkcs8.pem"}, false, true},
		{"public there", []string{"app_public.pem"}, false, true},
		{"all there, overwrite", []string{"app_private_pkcs1.pem", "app_private_pkcs8.pem", "app_public.pem"}, true, false},
		{"one there, overwrite", []string{"app_private_pkcs1.pem"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, name := range tt.existing {
				// An old key file left world-readable: overwriting must not keep that mode.
				if err := os.WriteFile(filepath.Join(dir, name), []byte("old"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p, err := WriteFiles(dir, "app", keyB(), tt.overwrite)
			if tt.wantErr {
				if !errors.Is(err, ErrExist) {
					t.Fatalf("err = %v, want ErrExist", err)
				}
				entries, _ := os.ReadDir(dir)
				if len(entries) != len(tt.existing) {
					t.Errorf("a refused write left %d files behind, want the %d that were there", len(entries), len(tt.existing))
				}
				for _, name := range tt.existing {
					if data, _ := os.ReadFile(filepath.Join(dir, name)); string(data) != "old" {
						t.Errorf("%s was changed", name)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{p.PrivatePKCS1, p.PrivatePKCS8} {
				st, err := os.Stat(f)
				if err != nil || st.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v, mode %v; want 0600", f, err, st.Mode().Perm())
				}
				k, err := Parse(mustRead(t, f))
				if err != nil || !k.Private.Equal(keyB()) {
					t.Errorf("%s does not hold the new key: %v", f, err)
				}
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 3 {
				t.Errorf("%d files in the directory, want 3 (temporary files left behind?)", len(entries))
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"app", true},
		{"2021000123456789", true},
		{"shop-1.prod", true},
		{"", false},
		{"../app", false},
		{"keys/app", false},
		{`keys\app`, false},
		{".", false},
		{"..", false},
		{".hidden", false},
	}
	for _, tt := range tests {
		err := CheckName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
	if _, err := WriteFiles(t.TempDir(), "../escape", keyA(), false); err == nil {
		t.Error("WriteFiles accepted a name with a path")
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if k.N.BitLen() != Bits {
		t.Errorf("generated %d bits, want %d", k.N.BitLen(), Bits)
	}
	if err := k.Validate(); err != nil {
		t.Error(err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
