package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"io"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
)

// TestProvisionISV: a service provider's app registered with -isv, then merchants
// onboarded under it with -isv-app: the link printed (no terminal yet), the code the
// merchant brought exchanged with -app-auth-code, a re-run that creates nothing, the
// sandbox's merchant consenting with -sandbox; each merchant's printed key pays, into
// the merchant's own Alipay account.
func TestProvisionISV(t *testing.T) {
	simURL, stopSim := startSandbox(t)
	t.Cleanup(stopSim)
	sim := simclient.New(simURL, nil)
	ctx := context.Background()
	dir := t.TempDir()
	if err := run(ctx, []string{"keys", "generate", "-dir", filepath.Join(dir, "keys")}, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	master := make([]byte, 32)
	rand.Read(master)
	cfg := defaultServeConfig()
	cfg.DB = "sqlite:" + filepath.Join(dir, "f2fpay.db")
	cfg.AdminListen = ""
	cfg.MasterKey = base64.StdEncoding.EncodeToString(master)
	cfg.AdminToken = "admin-provision"
	cfg.LogLevel = "error"
	db := []string{"-db", cfg.DB, "-master-key", cfg.MasterKey}

	prov := func(args ...string) (string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := run(ctx, append(append([]string{"provision"}, db...), args...), nil, &stdout, &stderr)
		return stdout.String() + stderr.String(), err
	}
	mustProv := func(args ...string) string {
		t.Helper()
		out, err := prov(args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	out := mustProv("-merchant", "Vending Services", "-keys", filepath.Join(dir, "keys"), "-sandbox", simURL, "-isv")
	isvAppID := regexp.MustCompile(`app (\d+) \(id 1\) created`).FindStringSubmatch(out)
	if isvAppID == nil {
		t.Fatalf("the provider's app:\n%s", out)
	}

	// Refusals before anything is done.
	for _, tc := range []struct {
		args  []string
		words string
	}{
		{[]string{"-merchant", "Corner Shop", "-isv-app", isvAppID[1], "-app-id", "2021000000000001"}, "leave out -app-id"},
		{[]string{"-merchant", "Corner Shop", "-isv-app", isvAppID[1], "-isv"}, "give one"},
		{[]string{"-merchant", "Corner Shop", "-app-auth-code", "x"}, "give -isv-app"},
		{[]string{"-merchant", "Corner Shop", "-isv-app", "2021999999999999", "-app-auth-code", "x"}, "no app 2021999999999999 in the service"},
		{[]string{"-merchant", "Corner Shop", "-isv-app", isvAppID[1]}, "give -redirect-uri"},
	} {
		if out, err := prov(tc.args...); err == nil || !strings.Contains(err.Error()+out, tc.words) {
			t.Errorf("%v: %v, want an error naming %q\n%s", tc.args, err, tc.words, out)
		}
	}

	// The link: the store is made, the terminal waits for the authorisation.
	out = mustProv("-merchant", "Corner Shop", "-isv-app", isvAppID[1], "-redirect-uri", "https://pay.example.com/alipay/app-auth")
	link := regexp.MustCompile(`\n  (http\S+appToAppAuth\.htm\S+)\n`).FindStringSubmatch(out)
	if link == nil || !strings.Contains(out, "商户打开以下链接授权") || !strings.Contains(out, "store STORE_001") || strings.Contains(out, "terminal") && strings.Contains(out, "created\n  terminal") {
		t.Fatalf("link run:\n%s", out)
	}
	u, _ := url.Parse(link[1])
	if u.Query().Get("app_id") != isvAppID[1] || u.Query().Get("state") == "" {
		t.Errorf("link %s", link[1])
	}
	if strings.Contains(out, "secret:") {
		t.Errorf("a terminal was made before the merchant authorised:\n%s", out)
	}

	// The merchant consented; the operator carries its code.
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	own, err := sim.RegisterApp(ctx, string(alipay.PublicKeyPEM(&k.PublicKey)), "")
	if err != nil {
		t.Fatal(err)
	}
	code, err := sim.IssueAppAuthCode(ctx, isvAppID[1], own.AppID)
	if err != nil {
		t.Fatal(err)
	}
	out = mustProv("-merchant", "Corner Shop", "-isv-app", isvAppID[1], "-app-auth-code", code.Code, "-rebate-pid", "2088000000000042")
	if !strings.Contains(out, "merchant authorised service-provider app "+isvAppID[1]+" (as "+own.AppID) || !strings.Contains(out, "terminal POS-1") {
		t.Fatalf("code run:\n%s", out)
	}
	keyA := regexp.MustCompile(`key_id: (\S+)\n  secret: (\S+)`).FindStringSubmatch(out)
	if keyA == nil {
		t.Fatalf("no key:\n%s", out)
	}
	again := mustProv("-merchant", "Corner Shop", "-isv-app", isvAppID[1])
	if !strings.Contains(again, "merchant authorised service-provider app") || strings.Contains(again, ") created") || strings.Contains(again, "secret:") {
		t.Errorf("re-run:\n%s", again)
	}
	// A used code is Alipay's refusal, named.
	if out, err := prov("-merchant", "Corner Shop", "-isv-app", isvAppID[1], "-app-auth-code", code.Code); err == nil || !strings.Contains(err.Error(), "Alipay refused the app_auth_code") {
		t.Errorf("used code: %v\n%s", err, out)
	}

	// The sandbox's merchant consents by itself.
	out = mustProv("-merchant", "Station Kiosk", "-isv-app", isvAppID[1], "-sandbox", simURL)
	keyB := regexp.MustCompile(`key_id: (\S+)\n  secret: (\S+)`).FindStringSubmatch(out)
	if !strings.Contains(out, "the sandbox's merchant (app ") || keyB == nil {
		t.Fatalf("sandbox consent:\n%s", out)
	}

	// Each key pays, into its merchant's own account.
	svc := startTestService(t, &cfg)
	as, err := client.NewAdminClient(svc.URL, cfg.AdminToken, nil).Authorizations(ctx, 1)
	if err != nil || len(as) != 2 || as[0].AuthAppID != own.AppID || as[0].SysServiceProviderID != "2088000000000042" {
		t.Fatalf("authorisations: %+v %v", as, err)
	}
	for i, key := range [][]string{keyA, keyB} {
		buyer, err := sim.CreateBuyer(ctx, simclient.BuyerSpec{Balance: f2fpay.MustParseAmount("10.00")})
		if err != nil {
			t.Fatal(err)
		}
		pc, err := sim.PaymentCode(ctx, buyer.UserID)
		if err != nil {
			t.Fatal(err)
		}
		p, err := client.NewClient(svc.URL, key[1], key[2], nil).PayBarcode(ctx, client.BarcodeRequest{AuthCode: pc, Amount: f2fpay.MustParseAmount("1.23"), Subject: "tea", OutTradeNo: "SAME-1"})
		if err != nil || p.State != client.StatePaid {
			t.Fatalf("merchant %d paying with its printed key: %+v %v", i, p, err)
		}
		tr, err := sim.Trade(ctx, p.TradeNo)
		if err != nil || tr.AppID != as[i].AuthAppID {
			t.Errorf("merchant %d's trade belongs to app %s (%v), want its own %s", i, tr.AppID, err, as[i].AuthAppID)
		}
	}
}
