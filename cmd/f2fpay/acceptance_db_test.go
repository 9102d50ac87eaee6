package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAcceptanceFromDB: acceptance checks an app configured in the service's database
// (-db, the master key, -app) exactly as the service would use it, and names what is
// wrong: an unknown app, another master key, flags that contradict the database.
func TestAcceptanceFromDB(t *testing.T) {
	simURL, stopSim := startSandbox(t)
	t.Cleanup(stopSim)
	ctx := context.Background()
	dir := t.TempDir()
	if err := run(ctx, []string{"keys", "generate", "-dir", filepath.Join(dir, "keys")}, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	master := make([]byte, 32)
	rand.Read(master)
	mk := base64.StdEncoding.EncodeToString(master)
	db := "sqlite:" + filepath.Join(dir, "f2fpay.db")
	var out bytes.Buffer
	if err := run(ctx, []string{"provision", "-db", db, "-master-key", mk, "-merchant", "Corner Coffee", "-keys", filepath.Join(dir, "keys"), "-sandbox", simURL}, nil, &out, io.Discard); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	appID := regexp.MustCompile(`app (\d+) \(id 1\) created`).FindStringSubmatch(out.String())
	if appID == nil {
		t.Fatalf("provision:\n%s", out.String())
	}

	acc := func(args ...string) (*acceptanceReport, string, error) {
		var stdout, stderr bytes.Buffer
		err := run(ctx, append([]string{"acceptance", "-json"}, args...), nil, &stdout, &stderr)
		var rep acceptanceReport
		json.Unmarshal(stdout.Bytes(), &rep)
		return &rep, stdout.String() + stderr.String(), err
	}
	rep, text, err := acc("-db", db, "-master-key", mk, "-app", appID[1], "-sandbox", simURL)
	// Without -notify-url only the notify URL check fails; the keys, the gateway and
	// every flow pass with the app as stored.
	if f := failed(rep); len(f) != 1 || f["notify_url"] == "" || err == nil {
		t.Fatalf("failed checks %v (%v)\n%s", f, err, text)
	}
	for _, name := range []string{"keys", "gateway", "barcode_pay", "password_10003", "qr", "refund", "cancel", "close", "bill_download", "cleanup"} {
		if c := check(rep, name); c == nil || !c.OK {
			t.Errorf("%s: %+v", name, c)
		}
	}
	if rep.AppID != appID[1] || !strings.HasSuffix(rep.Gateway, "/gateway.do") {
		t.Errorf("report of app %s at %s", rep.AppID, rep.Gateway)
	}

	other := make([]byte, 32)
	rand.Read(other)
	for _, tc := range []struct {
		args  []string
		words string
	}{
		{[]string{"-db", db, "-master-key", mk, "-app", "2021999999999999", "-sandbox", simURL}, "no app 2021999999999999 in the database"},
		{[]string{"-db", db, "-master-key", base64.StdEncoding.EncodeToString(other), "-app", appID[1], "-sandbox", simURL}, "cannot be opened with this master key"},
		{[]string{"-db", db, "-master-key", mk, "-app", appID[1], "-private-key", "x"}, "leave out -private-key"},
		{[]string{"-db", db, "-master-key", mk}, "-db and -app go together"},
	} {
		if _, text, err := acc(tc.args...); err == nil || !strings.Contains(err.Error(), tc.words) {
			t.Errorf("%v: %v, want %q\n%s", tc.args, err, tc.words, text)
		}
	}
}
