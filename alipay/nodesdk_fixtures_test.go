package alipay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"
)

// nodeKeys are the RSA-2048 keys of the interop tests: the app's, "Alipay's", and an
// unrelated one that must never verify. Generating 2048-bit keys takes a while, so they are
// made once per test binary; nothing mutates them afterwards.
type nodeKeys struct {
	app, alipay, stranger *rsa.PrivateKey
}

var nodeTestKeys = sync.OnceValues(func() (nodeKeys, error) {
	var k nodeKeys
	for _, p := range []**rsa.PrivateKey{&k.app, &k.alipay, &k.stranger} {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return k, err
		}
		key.Precompute()
		*p = key
	}
	return k, nil
})

func testKeys(t testing.TB) nodeKeys {
	t.Helper()
	k, err := nodeTestKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// privateKeyPEM encodes key as PKCS#1 ("RSA PRIVATE KEY", the Node SDK's default keyType)
// or PKCS#8 ("PRIVATE KEY", keyType PKCS8).
func privateKeyPEM(t testing.TB, key *rsa.PrivateKey, pkcs8 bool) string {
	t.Helper()
	if !pkcs8 {
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// privateKeyBare is the armour-less base64 body that Alipay's key tool prints.
func privateKeyBare(t testing.TB, key *rsa.PrivateKey, pkcs8 bool) string {
	t.Helper()
	block, _ := pem.Decode([]byte(privateKeyPEM(t, key, pkcs8)))
	return base64.StdEncoding.EncodeToString(block.Bytes)
}

// nodeCerts is a certificate-mode setup shaped like Alipay's: a root bundle holding an RSA
// root and an ECDSA root (which every SDK must leave out of alipay_root_cert_sn, as the
// real bundle's SM2 and ECC roots are), and app and "Alipay" certificates issued by the
// RSA root. Issuer names carry C, ST, L, O, OU and CN so that the RFC 2253 ordering of
// CertSN is exercised, and serials are 128-bit so that the decimal conversion is.
type nodeCerts struct {
	rootBundle []byte
	appCert    []byte
	alipayCert []byte // the leaf followed by its issuer, as alipayCertPublicKey_RSA2.crt is
	app        *x509.Certificate
	alipay     *x509.Certificate
}

var nodeTestCerts = sync.OnceValues(func() (nodeCerts, error) {
	var c nodeCerts
	k, err := nodeTestKeys()
	if err != nil {
		return c, err
	}
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return c, err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return c, err
	}
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		return n.Add(n, new(big.Int).Lsh(big.NewInt(1), 126)) // a long serial, never 0
	}
	now := time.Now()
	rootName := pkix.Name{
		Country: []string{"CN"}, Province: []string{"Zhejiang"}, Locality: []string{"Hangzhou"},
		Organization: []string{"Ant Financial"}, OrganizationalUnit: []string{"Certification Authority"},
		CommonName: "f2fpay Test Root Class 1",
	}
	rootTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: rootName, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return c, err
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return c, err
	}
	ecTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{Country: []string{"CN"}, Organization: []string{"Ant Financial"}, CommonName: "f2fpay Test Root E1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
	}
	ecDER, err := x509.CreateCertificate(rand.Reader, ecTmpl, ecTmpl, &ecKey.PublicKey, ecKey)
	if err != nil {
		return c, err
	}
	leaf := func(cn string, pub *rsa.PublicKey) ([]byte, *x509.Certificate, error) {
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{Country: []string{"CN"}, Organization: []string{"f2fpay"}, OrganizationalUnit: []string{"Alipay Open Platform"}, CommonName: cn},
			NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, root, pub, rootKey)
		if err != nil {
			return nil, nil, err
		}
		cert, err := x509.ParseCertificate(der)
		return der, cert, err
	}
	pemOf := func(ders ...[]byte) []byte {
		var out []byte
		for _, d := range ders {
			out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
		}
		return out
	}
	appDER, app, err := leaf("2021000122671080", &k.app.PublicKey)
	if err != nil {
		return c, err
	}
	alipayDER, alipay, err := leaf("支付宝(中国)网络技术有限公司", &k.alipay.PublicKey)
	if err != nil {
		return c, err
	}
	c.rootBundle = pemOf(rootDER, ecDER)
	c.appCert = pemOf(appDER)
	c.alipayCert = pemOf(alipayDER, rootDER)
	c.app, c.alipay = app, alipay
	return c, nil
})

func testCerts(t testing.TB) nodeCerts {
	t.Helper()
	c, err := nodeTestCerts()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
