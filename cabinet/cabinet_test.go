package cabinet_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/cabinet"
	"github.com/f2fpay/f2fpay/internal/testbundle"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

// bundle is the cabinet service on a real store, with the payment engine talking to an
// in-process sandbox, and the service's notification endpoints served over HTTP.
type bundle struct {
	t testing.TB
	*testbundle.Sandbox
	db     f2fpay.Storage
	engine *payment.Engine
	svc    *cabinet.Service
	clock  *testbundle.Clock
	app    *f2fpay.App
	cab    *f2fpay.Terminal
	buyer  *alipaysim.Buyer
	member *f2fpay.Member

	mu sync.Mutex
	// hold keeps agreement notifications unanswered ("not now") and records them,
	// so a test can deliver them itself, twice or out of order.
	hold bool
	held [][]byte
}

var planogram = []f2fpay.Slot{
	{Code: "A1", GoodsID: "cola", Name: "可乐", Price: 300, Stock: 10},
	{Code: "A2", GoodsID: "water", Name: "矿泉水", Price: 200, Stock: 10},
	{Code: "B1", GoodsID: "chips", Name: "薯片", Price: 550, Stock: 10},
}

func setup(t *testing.T, kind testdb.Kind, balance string) *bundle {
	t.Helper()
	ctx := context.Background()
	b := &bundle{t: t, clock: testbundle.NewClock(0)}
	srv := httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(srv.Close)
	b.Sandbox = testbundle.StartSandbox(t, testbundle.SandboxOptions{Seed: 11})
	b.db = testdb.Open(t, kind, testdb.Options{})
	box := testbundle.Box(t)
	clients := payment.NewAppClients(box, payment.AppClientsOptions{NotifyURL: func(a *f2fpay.App) string {
		return srv.URL + "/alipay/notify/" + a.AppID
	}})
	m := &f2fpay.Merchant{Name: "Cabinet Co"}
	b.must(b.db.CreateMerchant(ctx, m))
	ak, _ := testbundle.Keys()
	sealed, err := box.Seal(testbundle.PrivateKeyPEM(ak), payment.PrivateKeyPurpose(b.App.AppID))
	b.must(err)
	b.app = &f2fpay.App{MerchantID: m.ID, AppID: b.App.AppID, Name: "main", Gateway: b.Sandbox.Gateway(), SignType: "RSA2",
		KeyMode: f2fpay.KeyModePublicKey, PrivateKey: sealed, AlipayPublicKey: b.Sim.AlipayPublicKey(), SellerID: b.App.SellerID}
	b.must(b.db.CreateApp(ctx, b.app))
	st := &f2fpay.Store{MerchantID: m.ID, Code: "S001", Name: "Lobby"}
	b.must(b.db.CreateStore(ctx, st))
	b.cab = &f2fpay.Terminal{MerchantID: m.ID, StoreID: st.ID, AppID: b.app.ID, Code: "CAB-1", Kind: f2fpay.TerminalVending,
		Name: "cabinet 1", KeyID: "kc1", KeyHash: make([]byte, 32)}
	b.must(b.db.CreateTerminal(ctx, b.cab))
	b.must(b.db.PutDevice(ctx, &f2fpay.Device{TerminalID: b.cab.ID, MerchantID: m.ID, Machine: f2fpay.MachineCabinet,
		Site: "3F lobby", Slots: planogram}))
	b.engine, err = payment.New(payment.Config{Storage: b.db, Clients: clients, Policy: testbundle.FastPolicy()})
	b.must(err)
	b.svc, err = cabinet.New(cabinet.Config{Store: b.db, Devices: b.db, Alipay: b.engine, PublicURL: srv.URL,
		Backoff: []time.Duration{time.Minute, 10 * time.Minute}, UnknownDelay: time.Second, Handover: 5 * time.Second,
		Clock: b.clock})
	b.must(err)
	b.buyer = b.Buyer(balance)
	b.member = &f2fpay.Member{MerchantID: m.ID, Identities: []*f2fpay.MemberIdentity{{AppID: b.app.ID, UserID: b.buyer.UserID}}}
	b.must(b.db.CreateMember(ctx, b.member))
	return b
}

func (b *bundle) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

