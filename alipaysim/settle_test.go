package alipaysim

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

func (b *bundle) receiver() string {
	b.t.Helper()
	var a Account
	if st := b.control("POST", "/sandbox/accounts", map[string]string{"name": "站点业主"}, &a); st != 201 || a.UserID == "" {
		b.t.Fatalf("accounts: %d %+v", st, a)
	}
	return a.UserID
}

func (b *bundle) balance(id string) f2fpay.Amount {
	b.t.Helper()
	var out AccountBalance
	if st := b.control("GET", "/sandbox/accounts/"+id, nil, &out); st != 200 {
		b.t.Fatalf("balance of %s: %d", id, st)
	}
	return out.Balance
}

func TestRoyaltyAtPaymentAndRefundReversal(t *testing.T) {
	b := setup(t)
	r1, r2 := b.receiver(), b.receiver()
	by := b.buyer("500.00")
	req := pay("roy-1", b.code(by.UserID), "100.00")
	req["royalty_info"] = map[string]any{"royalty_detail_infos": []map[string]any{
		{"trans_in": r1, "amount": "10.00", "desc": "场地费"},
		{"trans_in": r2, "amount_percentage": 5, "trans_out": b.app.SellerID},
	}}
	req["extend_params"] = map[string]any{"sys_service_provider_id": "2088511833207846"}
	if n := b.call("alipay.trade.pay", req); n["code"] != "10000" {
		t.Fatalf("pay: %v", n)
	}
	if b.balance(r1) != amt("10.00") || b.balance(r2) != amt("5.00") || b.balance(b.app.SellerID) != amt("85.00") {
		t.Fatalf("after payment: r1 %s r2 %s merchant %s", b.balance(r1), b.balance(r2), b.balance(b.app.SellerID))
	}
	q := b.call("alipay.trade.query", map[string]any{"out_trade_no": "roy-1", "query_options": []string{"trade_settle_info"}})
	info, _ := q["trade_settle_info"].(map[string]any)
	if info == nil || info["trade_unsettled_amount"] != "0.00" || len(info["trade_settle_detail_list"].([]any)) != 2 {
		t.Fatalf("trade_settle_info: %v", q)
	}
	if _, ok := b.call("alipay.trade.query", map[string]any{"out_trade_no": "roy-1"})["trade_settle_info"]; ok {
		t.Error("trade_settle_info without query_options")
	}

	// Half refunded: the receivers give back half of their 15.00.
	if n := b.call("alipay.trade.refund", map[string]any{"out_trade_no": "roy-1", "refund_amount": "50.00", "out_request_no": "rf1"}); n["code"] != "10000" {
		t.Fatalf("refund: %v", n)
	}
	if b.balance(r1) != amt("5.00") || b.balance(r2) != amt("2.50") || b.balance(b.app.SellerID) != amt("42.50") {
		t.Fatalf("after refund: r1 %s r2 %s merchant %s", b.balance(r1), b.balance(r2), b.balance(b.app.SellerID))
	}
	// A refund that fails moves nothing.
	if n := b.call("alipay.trade.refund", map[string]any{"out_trade_no": "roy-1", "refund_amount": "50.01", "out_request_no": "rf-over"}); n["sub_code"] != "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL" {
		t.Fatalf("over-refund: %v", n)
	}
	if b.balance(r1) != amt("5.00") || b.balance(r2) != amt("2.50") || b.balance(b.app.SellerID) != amt("42.50") {
		t.Fatalf("after a refused refund: r1 %s r2 %s merchant %s", b.balance(r1), b.balance(r2), b.balance(b.app.SellerID))
	}
	// The rest: everything is back, nobody holds anything from this trade.
	b.call("alipay.trade.refund", map[string]any{"out_trade_no": "roy-1", "refund_amount": "50.00", "out_request_no": "rf2"})
	if b.balance(r1) != 0 || b.balance(r2) != 0 || b.balance(b.app.SellerID) != 0 || b.balance(by.UserID) != amt("500.00") {
		t.Fatalf("after full refund: r1 %s r2 %s merchant %s buyer %s", b.balance(r1), b.balance(r2), b.balance(b.app.SellerID), b.balance(by.UserID))
	}
	var tr Trade
	b.control("GET", "/sandbox/trades/"+q["trade_no"].(string), nil, &tr)
	if tr.SysServiceProviderID != "2088511833207846" || len(tr.Royalties) != 6 {
		t.Errorf("GET trade: provider %q, %d royalty movements", tr.SysServiceProviderID, len(tr.Royalties))
	}
}

