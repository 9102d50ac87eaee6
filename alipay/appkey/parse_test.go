package appkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func TestParseForms(t *testing.T) {
	t.Parallel()
	k := keyA()
	p1 := pkcs1PEM(k)
	p8 := pkcs8PEM(t, k)
	spki := spkiPEM(t, &k.PublicKey)
	p1body := b64(x509.MarshalPKCS1PrivateKey(k))
	p8body := b64(pkcs8DER(t, k))
	spkiBody := b64(spkiDER(t, &k.PublicKey))
	pkcs1Pub := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.PublicKey)}))
	cert := certPEM(t, &k.PublicKey, k, "shop", "Example Ltd", false, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))

	tests := []struct {
		name    string
		in      string
		kind    Kind
		enc     Encoding
		armour  Armour
		noteHas string // "" means: no notes expected
	}{
		{"PKCS#1 PEM", p1, Private, PKCS1, PEM, ""},
		{"PKCS#8 PEM", p8, Private, PKCS8, PEM, ""},
		{"SPKI PEM", spki, Public, SPKI, PEM, ""},
		{"PKCS#1 public PEM", pkcs1Pub, Public, PKCS1, PEM, ""},
		{"certificate PEM", cert, Public, Certificate, PEM, ""},
		{"PKCS#1 bare base64", p1body, Private, PKCS1, Base64, ""},
		{"PKCS#8 bare base64", p8body, Private, PKCS8, Base64, ""},
		{"SPKI bare base64 (Alipay console form)", spkiBody, Public, SPKI, Base64, ""},
		{"base64 wrapped at 64 with CRLF", wrap(p8body, 64, "\r\n"), Private, PKCS8, Base64, ""},
		{"base64 surrounded by spaces", "  \n" + spkiBody + "\n\n", Public, SPKI, Base64, ""},
		{"UTF-8 BOM", "\xef\xbb\xbf" + spki, Public, SPKI, PEM, ""},
		{"binary DER", string(pkcs8DER(t, k)), Private, PKCS8, DER, ""},
		{"base64 without padding", strings.TrimRight(p8body, "="), Private, PKCS8, Base64, ifPadded(p8body, "padding")},
		{"URL-safe base64", base64.RawURLEncoding.EncodeToString(spkiDER(t, &k.PublicKey)), Public, SPKI, Base64, "URL-safe"},
		{"PEM joined on one line", strings.ReplaceAll(p1, "\n", " "), Private, PKCS1, PEM, "joined"},
		{"PEM joined without spaces", strings.ReplaceAll(p1, "\n", ""), Private, PKCS1, PEM, "joined"},
		{`PEM with \n escapes`, strings.ReplaceAll(p8, "\n", `\n`), Private, PKCS8, PEM, `"\n" escapes`},
		{`base64 with \n escapes`, wrap(p8body, 64, `\n`), Private, PKCS8, Base64, `"\n" escapes`},
		{"PKCS#8 body under a PKCS#1 label", "-----BEGIN RSA PRIVATE KEY-----\n" + wrap(p8body, 64, "\n") + "\n-----END RSA PRIVATE KEY-----\n", Private, PKCS8, PEM, `label should be "PRIVATE KEY"`},
		{"PKCS#1 body under a PKCS#8 label", "-----BEGIN PRIVATE KEY-----\n" + wrap(p1body, 64, "\n") + "\n-----END PRIVATE KEY-----\n", Private, PKCS1, PEM, `label should be "RSA PRIVATE KEY"`},
		{"two blocks, first is read", spki + cert, Public, SPKI, PEM, "2 PEM blocks"},
		{"text around PEM (OpenSSL bag attributes)", "Bag Attributes\n    localKeyID: 01\n" + p8, Private, PKCS8, PEM, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Kind != tt.kind || got.Encoding != tt.enc || got.Armour != tt.armour {
				t.Errorf("got %v %v %v, want %v %v %v", got.Kind, got.Encoding, got.Armour, tt.kind, tt.enc, tt.armour)
			}
			if !got.Public.Equal(&k.PublicKey) {
				t.Error("parsed a different public key")
			}
			if tt.kind == Private && !got.Private.Equal(k) {
				t.Error("parsed a different private key")
			}
			if got.Bits() != 2048 {
				t.Errorf("Bits = %d", got.Bits())
			}
			notes := strings.Join(got.Notes, " | ")
			if tt.noteHas == "" && notes != "" {
				t.Errorf("unexpected notes: %s", notes)
			}
			if tt.noteHas != "" && !strings.Contains(notes, tt.noteHas) {
				t.Errorf("notes %q do not mention %q", notes, tt.noteHas)
			}
			if d := got.Describe(); !strings.Contains(d, got.Fingerprint()) || !strings.Contains(d, string(tt.enc)) {
				t.Errorf("Describe() = %q", d)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	k := keyA()
	p8body := b64(pkcs8DER(t, k))
	spkiBody := b64(spkiDER(t, &k.PublicKey))
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	ec8DER, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPubDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	encrypted := "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n" + wrap(p8body, 64, "\n") + "\n-----END RSA PRIVATE KEY-----\n"

	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "empty"},
		{"white space only", " \n\t ", "empty"},
		{"prose", "this is my alipay key, copied from the console!", "neither a PEM block nor base64"},
		{"short base64", "hello world", "far too short"},
		{"public key cut off", spkiBody[:200], "cut off"},
		{"private key cut off", p8body[:1000], "cut off"},
		{"half a PEM block", "-----BEGIN PRIVATE KEY-----\n" + wrap(p8body[:500], 64, "\n") + "\n", "no complete PEM block"},
		{"mismatched BEGIN/END on one line", "-----BEGIN PRIVATE KEY-----" + p8body + "-----END PUBLIC KEY-----", "do not pair up"},
		{"encrypted PKCS#8", string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0}})), "passphrase"},
		{"encrypted PKCS#1", encrypted, "passphrase"},
		{"OpenSSH key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n", "OpenSSH"},
		{"CSR", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{0x30, 0}})), "certificate signing request"},
		{"EC private key (SEC 1)", b64(ecDER), "EC private key"},
		{"EC private key (PKCS#8)", b64(ec8DER), "ECDSA private key, not RSA"},
		{"EC public key", b64(ecPubDER), "ECDSA public key, not RSA"},
		{"random bytes as base64", b64(make([]byte, 300)), "not an RSA key or certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded (%s), want an error mentioning %q", got.Describe(), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			// The input may be (part of) a private key: it must never be quoted back.
			if len(tt.in) > 20 && strings.Contains(err.Error(), strings.TrimSpace(tt.in)[:20]) {
				t.Errorf("error quotes the input: %q", err)
			}
		})
	}
}

