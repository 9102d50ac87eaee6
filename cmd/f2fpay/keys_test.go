package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// result is what one in-process run of the program produced.
type result struct {
	stdout, stderr string
	err            error
}

func (r result) exit() int {
	if r.err == nil {
		return 0
	}
	return exitCode(r.err)
}

// all is everything a user could see: both streams and the error line main prints.
func (r result) all() string {
	s := r.stdout + r.stderr
	if r.err != nil {
		s += r.err.Error()
	}
	return s
}

func runF2fpay(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{stdout.String(), stderr.String(), err}
}

// generated is a key pair made by "f2fpay keys generate" in a temporary directory.
type generated struct {
	dir               string
	pkcs1, pkcs8, pub string // file paths
	key               *rsa.PrivateKey
	line              string // the one-line public key printed
	out               result
}

func generate(t *testing.T, extra ...string) generated {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	r := runF2fpay(t, "", append([]string{"keys", "generate", "-dir", dir}, extra...)...)
	if r.err != nil {
		t.Fatalf("keys generate: %v\n%s", r.err, r.stderr)
	}
	g := generated{
		dir:   dir,
		pkcs1: filepath.Join(dir, "app_private_pkcs1.pem"),
		pkcs8: filepath.Join(dir, "app_private_pkcs8.pem"),
		pub:   filepath.Join(dir, "app_public.pem"),
		out:   r,
	}
	g.key = parsePEMKey(t, g.pkcs1, "RSA PRIVATE KEY").(*rsa.PrivateKey)
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "MII") {
			g.line = line
		}
	}
	return g
}

func parsePEMKey(t *testing.T, path, label string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != label {
		t.Fatalf("%s: want a %q PEM block", path, label)
	}
	var k any
	switch label {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		k, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return k
}

func spkiLine(t *testing.T, pub *rsa.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func TestKeysGenerate(t *testing.T) {
	t.Parallel()
	g := generate(t)
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{{g.pkcs1, 0o600}, {g.pkcs8, 0o600}, {g.pub, 0o644}} {
		st, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != f.mode && !(f.mode == 0o644 && got&^0o644 == 0) {
			t.Errorf("%s: mode %v, want %v", f.path, got, f.mode)
		}
	}
	if g.key.N.BitLen() != 2048 {
		t.Errorf("key is %d bits, want 2048", g.key.N.BitLen())
	}
	p8 := parsePEMKey(t, g.pkcs8, "PRIVATE KEY").(*rsa.PrivateKey)
	pub := parsePEMKey(t, g.pub, "PUBLIC KEY").(*rsa.PublicKey)
	if !p8.Equal(g.key) || !pub.Equal(&g.key.PublicKey) {
		t.Error("the three files do not hold one key pair")
	}
	if want := spkiLine(t, &g.key.PublicKey); g.line != want {
		t.Errorf("printed public line %q, want %q", g.line, want)
	}
	for _, s := range []string{"应用公钥", "open.alipay.com", "/sandbox/apps", "支付宝公钥", "Never upload"} {
		if !strings.Contains(g.out.stdout, s) {
			t.Errorf("instructions do not mention %q:\n%s", s, g.out.stdout)
		}
	}
	assertNoPrivate(t, g.out.all(), g.key)
}

func TestKeysGenerateForce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		existing bool
		force    bool
		wantExit int
	}{
		{"fresh directory", false, false, 0},
		{"fresh directory with -force", false, true, 0},
		{"existing files refused", true, false, 2},
		{"existing files replaced with -force", true, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			old := filepath.Join(dir, "shop_private_pkcs1.pem")
			if tt.existing {
				// An old key file left world-readable by some other tool.
				if err := os.WriteFile(old, []byte("old key"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := []string{"keys", "generate", "-dir", dir, "-name", "shop"}
			if tt.force {
				args = append(args, "-force")
			}
			r := runF2fpay(t, "", args...)
			if r.exit() != tt.wantExit {
				t.Fatalf("exit %d, want %d: %v", r.exit(), tt.wantExit, r.err)
			}
			if tt.wantExit != 0 {
				if data, _ := os.ReadFile(old); string(data) != "old key" {
					t.Error("a refused generate changed the existing file")
				}
				if !strings.Contains(r.err.Error(), "-force") || !strings.Contains(r.err.Error(), old) {
					t.Errorf("error does not name the file and -force: %v", r.err)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 1 {
					t.Errorf("a refused generate left %d files, want only the old one", len(entries))
				}
				return
			}
			st, err := os.Stat(old)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("private key file: %v, mode %v; want 0600", err, st.Mode().Perm())
			}
			k := parsePEMKey(t, old, "RSA PRIVATE KEY").(*rsa.PrivateKey)
			if !strings.Contains(r.stdout, spkiLine(t, &k.PublicKey)) {
				t.Error("the printed public key is not the one written")
			}
		})
	}
}

func TestKeysGenerateUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"name with a path", []string{"-name", "../evil"}, "contains a path"},
		{"empty name", []string{"-name", ""}, "empty"},
		{"unknown flag", []string{"-bits", "4096"}, "flag provided but not defined"},
		{"stray argument", []string{"app"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			r := runF2fpay(t, "", append([]string{"keys", "generate", "-dir", dir}, tt.args...)...)
			if r.exit() != 2 || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("exit %d, err %v; want exit 2 mentioning %q", r.exit(), r.err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a refused generate wrote %d files", len(entries))
			}
		})
	}
}

