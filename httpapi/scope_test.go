package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// TestOrderNumbersPerMerchant: out_trade_no is unique per app (docs/orders.md). Two
// merchants, each with its own Alipay app, both pay an order numbered "M-1" on one
// service: both succeed, each terminal sees its own, and support finds either by
// naming the app. Before, the second merchant got 409 "already used".
func TestOrderNumbersPerMerchant(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		other := b.secondMerchant("Other Tea")

		by := b.Buyer("100.00")
		mine, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(by.UserID), Amount: amt("3.00"), Subject: "coffee", OutTradeNo: "M-1"})
		if err != nil || mine.State != string(f2fpay.OrderPaid) {
			t.Fatalf("merchant A pays M-1: %+v, %v", mine, err)
		}
		theirs, err := other.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(by.UserID), Amount: amt("7.00"), Subject: "tea", OutTradeNo: "M-1"})
		if err != nil || theirs.State != string(f2fpay.OrderPaid) {
			t.Fatalf("merchant B pays M-1 as well: %+v, %v", theirs, err)
		}
		for _, tc := range []struct {
			name string
			c    *client.Client
			want string
		}{{"A", b.client, "3.00"}, {"B", other.client, "7.00"}} {
			p, err := tc.c.Payment(b.ctx, "M-1", 0)
			if err != nil || p.TotalAmount != amt(tc.want) || p.State != string(f2fpay.OrderPaid) {
				t.Errorf("merchant %s's M-1 = %+v, %v; want its own %s", tc.name, p, err, tc.want)
			}
		}
		// Within one merchant the number stays taken (a new Idempotency-Key: a new payment).
		_, err = b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(by.UserID), Amount: amt("3.00"), Subject: "coffee", OutTradeNo: "M-1"})
		if client.ErrorCode(err) != client.ECONFLICT || !strings.Contains(err.Error(), "already used by an earlier payment") {
			t.Errorf("merchant A reuses M-1: %v; want a 409 that says so", err)
		}
		// Support: the number alone is ambiguous now; the app says which.
		status, _, body := b.raw(http.MethodGet, "/admin/orders/M-1", "Bearer "+adminToken, "", nil)
		if status != http.StatusConflict || !strings.Contains(string(body), "app_id") {
			t.Errorf("admin M-1 without app: %d %s; want 409 asking for app_id", status, body)
		}
		status, _, body = b.raw(http.MethodGet, "/admin/orders/M-1?app_id="+itoa(other.app.ID), "Bearer "+adminToken, "", nil)
		if status != http.StatusOK || !strings.Contains(string(body), `"total_amount":"7.00"`) {
			t.Errorf("admin M-1 of app %d: %d %s", other.app.ID, status, body)
		}
	})
}

// TestReplayAnswersTheCurrentState: a payment answered "still waiting" and retried
// with the same Idempotency-Key after the buyer confirmed is answered PAID, not the
// stored WAITING: a retry always gets the truth.
func TestReplayAnswersTheCurrentState(t *testing.T) {
	t.Parallel()
	b := setup(t)
	by := b.Buyer("100.00", testbundle.NeedsPassword)
	req := client.BarcodeRequest{AuthCode: b.Code(by.UserID), Amount: amt("9.00"), Subject: "cake", WaitSeconds: 1,
		PayTimeoutSeconds: 60, IdempotencyKey: "wait-then-pay"}
	first, err := b.client.PayBarcode(b.ctx, req)
	if err != nil || first.State != string(f2fpay.OrderWaiting) {
		t.Fatalf("first answer: %+v, %v; want WAITING", first, err)
	}
	if _, err := b.sim.Confirm(b.ctx, first.TradeNo, "1234"); err != nil {
		t.Fatal(err)
	}
	if p, err := b.client.Payment(b.ctx, first.OutTradeNo, 10*time.Second); err != nil || p.State != string(f2fpay.OrderPaid) {
		t.Fatalf("after the buyer confirmed: %+v, %v", p, err)
	}
	again, err := b.client.PayBarcode(b.ctx, req)
	if err != nil || again.State != string(f2fpay.OrderPaid) || again.OutTradeNo != first.OutTradeNo {
		t.Fatalf("the same request again: %+v, %v; want PAID for %s", again, err, first.OutTradeNo)
	}
	if n := b.gw.Total(alipay.MethodTradePay); n != 1 {
		t.Errorf("%d trade.pay calls; the retry must not pay again", n)
	}
}

// merchantB is a second merchant on the same service, with its own sandbox app.
type merchantB struct {
	app    *client.App
	client *client.Client
}

func (b *bundle) secondMerchant(name string) *merchantB {
	b.t.Helper()
	ak, _ := testbundle.Keys()
	simApp, err := b.sim.RegisterApp(b.ctx, alipaysim.AppSpec{
		PublicKey: string(alipay.PublicKeyPEM(&ak.PublicKey)), Balance: f2fpay.MustParseAmount("100000.00"),
	})
	b.must(err)
	m, err := b.admin.CreateMerchant(b.ctx, client.MerchantRequest{Name: name})
	b.must(err)
	app, err := b.admin.CreateApp(b.ctx, m.ID, client.AppRequest{
		AppID: simApp.AppID, Name: "main", Gateway: b.Sandbox.Gateway(), PrivateKey: pemPKCS8(ak),
		AlipayPublicKey: b.sim.AlipayPublicKey(), SellerID: simApp.SellerID,
	})
	b.must(err)
	st, err := b.admin.CreateStore(b.ctx, m.ID, "S001", "Tea corner")
	b.must(err)
	term, err := b.admin.CreateTerminal(b.ctx, m.ID, client.TerminalRequest{StoreID: st.ID, AppID: app.ID, Code: "POS-1", Name: "till"})
	b.must(err)
	c := client.NewClient(b.srv.URL, term.APIKey.KeyID, term.APIKey.Secret, nil)
	c.RetryDelay = 20 * time.Millisecond
	return &merchantB{app: app, client: c}
}