func (b *bundle) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var err error
	switch {
	case strings.HasPrefix(r.URL.Path, cabinet.NotifyPath):
		b.mu.Lock()
		hold := b.hold
		if hold {
			b.held = append(b.held, body)
		}
		b.mu.Unlock()
		if hold {
			io.WriteString(w, "not now")
			return
		}
		err = b.svc.HandleNotification(r.Context(), strings.TrimPrefix(r.URL.Path, cabinet.NotifyPath), body)
	case strings.HasPrefix(r.URL.Path, "/alipay/notify/"):
		err = b.engine.HandleNotification(r.Context(), strings.TrimPrefix(r.URL.Path, "/alipay/notify/"), body)
	}
	if err != nil {
		io.WriteString(w, "fail")
		return
	}
	io.WriteString(w, "success")
}

// sign builds the member's signing link, opens it (the gateway sends the browser to the
// sandbox's signing page) and signs there as the buyer; it returns the sandbox's
// agreement.
func (b *bundle) sign() *alipaysim.Agreement {
	b.t.Helper()
	ctx := context.Background()
	link, err := b.svc.Sign(ctx, b.member.ID, b.cab.ID)
	b.must(err)
	if !strings.HasPrefix(link.WalletURL, "alipays://platformapi/startapp?appId=60000157") {
		b.t.Fatalf("wallet link %q", link.WalletURL)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(link.URL)
	b.must(err)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	i := strings.LastIndex(loc, "/agreements/sign/")
	if resp.StatusCode != http.StatusFound || i < 0 {
		b.t.Fatalf("page.sign link answered %d, Location %q", resp.StatusCode, loc)
	}
	token := strings.SplitN(loc[i+len("/agreements/sign/"):], "?", 2)[0]
	a, back, err := b.Sim.SignAgreement(ctx, alipaysim.AgreementSign{Token: token, UserID: b.buyer.UserID, Allow: true})
	b.must(err)
	if u, _ := url.Parse(back); u == nil || !strings.HasSuffix(u.Path, "/m/"+itoa(b.cab.ID)) {
		b.t.Errorf("the signing page returns to %q, not the member's page", back)
	}
	return a
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// eventually waits until cond holds (notifications arrive asynchronously).
func (b *bundle) eventually(what string, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *bundle) agreement() *f2fpay.Agreement {
	b.t.Helper()
	a, err := b.db.LatestAgreement(context.Background(), b.member.ID, b.app.ID)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		return nil
	}
	b.must(err)
	return a
}

func (b *bundle) active() {
	b.t.Helper()
	b.eventually("the agreement to be active", func() bool {
		a := b.agreement()
		return a != nil && a.State == f2fpay.AgreementActive
	})
}

func wantRefusal(t *testing.T, err error, reason string) {
	t.Helper()
	var r *cabinet.Refusal
	if !errors.As(err, &r) || r.Reason != reason {
		t.Fatalf("error %v, want the refusal %q", err, reason)
	}
	if r.ZH == "" || r.EN == "" {
		t.Fatalf("refusal %q lacks a message: %+v", reason, r)
	}
}

// threeItems: two colas and a bag of chips, 11.50.
var threeItems = []cabinet.Taken{{Slot: "A1", Count: 2}, {Slot: "B1", Count: 1}}

// TestCabinetCharge: sign, open, take three items, close — charged exactly 11.50, once,
// through the agreement; the order is of kind agreement; the cabinet's repeated report
// changes nothing; a dispute is refunded in part.
func TestCabinetCharge(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := t.Context()
		b := setup(t, kind, "100.00")
		_, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
		wantRefusal(t, err, cabinet.ReasonNotSigned)
		b.sign()
		b.active()
		sess, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
		b.must(err)
		if sess.State != f2fpay.CabinetOpen || sess.CommandID == 0 {
			t.Fatalf("opened: %+v", sess)
		}
		cmd, err := b.db.FindCommand(ctx, sess.CommandID)
		b.must(err)
		if cmd.Kind != f2fpay.CommandOpenDoor || cmd.TerminalID != b.cab.ID || !strings.Contains(string(cmd.Payload), itoa(sess.ID)) {
			t.Fatalf("the door command: %+v", cmd)
		}
		again, err := b.svc.Open(ctx, b.member.ID, b.cab.ID) // a second tap: the same door, commanded once
		b.must(err)
		if again.ID != sess.ID || again.CommandID != sess.CommandID {
			t.Fatalf("a second tap opened %+v, want session %d", again, sess.ID)
		}
		before := b.Balance(b.buyer.UserID)
		done, err := b.svc.Close(ctx, b.cab.ID, sess.ID, threeItems)
		b.must(err)
		if done.State != f2fpay.CabinetPaid || done.Amount != 1150 || len(done.Items) != 2 || done.OrderID == 0 {
			t.Fatalf("closed: %+v", done)
		}
		if paid := before - b.Balance(b.buyer.UserID); paid != 1150 {
			t.Fatalf("the buyer paid %s, want 11.50", paid)
		}
		if n := b.Calls.Count(alipay.MethodTradePay, done.OutTradeNo); n != 1 {
			t.Fatalf("%d trade.pay calls for %s, want 1", n, done.OutTradeNo)
		}
		o, err := b.db.FindOrderByID(ctx, done.OrderID)
		b.must(err)
		if o.Kind != f2fpay.KindAgreement || o.State != f2fpay.OrderPaid || o.TotalAmount != 1150 || o.TradeNo != done.TradeNo {
			t.Fatalf("the order: %+v", o)
		}
		// The cabinet reports the same close again (its answer was lost): nothing new.
		rep, err := b.svc.Close(ctx, b.cab.ID, sess.ID, []cabinet.Taken{{Slot: "B1", Count: 1}, {Slot: "A1", Count: 2}})
		b.must(err)
		if rep.State != f2fpay.CabinetPaid || b.Calls.Count(alipay.MethodTradePay, done.OutTradeNo) != 1 {
			t.Fatalf("a repeated report: %+v", rep)
		}
		_, err = b.svc.Close(ctx, b.cab.ID, sess.ID, []cabinet.Taken{{Slot: "A1", Count: 1}})
		if f2fpay.ErrorCode(err) != f2fpay.ECONFLICT {
			t.Fatalf("another report for a closed door: %v", err)
		}
		d, err := b.db.FindDevice(ctx, b.cab.ID)
		b.must(err)
		if d.Slot("A1").Stock != 8 || d.Slot("B1").Stock != 9 {
			t.Fatalf("stock after the visit: %+v", d.Slots)
		}
		// A dispute: one cola refunded.
		r, err := b.svc.Refund(ctx, sess.ID, "dispute-1", 300, "one cola was not taken")
		b.must(err)
		if r.State != f2fpay.RefundSucceeded || before-b.Balance(b.buyer.UserID) != 850 {
			t.Fatalf("refund %+v; the buyer is out of %s", r, before-b.Balance(b.buyer.UserID))
		}
		if _, err := b.svc.Refund(ctx, sess.ID, "dispute-2", 900, "too much"); f2fpay.ErrorCode(err) != f2fpay.ECONFLICT {
			t.Fatalf("refunding more than is left: %v", err)
		}
		// The door opens again.
		next, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
		b.must(err)
		empty, err := b.svc.Close(ctx, b.cab.ID, next.ID, nil)
		b.must(err)
		if empty.State != f2fpay.CabinetEmpty || b.Calls.Total(alipay.MethodTradePay) != 1 {
			t.Fatalf("an empty visit: %+v", empty)
		}
		_, err = b.svc.Close(ctx, b.cab.ID, 0, threeItems)
		if f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
			t.Fatalf("closing an unknown session: %v", err)
		}
	})
}

