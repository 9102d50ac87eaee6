package alipaysim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
)

// receiver is a merchant notify endpoint that answers what it is told.
type receiver struct {
	mu     sync.Mutex
	answer string
	got    []url.Values
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{answer: "success"}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		v, _ := url.ParseQuery(string(b))
		r.mu.Lock()
		r.got = append(r.got, v)
		a := r.answer
		r.mu.Unlock()
		io.WriteString(w, a)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]url.Values(nil), r.got...)
}

func (r *receiver) set(a string) { r.mu.Lock(); r.answer = a; r.mu.Unlock() }

func TestNotifications(t *testing.T) {
	b := setup(t)
	rcv := newReceiver(t)
	by := b.buyer("100.00")
	m := b.call("alipay.trade.pay", pay("n1", b.code(by.UserID), "10.00"), "notify_url", rcv.srv.URL+"/notify")
	b.settle()
	got := rcv.received()
	if len(got) != 1 {
		t.Fatalf("%d notifications, want 1", len(got))
	}
	n := got[0]
	pub, _ := alipay.ParsePublicKey(b.sim.AlipayPublicKey())
	if err := alipay.VerifySignature(pub, alipay.RSA2, []byte(alipay.SignContent(n, "sign", "sign_type")), n.Get("sign")); err != nil {
		t.Errorf("notification signature (over all but sign, sign_type): %v", err)
	}
	for k, want := range map[string]string{"notify_type": "trade_status_sync", "trade_status": "TRADE_SUCCESS", "trade_no": m["trade_no"].(string),
		"out_trade_no": "n1", "total_amount": "10.00", "receipt_amount": "10.00", "app_id": b.app.AppID, "seller_id": b.app.SellerID,
		"fund_bill_list": `[{"amount":"10.00","fundChannel":"ALIPAYACCOUNT"}]`, "gmt_payment": "2026-03-14 10:00:00"} {
		if n.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, n.Get(k), want)
		}
	}
	for k, vs := range n {
		if len(vs) != 1 || vs[0] == "" {
			t.Errorf("field %s = %q: notifications never carry empty values", k, vs)
		}
	}

	// A partial refund notifies TRADE_SUCCESS with refund fields; the full refund TRADE_CLOSED.
	b.call("alipay.trade.refund", map[string]string{"out_trade_no": "n1", "refund_amount": "4.00", "out_request_no": "rq1"})
	b.call("alipay.trade.refund", map[string]string{"out_trade_no": "n1", "refund_amount": "6.00", "out_request_no": "rq2"})
	b.settle()
	got = rcv.received()
	if len(got) != 3 {
		t.Fatalf("%d notifications, want 3", len(got))
	}
	want := []map[string]string{
		{"trade_status": "TRADE_SUCCESS", "refund_fee": "4.00", "out_biz_no": "rq1"},
		{"trade_status": "TRADE_CLOSED", "refund_fee": "10.00", "out_biz_no": "rq2"},
	}
	byBiz := map[string]url.Values{got[1].Get("out_biz_no"): got[1], got[2].Get("out_biz_no"): got[2]}
	for _, w := range want {
		n := byBiz[w["out_biz_no"]]
		for k, v := range w {
			if n.Get(k) != v {
				t.Errorf("refund notification %s: %s = %q, want %q", w["out_biz_no"], k, n.Get(k), v)
			}
		}
		if len(n.Get("gmt_refund")) != len("2026-03-14 10:00:00.000") {
			t.Errorf("gmt_refund %q should carry milliseconds", n.Get("gmt_refund"))
		}
	}
}

