package alipaysim

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"
)

// TestRestartKeepsState runs flows on a SQLite store, reopens it in a new sandbox and
// compares the whole state, then keeps going: ids continue, pending work resumes.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	open := func() *Store {
		st, err := OpenSQLiteStore(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		var s Store = st
		return &s
	}
	st := open()
	b := setup(t, func(c *Config) { c.Store = *st; c.AlipayKey = nil })
	rcv := newReceiver(t)
	rcv.set("fail")
	by := b.buyer("100.00")
	th := amt("50.00")
	slow := b.buyer("500.00", func(s *BuyerSpec) { s.PasswordThreshold = &th })
	b.call("alipay.trade.pay", pay("a1", b.code(by.UserID), "10.00"), "notify_url", rcv.srv.URL)
	b.call("alipay.trade.refund", map[string]string{"out_trade_no": "a1", "refund_amount": "3.00", "out_request_no": "x"})
	b.call("alipay.trade.pay", pay2(pay("a2", b.code(slow.UserID), "60.00"), "timeout_express", "10m"))
	b.call("alipay.trade.precreate", map[string]any{"out_trade_no": "a3", "subject": "s", "total_amount": "1"})
	b.settle()
	before, err := b.sim.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	key := b.sim.AlipayPublicKey()
	b.sim.Close()
	(*st).Close()

	st2 := open()
	defer (*st2).Close()
	sim2, err := New(ctx, Config{Store: *st2, Clock: b.clock, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	defer sim2.Close()
	after, _ := sim2.Snapshot()
	if !bytes.Equal(before, after) {
		t.Fatalf("state differs after restart:\nbefore %s\nafter  %s", before, after)
	}
	if sim2.AlipayPublicKey() != key {
		t.Errorf("the sandbox's Alipay key must persist")
	}
	// Pending work resumes: the 10-minute timeout and the notification retry.
	rcv.set("success")
	b.clock.Advance(10 * time.Minute)
	if err := sim2.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	tr, _ := sim2.TradeByOutTradeNo(b.app.AppID, "a2")
	if tr.Status != TradeClosed {
		t.Errorf("a2 is %s after its timeout across a restart", tr.Status)
	}
	ns := sim2.Notifications(NotificationFilter{OutTradeNo: "a1"})
	delivered := 0
	for _, n := range ns {
		if n.Delivered {
			delivered++
		}
	}
	if delivered != len(ns) || len(ns) != 2 {
		t.Errorf("notifications after restart: %d of %d delivered, want 2 of 2", delivered, len(ns))
	}
	// New ids do not repeat old ones.
	b2, err := sim2.CreateBuyer(ctx, BuyerSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if b2.UserID == by.UserID || b2.UserID == slow.UserID {
		t.Errorf("restarted sandbox reissued user id %s", b2.UserID)
	}
}

// TestCodesPurged: codes expired longer than CodeRetention are dropped when codes are
// next issued — from memory and from the SQLite store, so a restart does not bring
// them back — and paying with one then is refused as with an expired code.
func TestCodesPurged(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := OpenSQLiteStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, func(c *Config) { c.Store = st; c.AlipayKey = nil })
	by := b.buyer("100.00")
	old := b.code(by.UserID)
	used := b.code(by.UserID)
	b.call("alipay.trade.pay", pay("p1", used, "1.00"))
	has := func(code string) bool {
		t.Helper()
		snap, err := b.sim.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Contains(snap, []byte(code))
	}
	b.advance(PaymentCodeTTL + CodeRetention - time.Second)
	fresh := b.code(by.UserID)
	if !has(old) || !has(used) {
		t.Fatal("codes were purged before their retention")
	}
	b.advance(2 * time.Minute)
	newer := b.code(by.UserID)
	if has(old) || has(used) || !has(fresh) || !has(newer) {
		t.Fatalf("after the retention: old %v, used %v (want purged); fresh %v, newer %v (want kept)", has(old), has(used), has(fresh), has(newer))
	}
	got := b.call("alipay.trade.pay", pay("p2", old, "1.00"))
	if got["code"] != "40004" || got["sub_code"] != "ACQ.PAYMENT_AUTH_CODE_INVALID" {
		t.Errorf("paying with a purged code: %v", got)
	}

	// A restart on the same store does not bring them back.
	st2 := b.stopAndReopen(st, dir)
	state, err := st2.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, c := range state.Codes {
		kept = append(kept, c.Code)
	}
	if slices.Contains(kept, old) || slices.Contains(kept, used) || !slices.Contains(kept, newer) {
		t.Errorf("codes in the store after a restart: %v (old %s and used %s must be gone, %s kept)", kept, old, used, newer)
	}
}

// TestRefundWindow: a paid trade becomes TRADE_FINISHED when its refund window is over
// — partially refunded or not, and after a restart on the same store — with a
// notification; from then on refunds and cancels are refused. A trade closed by a full
// refund stays closed and says nothing more.
func TestRefundWindow(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := OpenSQLiteStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	const window = 24 * time.Hour
	b := setup(t, func(c *Config) { c.Store = st; c.AlipayKey = nil; c.RefundWindow = window })
	rcv := newReceiver(t)
	by := b.buyer("100.00")
	b.call("alipay.trade.pay", pay("w1", b.code(by.UserID), "10.00"), "notify_url", rcv.srv.URL)
	b.call("alipay.trade.pay", pay("w2", b.code(by.UserID), "5.00"), "notify_url", rcv.srv.URL)
	b.call("alipay.trade.refund", map[string]string{"out_trade_no": "w1", "refund_amount": "4.00", "out_request_no": "r1"})
	b.call("alipay.trade.refund", map[string]string{"out_trade_no": "w2", "refund_amount": "5.00", "out_request_no": "r2"})
	b.settle()
	before := len(rcv.received()) // the payments and the refunds
	status := func(sim *Sim, no string) string {
		t.Helper()
		tr, err := sim.TradeByOutTradeNo(b.app.AppID, no)
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status
	}
	b.advance(window/2 - time.Second)

	// Half way, the sandbox restarts on its store; the deadline survives.
	st2 := b.stopAndReopen(st, dir)
	sim, err := New(ctx, Config{Store: st2, Clock: b.clock, Seed: 42, RefundWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	b.sim = sim
	b.srv.Config.Handler = sim.Handler()

	b.advance(window / 2)
	if s := status(sim, "w1"); s != TradeSuccess {
		t.Fatalf("a second before the window ends: %s", s)
	}
	b.advance(time.Second)
	if s1, s2 := status(sim, "w1"), status(sim, "w2"); s1 != TradeFinished || s2 != TradeClosed {
		t.Fatalf("after the window: w1 %s (want %s), w2 %s (want %s)", s1, TradeFinished, s2, TradeClosed)
	}
	got := rcv.received()[before:]
	if len(got) != 1 || got[0].Get("out_trade_no") != "w1" || got[0].Get("trade_status") != TradeFinished || got[0].Get("total_amount") != "10.00" {
		t.Fatalf("notifications after the window: %v, want one TRADE_FINISHED for w1", got)
	}
	for _, tc := range []struct {
		method string
		biz    map[string]string
		sub    string
	}{
		{"alipay.trade.refund", map[string]string{"out_trade_no": "w1", "refund_amount": "1.00", "out_request_no": "r3"}, "ACQ.TRADE_HAS_FINISHED"},
		{"alipay.trade.cancel", map[string]string{"out_trade_no": "w1"}, "ACQ.TRADE_STATUS_ERROR"},
	} {
		if m := b.call(tc.method, tc.biz); m["code"] != "40004" || m["sub_code"] != tc.sub {
			t.Errorf("%s of a finished trade: %v, want 40004 %s", tc.method, m, tc.sub)
		}
	}
	if m := b.call("alipay.trade.query", map[string]string{"out_trade_no": "w1"}); m["trade_status"] != TradeFinished {
		t.Errorf("query of the finished trade: %v", m)
	}
}

// stopAndReopen closes the bundle's sandbox and its store st, and opens the store in
// dir again (closed at the end of the test).
func (b *bundle) stopAndReopen(st *SQLiteStore, dir string) *SQLiteStore {
	b.t.Helper()
	b.sim.Close()
	st.Close()
	st2, err := OpenSQLiteStore(context.Background(), dir)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { st2.Close() })
	return st2
}