// TestCabinetDebt: a charge refused for balance is a debt; the door stays shut; after a
// top-up the retrier charges it under the same number, and the door opens again.
func TestCabinetDebt(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := t.Context()
		b := setup(t, kind, "5.00")
		b.sign()
		b.active()
		sess, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
		b.must(err)
		debt, err := b.svc.Close(ctx, b.cab.ID, sess.ID, threeItems)
		b.must(err)
		if debt.State != f2fpay.CabinetDebt || debt.FailCode != alipay.SubBuyerBalanceNotEnough || debt.OrderID != 0 {
			t.Fatalf("after a refused charge: %+v", debt)
		}
		_, err = b.svc.Open(ctx, b.member.ID, b.cab.ID)
		wantRefusal(t, err, cabinet.ReasonDebt)
		ac, err := b.svc.Access(ctx, b.member.ID, b.cab.ID)
		b.must(err)
		if ac.Owed != 1150 || len(ac.Debts) != 1 || !strings.Contains(ac.Refusal.ZH, "11.50") {
			t.Fatalf("what the member sees: %+v", ac)
		}
		// Not due yet: the retrier leaves it.
		if n, err := b.svc.RunOnce(ctx); err != nil || n != 0 {
			t.Fatalf("RunOnce before the backoff: %d, %v", n, err)
		}
		if _, err := b.Sim.TopUp(ctx, b.buyer.UserID, 2000); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(61 * time.Second)
		if n, err := b.svc.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("RunOnce after the backoff: %d, %v", n, err)
		}
		paid, err := b.db.FindCabinetSession(ctx, sess.ID)
		b.must(err)
		if paid.State != f2fpay.CabinetPaid || paid.OutTradeNo != debt.OutTradeNo || paid.Attempts != 2 {
			t.Fatalf("after the retry: %+v", paid)
		}
		if got := b.Balance(b.buyer.UserID); got != 500+2000-1150 {
			t.Fatalf("balance %s, want 13.50", got)
		}
		if n := b.Calls.Count(alipay.MethodTradePay, debt.OutTradeNo); n != 2 {
			t.Fatalf("%d trade.pay calls, want 2 (refused, then paid)", n)
		}
		if _, err := b.svc.Open(ctx, b.member.ID, b.cab.ID); err != nil {
			t.Fatalf("the door after the debt was paid: %v", err)
		}
	})
}

