package alipaysim

import (
	"context"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
)

func amt(s string) f2fpay.Amount { return f2fpay.MustParseAmount(s) }

func TestBarcodePay(t *testing.T) {
	b := setup(t)
	by := b.buyer("100.00")
	code := b.code(by.UserID)
	m := b.call("alipay.trade.pay", pay("o1", code, "88.88"))
	wantFields(t, m, map[string]string{"code": "10000", "msg": "Success", "total_amount": "88.88",
		"receipt_amount": "88.88", "buyer_pay_amount": "88.88", "out_trade_no": "o1", "buyer_user_id": by.UserID})
	tradeNo := m["trade_no"].(string)
	if len(tradeNo) != 28 || tradeNo[:8] != "20260314" {
		t.Errorf("trade_no %q: want 28 digits starting with the Beijing date", tradeNo)
	}
	// Money moved exactly.
	if got, _ := b.sim.Buyer(by.UserID); got.Balance != amt("11.12") {
		t.Errorf("buyer balance %s, want 11.12", got.Balance)
	}
	if got, _ := b.sim.App(b.app.AppID); got.Balance != amt("88.88") {
		t.Errorf("merchant balance %s, want 88.88", got.Balance)
	}
	// The code is single-use.
	m = b.call("alipay.trade.pay", pay("o2", code, "1.00"))
	wantFields(t, m, map[string]string{"code": "40004", "sub_code": "ACQ.PAYMENT_AUTH_CODE_INVALID", "out_trade_no": "o2", "receipt_amount": "0.00"})
	// The same out_trade_no again: already paid.
	m = b.call("alipay.trade.pay", pay("o1", b.code(by.UserID), "88.88"))
	wantFields(t, m, map[string]string{"sub_code": "ACQ.TRADE_HAS_SUCCESS", "trade_no": tradeNo})
	// ... with different content: tampered.
	m = b.call("alipay.trade.pay", pay("o1", b.code(by.UserID), "1.00"))
	wantFields(t, m, map[string]string{"sub_code": "ACQ.CONTEXT_INCONSISTENT"})
	m = b.call("alipay.trade.query", map[string]string{"out_trade_no": "o1"})
	wantFields(t, m, map[string]string{"code": "10000", "trade_status": "TRADE_SUCCESS", "trade_no": tradeNo, "send_pay_date": "2026-03-14 10:00:00"})
	// total_amount as a JSON number.
	m = b.call("alipay.trade.pay", `{"out_trade_no":"o3","auth_code":"`+b.code(by.UserID)+`","subject":"s","total_amount":0.1}`)
	wantFields(t, m, map[string]string{"code": "10000", "total_amount": "0.10"})
}

func TestPayFailures(t *testing.T) {
	b := setup(t)
	by := b.buyer("5.00")
	tests := []struct {
		name string
		biz  func() any
		sub  string
	}{
		{"unknown code", func() any { return pay("f1", "281234567890123456", "1.00") }, "ACQ.PAYMENT_AUTH_CODE_INVALID"},
		{"not a code", func() any { return pay("f2", "hello", "1.00") }, "ACQ.PAYMENT_AUTH_CODE_INVALID"},
		{"expired code", func() any {
			c := b.code(by.UserID)
			b.advance(61 * time.Second)
			return pay("f3", c, "1.00")
		}, "ACQ.PAYMENT_AUTH_CODE_INVALID"},
		{"balance", func() any { return pay("f4", b.code(by.UserID), "5.01") }, "ACQ.BUYER_BALANCE_NOT_ENOUGH"},
		{"no subject", func() any {
			return map[string]any{"out_trade_no": "f5", "auth_code": b.code(by.UserID), "total_amount": "1"}
		}, "ACQ.INVALID_PARAMETER"},
		{"zero amount", func() any { return pay("f6", b.code(by.UserID), "0.00") }, "ACQ.INVALID_PARAMETER"},
		{"three decimals", func() any { return pay("f7", b.code(by.UserID), "1.001") }, "ACQ.INVALID_PARAMETER"},
		{"bad timeout", func() any {
			m := pay("f8", b.code(by.UserID), "1.00")
			m["timeout_express"] = "1.5h"
			return m
		}, "ACQ.INVALID_PARAMETER"},
		{"bad scene", func() any {
			m := pay("f9", b.code(by.UserID), "1.00")
			m["scene"] = "nfc"
			return m
		}, "ACQ.INVALID_PARAMETER"},
		{"face token as barcode", func() any {
			c, _ := b.sim.IssueFaceToken(context.Background(), by.UserID)
			return pay("f10", c.Code, "1.00")
		}, "ACQ.PAYMENT_AUTH_CODE_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := b.call("alipay.trade.pay", tt.biz())
			wantFields(t, m, map[string]string{"code": "40004", "sub_code": tt.sub})
		})
	}
	// Failed pays moved nothing and left no trade behind.
	if got, _ := b.sim.Buyer(by.UserID); got.Balance != amt("5.00") {
		t.Errorf("buyer balance %s after failures, want 5.00", got.Balance)
	}
	m := b.call("alipay.trade.query", map[string]string{"out_trade_no": "f4"})
	wantFields(t, m, map[string]string{"sub_code": "ACQ.TRADE_NOT_EXIST"})
}