func TestKeysCheck(t *testing.T) {
	t.Parallel()
	a, b := generate(t), generate(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("-----BEGIN PUBLIC KEY-----\nthis is not base64 at all\n-----END PUBLIC KEY-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	aPKCS8Body := pemBody(t, a.pkcs8)

	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantExit int
		has      []string // substrings of stdout (white space collapsed)
		errHas   string
	}{
		{"match", "", []string{"-private", a.pkcs1, "-public", a.pub}, 0,
			[]string{"The keys match", "This is your app public key (应用公钥)", "upload it to Alipay", "a different one"}, ""},
		{"match with a one-line public key and an APPID", "", []string{"-private", a.pkcs8, "-public", a.line, "-app-id", "2021000123456789"}, 0,
			[]string{"The keys match", "of app 2021000123456789", "bare base64"}, ""},
		{"mismatch: two different generated keys", "", []string{"-private", a.pkcs1, "-public", b.line}, 1,
			[]string{"do NOT match", "Alipay public key (支付宝公钥)", "never matches your private key", a.line}, "do not match"},
		{"swapped arguments", "", []string{"-private", a.pub, "-public", a.pkcs1}, 1,
			[]string{"swapped", "The keys match"}, "swapped"},
		{"garbage file", "", []string{"-private", garbage}, 1,
			[]string{"is not a key I can read"}, "-private is not a readable key"},
		{"garbage text", "", []string{"-private", a.pkcs1, "-public", strings.Repeat("Zm9v", 40)}, 1,
			[]string{"-public (text given on the command line (160 characters)) is not a key I can read"}, "-public is not a readable key"},
		{"bare base64 private key given as text", "", []string{"-private", aPKCS8Body, "-public", a.pub}, 0,
			[]string{"text given on the command line", "PKCS#8, bare base64", "The keys match"}, ""},
		{"private key from standard input", readFile(t, a.pkcs1), []string{"-private", "-", "-public", a.pub}, 0,
			[]string{"-private: standard input", "The keys match"}, ""},
		{"private key where the public key goes", "", []string{"-public", a.pkcs8}, 1,
			[]string{"-public is a private key", "Never paste a private key"}, "-public is a private key"},
		{"public key alone", "", []string{"-public", b.pub}, 0,
			[]string{"cannot tell whether"}, ""},
		{"no keys", "", nil, 2, nil, "give -private"},
		{"missing file", "", []string{"-private", filepath.Join(a.dir, "nope.pem")}, 2, nil, "no such file"},
		{"directory", "", []string{"-private", a.dir}, 2, nil, "is a directory"},
		{"unknown flag", "", []string{"-key", a.pkcs1}, 2, nil, "flag provided but not defined"},
		{"both from standard input", "", []string{"-private", "-", "-public", "-"}, 2, nil, "only one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runF2fpay(t, tt.stdin, append([]string{"keys", "check"}, tt.args...)...)
			if r.exit() != tt.wantExit {
				t.Fatalf("exit %d, want %d (err %v)\n%s", r.exit(), tt.wantExit, r.err, r.stdout)
			}
			flat := strings.Join(strings.Fields(r.stdout), " ")
			for _, s := range tt.has {
				if !strings.Contains(flat, s) {
					t.Errorf("output does not say %q:\n%s", s, r.stdout)
				}
			}
			if tt.errHas != "" && (r.err == nil || !strings.Contains(r.err.Error(), tt.errHas)) {
				t.Errorf("error %v does not mention %q", r.err, tt.errHas)
			}
			assertNoPrivate(t, r.all(), a.key, b.key)
		})
	}
}

