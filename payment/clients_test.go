package payment_test

import (
	"context"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
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
			"key stored in the clear": func(a *f2fpay.App) { a.PrivateKey = string(pemPKCS8(appKey)) },
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