// TestCabinetUnsign: the buyer cancels in the wallet (dut_user_unsign): the door is
// refused; signing again opens it; the member's own cancellation ends it through Alipay.
func TestCabinetUnsign(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := t.Context()
		b := setup(t, kind, "100.00")
		sa := b.sign()
		b.active()
		if _, err := b.Sim.UnsignAgreement(ctx, sa.AgreementNo); err != nil {
			t.Fatal(err)
		}
		b.eventually("the agreement to be unsigned", func() bool { return b.agreement().State == f2fpay.AgreementUnsigned })
		_, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
		wantRefusal(t, err, cabinet.ReasonUnsigned)
		b.sign()
		b.active()
		if a := b.agreement(); a.AgreementNo == sa.AgreementNo {
			t.Fatalf("signing again reused agreement %s", a.AgreementNo)
		}
		sess, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
		b.must(err)
		_, err = b.svc.Close(ctx, b.cab.ID, sess.ID, nil)
		b.must(err)
		a, err := b.svc.Unsign(ctx, b.member.ID, b.cab.ID)
		b.must(err)
		if a.State != f2fpay.AgreementUnsigned {
			t.Fatalf("after Unsign: %+v", a)
		}
		if s, err := b.Sim.Agreement(a.AgreementNo); err != nil || s.Status != alipaysim.AgreementUnsign {
			t.Fatalf("the sandbox's agreement: %+v, %v", s, err)
		}
		_, err = b.svc.Open(ctx, b.member.ID, b.cab.ID)
		wantRefusal(t, err, cabinet.ReasonUnsigned)
	})
}