func TestKeysPublic(t *testing.T) {
	t.Parallel()
	g := generate(t)
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantExit int
		wantOut  string
		errHas   string
	}{
		{"PKCS#1 file", "", []string{"-private", g.pkcs1}, 0, g.line + "\n", ""},
		{"PKCS#8 file", "", []string{"-private", g.pkcs8}, 0, g.line + "\n", ""},
		{"standard input", readFile(t, g.pkcs8), []string{"-private", "-"}, 0, g.line + "\n", ""},
		{"bare base64 text", "", []string{"-private", pemBody(t, g.pkcs1)}, 0, g.line + "\n", ""},
		{"a public key", "", []string{"-private", g.pub}, 1, "", "already a public key"},
		{"garbage", "", []string{"-private", strings.Repeat("QUJD", 50)}, 1, "", "not a key I can read"},
		{"no -private", "", nil, 2, "", "give -private"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runF2fpay(t, tt.stdin, append([]string{"keys", "public"}, tt.args...)...)
			if r.exit() != tt.wantExit || r.stdout != tt.wantOut {
				t.Fatalf("exit %d, stdout %q; want %d, %q (err %v)", r.exit(), r.stdout, tt.wantExit, tt.wantOut, r.err)
			}
			if tt.errHas != "" && !strings.Contains(r.err.Error(), tt.errHas) {
				t.Errorf("error %v does not mention %q", r.err, tt.errHas)
			}
			assertNoPrivate(t, r.all(), g.key)
		})
	}
}

func TestKeysDispatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     []string
		wantExit int
	}{
		{[]string{"keys"}, 2},
		{[]string{"keys", "rotate"}, 2},
		{[]string{"keys", "help"}, 0},
		{[]string{"keys", "generate", "-h"}, 0},
	}
	for _, tt := range tests {
		r := runF2fpay(t, "", tt.args...)
		if r.exit() != tt.wantExit {
			t.Errorf("%v: exit %d, want %d (%v)", tt.args, r.exit(), tt.wantExit, r.err)
		}
		if !strings.Contains(r.stdout+r.stderr, "generate") {
			t.Errorf("%v: no usage shown", tt.args)
		}
	}
}

// TestKeysNeverPrintPrivate runs every subcommand on a key pair, including the mix-ups
// in which a private key lands where a public key belongs, and searches everything the
// user sees for the private key.
func TestKeysNeverPrintPrivate(t *testing.T) {
	t.Parallel()
	g := generate(t)
	body1, body8 := pemBody(t, g.pkcs1), pemBody(t, g.pkcs8)
	runs := [][]string{
		{"keys", "check", "-private", g.pkcs1},
		{"keys", "check", "-private", g.pkcs8, "-public", g.pub},
		{"keys", "check", "-public", g.pkcs1},
		{"keys", "check", "-public", body8},
		{"keys", "check", "-private", g.pkcs1, "-public", g.pkcs8},
		{"keys", "check", "-private", g.pub, "-public", body1},
		{"keys", "check", "-private", body1[:800]},                                         // cut off
		{"keys", "check", "-private", strings.ReplaceAll(readFile(t, g.pkcs1), "\n", " ")}, // joined
		{"keys", "check", "-private", "x" + body1},                                         // not base64
		{"keys", "public", "-private", body8},
		{"keys", "public", "-private", body1[:len(body1)-300]},
	}
	for _, args := range runs {
		r := runF2fpay(t, "", args...)
		assertNoPrivate(t, g.out.all()+r.all(), g.key)
	}
	// The check is real: it does find the key where it is.
	if !containsPrivate(body1, g.key) || !containsPrivate("the key: "+body8[len(body8)/2-10:len(body8)/2+60], g.key) {
		t.Fatal("assertNoPrivate cannot see a private key")
	}
}

// containsPrivate reports whether text holds a secret piece of k: the whole base64 body of
// either private encoding, a piece from its middle (primes and exponents, not the
// public modulus), or the private exponent in base64 or hex.
func containsPrivate(text string, k *rsa.PrivateKey) bool {
	flat := strings.ToLower(strings.Join(strings.Fields(text), ""))
	der8, _ := x509.MarshalPKCS8PrivateKey(k)
	var secrets []string
	for _, der := range [][]byte{x509.MarshalPKCS1PrivateKey(k), der8} {
		body := base64.StdEncoding.EncodeToString(der)
		secrets = append(secrets, body, body[len(body)/2:len(body)/2+48])
	}
	secrets = append(secrets, base64.StdEncoding.EncodeToString(k.D.Bytes())[:40], k.D.Text(16)[:40])
	for _, s := range secrets {
		if strings.Contains(flat, strings.ToLower(s)) {
			return true
		}
	}
	return false
}

func assertNoPrivate(t *testing.T, text string, keys ...*rsa.PrivateKey) {
	t.Helper()
	for _, k := range keys {
		if containsPrivate(text, k) {
			t.Fatalf("output contains private key material")
		}
	}
}

// pemBody returns the base64 body of a PEM file on one line.
func pemBody(t *testing.T, path string) string {
	t.Helper()
	block, _ := pem.Decode([]byte(readFile(t, path)))
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	return base64.StdEncoding.EncodeToString(block.Bytes)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
