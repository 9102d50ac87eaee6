package alipay

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
)

// pemBody returns the base64 body of a PEM text, on one line.
func pemBody(t testing.TB, text string) string {
	t.Helper()
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		t.Fatal("no PEM block")
	}
	return base64.StdEncoding.EncodeToString(block.Bytes)
}

// wrapLines breaks s every n characters with sep, the way key tools and e-mail clients do.
func wrapLines(s string, n int, sep string) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n])
		b.WriteString(sep)
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestParsePrivateKeyForms(t *testing.T) {
	pkcs1PEM := string(vecRead(t, "app-private-key.pem")) // one-line body
	ref := vecPrivateKey(t, "app-private-key.pem")
	pkcs1Body := pemBody(t, pkcs1PEM)
	pkcs8DER, err := x509.MarshalPKCS8PrivateKey(ref)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8Body := base64.StdEncoding.EncodeToString(pkcs8DER)
	pkcs8PEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8DER}))

	for _, tc := range []struct{ name, in string }{
		{"PKCS#1 PEM, one-line body", pkcs1PEM},
		{"PKCS#1 PEM, 64 columns", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(ref)}))},
		{"PKCS#1 PEM with CRLF and indentation", "\r\n  " + strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(ref)})), "\n", "\r\n") + "  \r\n"},
		{"PKCS#1 bare base64", pkcs1Body},
		{"PKCS#1 bare base64, 64-column lines", wrapLines(pkcs1Body, 64, "\n")},
		{"PKCS#8 PEM", pkcs8PEM},
		{"PKCS#8 bare base64 (Java tool)", pkcs8Body},
		{"PKCS#8 bare base64, 76-column CRLF lines and spaces", " " + wrapLines(pkcs8Body, 76, "\r\n ") + "\n"},
		{"PKCS#8 body under a PKCS#1 label", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: pkcs8DER}))},
		{"bare base64, padding stripped", strings.TrimRight(pkcs8Body, "=")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParsePrivateKey(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !k.Equal(ref) {
				t.Fatal("parsed a different key")
			}
		})
	}

	// The SDK fixtures in their own files: a 64-column PKCS#1 PEM and a bare PKCS#8 body.
	for _, pair := range [][2]string{
		{"app-private-key-61eaee28.pem", "app-public-key-61eaee28.pem"},
		{"app-private-key-pkcs8.txt", "app-public-key-pkcs8.txt"},
	} {
		k := vecPrivateKey(t, pair[0])
		if pub := vecPublicKey(t, pair[1]); !k.PublicKey.Equal(pub) {
			t.Errorf("%s is not the private half of %s", pair[0], pair[1])
		}
	}
	// PublicKeyPEM writes what the fixture tools write.
	k := vecPrivateKey(t, "app-private-key-61eaee28.pem")
	if got, want := string(PublicKeyPEM(&k.PublicKey)), string(vecRead(t, "app-public-key-61eaee28.pem"))+"\n"; got != want {
		t.Errorf("PublicKeyPEM =\n%s\nwant\n%s", got, want)
	}
}

func TestParsePublicKeyForms(t *testing.T) {
	ref := vecPublicKey(t, "app-public-key.pem")
	spki := PublicKeyBase64(ref)
	for _, tc := range []struct{ name, in string }{
		{"SPKI PEM", string(vecRead(t, "app-public-key.pem"))},
		{"SPKI PEM from PublicKeyPEM", string(PublicKeyPEM(ref))},
		{"SPKI bare base64 (Alipay console)", spki},
		{"SPKI bare base64 with line breaks", wrapLines(spki, 64, "\n")},
		{"SPKI bare base64 with CRLF and tabs", "\t" + wrapLines(spki, 60, "\r\n\t") + "\r\n"},
		{"PKCS#1 RSA PUBLIC KEY PEM", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(ref)}))},
		{"PKCS#1 public bare base64", base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(ref))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub, err := ParsePublicKey(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.Equal(ref) {
				t.Fatal("parsed a different key")
			}
		})
	}
	// A certificate yields its key.
	certs, err := ParseCertificates(vecRead(t, "appCertPublicKey_2021001161683774.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(string(vecRead(t, "appCertPublicKey_2021001161683774.crt")))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(certs[0].PublicKey) {
		t.Error("certificate: parsed a different key")
	}
	// The same certificate pasted without its BEGIN/END lines.
	pub, err = ParsePublicKey(pemBody(t, string(vecRead(t, "appCertPublicKey_2021001161683774.crt"))))
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(certs[0].PublicKey) {
		t.Error("bare certificate: parsed a different key")
	}
}

