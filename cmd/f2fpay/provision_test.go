package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/appkey"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
)

// TestProvisionFlags: what provision refuses before touching anything, and -h.
func TestProvisionFlags(t *testing.T) {
	t.Parallel()
	base := []string{"-merchant", "M", "-master-key", "x"}
	for name, c := range map[string]struct {
		args []string
		env  map[string]string
		want string // in the error; "" for none
	}{
		"help":                    {args: []string{"-h"}, want: "help"},
		"no merchant":             {args: []string{"-sandbox", "http://127.0.0.1:8090", "-master-key", "x"}, want: "-merchant is required"},
		"no gateway":              {args: append(base, "-app-id", "2021000000000001", "-seller-id", "2088000000000001", "-alipay-public-key", "k"), want: "-gateway is required"},
		"sandbox and an app id":   {args: append(base, "-sandbox", "http://127.0.0.1:8090", "-app-id", "1"), want: "leave out -app-id"},
		"no Alipay key":           {args: append(base, "-gateway", alipay.ProductionGateway, "-app-id", "1", "-seller-id", "2"), want: "-alipay-public-key FILE"},
		"no master key":           {args: []string{"-merchant", "M", "-sandbox", "http://127.0.0.1:8090"}, want: "F2FPAY_MASTER_KEY"},
		"master key from the env": {args: []string{"-merchant", "M", "-sandbox", "http://127.0.0.1:8090"}, env: map[string]string{"F2FPAY_MASTER_KEY": "x"}},
		"merchant from the env":   {args: []string{"-sandbox", "http://127.0.0.1:8090", "-master-key", "x"}, env: map[string]string{"F2FPAY_MERCHANT": "M"}},
		"admin URL, no token":     {args: []string{"-merchant", "M", "-sandbox", "http://127.0.0.1:8090", "-admin-url", "http://127.0.0.1:8080"}, want: "-admin-token"},
		"admin URL and token":     {args: []string{"-merchant", "M", "-sandbox", "http://127.0.0.1:8090", "-admin-url", "http://127.0.0.1:8080", "-admin-token", "t"}},
		"bad database":            {args: append(base, "-sandbox", "http://x", "-db", "mysql://x"), want: "sqlite:PATH"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			_, err := loadProvisionConfig(c.args, func(k string) string { return c.env[k] }, &stdout, &stderr)
			switch {
			case c.want == "help":
				if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stdout.String(), "Usage: f2fpay provision") || !strings.Contains(stdout.String(), "-rotate-key") {
					t.Fatalf("-h: %v\nstdout: %s", err, stdout.String())
				}
			case c.want == "" && err != nil:
				t.Fatalf("err = %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || exitCode(err) != 2):
				t.Fatalf("err = %v, want a usage error with %q", err, c.want)
			}
		})
	}
	// -h through the command: usage on stdout, success.
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"provision", "-h"}, nil, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "Usage: f2fpay provision") {
		t.Fatalf("f2fpay provision -h: %v\n%s", err, stdout.String())
	}
}