// TestCabinetNotificationsOutOfOrder: the sign notification delivered twice, and an
// unsign that overtakes its sign: the agreement ends unsigned and stays so; a forged
// notification changes nothing.
func TestCabinetNotificationsOutOfOrder(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := t.Context()
		b := setup(t, kind, "100.00")
		b.mu.Lock()
		b.hold = true
		b.mu.Unlock()
		sa := b.sign()
		b.eventually("the sign notification", func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.held) > 0 })
		if _, err := b.Sim.UnsignAgreement(ctx, sa.AgreementNo); err != nil {
			t.Fatal(err)
		}
		var sign, unsign []byte
		b.eventually("the unsign notification", func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			for _, body := range b.held {
				v, _ := url.ParseQuery(string(body))
				switch v.Get("notify_type") {
				case "dut_user_sign":
					sign = body
				case "dut_user_unsign":
					unsign = body
				}
			}
			return sign != nil && unsign != nil
		})
		appID := b.App.AppID
		// Duplicated sign: one activation.
		b.must(b.svc.HandleNotification(ctx, appID, sign))
		b.must(b.svc.HandleNotification(ctx, appID, sign))
		if a := b.agreement(); a.State != f2fpay.AgreementActive || a.AgreementNo != sa.AgreementNo || a.Version != 2 {
			t.Fatalf("after the sign twice: %+v", a)
		}
		// A forged body (a field changed after signing) is refused.
		forged := strings.Replace(string(unsign), "dut_user_unsign", "dut_user_sign", 1)
		if err := b.svc.HandleNotification(ctx, appID, []byte(forged)); f2fpay.ErrorCode(err) != f2fpay.EUNAUTHORIZED {
			t.Fatalf("a forged notification: %v", err)
		}
		b.must(b.svc.HandleNotification(ctx, appID, unsign))
		b.must(b.svc.HandleNotification(ctx, appID, sign)) // late, after the unsign: nothing
		if a := b.agreement(); a.State != f2fpay.AgreementUnsigned {
			t.Fatalf("after unsign then sign: %+v", a)
		}
		// Reordered from the start: a fresh agreement whose unsign arrives first.
		b.mu.Lock()
		b.held = nil
		b.mu.Unlock()
		sb := b.sign()
		if _, err := b.Sim.UnsignAgreement(ctx, sb.AgreementNo); err != nil {
			t.Fatal(err)
		}
		sign, unsign = nil, nil
		b.eventually("the second pair", func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			for _, body := range b.held {
				v, _ := url.ParseQuery(string(body))
				if v.Get("agreement_no") != sb.AgreementNo {
					continue
				}
				switch v.Get("notify_type") {
				case "dut_user_sign":
					sign = body
				case "dut_user_unsign":
					unsign = body
				}
			}
			return sign != nil && unsign != nil
		})
		b.must(b.svc.HandleNotification(ctx, appID, unsign))
		b.must(b.svc.HandleNotification(ctx, appID, sign))
		if a := b.agreement(); a.State != f2fpay.AgreementUnsigned || a.AgreementNo != sb.AgreementNo {
			t.Fatalf("unsign before sign: %+v", a)
		}
		_, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
		wantRefusal(t, err, cabinet.ReasonUnsigned)
	})
}

// TestCabinetDroppedAnswer: the charge's answer is lost after Alipay paid; the session
// stays CHARGING, the retrier asks trade.query and finds it paid — one trade.pay, one
// charge.
func TestCabinetDroppedAnswer(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := t.Context()
		b := setup(t, kind, "100.00")
		b.sign()
		b.active()
		sess, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
		b.must(err)
		b.Fault(alipaysim.Fault{Kind: alipaysim.FaultDropResponse, Method: alipay.MethodTradePay, OutTradeNo: cabinet.OutTradeNo(sess.ID, 1), Count: 1})
		before := b.Balance(b.buyer.UserID)
		unknown, err := b.svc.Close(ctx, b.cab.ID, sess.ID, threeItems)
		b.must(err)
		if unknown.State != f2fpay.CabinetCharging {
			t.Fatalf("after a dropped answer: %+v", unknown)
		}
		_, err = b.svc.Open(ctx, b.member.ID, b.cab.ID) // unknown is owed until known
		wantRefusal(t, err, cabinet.ReasonDebt)
		b.clock.Advance(2 * time.Second)
		if n, err := b.svc.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("RunOnce: %d, %v", n, err)
		}
		paid, err := b.db.FindCabinetSession(ctx, sess.ID)
		b.must(err)
		if paid.State != f2fpay.CabinetPaid || paid.OrderID == 0 {
			t.Fatalf("after the query: %+v", paid)
		}
		no := unknown.OutTradeNo
		if p, q := b.Calls.Count(alipay.MethodTradePay, no), b.Calls.Count(alipay.MethodTradeQuery, no); p != 1 || q < 1 {
			t.Fatalf("%d trade.pay and %d trade.query calls; want one pay, resolved by query", p, q)
		}
		if d := before - b.Balance(b.buyer.UserID); d != 1150 {
			t.Fatalf("the buyer paid %s, want 11.50 once", d)
		}
	})
}