func TestLegacyRoyaltyParametersOnCreate(t *testing.T) {
	b := setup(t)
	r1, r2 := b.receiver(), b.receiver()
	by := b.buyer("50.00")
	// the vending document's form (docs/vending.md §3): camelCase, serialNo as strings,
	// executed in serialNo order.
	params := fmt.Sprintf(`[{"serialNo":"2","transIn":%q,"amount":"1.00","desc":"second"},{"serialNo":1,"transOut":%q,"transIn":%q,"amount":"2.00","desc":"first"}]`,
		r2, b.app.SellerID, r1)
	biz := fmt.Sprintf(`{"out_trade_no":"vm-1","subject":"可乐","total_amount":"10.00","buyer_id":%q,"royalty_parameters":%s}`, by.UserID, params)
	n := b.call("alipay.trade.create", biz)
	if n["code"] != "10000" {
		t.Fatalf("create: %v", n)
	}
	if _, err := b.sim.Confirm(context.Background(), n["trade_no"].(string), ""); err != nil {
		t.Fatal(err)
	}
	tr, _ := b.sim.Trade(n["trade_no"].(string))
	if len(tr.Royalties) != 2 || tr.Royalties[0].TransIn != r1 || tr.Royalties[0].Amount != amt("2.00") || tr.Royalties[1].TransIn != r2 ||
		tr.RoyaltyPlan[0].OutRelationID != "vm-11" {
		t.Fatalf("royalties %+v plan %+v", tr.Royalties, tr.RoyaltyPlan)
	}
	if b.balance(b.app.SellerID) != amt("7.00") {
		t.Errorf("merchant %s", b.balance(b.app.SellerID))
	}
}

