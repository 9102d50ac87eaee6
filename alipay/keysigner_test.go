package alipay_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"net/http"
	"runtime"
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

// TestVerifySignatureMatchesCryptoRSA: VerifySignature (with OpenSSL under -tags
// openssl, through a cache of keys) says what crypto/rsa says, for long-lived keys and
// for copies made and dropped on the way, and for valid and damaged signatures.
func TestVerifySignatureMatchesCryptoRSA(t *testing.T) {
	keys := []*rsa.PrivateKey{appKey(), alipayKey(), otherKey()}
	rapid.Check(t, func(rt *rapid.T) {
		k := keys[rapid.IntRange(0, len(keys)-1).Draw(rt, "key")]
		pub := &k.PublicKey
		if rapid.Bool().Draw(rt, "a fresh copy of the key") {
			pub = &rsa.PublicKey{N: new(big.Int).Set(k.N), E: k.E}
		}
		st := rapid.SampledFrom([]alipay.SignType{alipay.RSA2, alipay.RSA}).Draw(rt, "sign_type")
		content := rapid.SliceOfN(rapid.Byte(), 0, 256).Draw(rt, "content")
		sig, _ := cryptoRSASigner{k}.Sign(context.Background(), st, content)
		if rapid.Bool().Draw(rt, "damaged") {
			sig[rapid.IntRange(0, len(sig)-1).Draw(rt, "at")] ^= rapid.ByteRange(1, 255).Draw(rt, "xor")
		}
		h, d := crypto.SHA256, sha256.Sum256(content)
		want := rsa.VerifyPKCS1v15(pub, h, d[:], sig)
		if st == alipay.RSA {
			d := sha1.Sum(content)
			want = rsa.VerifyPKCS1v15(pub, crypto.SHA1, d[:], sig)
		}
		got := alipay.VerifySignature(pub, st, content, base64.StdEncoding.EncodeToString(sig))
		if (got == nil) != (want == nil) {
			rt.Fatalf("VerifySignature says %v, crypto/rsa says %v", got, want)
		}
		if rapid.Bool().Draw(rt, "collect garbage") {
			runtime.GC() // the dropped copies' OpenSSL keys go
		}
	})
}

// BenchmarkTradePaySigner is BenchmarkClientTradePay with crypto/rsa (signing the
// request and verifying the answer, as the default build does) and with the build's
// own, side by side in one run: with -tags openssl, the second is OpenSSL.
func BenchmarkTradePaySigner(b *testing.B) {
	body := signedBody(b, alipay.MethodTradePay, reply{content: paidNode})
	for _, s := range []struct {
		name      string
		cryptoRSA bool
	}{
		{"crypto-rsa", true},
		{"OpenSSL", false},
	} {
		if !s.cryptoRSA && !opensslsign.Available {
			continue
		}
		b.Run(s.name, func(b *testing.B) {
			if s.cryptoRSA {
				defer alipay.UseCryptoRSA()()
			}
			cfg := alipay.Config{PrivateKey: privatePEM(b, appKey())}
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
