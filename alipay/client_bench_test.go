package alipay_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"net/http"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
)

// cannedTransport answers every request with the same body without touching the
// network, so a benchmark measures the client's own work: building, signing, verifying
// and decoding.
type cannedTransport struct{ body []byte }

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(c.body)), Request: r,
	}, nil
}

// BenchmarkClientTradePay is one whole barcode payment call: one RSA-2048 private-key
// operation (the request signature) and one public-key operation (the answer). Compare
// with BenchmarkRSA2048Sign: the difference is everything else the client does.
func BenchmarkClientTradePay(b *testing.B) {
	body := signedBody(b, alipay.MethodTradePay, reply{content: paidNode})
	c, err := alipay.New(alipay.Config{
		AppID: "2021000000000001", PrivateKey: privatePEM(b, appKey()),
		AlipayPublicKey: string(alipay.PublicKeyPEM(&alipayKey().PublicKey)),
		Gateway:         "http://gateway.invalid/gateway.do",
		HTTPClient:      &http.Client{Transport: cannedTransport{body}},
	})
	if err != nil {
		b.Fatal(err)
	}
	req := payRequest()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.TradePay(ctx, req)
		if err != nil || res.Status != alipay.PayPaid {
			b.Fatal(res, err)
		}
	}
}

// BenchmarkRSA2048Sign is the physical floor of every call.
func BenchmarkRSA2048Sign(b *testing.B) {
	k := appKey()
	k.Precompute()
	d := sha256.Sum256([]byte("app_id=2021000000000001&biz_content={}&method=alipay.trade.pay"))
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, d[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyNotification is a whole notification: parse the raw body, verify, decode.
func BenchmarkVerifyNotification(b *testing.B) {
	c := newClient(b, newGateway(b, nil))
	body := []byte(signNotification(b, paidNotification()).Encode())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ParseNotification(body); err != nil {
			b.Fatal(err)
		}
	}
}
