package alipaysim

import (
	"context"
	"crypto/md5"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
)

// certBundle is a sandbox with a certificate-mode app.
func certSetup(t *testing.T) (*bundle, *App, *AppCerts) {
	t.Helper()
	b := setup(t)
	ak, _ := keys(t)
	app, certs, err := b.sim.RegisterCertApp(context.Background(), AppSpec{PublicKey: string(alipay.PublicKeyPEM(&ak.PublicKey))})
	if err != nil {
		t.Fatal(err)
	}
	return b, app, certs
}

func certClient(t *testing.T, b *bundle, appID string, c *AppCerts, protocol alipay.Protocol) *alipay.Client {
	t.Helper()
	ak, _ := keys(t)
	der, _ := x509.MarshalPKCS8PrivateKey(ak)
	cl, err := alipay.New(alipay.Config{
		AppID: appID, PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		AppCert: []byte(c.AppCert), AlipayCert: []byte(c.AlipayCert), AlipayRootCert: []byte(c.AlipayRootCert),
		Gateway: b.srv.URL + "/gateway.do", Protocol: protocol, Endpoint: b.srv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// The root bundle mixes an ECDSA and an RSA root; alipay_root_cert_sn covers the RSA one
// only, and the Alipay certificate chains to it through the intermediate in its file.
func TestCertBundleShape(t *testing.T) {
	_, _, c := certSetup(t)
	var all []string
	var algs []x509.SignatureAlgorithm
	rest := []byte(c.AlipayRootCert)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, alipay.CertSN(cert))
		algs = append(algs, cert.SignatureAlgorithm)
	}
	if len(all) != 2 || algs[0] != x509.ECDSAWithSHA256 || algs[1] != x509.SHA256WithRSA {
		t.Fatalf("root bundle: %v", algs)
	}
	if c.AlipayRootCertSN != all[1] || strings.Contains(c.AlipayRootCertSN, all[0]) {
		t.Errorf("root SN %s, want only the RSA root %s", c.AlipayRootCertSN, all[1])
	}
	leafAndIssuer, err := alipay.ParseCertificates([]byte(c.AlipayCert))
	if err != nil || len(leafAndIssuer) != 2 {
		t.Fatalf("alipay cert file: %v %d", err, len(leafAndIssuer))
	}
	inter := x509.NewCertPool()
	inter.AddCert(leafAndIssuer[1])
	if _, err := leafAndIssuer[0].Verify(x509.VerifyOptions{Roots: alipay.RootCertificates([]byte(c.AlipayRootCert)), Intermediates: inter}); err != nil {
		t.Errorf("the Alipay certificate does not chain to the root bundle: %v", err)
	}
	// The SN is Alipay's: MD5 of the RFC 2253 issuer and the decimal serial.
	sum := md5.Sum([]byte(leafAndIssuer[0].Issuer.String() + leafAndIssuer[0].SerialNumber.String()))
	if c.AlipayCertSN != hex.EncodeToString(sum[:]) {
		t.Errorf("alipay_cert_sn %s", c.AlipayCertSN)
	}
}

// gateway.do checks both serials of a certificate app on every request and names the
// Alipay certificate in every answer.
func TestCertGatewayChecks(t *testing.T) {
	b, app, c := certSetup(t)
	b.app = app
	by := b.buyer("100.00")
	tests := []struct {
		name, appSN, rootSN string
		code, sub           string
	}{
		{"both serials right", c.AppCertSN, c.AlipayRootCertSN, "10000", ""},
		{"no app_cert_sn", "", c.AlipayRootCertSN, "40001", subMissingAppCertSN},
		{"no alipay_root_cert_sn", c.AppCertSN, "", "40001", subMissingRootCertSN},
		{"someone else's app certificate", "0123456789abcdef0123456789abcdef", c.AlipayRootCertSN, "40002", subAppCertNotExist},
		{"root SN with the ECDSA root included", c.AppCertSN, "ffffffffffffffffffffffffffffffff_" + c.AlipayRootCertSN, "40002", subInvalidRootCertSN},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var extra []string
			if tc.appSN != "" {
				extra = append(extra, "app_cert_sn", tc.appSN)
			}
			if tc.rootSN != "" {
				extra = append(extra, "alipay_root_cert_sn", tc.rootSN)
			}
			v := b.request("alipay.trade.pay", pay("c"+string(rune('a'+i)), b.code(by.UserID), "1.00"), extra...)
			status, body := b.post(v)
			if status != 200 {
				t.Fatalf("HTTP %d", status)
			}
			env, err := alipay.ParseEnvelope(body, "alipay.trade.pay")
			if err != nil {
				t.Fatal(err)
			}
			if env.CertSN != c.AlipayCertSN {
				t.Errorf("alipay_cert_sn %q, want %s", env.CertSN, c.AlipayCertSN)
			}
			if !strings.Contains(string(body), `,"alipay_cert_sn":"`+c.AlipayCertSN+`","sign":`) {
				t.Errorf("alipay_cert_sn is not between node and sign: %s", body)
			}
			got := b.verify("alipay.trade.pay", body)
			if got["code"] != tc.code || (tc.sub != "" && got["sub_code"] != tc.sub) {
				t.Errorf("got %v %v, want %s %s", got["code"], got["sub_code"], tc.code, tc.sub)
			}
		})
	}
}