func TestOrderSettle(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	c := b.sdk(b.app.AppID)
	r1 := b.receiver()
	by := b.buyer("500.00")
	req := pay("frz-1", b.code(by.UserID), "200.00")
	req["extend_params"] = map[string]any{"royalty_freeze": "true"}
	paid := b.call("alipay.trade.pay", req)
	tradeNo := paid["trade_no"].(string)
	plain := b.call("alipay.trade.pay", pay("plain-1", b.code(by.UserID), "5.00"))["trade_no"].(string)

	settle := func(no string, items []alipay.SettleRoyalty, finish bool) (*alipay.TradeOrderSettleResponse, error) {
		r := &alipay.TradeOrderSettleRequest{OutRequestNo: no, TradeNo: tradeNo, RoyaltyParameters: items}
		if finish {
			r.ExtendParams = &alipay.SettleExtendParams{RoyaltyFinish: "true"}
		}
		return c.TradeOrderSettle(ctx, r)
	}
	thirty := []alipay.SettleRoyalty{{TransIn: r1, Amount: amt("30.00"), Desc: "分账"}}
	s1, err := settle("s1", thirty, false)
	if err != nil || s1.SettleNo == "" || s1.TradeNo != tradeNo {
		t.Fatalf("settle: %v %+v", err, s1)
	}
	again, err := settle("s1", thirty, false)
	if err != nil || again.SettleNo != s1.SettleNo || b.balance(r1) != amt("30.00") {
		t.Fatalf("retry must not move money twice: %v %+v, receiver %s", err, again, b.balance(r1))
	}
	q, err := c.TradeQuery(ctx, &alipay.TradeQueryRequest{TradeNo: tradeNo, QueryOptions: []string{"trade_settle_info"}})
	if err != nil || q.TradeSettleInfo == nil || q.TradeSettleInfo.TradeUnsettledAmount != amt("170.00") || len(q.TradeSettleInfo.TradeSettleDetailList) != 1 {
		t.Fatalf("query: %v %+v", err, q.TradeSettleInfo)
	}

	tests := []struct {
		name string
		do   func() error
		sub  string
	}{
		{"changed retry", func() error {
			_, err := settle("s1", []alipay.SettleRoyalty{{TransIn: r1, Amount: amt("31.00")}}, false)
			return err
		}, "ACQ.DISCORDANT_REPEAT_REQUEST"},
		{"over the unsettled amount", func() error {
			_, err := settle("s2", []alipay.SettleRoyalty{{TransIn: r1, Amount: amt("170.01")}}, false)
			return err
		}, "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR"},
		{"unknown receiver", func() error {
			_, err := settle("s3", []alipay.SettleRoyalty{{TransIn: "2088000000000009", Amount: amt("1.00")}}, false)
			return err
		}, "ACQ.INVALID_PARAMETER"},
		{"to the seller itself", func() error {
			_, err := settle("s4", []alipay.SettleRoyalty{{TransIn: b.app.SellerID, Amount: amt("1.00")}}, false)
			return err
		}, "ACQ.INVALID_PARAMETER"},
		{"not frozen", func() error {
			_, err := c.TradeOrderSettle(ctx, &alipay.TradeOrderSettleRequest{OutRequestNo: "p1", TradeNo: plain, RoyaltyParameters: thirty})
			return err
		}, "ACQ.TRADE_SETTLE_ERROR"},
		{"unknown trade", func() error {
			_, err := c.TradeOrderSettle(ctx, &alipay.TradeOrderSettleRequest{OutRequestNo: "u1", TradeNo: "2026031422001499999999999999", RoyaltyParameters: thirty})
			return err
		}, "ACQ.TRADE_NOT_EXIST"},
		{"empty without finish", func() error {
			_, err := c.Call(ctx, "alipay.trade.order.settle", map[string]any{"out_request_no": "e1", "trade_no": tradeNo}, nil)
			return err
		}, "ACQ.INVALID_PARAMETER"},
		{"bad royalty_mode", func() error {
			_, err := c.Call(ctx, "alipay.trade.order.settle", map[string]any{"out_request_no": "m1", "trade_no": tradeNo, "royalty_mode": "later",
				"royalty_parameters": []map[string]any{{"trans_in": r1, "amount": "1.00"}}}, nil)
			return err
		}, "ACQ.INVALID_PARAMETER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); subCode(err) != tt.sub {
				t.Fatalf("got %v, want %s", err, tt.sub)
			}
		})
	}
	if b.balance(r1) != amt("30.00") {
		t.Fatalf("refused settles moved money: %s", b.balance(r1))
	}
	// Finish with a last share of 10%: the rest is the merchant's and nothing more can be
	// shared.
	if _, err := c.Call(ctx, "alipay.trade.order.settle", map[string]any{"out_request_no": "s5", "trade_no": tradeNo, "royalty_mode": "async",
		"royalty_parameters": []map[string]any{{"trans_in": r1, "amount_percentage": 10}}, "extend_params": map[string]string{"royalty_finish": "true"}}, nil); err != nil {
		t.Fatal(err)
	}
	if b.balance(r1) != amt("50.00") || b.balance(b.app.SellerID) != amt("155.00") {
		t.Fatalf("after finish: receiver %s merchant %s", b.balance(r1), b.balance(b.app.SellerID))
	}
	if _, err := settle("s6", []alipay.SettleRoyalty{{TransIn: r1, Amount: amt("0.01")}}, false); subCode(err) != "ACQ.TRADE_SETTLE_ERROR" {
		t.Errorf("settle after finish: %v", err)
	}
	q, _ = c.TradeQuery(ctx, &alipay.TradeQueryRequest{TradeNo: tradeNo, QueryOptions: []string{"trade_settle_info"}})
	if q.TradeSettleInfo.TradeUnsettledAmount != 0 || len(q.TradeSettleInfo.TradeSettleDetailList) != 2 {
		t.Errorf("after finish: %+v", q.TradeSettleInfo)
	}
}

