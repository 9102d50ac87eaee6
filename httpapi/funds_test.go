package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

// ledger is what the sandbox's accounts hold of one sale: each receiver's balance and
// the merchant's change since before the sale.
type ledger struct{ a, b, merchant f2fpay.Amount }

// TestFundModesLedger: for each fund mode, the sandbox's ledger after payment, a
// refund, the settle (asynchronous mode), another refund and the full refund is what
// the rule says, to the fen, on both databases. The rule: receiver A 30% (3000 basis
// points, rounded down), receiver B a fixed 0.50, the operator the rest; a sale of
// 10.01. Refunds after sharing take the royalties back in proportion, as the sandbox
// (and Alipay) does: cumulative, rounded half up, split by what each receiver holds.
func TestFundModesLedger(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		for _, mode := range []f2fpay.FundMode{f2fpay.FundCollection, f2fpay.FundRealtime, f2fpay.FundAsync} {
			t.Run(string(mode), func(t *testing.T) {
				t.Parallel()
				b := setup(t, onDB(kind))
				ra, err := b.sim.CreateAccount(b.ctx, alipaysim.AccountSpec{Name: "site owner"})
				b.must(err)
				rb, err := b.sim.CreateAccount(b.ctx, alipaysim.AccountSpec{Name: "platform"})
				b.must(err)
				rule := client.FundRule{Mode: mode}
				if mode != f2fpay.FundCollection {
					rule.Receivers = []f2fpay.FundReceiver{{Account: ra.UserID, Name: "site owner", BasisPoints: 3000, Desc: "场地费"},
						{Account: rb.UserID, Fixed: amt("0.50"), Desc: "平台费"}}
				}
				got, err := b.admin.SetTerminalFundRule(b.ctx, b.term.ID, rule)
				b.must(err)
				if got.Mode != mode || (mode == f2fpay.FundAsync && got.SettleDelay != "24h0m0s") {
					t.Fatalf("saved rule: %+v", got)
				}
				if mode != f2fpay.FundCollection && (!b.sim.Bound(b.simApp.AppID, ra.UserID) || !b.sim.Bound(b.simApp.AppID, rb.UserID)) {
					t.Fatal("receivers not bound at Alipay when the rule was saved")
				}
				balance := func(id string) f2fpay.Amount {
					t.Helper()
					x, err := b.sim.Balance(id)
					b.must(err)
					return x.Balance
				}
				m0 := balance(b.simApp.SellerID)
				check := func(step string, want ledger) {
					t.Helper()
					have := ledger{balance(ra.UserID), balance(rb.UserID), balance(b.simApp.SellerID) - m0}
					if have != want {
						t.Fatalf("%s: ledger (A, B, merchant) = %v, want %v", step, have, want)
					}
				}
				buyer := b.Buyer("100.00")
				p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("10.01"), Subject: "snacks"})
				b.must(err)
				if p.State != "PAID" {
					t.Fatalf("payment: %+v", p)
				}
				refund := func(id, amount string) {
					t.Helper()
					r, err := b.client.Refund(b.ctx, p.OutTradeNo, client.RefundRequest{RefundID: id, Amount: amt(amount)})
					b.must(err)
					if r.State != "SUCCEEDED" {
						t.Fatalf("refund %s: %+v", id, r)
					}
				}
				switch mode {
				case f2fpay.FundCollection:
					check("paid", ledger{0, 0, 1001})
					refund("r1", "4.00")
					check("refunded 4.00", ledger{0, 0, 601})
					_, err := b.client.FinalizeSale(b.ctx, p.OutTradeNo)
					if code, _ := errorCode(err); code != "invalid" {
						t.Fatalf("final without sharing: %v", err)
					}
					refund("r2", "2.00")
					check("refunded 6.00", ledger{0, 0, 401})
				case f2fpay.FundRealtime:
					// 30% of 10.01 is 3.003 → 3.00; B 0.50; the operator 6.51.
					check("paid", ledger{300, 50, 651})
					// 4.00 of 10.01 refunded: the receivers return round(3.50 × 400/1001) =
					// 1.40, A 1.20 and B 0.20 (by what they hold).
					refund("r1", "4.00")
					check("refunded 4.00", ledger{180, 30, 391})
					// 6.00 refunded: round(3.50 × 600/1001) = 2.10 in all, 0.70 more.
					refund("r2", "2.00")
					check("refunded 6.00", ledger{120, 20, 261})
				case f2fpay.FundAsync:
					// Frozen: everything stays with the merchant until the settle.
					check("paid", ledger{0, 0, 1001})
					refund("r1", "4.00")
					check("refunded 4.00 before the settle", ledger{0, 0, 601})
					st, err := b.client.FinalizeSale(b.ctx, p.OutTradeNo)
					b.must(err)
					// The settle shares what is left: 30% of 6.01 = 1.803 → 1.80, B 0.50.
					if st.State != f2fpay.SettlementSettled || st.SettleNo == "" || st.Base != 601 {
						t.Fatalf("settlement: %+v", st)
					}
					check("settled", ledger{180, 50, 371})
					again, err := b.client.FinalizeSale(b.ctx, p.OutTradeNo)
					b.must(err)
					if again.SettleNo != st.SettleNo || b.gw.Total("alipay.trade.order.settle") != 1 {
						t.Fatalf("final again settled again: %+v, %d settle calls", again, b.gw.Total("alipay.trade.order.settle"))
					}
					// 6.00 refunded in all: round(2.30 × 600/1001) = 1.38 back, A 1.08, B 0.30.
					refund("r2", "2.00")
					check("refunded 6.00", ledger{72, 20, 309})
				}
				refund("r3", "4.01")
				check("refunded in full", ledger{0, 0, 0})
			})
		}
	})
}