// Rotation end to end: after POST /sandbox/alipay-cert/rotate the sandbox signs with a
// new key under a new serial; alipay.Client in certificate mode downloads it, checks
// its chain and goes on — on both protocols — while a client that may not download
// refuses the answer as unknown.
func TestCertRotationThroughClient(t *testing.T) {
	for _, proto := range []alipay.Protocol{alipay.ProtocolForm, alipay.ProtocolREST} {
		t.Run(string(proto), func(t *testing.T) {
			b, app, c := certSetup(t)
			cl := certClient(t, b, app.AppID, c, proto)
			by := b.buyer("100.00")
			ctx := context.Background()
			res, err := cl.TradePay(ctx, &alipay.TradePayRequest{OutTradeNo: "k1", AuthCode: b.code(by.UserID), Subject: "tea", TotalAmount: amt("1.00")})
			if err != nil || res.Status != alipay.PayPaid {
				t.Fatalf("before rotation: %v %+v", err, res)
			}
			resp, err := http.Post(b.srv.URL+"/sandbox/alipay-cert/rotate", "application/json", nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("rotate: %v %v", err, resp)
			}
			resp.Body.Close()
			rotated, _ := b.sim.AppCertificates(app.AppID)
			if rotated.AlipayCertSN == c.AlipayCertSN {
				t.Fatal("rotation kept the serial")
			}
			res, err = cl.TradePay(ctx, &alipay.TradePayRequest{OutTradeNo: "k2", AuthCode: b.code(by.UserID), Subject: "tea", TotalAmount: amt("1.00")})
			if err != nil || res.Status != alipay.PayPaid {
				t.Fatalf("after rotation: %v %+v (err %v)", err, res, res.Err)
			}
			q, err := cl.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "k2"})
			if err != nil || !q.TradeStatus.Paid() {
				t.Fatalf("query after rotation: %v %+v", err, q)
			}

			ak, _ := keys(t)
			der, _ := x509.MarshalPKCS8PrivateKey(ak)
			strict, err := alipay.New(alipay.Config{
				AppID: app.AppID, PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
				AppCert: []byte(c.AppCert), AlipayCert: []byte(c.AlipayCert), AlipayRootCert: []byte(c.AlipayRootCert),
				Gateway: b.srv.URL + "/gateway.do", Protocol: proto, Endpoint: b.srv.URL, DisableCertDownload: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := strict.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "k2"}); !alipay.IsUnknown(err) {
				t.Errorf("a client that may not download the rotated certificate: %v, want unknown", err)
			}
		})
	}
}

// alipay.open.app.alipaycert.download serves any serial the sandbox issued, and refuses
// others with isv.alipay-cert-not-exist.
func TestCertDownload(t *testing.T) {
	b, app, c := certSetup(t)
	b.app = app
	extra := []string{"app_cert_sn", c.AppCertSN, "alipay_root_cert_sn", c.AlipayRootCertSN}
	got := b.verify(certDownloadMethod, func() []byte {
		_, body := b.post(b.request(certDownloadMethod, map[string]string{"alipay_cert_sn": c.AlipayCertSN}, extra...))
		return body
	}())
	content, _ := got["alipay_cert_content"].(string)
	pemText, err := base64.StdEncoding.DecodeString(content)
	if err != nil || string(pemText) != c.AlipayCert {
		t.Errorf("download: %v %v", err, got)
	}
	_, body := b.post(b.request(certDownloadMethod, map[string]string{"alipay_cert_sn": "00000000000000000000000000000000"}, extra...))
	if got := b.verify(certDownloadMethod, body); got["sub_code"] != subAlipayCertMissing {
		t.Errorf("unknown serial: %v", got)
	}
}