func pay2(m any, k, v string) any { x := m.(map[string]any); x[k] = v; return x }

func TestFacePay(t *testing.T) {
	b := setup(t)
	by := b.buyer("10.00")
	tok, err := b.sim.IssueFaceToken(context.Background(), by.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Code) != 35 || tok.Code[:2] != "fp" {
		t.Errorf("face token %q", tok.Code)
	}
	m := b.call("alipay.trade.pay", pay2(pay("face1", tok.Code, "3.00"), "scene", "security_code"))
	wantFields(t, m, map[string]string{"code": "10000", "buyer_user_id": by.UserID})
}

func TestPasswordWaitThenConfirm(t *testing.T) {
	b := setup(t)
	th := amt("50.00")
	by := b.buyer("500.00", func(s *BuyerSpec) { s.PayPassword = "123456"; s.PasswordThreshold = &th })
	m := b.call("alipay.trade.pay", pay("p1", b.code(by.UserID), "100.00"))
	wantFields(t, m, map[string]string{"code": "10003", "msg": " order success pay inprocess", "receipt_amount": "0.00", "buyer_pay_amount": "0.00"})
	tradeNo := m["trade_no"].(string)
	m = b.call("alipay.trade.query", map[string]string{"trade_no": tradeNo})
	wantFields(t, m, map[string]string{"trade_status": "WAIT_BUYER_PAY"})
	// Retrying the same pay while it waits answers 10003 again, with no new code needed.
	m = b.call("alipay.trade.pay", pay("p1", "289999999999999999", "100.00"))
	wantFields(t, m, map[string]string{"code": "10003", "trade_no": tradeNo})
	if _, err := b.sim.Confirm(context.Background(), tradeNo, "000000"); f2fpay.ErrorCode(err) != f2fpay.EUNAUTHORIZED {
		t.Errorf("wrong password: err %v", err)
	}
	if _, err := b.sim.Confirm(context.Background(), tradeNo, "123456"); err != nil {
		t.Fatal(err)
	}
	m = b.call("alipay.trade.query", map[string]string{"trade_no": tradeNo})
	wantFields(t, m, map[string]string{"trade_status": "TRADE_SUCCESS", "receipt_amount": "100.00"})

	// Reject closes; a timeout closes too.
	m = b.call("alipay.trade.pay", pay("p2", b.code(by.UserID), "60.00"))
	if _, err := b.sim.Reject(context.Background(), m["trade_no"].(string)); err != nil {
		t.Fatal(err)
	}
	wantFields(t, b.call("alipay.trade.query", map[string]string{"out_trade_no": "p2"}), map[string]string{"trade_status": "TRADE_CLOSED"})
	m = b.call("alipay.trade.pay", pay2(pay("p3", b.code(by.UserID), "60.00"), "timeout_express", "5m"))
	b.advance(4 * time.Minute)
	wantFields(t, b.call("alipay.trade.query", map[string]string{"out_trade_no": "p3"}), map[string]string{"trade_status": "WAIT_BUYER_PAY"})
	b.advance(time.Minute)
	wantFields(t, b.call("alipay.trade.query", map[string]string{"out_trade_no": "p3"}), map[string]string{"trade_status": "TRADE_CLOSED"})
	if got, _ := b.sim.Buyer(by.UserID); got.Balance != amt("400.00") {
		t.Errorf("buyer balance %s, want 400.00", got.Balance)
	}
}

