package alipaysim

import (
	"encoding/json"
	"fmt"
	"time"
)

// Royalty relations and the settle query (docs/vending.md §3 and §9):
//
//   - alipay.trade.royalty.relation.bind records receivers (type userId, an existing
//     sandbox account) for the calling app; binding again succeeds and changes nothing.
//     The sandbox does not refuse royalties to unbound receivers: Alipay's refusal
//     (ACQ.TRADE_SETTLE_ERROR) is documented only in passing, and earlier sandbox
//     users share without binding. The service binds before it shares anyway.
//   - alipay.trade.order.settle.query answers a settle request by settle_no, or by
//     out_request_no with trade_no, with its transfers; an unknown request answers
//     ACQ.TRADE_NOT_EXIST (Alipay documents no sub_code for it).

const kindRelation = "royalty_relation"

// Relation is a receiver bound to an app.
type Relation struct {
	AppID        string    `json:"app_id"`
	Type         string    `json:"type"`
	Account      string    `json:"account"`
	Name         string    `json:"name,omitempty"`
	Memo         string    `json:"memo,omitempty"`
	OutRequestNo string    `json:"out_request_no"`
	BoundAt      time.Time `json:"bound_at"`
}

func (r *Relation) recordKind() string  { return kindRelation }
func (r *Relation) recordID() string    { return r.AppID + "/" + r.Account }
func (r *Relation) cloneRecord() record { c := *r; return &c }

// relationBind is alipay.trade.royalty.relation.bind.
func (t *txn) relationBind(c *call) *node {
	var r struct {
		OutRequestNo jstr `json:"out_request_no"`
		ReceiverList []struct {
			Type    string `json:"type"`
			Account string `json:"account"`
			Name    string `json:"name"`
			Memo    string `json:"memo"`
		} `json:"receiver_list"`
	}
	if err := json.Unmarshal([]byte(c.params["biz_content"]), &r); err != nil {
		return invalidParam("biz_content 格式错误 (" + err.Error() + ")")
	}
	switch {
	case !settleNoPattern.MatchString(string(r.OutRequestNo)):
		return invalidParam("out_request_no 必填，最长 32 位字母、数字或下划线")
	case len(r.ReceiverList) == 0 || len(r.ReceiverList) > 20:
		return invalidParam("receiver_list 须有 1 到 20 个分账接收方")
	}
	for i, x := range r.ReceiverList {
		switch {
		case x.Type != "userId":
			return invalidParam(fmt.Sprintf("receiver_list[%d].type 沙箱只支持 userId", i))
		case !userIDPattern.MatchString(x.Account) || x.Account == c.app.SellerID || !t.accountExists(x.Account):
			return bizError("ACQ.ROYALTY_ACCOUNT_NOT_EXIST", fmt.Sprintf("receiver_list[%d].account %s 不是可收款的沙箱账户 (create one with POST /sandbox/accounts)", i, x.Account))
		case len(x.Name) > 100 || len(x.Memo) > 200:
			return invalidParam(fmt.Sprintf("receiver_list[%d].name / memo 过长", i))
		}
	}
	for _, x := range r.ReceiverList {
		if t.rec(kindRelation, c.app.AppID+"/"+x.Account) != nil {
			continue
		}
		t.putRec(&Relation{AppID: c.app.AppID, Type: x.Type, Account: x.Account, Name: x.Name, Memo: x.Memo,
			OutRequestNo: string(r.OutRequestNo), BoundAt: t.now})
	}
	return success().set("result_code", "SUCCESS")
}

// Bound reports whether account is bound to the app (for tests and the control API).
func (s *Sim) Bound(appID, account string) bool {
	var ok bool
	s.e.view(func(t *txn) { ok = t.rec(kindRelation, appID+"/"+account) != nil })
	return ok
}

// settleQuery is alipay.trade.order.settle.query.
func (t *txn) settleQuery(c *call) *node {
	var r struct {
		SettleNo     jstr `json:"settle_no"`
		OutRequestNo jstr `json:"out_request_no"`
		TradeNo      jstr `json:"trade_no"`
	}
	if err := json.Unmarshal([]byte(c.params["biz_content"]), &r); err != nil {
		return invalidParam("biz_content 格式错误 (" + err.Error() + ")")
	}
	if r.SettleNo == "" && (r.OutRequestNo == "" || r.TradeNo == "") {
		return invalidParam("须给出 settle_no，或 out_request_no 与 trade_no")
	}
	var tr *Trade
	var req *SettleRequest
	find := func(x *Trade) {
		if x == nil || x.AppID != c.app.AppID {
			return
		}
		for i := range x.Settles {
			s := &x.Settles[i]
			if (r.SettleNo != "" && s.SettleNo == string(r.SettleNo)) || (r.SettleNo == "" && s.OutRequestNo == string(r.OutRequestNo)) {
				tr, req = x, s
				return
			}
		}
	}
	if r.TradeNo != "" {
		find(t.trade(string(r.TradeNo)))
	} else {
		// settle_no alone: a scan, fine at the sandbox's scale.
		for no := range t.e.trades {
			if find(t.trade(no)); req != nil {
				break
			}
		}
	}
	if req == nil {
		return bizError("ACQ.TRADE_NOT_EXIST", "分账请求不存在 (no settle request with that number)")
	}
	list := []map[string]any{}
	for _, x := range tr.Royalties {
		if x.OperationType != "transfer" || x.OutRequestNo != req.OutRequestNo {
			continue
		}
		d := map[string]any{"operation_type": x.OperationType, "execute_dt": fmtTime(x.At), "trans_out": x.TransOut,
			"trans_out_type": "userId", "trans_in": x.TransIn, "trans_in_type": "userId", "amount": x.Amount,
			"state": x.Status, "detail_id": req.SettleNo + x.SerialNo}
		if x.Status != "SUCCESS" {
			code, desc, _ := cutError(x.Error)
			d["error_code"], d["error_desc"] = code, desc
		}
		list = append(list, d)
	}
	return success().set("out_request_no", req.OutRequestNo).set("settle_no", req.SettleNo).
		set("operation_dt", fmtTime(req.At)).set("result_code", "SUCCESS").set("royalty_detail_list", list)
}

// cutError splits "CODE: description" as transfer records failures.
func cutError(s string) (code, desc string, ok bool) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == ':' && s[i+1] == ' ' {
			return s[:i], s[i+2:], true
		}
	}
	return s, "", false
}
