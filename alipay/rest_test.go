package alipay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/money"
)

// Answers the client must not act on: unsigned ones, failures included.
func TestRESTUnsignedAnswers(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	appKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(appKey)
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"unsigned success", 200, `{"trade_no":"1","out_trade_no":"u","gmt_payment":"2024-05-13 10:00:00","total_amount":"1.00"}`},
		{"unsigned business failure", 400, `{"code":"ACQ.PAYMENT_AUTH_CODE_INVALID","message":"bad code"}`},
		{"HTML 500", 500, `<html>oops</html>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := alipay.New(alipay.Config{AppID: "2021000000000001", PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
				AlipayPublicKey: alipay.PublicKeyBase64(&key.PublicKey), Protocol: alipay.ProtocolREST, Endpoint: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.TradePay(context.Background(), &alipay.TradePayRequest{OutTradeNo: "u", AuthCode: "289999999999999999", Subject: "x", TotalAmount: money.MustParse("1.00")})
			if err != nil || res.Status != alipay.PayUnknown {
				t.Errorf("%v %+v, want UNKNOWN", err, res)
			}
		})
	}
}

func TestRESTConfig(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	base := alipay.Config{AppID: "2021000000000001", PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		AlipayPublicKey: alipay.PublicKeyBase64(&other.PublicKey)}
	for _, tc := range []struct {
		proto    alipay.Protocol
		endpoint string
		ok       bool
	}{
		{"", "", true}, {alipay.ProtocolREST, "", true}, {alipay.ProtocolREST, "https://openapi.alipay.com/", true},
		{alipay.ProtocolREST, "https://openapi.alipay.com/gateway.do", false}, {alipay.ProtocolREST, "ftp://x", false}, {"soap", "", false},
	} {
		cfg := base
		cfg.Protocol, cfg.Endpoint = tc.proto, tc.endpoint
		c, err := alipay.New(cfg)
		if (err == nil) != tc.ok {
			t.Errorf("%q %q: %v", tc.proto, tc.endpoint, err)
		}
		if err == nil && tc.proto == alipay.ProtocolREST && c.Gateway() != "https://openapi.alipay.com/gateway.do" {
			t.Errorf("gateway %s", c.Gateway())
		}
	}
}
