package alipay_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"net/http"
	"testing"

	"pgregory.net/rapid"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/opensslsign"
	"github.com/f2fpay/f2fpay/internal/cpustat"
)

// cryptoRSASigner signs with crypto/rsa whatever the build: the reference for KeySigner,
// which signs with OpenSSL under -tags openssl.
type cryptoRSASigner struct{ key *rsa.PrivateKey }

func (s cryptoRSASigner) Sign(_ context.Context, t alipay.SignType, content []byte) ([]byte, error) {
	if t == alipay.RSA {
		d := sha1.Sum(content)
		return rsa.SignPKCS1v15(nil, s.key, crypto.SHA1, d[:])
	}
	d := sha256.Sum256(content)
	return rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, d[:])
}

func TestKeySignerMatchesCryptoRSA(t *testing.T) {
	if lib := alipay.SigningLibrary(); (lib == "crypto/rsa") == opensslsign.Available {
		t.Fatalf("SigningLibrary() = %q in a build where opensslsign.Available = %v", lib, opensslsign.Available)
	}
	t.Logf("KeySigner signs with %s", alipay.SigningLibrary())
	keys := []*rsa.PrivateKey{appKey(), alipayKey(), otherKey()}
	signers := make([]*alipay.KeySigner, len(keys))
	for i, k := range keys {
		signers[i] = alipay.NewKeySigner(k)
	}
	ctx := context.Background()
	rapid.Check(t, func(rt *rapid.T) {
		i := rapid.IntRange(0, len(keys)-1).Draw(rt, "key")
		st := rapid.SampledFrom([]alipay.SignType{alipay.RSA2, alipay.RSA}).Draw(rt, "sign_type")
		content := rapid.SliceOfN(rapid.Byte(), 0, 1024).Draw(rt, "content")
		got, err := signers[i].Sign(ctx, st, content)
		if err != nil {
			rt.Fatal(err)
		}
		want, _ := cryptoRSASigner{keys[i]}.Sign(ctx, st, content)
		if !bytes.Equal(got, want) {
			rt.Fatalf("%s signature differs from crypto/rsa's:\n got %x\nwant %x", st, got, want)
		}
	})
}

// BenchmarkTradePaySigner is BenchmarkClientTradePay with crypto/rsa and with the
// build's KeySigner side by side, in one run: with -tags openssl, the second is OpenSSL.
func BenchmarkTradePaySigner(b *testing.B) {
	body := signedBody(b, alipay.MethodTradePay, reply{content: paidNode})
	for _, s := range []struct {
		name string
		cfg  alipay.Config
	}{
		{"crypto-rsa", alipay.Config{Signer: cryptoRSASigner{appKey()}}},
		{"KeySigner", alipay.Config{PrivateKey: privatePEM(b, appKey())}},
	} {
		b.Run(s.name, func(b *testing.B) {
			cfg := s.cfg
			cfg.AppID = "2021000000000001"
			cfg.AlipayPublicKey = string(alipay.PublicKeyPEM(&alipayKey().PublicKey))
			cfg.Gateway = "http://gateway.invalid/gateway.do"
			cfg.HTTPClient = &http.Client{Transport: cannedTransport{body}}
			c, err := alipay.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			req := payRequest()
			ctx := context.Background()
			b.ReportAllocs()
			cpu := cpustat.Process()
			for b.Loop() {
				res, err := c.TradePay(ctx, req)
				if err != nil || res.Status != alipay.PayPaid {
					b.Fatal(res, err)
				}
			}
			// CPU time per call holds still when other work shares the cores; ns/op does not.
			b.ReportMetric(float64(cpustat.Process()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