func TestBadRoyaltyParameters(t *testing.T) {
	b := setup(t)
	r1 := b.receiver()
	by := b.buyer("100.00")
	detail := func(d ...map[string]any) map[string]any { return map[string]any{"royalty_detail_infos": d} }
	tests := []struct {
		name  string
		extra map[string]any
		want  string
	}{
		{"over the total", map[string]any{"royalty_info": detail(map[string]any{"trans_in": r1, "amount": "10.01"})}, "超过订单金额"},
		{"percentages over 100", map[string]any{"royalty_info": detail(map[string]any{"trans_in": r1, "amount_percentage": 60}, map[string]any{"trans_in": r1, "amount_percentage": 41})}, "超过订单金额"},
		{"percentage 101", map[string]any{"royalty_info": detail(map[string]any{"trans_in": r1, "amount_percentage": 101})}, "amount_percentage"},
		{"neither amount nor percentage", map[string]any{"royalty_info": detail(map[string]any{"trans_in": r1})}, "amount"},
		{"both", map[string]any{"royalty_info": detail(map[string]any{"trans_in": r1, "amount": "1.00", "amount_percentage": 5})}, "amount"},
		{"zero amount", map[string]any{"royalty_info": detail(map[string]any{"trans_in": r1, "amount": "0.00"})}, "amount"},
		{"malformed trans_in", map[string]any{"royalty_info": detail(map[string]any{"trans_in": "12345", "amount": "1.00"})}, "trans_in"},
		{"unknown trans_in", map[string]any{"royalty_info": detail(map[string]any{"trans_in": "2088000000000009", "amount": "1.00"})}, "trans_in"},
		{"seller as trans_in", map[string]any{"royalty_info": detail(map[string]any{"trans_in": b.app.SellerID, "amount": "1.00"})}, "trans_in"},
		{"foreign trans_out", map[string]any{"royalty_info": detail(map[string]any{"trans_in": r1, "trans_out": "2088000000000008", "amount": "1.00"})}, "trans_out"},
		{"loginName", map[string]any{"royalty_info": detail(map[string]any{"trans_in": r1, "trans_in_type": "loginName", "amount": "1.00"})}, "userId"},
		{"empty details", map[string]any{"royalty_info": detail()}, "royalty_detail_infos"},
		{"both forms", map[string]any{"royalty_info": detail(map[string]any{"trans_in": r1, "amount": "1.00"}),
			"royalty_parameters": []map[string]any{{"serialNo": 1, "transIn": r1, "amount": "1.00"}}}, "同时"},
		{"legacy duplicate serialNo", map[string]any{"royalty_parameters": []map[string]any{{"serialNo": 1, "transIn": r1, "amount": "1.00"}, {"serialNo": "1", "transIn": r1, "amount": "1.00"}}}, "序号"},
		{"legacy serialNo 0", map[string]any{"royalty_parameters": []map[string]any{{"serialNo": 0, "transIn": r1, "amount": "1.00"}}}, "serialNo"},
		{"legacy no amount", map[string]any{"royalty_parameters": []map[string]any{{"serialNo": 1, "transIn": r1}}}, "amount"},
		{"legacy not an array", map[string]any{"royalty_parameters": map[string]any{"serialNo": 1}}, "royalty_parameters"},
		{"bad royalty_freeze", map[string]any{"extend_params": map[string]any{"royalty_freeze": "yes"}}, "royalty_freeze"},
		{"serial_no junk", map[string]any{"royalty_info": detail(map[string]any{"serial_no": "abc", "trans_in": r1, "amount": "1.00"})}, "royalty_detail_infos[0].serial_no 须为整数"},
		{"serial_no fraction", map[string]any{"royalty_info": detail(map[string]any{"serial_no": 1.5, "trans_in": r1, "amount": "1.00"})}, "royalty_detail_infos[0].serial_no 须为整数"},
		{"serial_no bool", map[string]any{"royalty_info": detail(map[string]any{"serial_no": true, "trans_in": r1, "amount": "1.00"})}, "royalty_detail_infos[0].serial_no 须为整数"},
		{"serial_no \"0\"", map[string]any{"royalty_info": detail(map[string]any{"serial_no": "0", "trans_in": r1, "amount": "1.00"})}, "序号"},
		{"percentage junk", map[string]any{"royalty_info": detail(map[string]any{"trans_in": r1, "amount_percentage": "5%"})}, "royalty_detail_infos[0].amount_percentage 须为整数"},
		{"percentage \"101\"", map[string]any{"royalty_info": detail(map[string]any{"trans_in": r1, "amount_percentage": "101"})}, "amount_percentage 须为 1 到 100"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := pay(fmt.Sprintf("bad-%d", i), b.code(by.UserID), "10.00")
			for k, v := range tt.extra {
				req[k] = v
			}
			n := b.call("alipay.trade.pay", req)
			if n["sub_code"] != "ACQ.INVALID_PARAMETER" || !strings.Contains(n["sub_msg"].(string), tt.want) {
				t.Fatalf("got %v, want ACQ.INVALID_PARAMETER about %s", n, tt.want)
			}
			if _, err := b.sim.TradeByOutTradeNo(b.app.AppID, req["out_trade_no"].(string)); err == nil {
				t.Error("a refused request created a trade")
			}
		})
	}
	if b.balance(by.UserID) != amt("100.00") {
		t.Error("refused payments took money")
	}
}