func TestParseKeyErrors(t *testing.T) {
	priv := string(vecRead(t, "app-private-key.pem"))
	privBody := pemBody(t, priv)
	pkcs8Body := string(vecRead(t, "app-private-key-pkcs8.txt"))
	pub := string(vecRead(t, "app-public-key.pem"))
	pubBody := pemBody(t, pub)
	ref := vecPublicKey(t, "app-public-key.pem")
	pkcs1Pub := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(ref)}))
	cert := string(vecRead(t, "appCertPublicKey_2021001161683774.crt"))

	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecSEC1, _ := x509.MarshalECPrivateKey(ecKey)
	ecPub, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edPKCS8, _ := x509.MarshalPKCS8PrivateKey(edKey)
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}

	const (
		isPublic   = "this is a public key, not a private key"
		isPrivate  = "this is a private key where a public key is expected"
		isCertPriv = "this is a certificate, not a private key"
	)
	for _, tc := range []struct {
		name    string
		private bool // ParsePrivateKey, else ParsePublicKey
		in      string
		want    string
	}{
		{"private: empty", true, "", "private key is empty"},
		{"private: white space", true, " \n\t", "private key is empty"},
		{"private: public key PEM", true, pub, isPublic},
		{"private: public key bare base64 (pasted from the console)", true, pubBody, isPublic},
		{"private: PKCS#1 public key", true, pkcs1Pub, isPublic},
		{"private: certificate", true, cert, isCertPriv},
		{"private: broken armour", true, "-----BEGIN RSA PRIVATE KEY-----\n" + privBody[:100], "PEM armour is broken"},
		{"private: truncated body", true, privBody[:len(privBody)/2], "private key is neither PKCS#8 nor PKCS#1 RSA"},
		{"private: garbage", true, "not a key at all!", "private key is neither PEM nor base64"},
		{"private: base64 of garbage", true, base64.StdEncoding.EncodeToString([]byte("hello, alipay")), "private key is neither PKCS#8 nor PKCS#1 RSA"},
		{"private: EC key, PKCS#8", true, pemOf("PRIVATE KEY", ecPKCS8), "not RSA; Alipay app keys are RSA-2048"},
		{"private: EC key, SEC1", true, pemOf("EC PRIVATE KEY", ecSEC1), "EC key, not RSA; Alipay app keys are RSA-2048"},
		{"private: Ed25519 key", true, pemOf("PRIVATE KEY", edPKCS8), "not RSA; Alipay app keys are RSA-2048"},
		{"public: empty", false, "", "public key is empty"},
		{"public: private key PEM", false, priv, isPrivate},
		{"public: private key bare PKCS#1", false, privBody, isPrivate},
		{"public: private key bare PKCS#8", false, pkcs8Body, isPrivate},
		{"public: broken armour", false, "-----BEGIN PUBLIC KEY-----", "PEM armour is broken"},
		{"public: garbage", false, "MIIB%%%", "public key is neither PEM nor base64"},
		{"public: base64 of garbage", false, "aGVsbG8=", "not an RSA SubjectPublicKeyInfo"},
		{"public: EC public key", false, pemOf("PUBLIC KEY", ecPub), "not RSA"},
		{"public: broken certificate", false, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "certificate 1"},
		{"public: EC certificate", false, selfSignedEC(t), "not RSA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.private {
				var k any
				k, err = ParsePrivateKey(tc.in)
				if err == nil {
					t.Fatalf("accepted: %T", k)
				}
			} else {
				var k any
				k, err = ParsePublicKey(tc.in)
				if err == nil {
					t.Fatalf("accepted: %T", k)
				}
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "alipay: ") {
				t.Errorf("err = %q lacks the package prefix", err)
			}
			// A key-handling error must never echo the key text back (logs).
			if len(tc.in) > 40 && strings.Contains(err.Error(), strings.TrimSpace(tc.in)[:40]) {
				t.Errorf("error echoes the input: %q", err)
			}
		})
	}
}

// A KeySigner must never print its key, whatever the verb.
func TestKeySignerRedacted(t *testing.T) {
	key := vecPrivateKey(t, "app-private-key.pem")
	s := NewKeySigner(key)
	secret := key.D.String()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, s)
		if strings.Contains(out, secret) || strings.Contains(out, key.N.String()) || !strings.Contains(out, "redacted") {
			t.Errorf("%s prints %q", verb, out)
		}
	}
}

func FuzzParsePrivateKey(f *testing.F) {
	for _, name := range []string{"app-private-key.pem", "app-private-key-pkcs8.txt", "app-public-key.pem"} {
		b := vecRead(f, name)
		f.Add(string(b))
	}
	f.Add("")
	f.Add("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n")
	f.Add("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")
	f.Fuzz(func(t *testing.T, in string) {
		k, err := ParsePrivateKey(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "alipay: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if k == nil {
			t.Fatal("nil key without error")
		}
		if err := k.Validate(); err != nil {
			t.Fatalf("accepted an invalid key: %v", err)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	for _, name := range []string{"app-public-key.pem", "app-public-key-pkcs8.txt", "v1_alipay_public_key.txt", "alipayCertPublicKey_RSA2.crt", "app-private-key.pem"} {
		f.Add(string(vecRead(f, name)))
	}
	f.Add("")
	f.Add("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	f.Add("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA")
	f.Fuzz(func(t *testing.T, in string) {
		k, err := ParsePublicKey(in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "alipay: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if k == nil || k.N == nil || k.N.Sign() <= 0 || k.E < 2 {
			t.Fatalf("accepted an unusable key: %+v", k)
		}
	})
}
