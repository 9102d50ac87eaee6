package alipaysim

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
)

// Certificate mode survives a restart on the same --data directory: the app keeps its
// certificate and serials, a client configured with the files of before the restart
// (and of before a rotation) still works, and the rotated-out Alipay certificate is
// still downloadable.
func TestCertSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := OpenSQLiteStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, func(c *Config) { c.Store = store })
	ak, sk := keys(t)
	app, before, err := b.sim.RegisterCertApp(ctx, AppSpec{PublicKey: string(alipay.PublicKeyPEM(&ak.PublicKey))})
	if err != nil {
		t.Fatal(err)
	}
	rotatedSN, _, err := b.sim.RotateAlipayCert(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := b.sim.AppCertificates(app.AppID)
	if err != nil || rotated.AlipayCertSN != rotatedSN || rotatedSN == before.AlipayCertSN {
		t.Fatalf("rotation: %v %s %+v", err, rotatedSN, rotated)
	}
	b.srv.Close()
	b.sim.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store2, err := OpenSQLiteStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	sim2, err := New(ctx, Config{Store: store2, Clock: b.clock, AlipayKey: sk, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	defer sim2.Close()
	srv2 := httptest.NewServer(sim2.Handler())
	defer srv2.Close()
	b2 := &bundle{t: t, sim: sim2, srv: srv2, clock: b.clock, app: app, sign: b.sign}

	after, err := sim2.AppCertificates(app.AppID)
	if err != nil {
		t.Fatalf("certificate app after restart: %v", err)
	}
	if *after != *rotated {
		t.Errorf("certificates changed across the restart:\nbefore %+v\nafter  %+v", rotated, after)
	}
	if after.AppCert != before.AppCert || after.AppCertSN != before.AppCertSN ||
		after.AlipayRootCert != before.AlipayRootCert || after.AlipayRootCertSN != before.AlipayRootCertSN {
		t.Errorf("app or root certificate changed across the restart")
	}

	// A client holding the files of before the rotation: the gateway accepts its serials,
	// it downloads the rotated certificate, checks its chain and verifies the answers.
	for _, proto := range []alipay.Protocol{alipay.ProtocolForm, alipay.ProtocolREST} {
		t.Run(string(proto), func(t *testing.T) {
			cl := certClient(t, b2, app.AppID, before, proto)
			by := b2.buyer("10.00")
			res, err := cl.TradePay(ctx, &alipay.TradePayRequest{OutTradeNo: "r-" + string(proto), AuthCode: b2.code(by.UserID), Subject: "tea", TotalAmount: amt("1.00")})
			if err != nil || res.Status != alipay.PayPaid {
				t.Fatalf("pay after restart: %v %+v", err, res)
			}
		})
	}

	// The rotated-out certificate is still served, and the answer is signed by the
	// current (rotated) Alipay certificate.
	leaf, err := alipay.ParseCertificates([]byte(rotated.AlipayCert))
	if err != nil {
		t.Fatal(err)
	}
	extra := []string{"app_cert_sn", before.AppCertSN, "alipay_root_cert_sn", before.AlipayRootCertSN}
	_, body := b2.post(b2.request(certDownloadMethod, map[string]string{"alipay_cert_sn": before.AlipayCertSN}, extra...))
	env, err := alipay.ParseEnvelope(body, certDownloadMethod)
	if err != nil {
		t.Fatal(err)
	}
	if env.CertSN != rotatedSN {
		t.Errorf("download answered under %s, want the rotated %s", env.CertSN, rotatedSN)
	}
	if err := alipay.VerifySignature(leaf[0].PublicKey.(*rsa.PublicKey), alipay.RSA2, env.Content, env.Sign); err != nil {
		t.Errorf("download answer: %v", err)
	}
	var got struct {
		Code    string `json:"code"`
		Content string `json:"alipay_cert_content"`
	}
	if err := json.Unmarshal(env.Content, &got); err != nil {
		t.Fatal(err)
	}
	if pemText, err := base64.StdEncoding.DecodeString(got.Content); err != nil || got.Code != "10000" || string(pemText) != before.AlipayCert {
		t.Errorf("pre-rotation certificate after restart: %v %s", err, env.Content)
	}

	// New certificates after the restart continue the serials: no SN is issued twice.
	app2, second, err := sim2.RegisterCertApp(ctx, AppSpec{PublicKey: string(alipay.PublicKeyPEM(&ak.PublicKey))})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, sn := range []string{before.AppCertSN, before.AlipayCertSN, rotatedSN, second.AppCertSN} {
		if seen[sn] {
			t.Errorf("serial %s issued twice", sn)
		}
		seen[sn] = true
	}
	if second.AlipayCertSN != rotatedSN || second.AlipayRootCertSN != before.AlipayRootCertSN || app2.AppID == app.AppID {
		t.Errorf("second app after restart: %+v", second)
	}
}