// TestProvision onboards a merchant three ways — on the database with the sandbox, on
// the database with values from "Alipay's console", through a running service's admin
// API with the sandbox — runs each again (nothing is duplicated, no key is shown, the
// rotate command is), then pays with the key the first run printed.
func TestProvision(t *testing.T) {
	simURL, stopSim := startSandbox(t)
	t.Cleanup(stopSim)
	sim := simclient.New(simURL, nil)
	ctx := context.Background()

	for _, mode := range []string{"database, sandbox", "database, Alipay values", "admin API, sandbox"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			var out bytes.Buffer
			if err := run(ctx, []string{"keys", "generate", "-dir", filepath.Join(dir, "keys")}, nil, &out, io.Discard); err != nil {
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

			var svc *service // the running service of the admin API mode
			args := []string{"provision", "-merchant", "Corner Coffee", "-keys", filepath.Join(dir, "keys")}
			switch mode {
			case "database, sandbox":
				args = append(args, "-db", cfg.DB, "-master-key", cfg.MasterKey, "-sandbox", simURL)
			case "database, Alipay values":
				// What a developer copies from the console after uploading the app public key.
				pub, err := os.ReadFile(appkey.PathsFor(filepath.Join(dir, "keys"), "app").Public)
				if err != nil {
					t.Fatal(err)
				}
				sa, err := sim.RegisterApp(ctx, string(pub), "")
				if err != nil {
					t.Fatal(err)
				}
				keyFile := filepath.Join(dir, "alipay_public_key.pem")
				os.WriteFile(keyFile, []byte(sa.AlipayPublicKey), 0o600)
				args = append(args, "-db", cfg.DB, "-master-key", cfg.MasterKey, "-app-id", sa.AppID, "-seller-id", sa.SellerID,
					"-gateway", sim.Gateway(), "-alipay-public-key", keyFile)
			case "admin API, sandbox":
				svc = startTestService(t, &cfg)
				args = append(args, "-admin-url", svc.URL, "-admin-token", cfg.AdminToken, "-sandbox", simURL)
			}

			provisionOnce := func(extra ...string) string {
				t.Helper()
				var stdout, stderr bytes.Buffer
				if err := run(ctx, append(args, extra...), nil, &stdout, &stderr); err != nil {
					t.Fatalf("%v: %v\n%s%s", args, err, stdout.String(), stderr.String())
				}
				return stdout.String()
			}
			first := provisionOnce()
			for _, want := range []string{`merchant "Corner Coffee" (id 1) created`, "app 2021", "created, gateway " + sim.Gateway(), "store STORE_001 (id 1) created",
				"terminal POS-1 (id 1) created", "shown only this once", "Gateway in use: " + sim.Gateway()} {
				if !strings.Contains(first, want) {
					t.Errorf("first run: no %q in:\n%s", want, first)
				}
			}
			key := regexp.MustCompile(`key_id: (\S+)\n  secret: (\S+)`).FindStringSubmatch(first)
			if key == nil {
				t.Fatalf("first run printed no key:\n%s", first)
			}

			again := provisionOnce()
			for _, want := range []string{`merchant "Corner Coffee" (id 1) exists`, "exists, gateway " + sim.Gateway(), "store STORE_001 (id 1) exists",
				"terminal POS-1 (id 1) exists", "cannot be shown again", "-rotate-key", "/admin/terminals/1/rotate-key", "Gateway in use: " + sim.Gateway()} {
				if !strings.Contains(again, want) {
					t.Errorf("second run: no %q in:\n%s", want, again)
				}
			}
			if strings.Contains(again, ") created") || strings.Contains(again, "secret:") || strings.Contains(again, "registered with the sandbox") {
				t.Errorf("second run created something or showed a key:\n%s", again)
			}

			// The service has one of each, and the printed key pays.
			if svc == nil {
				svc = startTestService(t, &cfg)
			}
			admin := client.NewAdminClient(svc.URL, cfg.AdminToken, nil)
			ms, err1 := admin.ListMerchants(ctx)
			apps, err2 := admin.ListApps(ctx, 1)
			sts, err3 := admin.ListStores(ctx, 1)
			ts, err4 := admin.ListTerminals(ctx, 1)
			if err := errors.Join(err1, err2, err3, err4); err != nil || len(ms) != 1 || len(apps) != 1 || len(sts) != 1 || len(ts) != 1 {
				t.Fatalf("after two runs: %d merchants, %d apps, %d stores, %d terminals (%v); want one each", len(ms), len(apps), len(sts), len(ts), err)
			}
			pay := func(keyID, secret string) {
				t.Helper()
				buyer, err := sim.CreateBuyer(ctx, simclient.BuyerSpec{Balance: f2fpay.MustParseAmount("10.00")})
				if err != nil {
					t.Fatal(err)
				}
				code, err := sim.PaymentCode(ctx, buyer.UserID)
				if err != nil {
					t.Fatal(err)
				}
				p, err := client.NewClient(svc.URL, keyID, secret, nil).PayBarcode(ctx, client.BarcodeRequest{AuthCode: code, Amount: f2fpay.MustParseAmount("1.23"), Subject: "tea"})
				if err != nil || p.State != client.StatePaid {
					t.Fatalf("paying with the printed key: %+v %v", p, err)
				}
			}
			pay(key[1], key[2])

			if mode == "admin API, sandbox" {
				rotated := provisionOnce("-rotate-key")
				nk := regexp.MustCompile(`key_id: (\S+)\n  secret: (\S+)`).FindStringSubmatch(rotated)
				if !strings.Contains(rotated, "its key was replaced") || nk == nil || nk[2] == key[2] {
					t.Fatalf("-rotate-key:\n%s", rotated)
				}
				pay(nk[1], nk[2])
			}
		})
	}
}

// startTestService runs the service on cfg's database on a loopback port until the
// test ends; a second one on the same SQLite database waits for the first to stop.
func startTestService(t *testing.T, cfg *serveConfig) *service {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := startService(context.Background(), cfg, io.Discard, io.Discard, ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Stop() })
	return svc
}