// TestCabinetRefusals: a slot outside the planogram is refused and nothing is charged;
// a busy cabinet, and a door open elsewhere, are refused.
func TestCabinetRefusals(t *testing.T) {
	ctx := t.Context()
	b := setup(t, testdb.SQLite, "100.00")
	b.sign()
	b.active()
	sess, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
	b.must(err)
	for _, bad := range [][]cabinet.Taken{
		{{Slot: "Z9", Count: 1}},
		{{Slot: "A1", Count: 0}},
		{{Slot: "A1", Count: 1}, {Slot: "A1", Count: 2}},
	} {
		if _, err := b.svc.Close(ctx, b.cab.ID, sess.ID, bad); f2fpay.ErrorCode(err) != f2fpay.EINVALID {
			t.Fatalf("report %+v: %v, want EINVALID", bad, err)
		}
	}
	if b.Calls.Total(alipay.MethodTradePay) != 0 {
		t.Fatal("a refused report was charged")
	}
	// Another member at the same cabinet: busy.
	other := b.Buyer("10.00")
	m2 := &f2fpay.Member{MerchantID: b.member.MerchantID, Identities: []*f2fpay.MemberIdentity{{AppID: b.app.ID, UserID: other.UserID}}}
	b.must(b.db.CreateMember(ctx, m2))
	a := &f2fpay.Agreement{MemberID: m2.ID, AppID: b.app.ID, ExternalNo: "Kother", State: f2fpay.AgreementPending}
	b.must(b.db.CreateAgreement(ctx, a))
	a.State, a.AgreementNo = f2fpay.AgreementActive, "20261234567890123456"
	b.must(b.db.UpdateAgreement(ctx, a))
	_, err = b.svc.Open(ctx, m2.ID, b.cab.ID)
	wantRefusal(t, err, cabinet.ReasonBusy)
	// The member at a second cabinet while the first door is open: elsewhere.
	cab2 := &f2fpay.Terminal{MerchantID: b.cab.MerchantID, StoreID: b.cab.StoreID, AppID: b.app.ID, Code: "CAB-2", Kind: f2fpay.TerminalVending,
		Name: "cabinet 2", KeyID: "kc2", KeyHash: make([]byte, 32)}
	b.must(b.db.CreateTerminal(ctx, cab2))
	b.must(b.db.PutDevice(ctx, &f2fpay.Device{TerminalID: cab2.ID, MerchantID: cab2.MerchantID, Machine: f2fpay.MachineCabinet, Slots: planogram}))
	_, err = b.svc.Open(ctx, b.member.ID, cab2.ID)
	wantRefusal(t, err, cabinet.ReasonElsewhere)
}

// TestCabinetRetrierRestart: an instance that claimed a charge and died before sending
// it leaves the session CHARGING with the attempt counted; the next instance's retrier
// asks trade.query (no trade), pays once under the same number. Two instances running
// their retriers on one debt at once send one successful pay.
func TestCabinetRetrierRestart(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := t.Context()
		b := setup(t, kind, "5.00")
		b.sign()
		b.active()
		// The debt, as before.
		sess, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
		b.must(err)
		debt, err := b.svc.Close(ctx, b.cab.ID, sess.ID, threeItems)
		b.must(err)
		if debt.State != f2fpay.CabinetDebt {
			t.Fatalf("closed: %+v", debt)
		}
		// A crash after claiming the retry, before sending it: CHARGING, attempt 2 counted.
		debt.State, debt.Attempts, debt.NextCheckAt = f2fpay.CabinetCharging, debt.Attempts+1, b.clock.Now().Add(5*time.Second)
		b.must(b.db.UpdateCabinetSession(ctx, debt))
		if _, err := b.Sim.TopUp(ctx, b.buyer.UserID, 2000); err != nil {
			t.Fatal(err)
		}
		// A second instance (its own service, same store and engine), after the handover.
		other, err := cabinet.New(cabinet.Config{Store: b.db, Devices: b.db, Alipay: b.engine, PublicURL: "http://127.0.0.1:1",
			UnknownDelay: time.Second, Handover: 5 * time.Second, Clock: b.clock, Owner: "other"})
		b.must(err)
		b.clock.Advance(6 * time.Second)
		var wg sync.WaitGroup
		for _, s := range []*cabinet.Service{b.svc, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.RunOnce(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		paid, err := b.db.FindCabinetSession(ctx, sess.ID)
		b.must(err)
		if paid.State != f2fpay.CabinetPaid {
			t.Fatalf("after the restart: %+v", paid)
		}
		no := paid.OutTradeNo
		if p, q := b.Calls.Count(alipay.MethodTradePay, no), b.Calls.Count(alipay.MethodTradeQuery, no); p != 2 || q != 1 {
			t.Fatalf("%d trade.pay (want the refused one and one more) and %d trade.query (want 1)", p, q)
		}
		if got := b.Balance(b.buyer.UserID); got != 500+2000-1150 {
			t.Fatalf("balance %s: charged other than once", got)
		}
	})
}

