package payment_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

func TestAppClients(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		ctx := context.Background()
		c1, err := b.clients.Client(ctx, b.app)
		if err != nil {
			t.Fatal(err)
		}
		if c2, _ := b.clients.Client(ctx, b.app); c2 != c1 {
			t.Errorf("the same app got a new client")
		}
		if c1.AppID() != b.app.AppID || len(c1.Options()) != 0 {
			t.Errorf("client for %s with %d options", c1.AppID(), len(c1.Options()))
		}
		// A changed app (here: an app_auth_token added) gets a new client.
		withToken := *b.app
		tok, err := b.box.Seal("202601BB0123456789", payment.AppAuthTokenPurpose(b.app.AppID))
		b.must(err)
		withToken.AppAuthToken = tok
		c3, err := b.clients.Client(ctx, &withToken)
		if err != nil || c3 == c1 || len(c3.Options()) != 1 {
			t.Errorf("changed app: %v, same client %v, %d options", err, c3 == c1, len(c3.Options()))
		}
		for name, mod := range map[string]func(a *f2fpay.App){
			"key sealed for another app": func(a *f2fpay.App) {
				a.PrivateKey, _ = b.box.Seal("x", payment.PrivateKeyPurpose("2021000000000000"))
			},
			"key stored in the clear": func(a *f2fpay.App) { a.PrivateKey = string(pemPKCS8(appPrivateKey())) },
			"no Alipay public key":    func(a *f2fpay.App) { a.AlipayPublicKey = "" },
		} {
			a := *b.app
			a.ID = 99
			mod(&a)
			_, err := b.clients.Client(ctx, &a)
			if err == nil {
				t.Errorf("%s: accepted", name)
			} else if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "MII") {
				t.Errorf("%s: the error shows key material: %v", name, err)
			}
		}
	})
}

// TestKeyRotation: after an app's private key is updated in the store, the engine's
// next payment is signed with the new key, although a client built from the old key
// is cached. The sandbox is the judge: its app knows only the new key's public half,
// so a request signed with the old key is refused (isv.invalid-signature). Both ways
// of holding a key are covered: sealed in the row, and a "file:" reference whose file
// is replaced (the row then changes only by its version).
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		ctx := context.Background()
		oldKey, _ := keys()
		newKey, err := rsa.GenerateKey(rand.Reader, 2048)
		b.must(err)
		keyFile := filepath.Join(t.TempDir(), "app.pem")
		b.must(os.WriteFile(keyFile, pemPKCS8(oldKey), 0o600))

		for _, tc := range []struct {
			name   string
			stored func(appID string, k *rsa.PrivateKey) string // the PrivateKey column for key k
			rotate func(appID string) string                    // install newKey; the value to update with
		}{
			{"sealed",
				func(appID string, k *rsa.PrivateKey) string {
					s, err := b.box.Seal(string(pemPKCS8(k)), payment.PrivateKeyPurpose(appID))
					b.must(err)
					return s
				},
				func(appID string) string {
					s, err := b.box.Seal(string(pemPKCS8(newKey)), payment.PrivateKeyPurpose(appID))
					b.must(err)
					return s
				}},
			{"file reference",
				func(string, *rsa.PrivateKey) string { return "file:" + keyFile },
				func(string) string {
					b.must(os.WriteFile(keyFile, pemPKCS8(newKey), 0o600))
					return "file:" + keyFile // the same reference: only the version tells
				}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// The sandbox app was registered with the new key already (the console
				// step of a rotation); the service still holds the old one.
				simApp, err := b.sim.RegisterApp(ctx, alipaysim.AppSpec{PublicKey: string(alipay.PublicKeyPEM(&newKey.PublicKey)), Balance: f2fpay.MustParseAmount("100.00")})
				b.must(err)
				app := *b.app
				app.ID, app.AppID, app.SellerID, app.PrivateKey = 0, simApp.AppID, simApp.SellerID, tc.stored(simApp.AppID, oldKey)
				b.must(b.db.CreateApp(ctx, &app))
				term := &f2fpay.Terminal{MerchantID: app.MerchantID, StoreID: b.term.StoreID, AppID: app.ID, Code: "R-" + tc.name, Kind: f2fpay.TerminalCashier}
				b.must(b.db.CreateTerminal(ctx, term))
				old, err := b.clients.Client(ctx, &app) // cached, signing with the old key
				b.must(err)

				rotated, err := b.db.UpdateApp(ctx, app.ID, f2fpay.AppUpdate{PrivateKey: new(tc.rotate(simApp.AppID))})
				b.must(err)
				if rotated.Version != app.Version+1 {
					t.Fatalf("version %d after the update, want %d", rotated.Version, app.Version+1)
				}
				if c, err := b.clients.Client(ctx, rotated); err != nil || c == old {
					t.Fatalf("after the update: same cached client %v, err %v", c == old, err)
				}
				buyer := b.Buyer("50.00")
				o, err := b.engine.PayBarcode(ctx, payment.PayRequest{TerminalID: term.ID, AuthCode: b.Code(buyer.UserID),
					Amount: f2fpay.MustParseAmount("8.80"), Subject: "after rotation"})
				b.must(err)
				if o.State != f2fpay.OrderPaid {
					t.Fatalf("payment after the rotation: %s %s %s; want PAID (signed with the new key)", o.State, o.FailCode, o.FailReason)
				}
			})
		}
	})
}

func ptr[T any](v T) *T { return &v }