func TestFingerprintSameForPrivateAndPublic(t *testing.T) {
	t.Parallel()
	priv, err := Parse([]byte(pkcs1PEM(keyA())))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := Parse([]byte(b64(spkiDER(t, &keyA().PublicKey))))
	if err != nil {
		t.Fatal(err)
	}
	other, err := Parse([]byte(spkiPEM(t, &keyB().PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	if priv.Fingerprint() != pub.Fingerprint() || !priv.Matches(pub) {
		t.Errorf("a private key and its public half differ: %s vs %s", priv.Fingerprint(), pub.Fingerprint())
	}
	if priv.Fingerprint() == other.Fingerprint() || priv.Matches(other) {
		t.Errorf("two different keys look the same: %s", other.Fingerprint())
	}
	if !strings.HasPrefix(priv.Fingerprint(), "sha256:") || len(priv.Fingerprint()) != len("sha256:")+16 {
		t.Errorf("fingerprint %q has the wrong shape", priv.Fingerprint())
	}
}

func wrap(s string, n int, sep string) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n])
		b.WriteString(sep)
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

// ifPadded returns note if body ends in base64 padding, which depends on the random
// key's length, and "" (no note expected) otherwise.
func ifPadded(body, note string) string {
	if strings.HasSuffix(body, "=") {
		return note
	}
	return ""
}

// TestParseSkipsUnreadableCertificates mimics Alipay's root bundle, whose first
// certificates may be ones Go cannot read (SM2).
func TestParseSkipsUnreadableCertificates(t *testing.T) {
	t.Parallel()
	k := keyA()
	bogus := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}}))
	cert := certPEM(t, &k.PublicKey, k, "Root", "Ant", true, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	got, err := Parse([]byte(bogus + cert))
	if err != nil {
		t.Fatal(err)
	}
	if got.Encoding != Certificate || !got.Public.Equal(&k.PublicKey) || !strings.Contains(strings.Join(got.Notes, " "), "skipped 1 certificate") {
		t.Errorf("got %s, notes %q", got.Describe(), got.Notes)
	}
	if _, err := Parse([]byte(bogus)); err == nil {
		t.Error("a lone unreadable certificate was accepted")
	}
}

// TestParseDERWithWhitespaceLastByte: binary DER whose last byte is a whitespace byte
// (0x0a, 0x20, …) is read whole. Parse used to trim the input first, cutting such a
// key by a byte ("it is cut off") for about one random key in 40.
func TestParseDERWithWhitespaceLastByte(t *testing.T) {
	for found := 0; found < 3; {
		k, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		der := pkcs8DER(t, k)
		if last := der[len(der)-1]; last != '\n' && last != ' ' && last != '\t' && last != '\r' && last != '\v' && last != '\f' {
			continue
		}
		found++
		got, err := Parse(der)
		if err != nil {
			t.Fatalf("Parse of DER ending in %#x: %v", der[len(der)-1], err)
		}
		if !got.Public.Equal(&k.PublicKey) {
			t.Fatal("parsed a different public key")
		}
	}
}