// TestFundRuleRefused: a rule over 100% and a receiver Alipay cannot bind are refused
// with a message that says why, and nothing is saved.
func TestFundRuleRefused(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor())
		ra, err := b.sim.CreateAccount(b.ctx, alipaysim.AccountSpec{Name: "site owner"})
		b.must(err)
		for _, tc := range []struct {
			rule client.FundRule
			want string
		}{
			{client.FundRule{Mode: f2fpay.FundRealtime, Receivers: []f2fpay.FundReceiver{{Account: ra.UserID, BasisPoints: 6000}, {Account: "2088000000000999", BasisPoints: 4001}}}, "more than 100%"},
			{client.FundRule{Mode: f2fpay.FundAsync, Receivers: []f2fpay.FundReceiver{{Account: ra.UserID, BasisPoints: 1000}, {Account: "2088000000000999", Fixed: amt("0.10")}}}, "refused to bind"},
			{client.FundRule{Mode: f2fpay.FundAsync, SettleDelay: "soon", Receivers: []f2fpay.FundReceiver{{Account: ra.UserID, BasisPoints: 1000}}}, "settle_delay"},
			{client.FundRule{Mode: "everything"}, "not a fund mode"},
		} {
			_, err := b.admin.SetStoreFundRule(b.ctx, b.store.ID, tc.rule)
			code, msg := errorCode(err)
			if code != "invalid" || !strings.Contains(msg, tc.want) {
				t.Errorf("%+v: %v", tc.rule, err)
			}
			if _, err := b.admin.StoreFundRule(b.ctx, b.store.ID); err == nil {
				t.Fatalf("%+v: a refused rule was saved", tc.rule)
			}
		}
		if b.gw.Total("alipay.trade.order.settle") != 0 || b.sim.Bound(b.simApp.AppID, "2088000000000999") {
			t.Fatal("a refused rule moved something at Alipay")
		}
	})
}

// errorCode reads the API's error code and message from a client error.
func errorCode(err error) (code, msg string) {
	if err == nil {
		return "", ""
	}
	return client.ErrorCode(err), err.Error()
}

