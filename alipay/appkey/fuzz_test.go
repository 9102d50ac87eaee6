package appkey

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
)

// fuzzSeeds adds private keys made afresh (the committed corpus under testdata/fuzz holds
// only public keys, certificates and damaged text, so no private key is committed).
func fuzzSeeds(f *testing.F) []string {
	k := keyA()
	p1 := pkcs1PEM(k)
	p8 := pkcs8PEM(f, k)
	return []string{
		p1, p8,
		b64(x509.MarshalPKCS1PrivateKey(k)),
		b64(pkcs8DER(f, k)),
		strings.ReplaceAll(p1, "\n", " "),
		strings.ReplaceAll(p8, "\n", `\n`),
		spkiPEM(f, &k.PublicKey),
		"-----BEGIN RSA PRIVATE KEY-----\n" + b64(pkcs8DER(f, k)) + "\n-----END RSA PRIVATE KEY-----",
	}
}

var base64Run = regexp.MustCompile(`[A-Za-z0-9+/=]{24,}`)

// FuzzParse checks that Parse never panics, that what it returns is consistent, that
// it accepts everything f2fpay's configuration loader accepts (so `keys check` never
// calls a configured key unreadable), and that its errors never quote the input.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := Parse(data)
		if err != nil {
			msg := err.Error()
			for _, run := range base64Run.FindAll(data, -1) {
				if strings.Contains(msg, string(run)) {
					t.Fatalf("error quotes the input: %q", msg)
				}
			}
		} else {
			if k.Public == nil || k.Kind == 0 || k.Encoding == "" || k.Armour == "" {
				t.Fatalf("incomplete key: %+v", k)
			}
			if k.Kind == Private && (k.Private == nil || !k.Private.PublicKey.Equal(k.Public)) {
				t.Fatal("private key without its matching public half")
			}
			if (k.Encoding == Certificate) != (k.Cert != nil) {
				t.Fatal("certificate field does not fit the encoding")
			}
			_ = k.Describe()
		}
		if pk, cerr := alipay.ParsePrivateKey(string(data)); cerr == nil {
			if err != nil {
				t.Fatalf("the configuration loader reads a private key that Parse rejects: %v", err)
			}
			if k.Kind != Private || !k.Private.Equal(pk) {
				t.Fatalf("Parse read %s where the configuration loader reads a private key", k.Describe())
			}
		}
		if pub, cerr := alipay.ParsePublicKey(string(data)); cerr == nil && err == nil && k.Kind == Public && !bytes.Contains(data, []byte("BEGIN CERTIFICATE")) {
			if !k.Public.Equal(pub) {
				t.Fatal("Parse and the configuration loader read different public keys")
			}
		}
	})
}

// FuzzCheck checks that a report never contains the private key it was given, whatever
// slot it was given in and whatever surrounds it.
func FuzzCheck(f *testing.F) {
	seeds := fuzzSeeds(f)
	for i, s := range seeds {
		f.Add([]byte(s), []byte(seeds[(i+3)%len(seeds)]), "2021000123456789")
	}
	f.Add([]byte("garbage"), []byte(""), "")
	f.Fuzz(func(t *testing.T, priv, pub []byte, appID string) {
		req := Request{AppID: appID}
		if len(priv) > 0 {
			req.Private = &Input{Flag: "-private", Source: "fuzz", Data: priv}
		}
		if len(pub) > 0 {
			req.Public = &Input{Flag: "-public", Source: "fuzz", Data: pub}
		}
		r := Check(req)
		var buf bytes.Buffer
		if _, err := r.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		for _, in := range [][]byte{priv, pub} {
			if k, err := Parse(in); err == nil && k.Kind == Private && leaks(buf.String()+r.Summary(), k.Private) {
				t.Fatal("report contains private key material")
			}
		}
	})
}

// leaks reports whether text holds the private exponent or a piece from the middle of a
// private encoding (primes and exponents, not the public modulus).
func leaks(text string, k *rsa.PrivateKey) bool {
	flat := strings.ToLower(strings.Join(strings.Fields(text), ""))
	der8, _ := x509.MarshalPKCS8PrivateKey(k)
	secrets := []string{k.D.Text(16)}
	if d := base64.StdEncoding.EncodeToString(k.D.Bytes()); len(d) > 40 {
		secrets = append(secrets, d[4:40])
	}
	for _, der := range [][]byte{x509.MarshalPKCS1PrivateKey(k), der8} {
		body := base64.StdEncoding.EncodeToString(der)
		secrets = append(secrets, body[len(body)/2:len(body)/2+24])
	}
	for _, s := range secrets {
		if len(s) >= 16 && strings.Contains(flat, strings.ToLower(s)) {
			return true
		}
	}
	return false
}
