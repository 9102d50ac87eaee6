package alipay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

// V6: certificate SNs of docs/alipay-protocol.md §4.2, the values the Node, Java and Go SDKs compute
// for the same files. The root bundle holds an SM2 root Go cannot parse and an ECDSA root;
// both must be skipped without failing.
func TestCertSNVectors(t *testing.T) {
	for _, tc := range []struct {
		file, want string
	}{
		{"appCertPublicKey_2021001161683774.crt", "866efef280dec9137a87d047ac446315"},
		{"alipayCertPublicKey_RSA2.crt", "7513daaaa48aa3ba2e4018d84402479c"},
		{"gopay_appPublicCert.crt", "f5476a255774929671073404f7af2b90"},
		{"gopay_alipayPublicCert.crt", "b09baa7d1d5b198c713b230c5a6ec8e7"}, // first of two
	} {
		certs, err := ParseCertificates(vecRead(t, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if got := CertSN(certs[0]); got != tc.want {
			t.Errorf("CertSN(%s) = %s, want %s", tc.file, got, tc.want)
		}
	}

	root := vecRead(t, "alipayRootCert.crt")
	const wantRoot = "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"
	got, err := RootCertSN(root)
	if err != nil {
		t.Fatal(err)
	}
	if got != wantRoot {
		t.Errorf("RootCertSN = %s, want %s", got, wantRoot)
	}
	// The bundle really holds a certificate Go cannot parse: ParseCertificates must say so
	// (it is for app/Alipay certificates, not for the root bundle).
	if _, err := ParseCertificates(root); err == nil {
		t.Error("ParseCertificates accepted the bundle with an SM2 certificate")
	}
	// RootCertificates keeps what Go can read: RSA R1, ECDSA E1 and iTrusChina G3.
	if n := len(RootCertificates(root).Subjects()); n != 3 { //nolint:staticcheck // counting only
		t.Errorf("RootCertificates kept %d certificates, want 3", n)
	}
	// The Alipay public-key certificate's key is what verifies responses in cert mode.
	pub, err := ParsePublicKey(string(vecRead(t, "alipayCertPublicKey_RSA2.crt")))
	if err != nil {
		t.Fatal(err)
	}
	if pub.N.BitLen() != 2048 {
		t.Errorf("key size %d", pub.N.BitLen())
	}
}

func TestCertErrors(t *testing.T) {
	ecCert := selfSignedEC(t)
	for _, tc := range []struct {
		name, in, want string
		root           bool
	}{
		{name: "empty", in: "", want: "no PEM certificate"},
		{name: "a key, not a certificate", in: string(vecRead(t, "app-public-key.pem")), want: "no PEM certificate"},
		{name: "garbage in armour", in: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", want: "certificate 1"},
		{name: "root bundle empty", in: "", root: true, want: "no RSA certificate"},
		{name: "root bundle of one ECDSA root", in: ecCert, root: true, want: "no RSA certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.root {
				_, err = RootCertSN([]byte(tc.in))
			} else {
				_, err = ParseCertificates([]byte(tc.in))
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	// ParsePublicKey on a certificate with a non-RSA key names the problem.
	if _, err := ParsePublicKey(ecCert); err == nil || !strings.Contains(err.Error(), "not RSA") {
		t.Errorf("EC certificate: err = %v", err)
	}
}

// CertSN must hash the RFC 2253 issuer text plus the decimal serial; check against a
// certificate whose issuer and serial we choose.
func TestCertSNDefinition(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(12345678901234),
		Subject: pkix.Name{
			Country: []string{"CN"}, Organization: []string{"Ant Financial"},
			OrganizationalUnit: []string{"Certification Authority"},
			CommonName:         "Ant Financial Certification Authority Class 2 R1",
		},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1e9, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	// echo -n "CN=Ant Financial Certification Authority Class 2 R1,OU=Certification Authority,O=Ant Financial,C=CN12345678901234" | md5sum
	const want = "a1599c3c3ac2edebdcd2970298e640f4"
	if got := CertSN(c); got != want {
		t.Errorf("CertSN = %s, want %s (issuer text %q)", got, want, c.Issuer.String())
	}
}

func selfSignedEC(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ec root"},
		NotBefore:    time.Unix(0, 0), NotAfter: time.Unix(1e9, 0),
		IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