// TestSettleResumedByJanitor: a settlement decided and (maybe) sent by a process that
// died is finished by the janitor — confirmed by the settle query when Alipay did it,
// sent again with the same out_request_no when it did not — and shares once.
func TestSettleResumedByJanitor(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind), noJanitor())
		ra, err := b.sim.CreateAccount(b.ctx, alipaysim.AccountSpec{Name: "site owner"})
		b.must(err)
		_, err = b.admin.SetTerminalFundRule(b.ctx, b.term.ID, client.FundRule{Mode: f2fpay.FundAsync, SettleDelay: "1h",
			Receivers: []f2fpay.FundReceiver{{Account: ra.UserID, BasisPoints: 3000}}})
		b.must(err)
		buyer := b.Buyer("100.00")
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("10.01"), Subject: "cola"})
		b.must(err)
		o, err := b.engine.Order(b.ctx, b.app.ID, p.OutTradeNo)
		b.must(err)
		// The dead process decided the settle (the row says SETTLING) and nothing more.
		st, err := b.db.FindSettlement(b.ctx, o.ID)
		b.must(err)
		st.State, st.Final, st.OutRequestNo, st.Base = f2fpay.SettlementSettling, true, "S_dead_1", 1001
		st.Shares = []f2fpay.Share{{Account: ra.UserID, Amount: 300}}
		st.DueAt = time.Now().Add(-time.Second)
		b.must(b.db.UpdateSettlement(b.ctx, st))
		if _, err := b.engine.JanitorRound(b.ctx, payment.JanitorConfig{}); err != nil {
			t.Fatal(err)
		}
		st, err = b.db.FindSettlement(b.ctx, o.ID)
		b.must(err)
		if st.State != f2fpay.SettlementSettled || st.SettleNo == "" {
			t.Fatalf("after the janitor: %+v", st)
		}
		if x, _ := b.sim.Balance(ra.UserID); x.Balance != 300 {
			t.Fatalf("receiver holds %s", x.Balance)
		}
	})
}

// TestFundTermsOnQRAndJSAPI: QR (precreate) and JSAPI (create) trades of a device
// carry its fund terms as barcode payments do: seller_id = the operator's PID in every
// mode, royalty_info with the shares in realtime mode, royalty_freeze in async mode —
// as the sandbox recorded them.
func TestFundTermsOnQRAndJSAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ra, err := b.sim.CreateAccount(b.ctx, alipaysim.AccountSpec{Name: "site owner"})
	b.must(err)
	buyer := b.Buyer("100.00")
	for _, mode := range []f2fpay.FundMode{f2fpay.FundCollection, f2fpay.FundRealtime, f2fpay.FundAsync} {
		rule := client.FundRule{Mode: mode}
		if mode != f2fpay.FundCollection {
			rule.Receivers = []f2fpay.FundReceiver{{Account: ra.UserID, BasisPoints: 3000}}
		}
		_, err := b.admin.SetTerminalFundRule(b.ctx, b.term.ID, rule)
		b.must(err)
		qr, err := b.client.PayQR(b.ctx, client.QRRequest{Amount: amt("10.01"), Subject: "cola"})
		b.must(err)
		js, err := b.client.PayJSAPI(b.ctx, client.JSAPIRequest{BuyerID: buyer.UserID, Amount: amt("10.01"), Subject: "cola"})
		b.must(err)
		for kind, p := range map[string]*client.Payment{"qr": qr, "jsapi": js} {
			tr, err := b.sim.TradeByOutTradeNo(b.simApp.AppID, p.OutTradeNo)
			b.must(err)
			if tr.SellerParam != b.simApp.SellerID {
				t.Errorf("%s %s: seller_id %q, want the operator's PID %s", mode, kind, tr.SellerParam, b.simApp.SellerID)
			}
			wantPlan := 0
			if mode == f2fpay.FundRealtime {
				wantPlan = 1
			}
			if len(tr.RoyaltyPlan) != wantPlan || (wantPlan == 1 && (tr.RoyaltyPlan[0].TransIn != ra.UserID || tr.RoyaltyPlan[0].Amount != 300)) {
				t.Errorf("%s %s: royalty_info %+v, want %d transfer(s) (3.00 to %s in realtime)", mode, kind, tr.RoyaltyPlan, wantPlan, ra.UserID)
			}
			if tr.RoyaltyFreeze != (mode == f2fpay.FundAsync) {
				t.Errorf("%s %s: royalty_freeze %v", mode, kind, tr.RoyaltyFreeze)
			}
		}
	}
}