// TestRoyaltyIntegersAsStrings: serial_no and amount_percentage arrive as JSON numbers
// from some clients and as JSON strings from others (the Java SDK's models, gopay); Alipay
// takes both, and so must the sandbox, on the trade (royalty_info) and on
// alipay.trade.order.settle.
func TestRoyaltyIntegersAsStrings(t *testing.T) {
	b := setup(t)
	r1, r2 := b.receiver(), b.receiver()
	by := b.buyer("500.00")
	req := pay("roy-str", b.code(by.UserID), "100.00")
	req["royalty_info"] = map[string]any{"royalty_detail_infos": []map[string]any{
		{"serial_no": "2", "trans_in": r2, "amount_percentage": "5", "trans_out": b.app.SellerID},
		{"serial_no": "1", "trans_in": r1, "amount": "10.00"},
	}}
	if n := b.call("alipay.trade.pay", req); n["code"] != "10000" {
		t.Fatalf("pay: %v", n)
	}
	tr, err := b.sim.TradeByOutTradeNo(b.app.AppID, "roy-str")
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.RoyaltyPlan) != 2 || tr.RoyaltyPlan[0].SerialNo != 1 || tr.RoyaltyPlan[0].TransIn != r1 ||
		tr.RoyaltyPlan[1].SerialNo != 2 || tr.RoyaltyPlan[1].Percentage != 5 {
		t.Fatalf("plan %+v", tr.RoyaltyPlan)
	}
	if b.balance(r1) != amt("10.00") || b.balance(r2) != amt("5.00") {
		t.Fatalf("after payment: r1 %s r2 %s", b.balance(r1), b.balance(r2))
	}

	frozen := pay("roy-frz", b.code(by.UserID), "200.00")
	frozen["extend_params"] = map[string]any{"royalty_freeze": "true"}
	tradeNo, _ := b.call("alipay.trade.pay", frozen)["trade_no"].(string)
	settle := func(no string, pct any) map[string]any {
		return b.call("alipay.trade.order.settle", map[string]any{"out_request_no": no, "trade_no": tradeNo,
			"royalty_parameters": []map[string]any{{"trans_in": r1, "amount_percentage": pct}}})
	}
	if n := settle("s1", "10"); n["code"] != "10000" {
		t.Fatalf("settle with a string percentage: %v", n)
	}
	if b.balance(r1) != amt("30.00") {
		t.Fatalf("receiver after settle: %s", b.balance(r1))
	}
	for _, junk := range []any{"ten", 10.5, "10.0", []int{10}} {
		n := settle("s_junk", junk)
		if n["sub_code"] != "ACQ.INVALID_PARAMETER" || !strings.Contains(n["sub_msg"].(string), "royalty_parameters[0].amount_percentage 须为整数") {
			t.Errorf("amount_percentage %v: %v", junk, n)
		}
	}
	if b.balance(r1) != amt("30.00") {
		t.Errorf("refused settles moved money: %s", b.balance(r1))
	}
}

// FuzzParseRoyalty: whatever biz_content holds, parseRoyalty never panics, and a plan it
// accepts keeps its invariants.
func FuzzParseRoyalty(f *testing.F) {
	for _, s := range []string{
		`{"royalty_info":{"royalty_detail_infos":[{"trans_in":"2088000000000001","amount":"1.00"}]}}`,
		`{"royalty_info":{"royalty_detail_infos":[{"serial_no":3,"trans_in":"2088000000000001","amount_percentage":50},{"serial_no":1,"trans_in":"2088000000000002","amount":"0.01"}]}}`,
		`{"royalty_parameters":[{"serialNo":"2","transIn":"2088000000000001","amount":"1.00"},{"serialNo":1,"transOut":"2088000000000003","transIn":"2088000000000002","amount":"2.00"}]}`,
		`{"royalty_parameters":"[{\"serialNo\":1,\"transIn\":\"2088000000000001\",\"amount\":\"1.00\"}]"}`,
		`{"extend_params":{"royalty_freeze":"true"}}`,
		`{"royalty_parameters":[{"serialNo":"01","transIn":"2088000000000001","amount":"1.00"}]}`,
		`{"royalty_parameters":null}`, `{}`, ``, `[`,
	} {
		f.Add(s, int64(1000))
	}
	f.Fuzz(func(t *testing.T, biz string, total int64) {
		items, _, err := parseRoyalty(biz, "out", f2fpay.Amount(total))
		if err != nil {
			return
		}
		var sum f2fpay.Amount
		var pct int64
		seen := map[int64]bool{}
		for i, it := range items {
			if i > 0 && items[i-1].SerialNo >= it.SerialNo {
				t.Fatalf("not in serial order: %+v", items)
			}
			if seen[it.SerialNo] || it.SerialNo <= 0 || !userIDPattern.MatchString(it.TransIn) || (it.Amount == 0) == (it.Percentage == 0) || it.Amount < 0 {
				t.Fatalf("accepted a bad item %+v", it)
			}
			seen[it.SerialNo] = true
			sum += it.Amount
			pct += it.Percentage
		}
		if len(items) > maxRoyaltyItems || sum > f2fpay.Amount(total) || pct > 100 {
			t.Fatalf("accepted %d items, sum %d of %d, %d%%", len(items), sum, total, pct)
		}
		if _, err := json.Marshal(items); err != nil {
			t.Fatal(err)
		}
	})
}