func TestPrecreateScanQuery(t *testing.T) {
	b := setup(t)
	by := b.buyer("20.00")
	m := b.call("alipay.trade.precreate", map[string]any{"out_trade_no": "q1", "subject": "cola", "total_amount": "3.50"})
	qr := m["qr_code"].(string)
	if qr == "" || qr[:len(b.srv.URL)] != b.srv.URL {
		t.Errorf("qr_code %q should point at this sandbox (%s)", qr, b.srv.URL)
	}
	wantFields(t, b.call("alipay.trade.query", map[string]string{"out_trade_no": "q1"}), map[string]string{"sub_code": "ACQ.TRADE_NOT_EXIST"})
	// Precreate is idempotent.
	m2 := b.call("alipay.trade.precreate", map[string]any{"out_trade_no": "q1", "subject": "cola", "total_amount": "3.50"})
	if m2["qr_code"] != qr {
		t.Errorf("repeated precreate gave another QR: %v", m2)
	}
	tr, err := b.sim.Scan(context.Background(), ScanSpec{BuyerID: by.UserID, QRCode: qr, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	wantFields(t, b.call("alipay.trade.query", map[string]string{"out_trade_no": "q1"}), map[string]string{"trade_status": "WAIT_BUYER_PAY", "buyer_user_id": by.UserID})
	if _, err := b.sim.Confirm(context.Background(), tr.TradeNo, ""); err != nil {
		t.Fatal(err)
	}
	wantFields(t, b.call("alipay.trade.query", map[string]string{"out_trade_no": "q1"}), map[string]string{"trade_status": "TRADE_SUCCESS", "total_amount": "3.50"})

	// Closing an unscanned QR answers not-exist but burns the number.
	b.call("alipay.trade.precreate", map[string]any{"out_trade_no": "q2", "subject": "cola", "total_amount": "3.50"})
	wantFields(t, b.call("alipay.trade.close", map[string]string{"out_trade_no": "q2"}), map[string]string{"sub_code": "ACQ.TRADE_NOT_EXIST"})
	wantFields(t, b.call("alipay.trade.pay", pay("q2", b.code(by.UserID), "3.50")), map[string]string{"sub_code": "ACQ.TRADE_HAS_CLOSE"})
}

func TestCreateConfirm(t *testing.T) {
	b := setup(t)
	by := b.buyer("20.00", func(s *BuyerSpec) { s.PayPassword = "888888" })
	wantFields(t, b.call("alipay.trade.create", map[string]any{"out_trade_no": "c0", "subject": "s", "total_amount": "1"}),
		map[string]string{"sub_code": "ACQ.INVALID_PARAMETER"})
	m := b.call("alipay.trade.create", map[string]any{"out_trade_no": "c1", "subject": "s", "total_amount": "2.00", "buyer_open_id": by.OpenID,
		"store_id": "S1", "terminal_id": "T9", "operator_id": "op", "extend_params": map[string]string{"sys_service_provider_id": "2088511833207846"},
		"goods_detail": []map[string]any{{"goods_id": "g1", "goods_name": "cola", "quantity": 1, "price": 2}}})
	wantFields(t, m, map[string]string{"code": "10000", "out_trade_no": "c1"})
	tradeNo := m["trade_no"].(string)
	wantFields(t, b.call("alipay.trade.query", map[string]string{"trade_no": tradeNo}), map[string]string{"trade_status": "WAIT_BUYER_PAY", "store_id": "S1", "terminal_id": "T9"})
	tr, _ := b.sim.Trade(tradeNo)
	if tr.SysServiceProviderID != "2088511833207846" || tr.Operator != "op" || len(tr.Goods) == 0 {
		t.Errorf("trade lost request details: %+v", tr)
	}
	if _, err := b.sim.Confirm(context.Background(), tradeNo, "888888"); err != nil {
		t.Fatal(err)
	}
	wantFields(t, b.call("alipay.trade.query", map[string]string{"trade_no": tradeNo}), map[string]string{"trade_status": "TRADE_SUCCESS"})
}

func TestCancelAndClose(t *testing.T) {
	b := setup(t)
	by := b.buyer("100.00")
	th := amt("10.00")
	slow := b.buyer("100.00", func(s *BuyerSpec) { s.PasswordThreshold = &th })

	// Paid → cancel refunds.
	b.call("alipay.trade.pay", pay("k1", b.code(by.UserID), "30.00"))
	m := b.call("alipay.trade.cancel", map[string]string{"out_trade_no": "k1"})
	wantFields(t, m, map[string]string{"code": "10000", "action": "refund", "retry_flag": "N"})
	wantFields(t, b.call("alipay.trade.query", map[string]string{"out_trade_no": "k1"}), map[string]string{"trade_status": "TRADE_CLOSED"})
	if got, _ := b.sim.Buyer(by.UserID); got.Balance != amt("100.00") {
		t.Errorf("buyer balance after cancel %s", got.Balance)
	}
	// Retried cancel says the same.
	wantFields(t, b.call("alipay.trade.cancel", map[string]string{"out_trade_no": "k1"}), map[string]string{"action": "refund"})

	// Waiting → cancel closes.
	b.call("alipay.trade.pay", pay("k2", b.code(slow.UserID), "30.00"))
	wantFields(t, b.call("alipay.trade.cancel", map[string]string{"out_trade_no": "k2"}), map[string]string{"action": "close"})

	// Never seen → 10000, and the number is burned.
	m = b.call("alipay.trade.cancel", map[string]string{"out_trade_no": "k3"})
	wantFields(t, m, map[string]string{"code": "10000", "retry_flag": "N", "action": ""})
	wantFields(t, b.call("alipay.trade.pay", pay("k3", b.code(by.UserID), "1.00")), map[string]string{"sub_code": "ACQ.TRADE_HAS_CLOSE"})

	// Close: only waiting trades.
	b.call("alipay.trade.pay", pay("k4", b.code(slow.UserID), "30.00"))
	wantFields(t, b.call("alipay.trade.close", map[string]string{"out_trade_no": "k4"}), map[string]string{"code": "10000"})
	wantFields(t, b.call("alipay.trade.close", map[string]string{"out_trade_no": "k4"}), map[string]string{"sub_code": "ACQ.TRADE_STATUS_ERROR"})
	wantFields(t, b.call("alipay.trade.close", map[string]string{"out_trade_no": "nope"}), map[string]string{"sub_code": "ACQ.TRADE_NOT_EXIST"})
	wantFields(t, b.call("alipay.trade.cancel", map[string]string{"trade_no": "2026031422000000000000000000"}), map[string]string{"sub_code": "ACQ.TRADE_NOT_EXIST"})
}

func TestRefunds(t *testing.T) {
	b := setup(t)
	by := b.buyer("100.00")
	m := b.call("alipay.trade.pay", pay("r1", b.code(by.UserID), "10.00"))
	tradeNo := m["trade_no"].(string)
	refund := func(req, amount string) map[string]any {
		return b.call("alipay.trade.refund", map[string]string{"trade_no": tradeNo, "out_request_no": req, "refund_amount": amount})
	}
	wantFields(t, refund("a", "3.00"), map[string]string{"code": "10000", "fund_change": "Y", "refund_fee": "3.00"})
	wantFields(t, refund("a", "3.00"), map[string]string{"code": "10000", "fund_change": "N", "refund_fee": "3.00"})
	wantFields(t, refund("a", "4.00"), map[string]string{"sub_code": "ACQ.DISCORDANT_REPEAT_REQUEST"})
	wantFields(t, refund("b", "7.01"), map[string]string{"sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"})
	wantFields(t, refund("b", "2.00"), map[string]string{"fund_change": "Y", "refund_fee": "5.00"})
	wantFields(t, b.call("alipay.trade.query", map[string]string{"trade_no": tradeNo}), map[string]string{"trade_status": "TRADE_SUCCESS"})
	wantFields(t, refund("c", "5.00"), map[string]string{"fund_change": "Y", "refund_fee": "10.00"})
	wantFields(t, b.call("alipay.trade.query", map[string]string{"trade_no": tradeNo}), map[string]string{"trade_status": "TRADE_CLOSED"})
	wantFields(t, refund("d", "0.01"), map[string]string{"sub_code": "ACQ.TRADE_STATUS_ERROR"})
	if got, _ := b.sim.Buyer(by.UserID); got.Balance != amt("100.00") {
		t.Errorf("buyer balance after full refund %s", got.Balance)
	}
	if got, _ := b.sim.App(b.app.AppID); got.Balance != 0 {
		t.Errorf("merchant balance after full refund %s", got.Balance)
	}
	q := b.call("alipay.trade.fastpay.refund.query", map[string]string{"trade_no": tradeNo, "out_request_no": "b"})
	wantFields(t, q, map[string]string{"code": "10000", "refund_status": "REFUND_SUCCESS", "refund_amount": "2.00", "total_amount": "10.00"})
	q = b.call("alipay.trade.fastpay.refund.query", map[string]string{"trade_no": tradeNo, "out_request_no": "zz"})
	wantFields(t, q, map[string]string{"code": "10000", "refund_status": "", "refund_amount": ""})
	q = b.call("alipay.trade.fastpay.refund.query", map[string]string{"out_trade_no": "nope", "out_request_no": "zz"})
	wantFields(t, q, map[string]string{"sub_code": "ACQ.TRADE_NOT_EXIST"})

	// The merchant cannot refund money it no longer has.
	m = b.call("alipay.trade.pay", pay("r2", b.code(by.UserID), "10.00"))
	if err := b.sim.e.update(context.Background(), func(t *txn) error { t.appW(b.app.AppID).Balance = amt("1.00"); return nil }); err != nil {
		t.Fatal(err)
	}
	wantFields(t, b.call("alipay.trade.refund", map[string]string{"out_trade_no": "r2", "refund_amount": "2.00"}), map[string]string{"sub_code": "ACQ.SELLER_BALANCE_NOT_ENOUGH"})
}

func TestVoucherPromotion(t *testing.T) {
	b := setup(t)
	by := b.buyer("100.00")
	if _, err := b.sim.AddVoucher(context.Background(), by.UserID, Voucher{MerchantContribute: amt("2.00"), OtherContribute: amt("1.00")}); err != nil {
		t.Fatal(err)
	}
	m := b.call("alipay.trade.pay", pay("v1", b.code(by.UserID), "10.00"))
	wantFields(t, m, map[string]string{"total_amount": "10.00", "buyer_pay_amount": "7.00", "receipt_amount": "8.00",
		"discount_amount": "1.00", "mdiscount_amount": "2.00"})
	if l, _ := m["voucher_detail_list"].([]any); len(l) != 1 {
		t.Errorf("voucher_detail_list %v", m["voucher_detail_list"])
	}
	if l, _ := m["fund_bill_list"].([]any); len(l) != 3 {
		t.Errorf("fund_bill_list %v", m["fund_bill_list"])
	}
	if got, _ := b.sim.Buyer(by.UserID); got.Balance != amt("93.00") || len(got.Vouchers) != 0 {
		t.Errorf("buyer after voucher payment: %+v", got)
	}
	// Full refund: the buyer gets back what they paid, the merchant returns what it got.
	wantFields(t, b.call("alipay.trade.refund", map[string]string{"out_trade_no": "v1", "refund_amount": "10.00"}), map[string]string{"refund_fee": "10.00"})
	if got, _ := b.sim.Buyer(by.UserID); got.Balance != amt("100.00") {
		t.Errorf("buyer after refund %s", got.Balance)
	}
	if got, _ := b.sim.App(b.app.AppID); got.Balance != 0 {
		t.Errorf("merchant after refund %s", got.Balance)
	}
}
