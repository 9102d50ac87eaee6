package alipay_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
)

type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

func newCA(t testing.TB, cn string, key crypto.Signer) *testCA {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Ant Financial"}, OrganizationalUnit: []string{"Certification Authority"}, Country: []string{"CN"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *testCA) issue(t testing.TB, cn string, pub *rsa.PublicKey, serial int64) (*x509.Certificate, []byte) {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestCertificateMode(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root := newCA(t, "Ant Financial Certification Authority R1", otherKey())
	ecRoot := newCA(t, "Ant Financial Certification Authority E1", ecKey)
	bundle := append(append([]byte{}, root.pem...), ecRoot.pem...)
	appCert, appPEM := root.issue(t, "app 2021000000000001", &appKey().PublicKey, 1001)
	leaf, leafPEM := root.issue(t, "Alipay", &alipayKey().PublicKey, 2002)
	rotated, rotatedPEM := root.issue(t, "Alipay (rotated)", &alipayKey().PublicKey, 3003)
	stranger := newCA(t, "Ant Financial Certification Authority R1", appKey()) // same name, other key: only the chain check can tell
	_, forgedPEM := stranger.issue(t, "Alipay", &alipayKey().PublicKey, 3003)

	wantRootSN := alipay.CertSN(root.cert) // the ECDSA root is filtered out
	var serveSN atomic.Value
	serveSN.Store(alipay.CertSN(leaf))
	var downloadPEM atomic.Value
	downloadPEM.Store(rotatedPEM)
	g := newGateway(t, func(method string, p url.Values) reply {
		if p.Get("app_cert_sn") != alipay.CertSN(appCert) || p.Get("alipay_root_cert_sn") != wantRootSN {
			t.Errorf("%s: app_cert_sn %q root %q", method, p.Get("app_cert_sn"), p.Get("alipay_root_cert_sn"))
		}
		if method == alipay.MethodAlipayCertDownload {
			var biz struct {
				AlipayCertSN string `json:"alipay_cert_sn"`
			}
			json.Unmarshal([]byte(p.Get("biz_content")), &biz)
			content := `{"code":"10000","msg":"Success","alipay_cert_content":"` + base64.StdEncoding.EncodeToString(downloadPEM.Load().([]byte)) + `"}`
			return reply{content: content, certSN: biz.AlipayCertSN}
		}
		return reply{content: paidNode, certSN: serveSN.Load().(string)}
	})
	newCertClient := func(t *testing.T, disable bool) *alipay.Client {
		c, err := alipay.New(alipay.Config{
			AppID: "2021000000000001", PrivateKey: privatePEM(t, appKey()), Gateway: g.URL(),
			AppCert: appPEM, AlipayCert: append(leafPEM, root.pem...), AlipayRootCert: bundle,
			DisableCertDownload: disable,
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()

	t.Run("known certificate", func(t *testing.T) {
		res, err := newCertClient(t, false).TradePay(ctx, payRequest())
		if err != nil || res.Status != alipay.PayPaid {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("rotated certificate is downloaded and chain-checked", func(t *testing.T) {
		serveSN.Store(alipay.CertSN(rotated))
		defer serveSN.Store(alipay.CertSN(leaf))
		c := newCertClient(t, false)
		for range 2 { // the second call uses the cached certificate
			res, err := c.TradePay(ctx, payRequest())
			if err != nil || res.Status != alipay.PayPaid {
				t.Fatalf("%+v %v", res, err)
			}
		}
		n := 0
		for _, p := range g.requests() {
			if p.Get("method") == alipay.MethodAlipayCertDownload {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d certificate downloads, want 1", n)
		}
	})
	t.Run("a certificate from another CA is refused", func(t *testing.T) {
		serveSN.Store(alipay.CertSN(rotated))
		downloadPEM.Store(forgedPEM)
		defer func() { serveSN.Store(alipay.CertSN(leaf)); downloadPEM.Store(rotatedPEM) }()
		res, err := newCertClient(t, false).TradePay(ctx, payRequest())
		if err != nil || res.Status != alipay.PayUnknown || !strings.Contains(res.Err.Error(), "does not chain") {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("unknown serial without download", func(t *testing.T) {
		serveSN.Store("00000000000000000000000000000000")
		defer serveSN.Store(alipay.CertSN(leaf))
		res, err := newCertClient(t, true).TradePay(ctx, payRequest())
		if err != nil || res.Status != alipay.PayUnknown || !strings.Contains(res.Err.Error(), "unknown alipay_cert_sn") {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("app certificate for another key", func(t *testing.T) {
		_, wrongPEM := root.issue(t, "other app", &otherKey().PublicKey, 4004)
		_, err := alipay.New(alipay.Config{AppID: "1", PrivateKey: privatePEM(t, appKey()), AppCert: wrongPEM, AlipayCert: leafPEM, AlipayRootCert: bundle})
		if err == nil || !strings.Contains(err.Error(), "AppCert does not hold") {
			t.Fatalf("err = %v", err)
		}
	})
}
