package alipaysim

import (
	"testing"
)

func TestRelationBindAndSettleQuery(t *testing.T) {
	b := setup(t)
	r1 := b.receiver()
	bind := func(no string, accounts ...string) map[string]any {
		var list []map[string]any
		for _, a := range accounts {
			list = append(list, map[string]any{"type": "userId", "account": a, "name": "site"})
		}
		return b.call("alipay.trade.royalty.relation.bind", map[string]any{"out_request_no": no, "receiver_list": list})
	}
	if n := bind("b1", r1); n["code"] != "10000" || n["result_code"] != "SUCCESS" || !b.sim.Bound(b.app.AppID, r1) {
		t.Fatalf("bind: %v", n)
	}
	if n := bind("b2", r1); n["code"] != "10000" {
		t.Fatalf("bind again: %v", n)
	}
	if n := bind("b3", "2088999999999999"); n["sub_code"] != "ACQ.ROYALTY_ACCOUNT_NOT_EXIST" {
		t.Fatalf("unknown account: %v", n)
	}
	if n := bind("b-4", r1); n["sub_code"] != "ACQ.INVALID_PARAMETER" {
		t.Fatalf("bad out_request_no: %v", n)
	}

	by := b.buyer("100.00")
	req := pay("sq-1", b.code(by.UserID), "10.00")
	req["extend_params"] = map[string]any{"royalty_freeze": "true"}
	p := b.call("alipay.trade.pay", req)
	tradeNo, _ := p["trade_no"].(string)
	if n := b.call("alipay.trade.order.settle.query", map[string]any{"out_request_no": "s1", "trade_no": tradeNo}); n["sub_code"] != "ACQ.TRADE_NOT_EXIST" {
		t.Fatalf("query before settle: %v", n)
	}
	s := b.call("alipay.trade.order.settle", map[string]any{"out_request_no": "s1", "trade_no": tradeNo,
		"royalty_parameters": []map[string]any{{"trans_in": r1, "amount": "2.50"}}, "extend_params": map[string]any{"royalty_finish": "true"}})
	if s["code"] != "10000" {
		t.Fatalf("settle: %v", s)
	}
	for _, q := range []map[string]any{{"out_request_no": "s1", "trade_no": tradeNo}, {"settle_no": s["settle_no"]}} {
		n := b.call("alipay.trade.order.settle.query", q)
		list, _ := n["royalty_detail_list"].([]any)
		if n["code"] != "10000" || n["settle_no"] != s["settle_no"] || n["out_request_no"] != "s1" || len(list) != 1 {
			t.Fatalf("query %v: %v", q, n)
		}
		d := list[0].(map[string]any)
		if d["amount"] != "2.50" || d["trans_in"] != r1 || d["state"] != "SUCCESS" || d["operation_type"] != "transfer" {
			t.Fatalf("detail: %v", d)
		}
	}
	if b.balance(r1) != amt("2.50") || b.balance(b.app.SellerID) != amt("7.50") {
		t.Fatalf("balances: %s %s", b.balance(r1), b.balance(b.app.SellerID))
	}
}
