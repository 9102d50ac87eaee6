package alipaysim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
)

func TestGatewayFaults(t *testing.T) {
	b := setup(t)
	by := b.buyer("100.00")

	// 20000: nothing happens.
	b.sim.AddFault(Fault{Kind: FaultSystemError, Method: "alipay.trade.pay", Count: 1})
	wantFields(t, b.call("alipay.trade.pay", pay("s1", b.code(by.UserID), "1.00")), map[string]string{"code": "20000", "sub_code": "ACQ.SYSTEM_ERROR"})
	wantFields(t, b.call("alipay.trade.query", map[string]string{"out_trade_no": "s1"}), map[string]string{"sub_code": "ACQ.TRADE_NOT_EXIST"})
	// Count 1: the next call goes through.
	wantFields(t, b.call("alipay.trade.pay", pay("s1", b.code(by.UserID), "1.00")), map[string]string{"code": "10000"})

	// HTTP 502: nothing happens.
	b.sim.AddFault(Fault{Kind: FaultHTTP502, OutTradeNo: "s2"})
	if status, _ := b.post(b.request("alipay.trade.pay", pay("s2", b.code(by.UserID), "1.00"))); status != 502 {
		t.Errorf("HTTP %d, want 502", status)
	}
	b.sim.RemoveFault("")
	wantFields(t, b.call("alipay.trade.query", map[string]string{"out_trade_no": "s2"}), map[string]string{"sub_code": "ACQ.TRADE_NOT_EXIST"})

	// Commit, then drop the connection: the classic lost answer.
	b.sim.AddFault(Fault{Kind: FaultDropResponse, OutTradeNo: "s3", Count: 1})
	_, err := http.Post(b.srv.URL+"/gateway.do", "application/x-www-form-urlencoded", strings.NewReader(b.request("alipay.trade.pay", pay("s3", b.code(by.UserID), "2.00")).Encode()))
	if err == nil || !(errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF")) {
		t.Errorf("dropped response: err %v, want EOF", err)
	}
	wantFields(t, b.call("alipay.trade.query", map[string]string{"out_trade_no": "s3"}), map[string]string{"trade_status": "TRADE_SUCCESS"})

	// Broken signature: committed, response does not verify.
	b.sim.AddFault(Fault{Kind: FaultBadSignature, OutTradeNo: "s4", Count: 1})
	_, body := b.post(b.request("alipay.trade.pay", pay("s4", b.code(by.UserID), "2.00")))
	env, err := alipay.ParseEnvelope(body, "alipay.trade.pay")
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := alipay.ParsePublicKey(b.sim.AlipayPublicKey())
	if alipay.VerifySignature(pub, alipay.RSA2, env.Content, env.Sign) == nil {
		t.Errorf("bad_signature fault produced a valid signature")
	}
	// Malformed JSON.
	b.sim.AddFault(Fault{Kind: FaultMalformedJSON, OutTradeNo: "s5", Count: 1})
	_, body = b.post(b.request("alipay.trade.pay", pay("s5", b.code(by.UserID), "2.00")))
	if _, err := alipay.ParseEnvelope(body, "alipay.trade.pay"); err == nil {
		t.Errorf("malformed_json fault produced a parseable body: %s", body)
	}
	wantFields(t, b.call("alipay.trade.query", map[string]string{"out_trade_no": "s5"}), map[string]string{"trade_status": "TRADE_SUCCESS"})

	// 10003 that resolves later.
	first, _ := b.sim.AddFault(Fault{Kind: FaultPayPending, Count: 2, Delay: Duration(20 * time.Second)})
	wantFields(t, b.call("alipay.trade.pay", pay("s6", b.code(by.UserID), "2.00")), map[string]string{"code": "10003"})
	if !b.sim.RemoveFault(first.ID) { // it still had one use left
		t.Errorf("fault %s should still be active", first.ID)
	}
	b.sim.AddFault(Fault{Kind: FaultPayPending, ResolveTo: "closed", Count: 1})
	wantFields(t, b.call("alipay.trade.pay", pay("s7", b.code(by.UserID), "2.00")), map[string]string{"code": "10003"})
	b.advance(20 * time.Second)
	wantFields(t, b.call("alipay.trade.query", map[string]string{"out_trade_no": "s6"}), map[string]string{"trade_status": "TRADE_SUCCESS"})
	b.advance(10 * time.Second)
	wantFields(t, b.call("alipay.trade.query", map[string]string{"out_trade_no": "s7"}), map[string]string{"trade_status": "TRADE_CLOSED"})

	// Cancel answers retry_flag=Y twice, then works.
	b.sim.AddFault(Fault{Kind: FaultCancelRetry, Count: 2})
	for range 2 {
		wantFields(t, b.call("alipay.trade.cancel", map[string]string{"out_trade_no": "s1"}), map[string]string{"retry_flag": "Y", "sub_code": "ACQ.SYSTEM_ERROR"})
	}
	wantFields(t, b.call("alipay.trade.cancel", map[string]string{"out_trade_no": "s1"}), map[string]string{"retry_flag": "N", "action": "refund"})
}

func TestFaultsAreSeeded(t *testing.T) {
	run := func() []bool {
		fs := newFaultSet(7)
		fs.add(Fault{Kind: FaultSystemError, Probability: 0.5})
		var hits []bool
		for range 64 {
			_, f := fs.take("alipay.trade.pay", "a", "o", func(string) bool { return true })
			hits = append(hits, f != nil)
		}
		return hits
	}
	a, b := run(), run()
	n := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different fault sequence")
		}
		if a[i] {
			n++
		}
	}
	if n == 0 || n == 64 {
		t.Errorf("probability 0.5 fired %d/64 times", n)
	}
}

func TestLatencyFault(t *testing.T) {
	b := setup(t)
	b.sim.AddFault(Fault{Kind: FaultLatency, Latency: Duration(150 * time.Millisecond), Count: 1})
	start := time.Now()
	b.call("alipay.trade.query", map[string]string{"out_trade_no": "x"})
	if time.Since(start) < 150*time.Millisecond {
		t.Errorf("latency fault did not delay the answer")
	}
	if len(b.sim.Faults()) != 0 {
		t.Errorf("a count-1 fault should be gone: %+v", b.sim.Faults())
	}
	_ = context.Background
}