// Tampered certificates and wrong root serials end in Alipay's errors or a refused
// configuration — never a crash.
func TestCertTampering(t *testing.T) {
	b, app, c := certSetup(t)
	ak, _ := keys(t)
	der, _ := x509.MarshalPKCS8PrivateKey(ak)
	key := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	flip := func(p string) string {
		block, _ := pem.Decode([]byte(p))
		d := append([]byte(nil), block.Bytes...)
		d[len(d)/2] ^= 0x40
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d}))
	}
	// A tampered Alipay certificate either fails to parse or holds another key; either
	// way the client refuses to start or refuses the answers.
	cl, err := alipay.New(alipay.Config{AppID: app.AppID, PrivateKey: key, AppCert: []byte(c.AppCert),
		AlipayCert: []byte(flip(c.AlipayCert)), AlipayRootCert: []byte(c.AlipayRootCert), Gateway: b.srv.URL + "/gateway.do"})
	if err == nil {
		by := b.buyer("10.00")
		res, _ := cl.TradePay(context.Background(), &alipay.TradePayRequest{OutTradeNo: "t1", AuthCode: b.code(by.UserID), Subject: "x", TotalAmount: amt("1.00")})
		if res == nil || res.Status == alipay.PayPaid || res.Status == alipay.PayFailed {
			t.Errorf("a tampered Alipay certificate still yields a decided result: %+v", res)
		}
	}
	// A tampered app certificate has another serial: isv.app-cert-not-exist (or it does
	// not parse at all and the client says so).
	if cl, err := alipay.New(alipay.Config{AppID: app.AppID, PrivateKey: key, AppCert: []byte(flip(c.AppCert)),
		AlipayCert: []byte(c.AlipayCert), AlipayRootCert: []byte(c.AlipayRootCert), Gateway: b.srv.URL + "/gateway.do"}); err == nil {
		_, err := cl.TradeQuery(context.Background(), &alipay.TradeQueryRequest{OutTradeNo: "t1"})
		if !alipay.HasSubCode(err, subAppCertNotExist) {
			t.Errorf("tampered app certificate: %v", err)
		}
	}
	// A root bundle with the RSA root removed gives another root SN.
	ecOnly := c.AlipayRootCert[:strings.Index(c.AlipayRootCert, "-----END CERTIFICATE-----")+len("-----END CERTIFICATE-----\n")]
	if _, err := alipay.New(alipay.Config{AppID: app.AppID, PrivateKey: key, AppCert: []byte(c.AppCert),
		AlipayCert: []byte(c.AlipayCert), AlipayRootCert: []byte(ecOnly), Gateway: b.srv.URL + "/gateway.do"}); err == nil {
		t.Error("a root bundle without an RSA root was accepted")
	}
	// REST with a wrong root serial.
	r := b.rest(restReq{path: "/v3/alipay/trade/query", body: `{"out_trade_no":"t1"}`, appID: app.AppID, appCertSN: c.AppCertSN, rootSN: "abc"})
	if r.status != 400 || r.json["code"] != "invalid-alipay-root-cert-sn" || r.header.Get("alipay-sn") != c.AlipayCertSN {
		t.Errorf("REST wrong root SN: %d %s %v", r.status, r.body, r.header)
	}
	r = b.rest(restReq{path: "/v3/alipay/trade/query", body: `{"out_trade_no":"t1"}`, appID: app.AppID, rootSN: c.AlipayRootCertSN})
	if r.status != 400 || r.json["code"] != "missing-app-cert-sn" {
		t.Errorf("REST without app_cert_sn: %d %s", r.status, r.body)
	}
	// Control API: the three certificates come back from POST /sandbox/apps.
	resp, err := http.Post(b.srv.URL+"/sandbox/apps", "application/json",
		strings.NewReader(`{"app_public_key":`+jsonBody(string(alipay.PublicKeyPEM(&ak.PublicKey)))+`,"key_mode":"cert"}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("POST /sandbox/apps cert: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, _ = http.Post(b.srv.URL+"/sandbox/apps", "application/json", strings.NewReader(`{"app_public_key":"x","key_mode":"hsm"}`))
	if resp.StatusCode != 400 {
		t.Errorf("unknown key_mode: %d", resp.StatusCode)
	}
	resp.Body.Close()
}