func TestNotificationRetrySchedule(t *testing.T) {
	b := setup(t)
	rcv := newReceiver(t)
	rcv.set("fail")
	if err := b.sim.e.update(context.Background(), func(t *txn) error { t.appW(b.app.AppID).NotifyURL = rcv.srv.URL; return nil }); err != nil {
		t.Fatal(err)
	}
	by := b.buyer("100.00")
	b.call("alipay.trade.pay", pay("n2", b.code(by.UserID), "1.00"))
	b.settle()
	steps := []time.Duration{4 * time.Minute, 10 * time.Minute, 10 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour}
	for i, d := range steps {
		b.advance(d - time.Second)
		if n := len(rcv.received()); n != i+1 {
			t.Fatalf("before retry %d: %d attempts, want %d", i+1, n, i+1)
		}
		b.advance(time.Second)
		if n := len(rcv.received()); n != i+2 {
			t.Fatalf("after %v: %d attempts, want %d", d, n, i+2)
		}
	}
	rcv.set("success")
	b.advance(15 * time.Hour)
	b.advance(48 * time.Hour)
	got := rcv.received()
	if len(got) != 8 {
		t.Fatalf("%d attempts, want 8", len(got))
	}
	for _, v := range got {
		if v.Get("notify_id") != got[0].Get("notify_id") {
			t.Errorf("notify_id changed across retries")
		}
	}
	ns := b.sim.Notifications(NotificationFilter{OutTradeNo: "n2"})
	if len(ns) != 1 || !ns[0].Delivered || len(ns[0].Attempts) != 8 || ns[0].Attempts[7].Response != "success" {
		t.Errorf("recorded notification: %+v", ns)
	}
}

func TestNotificationFaults(t *testing.T) {
	b := setup(t)
	rcv := newReceiver(t)
	by := b.buyer("100.00")
	nu := []string{"notify_url", rcv.srv.URL}

	b.sim.AddFault(Fault{Kind: FaultNotifyDrop, OutTradeNo: "d1"})
	b.call("alipay.trade.pay", pay("d1", b.code(by.UserID), "1.00"), nu...)
	b.sim.AddFault(Fault{Kind: FaultNotifyDup, OutTradeNo: "d2", Count: 1})
	b.call("alipay.trade.pay", pay("d2", b.code(by.UserID), "1.00"), nu...)
	b.sim.AddFault(Fault{Kind: FaultNotifyDelay, OutTradeNo: "d3", Delay: Duration(time.Hour)})
	b.call("alipay.trade.pay", pay("d3", b.code(by.UserID), "1.00"), nu...)
	b.settle()
	count := func(out string) int {
		n := 0
		for _, v := range rcv.received() {
			if v.Get("out_trade_no") == out {
				n++
			}
		}
		return n
	}
	if count("d1") != 0 || count("d2") != 2 || count("d3") != 0 {
		t.Errorf("drop/dup/delay: got %d %d %d, want 0 2 0", count("d1"), count("d2"), count("d3"))
	}
	b.advance(time.Hour)
	if count("d3") != 1 {
		t.Errorf("delayed notification not sent after the delay")
	}
	if ns := b.sim.Notifications(NotificationFilter{OutTradeNo: "d1"}); len(ns) != 1 || !ns[0].Dropped {
		t.Errorf("dropped notification not recorded: %+v", ns)
	}

	// Reorder: the payment notification arrives after the refund's.
	b.sim.AddFault(Fault{Kind: FaultNotifyReorder, OutTradeNo: "d4", Count: 1})
	b.call("alipay.trade.pay", pay("d4", b.code(by.UserID), "5.00"), nu...)
	b.call("alipay.trade.refund", map[string]string{"out_trade_no": "d4", "refund_amount": "5.00"})
	b.settle()
	b.advance(time.Second)
	var order []string
	for _, v := range rcv.received() {
		if v.Get("out_trade_no") == "d4" {
			order = append(order, v.Get("trade_status"))
		}
	}
	if len(order) != 2 || order[0] != "TRADE_CLOSED" || order[1] != "TRADE_SUCCESS" {
		t.Errorf("reordered notifications arrived as %v, want [TRADE_CLOSED TRADE_SUCCESS]", order)
	}
}