// TestCabinetOrderWrittenSessionNot: a crash after the paid charge's order was written
// but before the session said PAID: the retrier's query finds the trade paid and links
// the order already written — one order, one payment.succeeded, one trade.pay.
func TestCabinetOrderWrittenSessionNot(t *testing.T) {
	ctx := t.Context()
	b := setup(t, testdb.SQLite, "100.00")
	b.sign()
	b.active()
	sess, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
	b.must(err)
	paid, err := b.svc.Close(ctx, b.cab.ID, sess.ID, threeItems)
	b.must(err)
	orderID := paid.OrderID
	lost := *paid // the session write that the crash lost
	lost.State, lost.OrderID, lost.TradeNo, lost.PaidAt, lost.NextCheckAt = f2fpay.CabinetCharging, 0, "", time.Time{}, b.clock.Now()
	b.must(b.db.UpdateCabinetSession(ctx, &lost))
	if n, err := b.svc.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce: %d %v", n, err)
	}
	again, err := b.db.FindCabinetSession(ctx, sess.ID)
	b.must(err)
	if again.State != f2fpay.CabinetPaid || again.OrderID != orderID {
		t.Fatalf("after the query: %+v, want PAID with order %d", again, orderID)
	}
	events, err := b.db.ListEvents(ctx, f2fpay.EventFilter{OrderID: &orderID})
	b.must(err)
	if len(events) != 1 || events[0].Type != f2fpay.EventPaymentSucceeded {
		t.Fatalf("events: %+v", events)
	}
	if n := b.Calls.Count(alipay.MethodTradePay, paid.OutTradeNo); n != 1 {
		t.Fatalf("%d trade.pay calls", n)
	}
}

// TestCabinetAbandon: a door whose open_door command was never acknowledged is
// abandoned after DoorTTL + AbandonAfter and frees the member; one the cabinet
// acknowledged waits for its report; a report that still comes for an abandoned
// session is charged.
func TestCabinetAbandon(t *testing.T) {
	ctx := t.Context()
	b := setup(t, testdb.SQLite, "100.00")
	b.sign()
	b.active()
	sess, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
	b.must(err)
	b.clock.Advance(5 * time.Minute)
	if n, err := b.svc.Abandon(ctx); err != nil || n != 0 {
		t.Fatalf("Abandon too early: %d %v", n, err)
	}
	b.clock.Advance(8 * time.Minute)
	if n, err := b.svc.Abandon(ctx); err != nil || n != 1 {
		t.Fatalf("Abandon: %d %v", n, err)
	}
	got, err := b.db.FindCabinetSession(ctx, sess.ID)
	b.must(err)
	if got.State != f2fpay.CabinetAbandoned {
		t.Fatalf("after Abandon: %+v", got)
	}
	// The member may open again; this time the cabinet acknowledges.
	next, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
	b.must(err)
	if _, err := b.db.AckCommand(ctx, b.cab.ID, next.CommandID, nil, b.clock.Now()); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(13 * time.Minute)
	if n, err := b.svc.Abandon(ctx); err != nil || n != 0 {
		t.Fatalf("Abandon of an acknowledged door: %d %v", n, err)
	}
	b.must2(b.svc.Close(ctx, b.cab.ID, next.ID, nil))
	// The abandoned session's late report: charged.
	late, err := b.svc.Close(ctx, b.cab.ID, sess.ID, threeItems)
	b.must(err)
	if late.State != f2fpay.CabinetPaid || late.Amount != 1150 {
		t.Fatalf("a late report: %+v", late)
	}
}

func (b *bundle) must2(_ any, err error) {
	b.t.Helper()
	b.must(err)
}

// TestCabinetTwoCharges: a member's second door close is charged as the first was — two
// paid sessions, two orders of kind agreement, each with its payment.succeeded event
// (the second once failed on an event name shared by every agreement charge).
func TestCabinetTwoCharges(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := t.Context()
		b := setup(t, kind, "100.00")
		b.sign()
		b.active()
		for i := range 2 {
			sess, err := b.svc.Open(ctx, b.member.ID, b.cab.ID)
			b.must(err)
			paid, err := b.svc.Close(ctx, b.cab.ID, sess.ID, threeItems)
			b.must(err)
			if paid.State != f2fpay.CabinetPaid || paid.OrderID == 0 {
				t.Fatalf("charge %d: %+v", i+1, paid)
			}
		}
		if got := b.Balance(b.buyer.UserID); got != 10000-2*1150 {
			t.Fatalf("balance %s, want 77.00", got)
		}
	})
}
