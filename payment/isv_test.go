package payment_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

// isvBundle is one service provider's app (ISV) in the sandbox, registered once in
// the service, and merchants that authorise it.
type isvBundle struct {
	t       *testing.T
	sb      *testbundle.Sandbox
	db      f2fpay.Storage
	clients *payment.AppClients
	engine  *payment.Engine
	app     *f2fpay.App // the ISV app

	mu       sync.Mutex
	notified []notified
}

type notified struct {
	authAppID, outTradeNo, status, answer string
}

type isvMerchant struct {
	m      *f2fpay.Merchant
	simApp *alipaysim.App // the merchant's own app at Alipay (auth_app_id)
	term   *f2fpay.Terminal
}

func setupISV(t *testing.T, kind testdb.Kind) *isvBundle {
	ctx := context.Background()
	b := &isvBundle{t: t}
	b.sb = testbundle.StartSandbox(t, testbundle.SandboxOptions{Seed: 17})
	schema := ""
	if kind == testdb.Postgres {
		schema = testdb.NewSchema(t)
	}
	b.db = testdb.Open(t, kind, testdb.Options{Schema: schema})
	box := testbundle.Box(t)
	srv := httptest.NewServer(http.HandlerFunc(b.serveNotify))
	t.Cleanup(srv.Close)
	b.clients = payment.NewAppClients(box, payment.AppClientsOptions{NotifyURL: func(a *f2fpay.App) string { return srv.URL + "/notify/" + a.AppID }})
	var err error
	// Before longer than a token lives: every authorisation is due for refresh at once,
	// which is how the test refreshes tokens mid-run.
	b.engine, err = payment.New(payment.Config{Storage: b.db, Clients: b.clients, Policy: fastPolicy(), WaitPoll: 20 * time.Millisecond,
		Refresh: payment.RefreshPolicy{Before: 2 * 365 * 24 * time.Hour}})
	must(t, err)

	provider := &f2fpay.Merchant{Name: "Vending Services Ltd"}
	must(t, b.db.CreateMerchant(ctx, provider))
	ak, _ := keys()
	sealed, err := box.Seal(string(pemPKCS8(ak)), payment.PrivateKeyPurpose(b.sb.App.AppID))
	must(t, err)
	b.app = &f2fpay.App{MerchantID: provider.ID, AppID: b.sb.App.AppID, Name: "isv", Gateway: b.sb.Gateway(), SignType: "RSA2",
		KeyMode: f2fpay.KeyModePublicKey, PrivateKey: sealed, AlipayPublicKey: b.sb.Sim.AlipayPublicKey(),
		SellerID: b.sb.App.SellerID, SysServiceProviderID: b.sb.App.SellerID, ISV: true}
	must(t, b.db.CreateApp(ctx, b.app))
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (b *isvBundle) serveNotify(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	answer := "success"
	if err := b.engine.HandleNotification(r.Context(), strings.TrimPrefix(r.URL.Path, "/notify/"), body); err != nil {
		answer = "fail: " + err.Error()
	}
	v, _ := url.ParseQuery(string(body))
	b.mu.Lock()
	b.notified = append(b.notified, notified{v.Get("auth_app_id"), v.Get("out_trade_no"), v.Get("trade_status"), answer})
	b.mu.Unlock()
	io.WriteString(w, answer)
}

// merchant onboards a merchant: its own app at Alipay, its consent (an
// app_auth_code), the exchange, a store and a terminal on the ISV app.
func (b *isvBundle) merchant(name string) *isvMerchant {
	t := b.t
	ctx := context.Background()
	ak, _ := keys()
	sa, err := b.sb.Sim.RegisterApp(ctx, alipaysim.AppSpec{PublicKey: string(alipay.PublicKeyPEM(&ak.PublicKey)), Balance: f2fpay.MustParseAmount("1000.00")})
	must(t, err)
	m := &f2fpay.Merchant{Name: name}
	must(t, b.db.CreateMerchant(ctx, m))
	link, err := b.engine.AuthorizationLink(ctx, b.app.ID, m.ID, "https://pay.example.com/alipay/app-auth")
	must(t, err)
	u, err := url.Parse(link)
	must(t, err)
	if u.Query().Get("app_id") != b.app.AppID || u.Query().Get("redirect_uri") != "https://pay.example.com/alipay/app-auth" {
		t.Fatalf("link %s", link)
	}
	appID, merchantID, err := b.engine.OpenAuthorizationState(u.Query().Get("state"))
	if err != nil || appID != b.app.ID || merchantID != m.ID {
		t.Fatalf("state names app %d merchant %d (%v)", appID, merchantID, err)
	}
	b.authorize(m.ID, sa.AppID)
	st := &f2fpay.Store{MerchantID: m.ID, Code: "S1", Name: name}
	must(t, b.db.CreateStore(ctx, st))
	term := &f2fpay.Terminal{MerchantID: m.ID, StoreID: st.ID, AppID: b.app.ID, Code: "POS-1", Kind: f2fpay.TerminalCashier}
	must(t, b.db.CreateTerminal(ctx, term))
	return &isvMerchant{m: m, simApp: sa, term: term}
}

func (b *isvBundle) authorize(merchantID int64, merchantAppID string) *f2fpay.Authorization {
	code, err := b.sb.Sim.IssueAppAuthCode(context.Background(), b.app.AppID, merchantAppID)
	must(b.t, err)
	a, err := b.engine.Authorize(context.Background(), b.app.ID, merchantID, code.Code, payment.AuthorizeOptions{})
	must(b.t, err)
	if a.AuthAppID != merchantAppID || a.State != f2fpay.AuthorizationActive || a.AppAuthToken == "" || strings.HasPrefix(a.AppAuthToken, "2") {
		b.t.Fatalf("authorisation %+v", a)
	}
	return a
}

func (b *isvBundle) pay(mc *isvMerchant, no, amount string) (*f2fpay.Order, error) {
	buyer := b.sb.Buyer("500.00")
	return b.engine.PayBarcode(context.Background(), payment.PayRequest{TerminalID: mc.term.ID, AuthCode: b.sb.Code(buyer.UserID),
		Amount: f2fpay.MustParseAmount(amount), Subject: "cola", OutTradeNo: no})
}

func (b *isvBundle) waitNotified(authAppID, no, status string) notified {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		for _, n := range b.notified {
			if n.authAppID == authAppID && n.outTradeNo == no && n.status == status {
				b.mu.Unlock()
				return n
			}
		}
		b.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	b.t.Fatalf("no %s notification for %s of %s", status, no, authAppID)
	return notified{}
}

// TestISVMerchants: two merchants under one service provider's app pay with the same
// order number, get their notifications and refund, each seeing only their own; the
// tokens are refreshed mid-run; a token Alipay no longer accepts fails the payment
// with words that name re-authorisation, and the next payment is refused before any
// call until the merchant authorises again.
func TestISVMerchants(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := context.Background()
		b := setupISV(t, kind)
		ma, mb := b.merchant("Shop A"), b.merchant("Shop B")

		oa, err := b.pay(ma, "M-1", "12.00")
		must(t, err)
		ob, err := b.pay(mb, "M-1", "7.50")
		must(t, err)
		if oa.State != f2fpay.OrderPaid || ob.State != f2fpay.OrderPaid || oa.ID == ob.ID || oa.MerchantID != ma.m.ID || ob.MerchantID != mb.m.ID {
			t.Fatalf("orders %+v %+v", oa, ob)
		}
		// The trades are the merchants' own at Alipay, with the provider's rebate PID.
		for _, c := range []struct {
			mc *isvMerchant
			o  *f2fpay.Order
		}{{ma, oa}, {mb, ob}} {
			tr, err := b.sb.Sim.TradeByOutTradeNo(c.mc.simApp.AppID, "M-1")
			must(t, err)
			if tr.TradeNo != c.o.TradeNo || tr.SellerID != c.mc.simApp.SellerID || tr.Total != c.o.TotalAmount {
				t.Fatalf("sandbox trade %+v for order %+v", tr, c.o)
			}
		}
		if _, err := b.db.FindOrder(ctx, b.app.ID, "M-1"); errCode(err) != f2fpay.ECONFLICT {
			t.Fatalf("FindOrder of a number two merchants hold: %v, want ECONFLICT", err)
		}
		// Each merchant's lookups see only its own order.
		got, err := b.engine.Order(payment.ForMerchant(ctx, mb.m.ID), b.app.ID, "M-1")
		must(t, err)
		if got.ID != ob.ID {
			t.Fatalf("merchant B sees order %d, want %d", got.ID, ob.ID)
		}
		if _, err := b.engine.Order(payment.ForMerchant(ctx, mb.m.ID), b.app.ID, "A-ONLY"); errCode(err) != f2fpay.ENOTFOUND {
			t.Fatal(err)
		}

		// Notifications come to the provider's app and are routed by auth_app_id.
		for _, mc := range []*isvMerchant{ma, mb} {
			if n := b.waitNotified(mc.simApp.AppID, "M-1", "TRADE_SUCCESS"); n.answer != "success" {
				t.Fatalf("notification for %s answered %q", mc.simApp.AppID, n.answer)
			}
		}
		// A's notification, re-signed as if for B, meets B's seller id and is refused.
		tr, _ := b.sb.Sim.TradeByOutTradeNo(ma.simApp.AppID, "M-1")
		forged := url.Values{"notify_type": {"trade_status_sync"}, "notify_id": {"x1"}, "app_id": {b.app.AppID}, "auth_app_id": {mb.simApp.AppID},
			"out_trade_no": {"M-1"}, "trade_no": {tr.TradeNo}, "seller_id": {ma.simApp.SellerID}, "trade_status": {"TRADE_CLOSED"},
			"total_amount": {"7.50"}, "charset": {"utf-8"}, "version": {"1.0"}, "sign_type": {"RSA2"}}
		if err := b.engine.HandleNotification(ctx, b.app.AppID, signNotification(t, forged)); errCode(err) != f2fpay.EUNAUTHORIZED {
			t.Fatalf("cross-merchant notification: %v, want EUNAUTHORIZED", err)
		}
		forged.Set("auth_app_id", "2021000000000000")
		if err := b.engine.HandleNotification(ctx, b.app.AppID, signNotification(t, forged)); errCode(err) != f2fpay.EUNAUTHORIZED {
			t.Fatalf("notification for a merchant that never authorised: %v, want EUNAUTHORIZED", err)
		}

		// Refunds, each through its merchant's token.
		for _, c := range []struct {
			mc  *isvMerchant
			amt string
		}{{ma, "2.00"}, {mb, "7.50"}} {
			r, err := b.engine.Refund(payment.ForMerchant(ctx, c.mc.m.ID), payment.RefundRequest{AppID: b.app.ID, OutTradeNo: "M-1", RefundID: "r1", Amount: f2fpay.MustParseAmount(c.amt)})
			must(t, err)
			if r.State != f2fpay.RefundSucceeded {
				t.Fatalf("refund %+v", r)
			}
			tr, _ := b.sb.Sim.TradeByOutTradeNo(c.mc.simApp.AppID, "M-1")
			if tr.RefundFee != f2fpay.MustParseAmount(c.amt) {
				t.Fatalf("sandbox refunded %s for %s, want %s", tr.RefundFee, c.mc.simApp.AppID, c.amt)
			}
		}

		// Mid-run refresh: both are due (RefreshPolicy.Before is longer than a token
		// lives); one round renews both, the next finds nothing due.
		before, err := b.db.FindAuthorization(ctx, b.app.ID, ma.m.ID)
		must(t, err)
		n, err := b.engine.RefreshRound(ctx)
		if err != nil || n != 2 {
			t.Fatalf("refresh round: %d claimed, %v", n, err)
		}
		after, err := b.db.FindAuthorization(ctx, b.app.ID, ma.m.ID)
		must(t, err)
		if after.AppAuthToken == before.AppAuthToken || after.RefreshedAt.IsZero() || !after.Usable() || after.Version != before.Version+1 {
			t.Fatalf("after refresh %+v", after)
		}
		if o, err := b.pay(ma, "M-2", "3.00"); err != nil || o.State != f2fpay.OrderPaid {
			t.Fatalf("payment with the refreshed token: %+v %v", o, err)
		}

		// B's tokens are replaced behind the service's back (as when the merchant
		// cancels the authorisation): the next payment fails on Alipay's word, with
		// words that name re-authorisation, and marks the authorisation.
		revoke(t, b, mb.m.ID)
		o, err := b.pay(mb, "M-3", "1.00")
		must(t, err)
		if o.State != f2fpay.OrderFailed || !strings.Contains(o.FailReason, "authorise the app again") || o.FailCode != payment.SubInvalidAppAuthToken {
			t.Fatalf("payment with a revoked token: %s %s %q", o.State, o.FailCode, o.FailReason)
		}
		auth, err := b.db.FindAuthorization(ctx, b.app.ID, mb.m.ID)
		must(t, err)
		if auth.State != f2fpay.AuthorizationReauthorize || !strings.Contains(auth.Problem, payment.SubInvalidAppAuthToken) {
			t.Fatalf("authorisation after the refusal: %+v", auth)
		}
		_, err = b.pay(mb, "M-4", "1.00")
		if errCode(err) != f2fpay.EUNAUTHORIZED || !strings.Contains(err.Error(), "must authorise the app again") {
			t.Fatalf("payment of a merchant needing re-authorisation: %v", err)
		}
		if _, ferr := b.db.FindMerchantOrder(ctx, b.app.ID, mb.m.ID, "M-4"); errCode(ferr) != f2fpay.ENOTFOUND {
			t.Fatalf("an order was made for a refused payment: %v", ferr)
		}
		// Merchant A is untouched; B authorises again and pays.
		if o, err := b.pay(ma, "M-4", "1.00"); err != nil || o.State != f2fpay.OrderPaid {
			t.Fatalf("merchant A after B's revocation: %+v %v", o, err)
		}
		b.authorize(mb.m.ID, mb.simApp.AppID)
		if o, err := b.pay(mb, "M-4", "1.00"); err != nil || o.State != f2fpay.OrderPaid {
			t.Fatalf("merchant B after re-authorisation: %+v %v", o, err)
		}
	})
}

// revoke refreshes the merchant's tokens outside the service, which revokes the pair
// the service holds.
func revoke(t *testing.T, b *isvBundle, merchantID int64) {
	ctx := context.Background()
	a, err := b.db.FindAuthorization(ctx, b.app.ID, merchantID)
	must(t, err)
	refresh, err := b.clients.Open(a.RefreshToken, payment.AuthRefreshTokenPurpose(b.app.AppID, a.AuthAppID))
	must(t, err)
	c, err := b.clients.Client(ctx, b.app)
	must(t, err)
	if _, err := c.OpenAuthTokenApp(ctx, &alipay.OpenAuthTokenAppRequest{GrantType: alipay.GrantRefreshToken, RefreshToken: refresh}); err != nil {
		t.Fatal(err)
	}
}
