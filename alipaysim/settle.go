package alipaysim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Profit sharing (分账), as the sandbox models it:
//
//   - A trade may carry a royalty plan: royalty_info.royalty_detail_infos (snake_case,
//     current Alipay) or royalty_parameters (the vending document's camelCase array,
//     docs/vending.md §3), on alipay.trade.pay, precreate and create. Both are read by
//     parseRoyalty; bad plans answer ACQ.INVALID_PARAMETER and create nothing. Integer
//     fields (serial_no, amount_percentage) may be JSON numbers or JSON strings, as
//     Alipay accepts.
//   - Without extend_params.royalty_freeze "true" the plan runs when the trade is paid,
//     in serial order; a transfer that no longer fits the merchant's receipt (a merchant
//     voucher lowered it) is recorded as FAIL, the others go through.
//   - With royalty_freeze the receipt stays unsettled for alipay.trade.order.settle:
//     any number of settle requests (out_request_no idempotent) until one carries
//     extend_params.royalty_finish "true", which releases the rest to the merchant.
//     Without royalty_freeze there is nothing left to settle: the receipt went to the
//     merchant at payment. royalty_mode async is accepted and completes at once.
//   - Money moves between balances: the merchant's (trans_out, its seller_id) to a
//     receiver's — a receiver account (POST /sandbox/accounts), a buyer or another
//     merchant, named by its 2088 user id. The sandbox keeps frozen money in the
//     merchant's balance and tracks what is unsettled per trade.
//   - Refunds give royalties back in proportion: after refunds totalling R of a trade
//     whose receivers got S, they have returned round(S·R/total) (cumulative, so
//     partial refunds add up exactly), taken from the receivers (never below zero) and
//     credited to the merchant, which funds the refund. Alipay itself reverses only
//     what refund_royalty_parameters names; the sandbox's rule keeps a merchant's
//     balance from paying back money it no longer has.

// RoyaltyTransfer is one profit-sharing movement of a trade.
type RoyaltyTransfer struct {
	// OperationType: "transfer" (paid out at payment or by a settle request) or
	// "transfer_refund" (given back by a refund), as trade_settle_detail_list says.
	OperationType string        `json:"operation_type"`
	SerialNo      string        `json:"operation_serial_no"`
	OutRequestNo  string        `json:"out_request_no,omitempty"` // the settle request, "" at payment
	RefundNo      string        `json:"refund_out_request_no,omitempty"`
	TransOut      string        `json:"trans_out"`
	TransIn       string        `json:"trans_in"`
	Amount        f2fpay.Amount `json:"amount"`
	Desc          string        `json:"desc,omitempty"`
	At            time.Time     `json:"operation_dt"`
	Status        string        `json:"status"` // SUCCESS or FAIL
	Error         string        `json:"error,omitempty"`
}

// RoyaltyItem is one planned transfer: a fixed amount or a percentage of the receipt.
type RoyaltyItem struct {
	SerialNo      int64         `json:"serial_no,omitempty"`
	OutRelationID string        `json:"out_relation_id,omitempty"`
	TransOut      string        `json:"trans_out,omitempty"`
	TransIn       string        `json:"trans_in"`
	Amount        f2fpay.Amount `json:"amount,omitempty"`
	Percentage    int64         `json:"amount_percentage,omitempty"`
	Desc          string        `json:"desc,omitempty"`
}

// SettleRequest is an alipay.trade.order.settle request, kept for idempotency.
type SettleRequest struct {
	OutRequestNo string    `json:"out_request_no"`
	SettleNo     string    `json:"settle_no"`
	Digest       string    `json:"digest"` // the royalty parameters as sent, to spot a changed retry
	Finish       bool      `json:"royalty_finish,omitempty"`
	Mode         string    `json:"royalty_mode"`
	At           time.Time `json:"at"`
}

// Account is a receiver of profit shares (a site owner, a platform): an Alipay user
// with a balance and nothing else.
type Account struct {
	UserID    string        `json:"user_id"`
	Name      string        `json:"name,omitempty"`
	Balance   f2fpay.Amount `json:"balance"`
	CreatedAt time.Time     `json:"created_at"`
}

func (a *Account) recordKind() string  { return kindAccount }
func (a *Account) recordID() string    { return a.UserID }
func (a *Account) cloneRecord() record { c := *a; return &c }

const maxRoyaltyItems = 10

var userIDPattern = regexp.MustCompile(`^2088[0-9]{12}$`)

// royaltyRequest is the part of a trade request's biz_content about profit sharing.
type royaltyRequest struct {
	RoyaltyInfo *struct {
		RoyaltyType string `json:"royalty_type"`
		Details     []struct {
			SerialNo      json.RawMessage `json:"serial_no"`
			TransInType   string          `json:"trans_in_type"`
			BatchNo       string          `json:"batch_no"`
			OutRelationID string          `json:"out_relation_id"`
			TransOutType  string          `json:"trans_out_type"`
			TransOut      string          `json:"trans_out"`
			TransIn       string          `json:"trans_in"`
			Amount        *f2fpay.Amount  `json:"amount"`
			Percentage    json.RawMessage `json:"amount_percentage"`
			Desc          string          `json:"desc"`
		} `json:"royalty_detail_infos"`
	} `json:"royalty_info"`
	RoyaltyParameters json.RawMessage `json:"royalty_parameters"`
	ExtendParams      *struct {
		RoyaltyFreeze jstr `json:"royalty_freeze"`
	} `json:"extend_params"`
}

// legacyRoyaltyItem is the vending document's camelCase form (docs/vending.md §3).
// serialNo arrives as a number or a string; amounts are yuan strings.
type legacyRoyaltyItem struct {
	SerialNo      jstr           `json:"serialNo"`
	OutRelationID string         `json:"outRelationId"`
	TransOutType  string         `json:"transOutType"`
	TransOut      string         `json:"transOut"`
	TransInType   string         `json:"transInType"`
	TransIn       string         `json:"transIn"`
	BatchNo       string         `json:"batchNo"`
	Amount        *f2fpay.Amount `json:"amount"`
	Desc          string         `json:"desc"`
}

// parseRoyalty reads the royalty plan and royalty_freeze of a trade request. It checks
// what can be checked without the state: shapes, ids, amounts, serial numbers, sums.
// A request may not carry both forms.
func parseRoyalty(bizContent, outTradeNo string, total f2fpay.Amount) (items []RoyaltyItem, freeze bool, err error) {
	if strings.TrimSpace(bizContent) == "" {
		return nil, false, nil
	}
	var r royaltyRequest
	if err := json.Unmarshal([]byte(bizContent), &r); err != nil {
		return nil, false, fmt.Errorf("royalty_info / royalty_parameters / extend_params 格式错误 (%v)", err)
	}
	if r.ExtendParams != nil {
		switch r.ExtendParams.RoyaltyFreeze {
		case "", "false":
		case "true":
			freeze = true
		default:
			return nil, false, fmt.Errorf("extend_params.royalty_freeze 只能是 \"true\" 或 \"false\"")
		}
	}
	legacy := len(r.RoyaltyParameters) > 0 && string(r.RoyaltyParameters) != "null"
	if r.RoyaltyInfo != nil && legacy {
		return nil, false, fmt.Errorf("royalty_info 与 royalty_parameters 不能同时出现 (send one form)")
	}
	switch {
	case r.RoyaltyInfo != nil:
		if len(r.RoyaltyInfo.Details) == 0 {
			return nil, false, fmt.Errorf("royalty_info.royalty_detail_infos 不能为空")
		}
		for i, d := range r.RoyaltyInfo.Details {
			it := RoyaltyItem{OutRelationID: d.OutRelationID, TransOut: d.TransOut, TransIn: d.TransIn,
				Desc: d.Desc, SerialNo: int64(i + 1)}
			if n, set, err := royaltyInt(d.SerialNo); err != nil {
				return nil, false, fmt.Errorf("royalty_detail_infos[%d].serial_no %v", i, err)
			} else if set {
				it.SerialNo = n
			}
			n, _, err := royaltyInt(d.Percentage)
			if err != nil {
				return nil, false, fmt.Errorf("royalty_detail_infos[%d].amount_percentage %v", i, err)
			}
			it.Percentage = n
			if d.Amount != nil {
				it.Amount = *d.Amount
				if it.Amount == 0 {
					return nil, false, fmt.Errorf("royalty_detail_infos[%d].amount 须大于 0", i)
				}
			}
			if err := checkIDTypes(i, d.TransInType, d.TransOutType); err != nil {
				return nil, false, err
			}
			items = append(items, it)
		}
	case legacy:
		raw := bytes.TrimSpace(r.RoyaltyParameters)
		if len(raw) > 0 && raw[0] == '"' { // some integrations send the array as a JSON string
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, false, fmt.Errorf("royalty_parameters 格式错误")
			}
			raw = []byte(s)
		}
		var legacyItems []legacyRoyaltyItem
		if err := json.Unmarshal(raw, &legacyItems); err != nil {
			return nil, false, fmt.Errorf("royalty_parameters 须为 [{serialNo, transOut, transIn, amount, desc}] 数组 (%v)", err)
		}
		if len(legacyItems) == 0 {
			return nil, false, fmt.Errorf("royalty_parameters 不能为空数组")
		}
		for i, d := range legacyItems {
			var n int64
			if _, err := fmt.Sscanf(string(d.SerialNo), "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != string(d.SerialNo) {
				return nil, false, fmt.Errorf("royalty_parameters[%d].serialNo 须为正整数", i)
			}
			if d.Amount == nil || *d.Amount <= 0 {
				return nil, false, fmt.Errorf("royalty_parameters[%d].amount 必填且大于 0", i)
			}
			if err := checkIDTypes(i, d.TransInType, d.TransOutType); err != nil {
				return nil, false, err
			}
			rel := d.OutRelationID
			if rel == "" {
				rel = fmt.Sprintf("%s%d", outTradeNo, n) // the seed's documented default
			}
			items = append(items, RoyaltyItem{SerialNo: n, OutRelationID: rel, TransOut: d.TransOut,
				TransIn: d.TransIn, Amount: *d.Amount, Desc: d.Desc})
		}
	default:
		return nil, freeze, nil
	}
	if len(items) > maxRoyaltyItems {
		return nil, false, fmt.Errorf("分账明细最多 %d 条", maxRoyaltyItems)
	}
	var sum f2fpay.Amount
	var pct int64
	seen := map[int64]bool{}
	for i, it := range items {
		switch {
		case it.SerialNo <= 0 || seen[it.SerialNo]:
			return nil, false, fmt.Errorf("分账明细[%d] 的序号须为正整数且不重复 (serial numbers must be positive and unique)", i)
		case !userIDPattern.MatchString(it.TransIn):
			return nil, false, fmt.Errorf("分账明细[%d].trans_in 须为 2088 开头的 16 位支付宝用户号", i)
		case it.TransOut != "" && !userIDPattern.MatchString(it.TransOut):
			return nil, false, fmt.Errorf("分账明细[%d].trans_out 须为 2088 开头的 16 位支付宝用户号", i)
		case (it.Amount == 0) == (it.Percentage == 0):
			return nil, false, fmt.Errorf("分账明细[%d] 须给出 amount 或 amount_percentage 之一", i)
		case it.Percentage < 0 || it.Percentage > 100:
			return nil, false, fmt.Errorf("分账明细[%d].amount_percentage 须为 1 到 100 的整数", i)
		case it.Amount < 0 || it.Amount > f2fpay.MaxAmount:
			return nil, false, fmt.Errorf("分账明细[%d].amount 超出范围", i)
		}
		seen[it.SerialNo] = true
		sum += it.Amount
		pct += it.Percentage
	}
	if sum > total || pct > 100 {
		return nil, false, fmt.Errorf("分账金额合计超过订单金额 (the royalties add up to more than total_amount)")
	}
	slices.SortStableFunc(items, func(a, b RoyaltyItem) int { return int(min(max(a.SerialNo-b.SerialNo, -1), 1)) })
	return items, freeze, nil
}

// integerText is what royaltyInt accepts inside a JSON string or as a JSON number: an
// integer, no fraction, no exponent, no sign but minus (which the range checks refuse).
var integerText = regexp.MustCompile(`^-?[0-9]{1,18}$`)

// royaltyInt reads an integer field of a royalty item (serial_no, amount_percentage).
// Alipay documents them as numbers and accepts them as JSON strings too, which is how
// the official Java SDK's string-typed models and common Go SDKs (gopay) send them:
// 1 and "1" are the same. Absent, null and "" are unset. Anything else (1.5, "abc",
// true, {}) is refused with an error that completes "<field> ...".
func royaltyInt(raw json.RawMessage) (n int64, set bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, false, fmt.Errorf("不是合法的 JSON 字符串")
		}
		text = strings.TrimSpace(text)
		if text == "" {
			return 0, false, nil
		}
	}
	if !integerText.MatchString(text) {
		return 0, false, fmt.Errorf("须为整数（数字或数字字符串），收到 %s (must be an integer, as a number or a string)", truncate(string(raw), 20))
	}
	n, err = strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("须为整数，收到 %s", truncate(string(raw), 20))
	}
	return n, true, nil
}

func checkIDTypes(i int, in, out string) error {
	if (in != "" && in != "userId") || (out != "" && out != "userId") {
		return fmt.Errorf("分账明细[%d]: 沙箱只支持 userId 类型的 trans_in / trans_out (the sandbox names accounts by user id)", i)
	}
	return nil
}

// checkRoyalty parses the request's plan and checks it against the state: trans_out is
// the merchant, every trans_in exists and is not the merchant itself.
func (t *txn) checkRoyalty(c *call) *node {
	if c.biz.TotalAmount == nil {
		return nil
	}
	items, freeze, err := parseRoyalty(c.params["biz_content"], string(c.biz.OutTradeNo), *c.biz.TotalAmount)
	if err != nil {
		return invalidParam(err.Error())
	}
	for i, it := range items {
		if it.TransOut != "" && it.TransOut != c.app.SellerID {
			return invalidParam(fmt.Sprintf("分账明细[%d].trans_out 须为本商户 %s (trans_out must be the seller)", i, c.app.SellerID))
		}
		if it.TransIn == c.app.SellerID || !t.accountExists(it.TransIn) {
			return invalidParam(fmt.Sprintf("分账明细[%d].trans_in %s 不是可收款的沙箱账户 (create one with POST /sandbox/accounts)", i, it.TransIn))
		}
	}
	c.royalty, c.royaltyFreeze = items, freeze
	return nil
}

// accountExists reports whether a user id can receive money: a receiver account, a
// buyer or a merchant.
func (t *txn) accountExists(id string) bool {
	return t.rec(kindAccount, id) != nil || t.buyer(id) != nil || t.appBySeller(id) != nil
}

// appBySeller finds the app of a merchant by seller id.
func (t *txn) appBySeller(sellerID string) *App {
	for _, a := range t.apps {
		if a.SellerID == sellerID {
			return a
		}
	}
	for _, a := range t.e.apps {
		if a.SellerID == sellerID {
			return t.app(a.AppID)
		}
	}
	return nil
}

// credit adds amt (negative: takes) to a user's balance; it reports false for an
// unknown user.
func (t *txn) credit(id string, amt f2fpay.Amount) bool {
	if a, ok := t.recW(kindAccount, id).(*Account); ok {
		a.Balance += amt
		return true
	}
	if b := t.buyerW(id); b != nil {
		b.Balance += amt
		return true
	}
	if a := t.appBySeller(id); a != nil {
		t.appW(a.AppID).Balance += amt
		return true
	}
	return false
}

// balanceOf returns a user's balance.
func (t *txn) balanceOf(id string) (f2fpay.Amount, bool) {
	if a, ok := t.rec(kindAccount, id).(*Account); ok {
		return a.Balance, true
	}
	if b := t.buyer(id); b != nil {
		return b.Balance, true
	}
	if a := t.appBySeller(id); a != nil {
		return a.Balance, true
	}
	return 0, false
}

// royaltyPaid is what a trade's receivers hold: transfers out minus what refunds took
// back.
func (tr *Trade) royaltyPaid() (out, back f2fpay.Amount) {
	for _, x := range tr.Royalties {
		if x.Status != "SUCCESS" {
			continue
		}
		switch x.OperationType {
		case "transfer":
			out += x.Amount
		case "transfer_refund":
			back += x.Amount
		}
	}
	return out, back
}

// unsettled is what alipay.trade.order.settle may still share: nothing unless the trade
// was frozen for it and not finished.
func (tr *Trade) unsettled() f2fpay.Amount {
	if !tr.RoyaltyFreeze || tr.SettleFinished || tr.PaidAt == nil {
		return 0
	}
	var refunded f2fpay.Amount
	for _, r := range tr.Refunds {
		refunded += r.SellerDebit
	}
	out, back := tr.royaltyPaid()
	return max(0, tr.Receipt-refunded-(out-back))
}

// transfer moves amt from the trade's merchant to trans_in and records it.
func (t *txn) transfer(tr *Trade, it RoyaltyItem, outRequestNo string, avail f2fpay.Amount) (f2fpay.Amount, RoyaltyTransfer) {
	amt := it.Amount
	if it.Percentage > 0 {
		amt = f2fpay.Amount(int64(tr.Receipt) * it.Percentage / 100) // floor: never more than the share
	}
	x := RoyaltyTransfer{OperationType: "transfer", SerialNo: fmt.Sprint(it.SerialNo), OutRequestNo: outRequestNo,
		TransOut: tr.SellerID, TransIn: it.TransIn, Amount: amt, Desc: it.Desc, At: t.now, Status: "SUCCESS"}
	switch {
	case amt <= 0 || amt > avail:
		x.Status, x.Error = "FAIL", "ALLOC_AMOUNT_VALIDATE_ERROR: 分账金额超过可分账金额"
		return 0, x
	case !t.credit(it.TransIn, amt):
		x.Status, x.Error = "FAIL", "TRANS_IN_NOT_EXIST: 分账收入方账户不存在"
		return 0, x
	}
	t.appW(tr.AppID).Balance -= amt
	return amt, x
}

// payRoyalties runs a trade's plan when it is paid (trade_create.go's settle calls it),
// unless the trade is frozen for a later alipay.trade.order.settle.
func (t *txn) payRoyalties(tr *Trade) {
	if len(tr.RoyaltyPlan) == 0 || tr.RoyaltyFreeze {
		return
	}
	avail := tr.Receipt
	for _, it := range tr.RoyaltyPlan {
		amt, x := t.transfer(tr, it, "", avail)
		avail -= amt
		tr.Royalties = append(tr.Royalties, x)
	}
}

// reverseRoyalties gives back royalties in proportion to what will have been refunded
// (refunded, the trade's refund total after the refund refundNo).
func (t *txn) reverseRoyalties(tr *Trade, refundNo string, refunded f2fpay.Amount) {
	out, back := tr.royaltyPaid()
	if out == 0 || tr.Total == 0 {
		return
	}
	target := f2fpay.Amount((int64(out)*int64(refunded)*2 + int64(tr.Total)) / (2 * int64(tr.Total))) // half up
	need := min(target, out) - back
	if need <= 0 {
		return
	}
	// Take back from each receiver in proportion to what it holds, the remainder from the
	// last one, never more than its balance.
	got := map[string]f2fpay.Amount{}
	var order []string
	for _, x := range tr.Royalties {
		if x.Status != "SUCCESS" {
			continue
		}
		if x.OperationType == "transfer" {
			if _, ok := got[x.TransIn]; !ok {
				order = append(order, x.TransIn)
			}
			got[x.TransIn] += x.Amount
		} else {
			got[x.TransOut] -= x.Amount
		}
	}
	held := out - back
	left := need
	for i, id := range order {
		share := f2fpay.Amount(int64(need) * int64(got[id]) / int64(held))
		if i == len(order)-1 {
			share = left
		}
		share = min(share, got[id], left)
		if bal, ok := t.balanceOf(id); ok {
			share = min(share, max(bal, 0))
		}
		if share <= 0 {
			continue
		}
		t.credit(id, -share)
		t.appW(tr.AppID).Balance += share
		left -= share
		tr.Royalties = append(tr.Royalties, RoyaltyTransfer{OperationType: "transfer_refund", SerialNo: fmt.Sprint(len(tr.Royalties) + 1),
			RefundNo: refundNo, TransOut: id, TransIn: tr.SellerID, Amount: share, At: t.now, Status: "SUCCESS"})
	}
}

// withRoyaltyReversal wraps trade.refund and trade.cancel. The receivers' share of what
// the call would refund comes back to the merchant first, so that the merchant can fund
// the refund; if the call refunds nothing after all, the movement is undone.
func withRoyaltyReversal(h func(*txn, *call) *node) func(*txn, *call) *node {
	return func(t *txn, c *call) *node {
		before, _ := t.lookup(c)
		if before == nil || before.PaidAt == nil || len(before.Royalties) == 0 || before.RefundFee >= before.Total {
			return h(t, c)
		}
		amount, refundNo := before.Total-before.RefundFee, before.OutTradeNo+"_cancel"
		if c.method != "alipay.trade.cancel" {
			if c.biz.RefundAmount == nil {
				return h(t, c)
			}
			amount, refundNo = *c.biz.RefundAmount, string(c.biz.OutRequestNo)
			if refundNo == "" {
				refundNo = before.OutTradeNo
			}
			if before.refund(refundNo) != nil {
				return h(t, c) // a retry: nothing moves
			}
		}
		fee := before.RefundFee
		w := t.tradeW(before.TradeNo)
		n0 := len(w.Royalties)
		t.reverseRoyalties(w, refundNo, min(fee+amount, w.Total))
		res := h(t, c)
		if w = t.trade(before.TradeNo); w.RefundFee == fee {
			w = t.tradeW(before.TradeNo)
			for _, x := range w.Royalties[n0:] {
				t.credit(x.TransOut, x.Amount)
				t.appW(w.AppID).Balance -= x.Amount
			}
			w.Royalties = w.Royalties[:n0]
		}
		return res
	}
}

// settleBiz is the biz_content of alipay.trade.order.settle.
type settleBiz struct {
	OutRequestNo      jstr            `json:"out_request_no"`
	TradeNo           jstr            `json:"trade_no"`
	RoyaltyParameters json.RawMessage `json:"royalty_parameters"`
	OperatorID        string          `json:"operator_id"`
	RoyaltyMode       string          `json:"royalty_mode"`
	ExtendParams      *struct {
		RoyaltyFinish jstr `json:"royalty_finish"`
	} `json:"extend_params"`
}

type settleItem struct {
	RoyaltyType  string          `json:"royalty_type"`
	TransOut     string          `json:"trans_out"`
	TransOutType string          `json:"trans_out_type"`
	TransInType  string          `json:"trans_in_type"`
	TransIn      string          `json:"trans_in"`
	Amount       *f2fpay.Amount  `json:"amount"`
	Percentage   json.RawMessage `json:"amount_percentage"` // a number or a string; see royaltyInt
	Desc         string          `json:"desc"`
}

var settleNoPattern = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)

// orderSettle is alipay.trade.order.settle.
func (t *txn) orderSettle(c *call) *node {
	var r settleBiz
	if err := json.Unmarshal([]byte(c.params["biz_content"]), &r); err != nil {
		return invalidParam("biz_content 格式错误 (" + err.Error() + ")")
	}
	finish := r.ExtendParams != nil && r.ExtendParams.RoyaltyFinish == "true"
	mode := r.RoyaltyMode
	switch {
	case !settleNoPattern.MatchString(string(r.OutRequestNo)):
		return invalidParam("out_request_no 必填，最长 32 位字母、数字或下划线")
	case r.TradeNo == "":
		return invalidParam("trade_no 必填 (Alipay's trade_no, not out_trade_no)")
	case mode != "" && mode != "sync" && mode != "async":
		return invalidParam("royalty_mode 只能是 sync 或 async")
	}
	if mode == "" {
		mode = "sync"
	}
	var items []settleItem
	if len(r.RoyaltyParameters) > 0 && string(r.RoyaltyParameters) != "null" {
		if err := json.Unmarshal(r.RoyaltyParameters, &items); err != nil {
			return invalidParam("royalty_parameters 须为数组 (" + err.Error() + ")")
		}
	}
	if len(items) == 0 && !finish {
		return invalidParam("royalty_parameters 不能为空（只有 royalty_finish 为 true 时可以不传）")
	}
	if len(items) > maxRoyaltyItems {
		return invalidParam(fmt.Sprintf("royalty_parameters 最多 %d 条", maxRoyaltyItems))
	}
	tr := t.trade(string(r.TradeNo))
	if tr == nil || !tr.Visible || tr.AppID != c.app.AppID {
		return notExist()
	}
	digest := string(r.RoyaltyParameters) + fmt.Sprint(finish)
	for _, s := range tr.Settles {
		if s.OutRequestNo == string(r.OutRequestNo) {
			if s.Digest != digest {
				return bizError("ACQ.DISCORDANT_REPEAT_REQUEST", "同一 out_request_no 的分账请求内容不一致")
			}
			return success().set("trade_no", tr.TradeNo).set("settle_no", s.SettleNo)
		}
	}
	if tr.PaidAt == nil || (tr.Status != TradeSuccess && tr.Status != TradeFinished && !(tr.Status == TradeClosed && tr.RefundFee < tr.Total)) {
		return bizError("ACQ.TRADE_STATUS_ERROR", "交易状态不合法，只能对已支付的交易分账")
	}
	if !tr.RoyaltyFreeze {
		return bizError("ACQ.TRADE_SETTLE_ERROR", "交易支付时未设置 extend_params.royalty_freeze=true，资金已结算给商户，无可分账金额")
	}
	if tr.SettleFinished {
		return bizError("ACQ.TRADE_SETTLE_ERROR", "该交易的分账已完结 (royalty_finish was sent)")
	}
	plan := make([]RoyaltyItem, 0, len(items))
	var sum f2fpay.Amount
	for i, it := range items {
		pct, _, err := royaltyInt(it.Percentage)
		if err != nil {
			return invalidParam(fmt.Sprintf("royalty_parameters[%d].amount_percentage %v", i, err))
		}
		switch {
		case it.RoyaltyType != "" && it.RoyaltyType != "transfer":
			return invalidParam(fmt.Sprintf("royalty_parameters[%d].royalty_type 沙箱只支持 transfer", i))
		case checkIDTypes(i, it.TransInType, it.TransOutType) != nil:
			return invalidParam(checkIDTypes(i, it.TransInType, it.TransOutType).Error())
		case it.TransOut != "" && it.TransOut != tr.SellerID:
			return invalidParam(fmt.Sprintf("royalty_parameters[%d].trans_out 须为本交易的卖家 %s", i, tr.SellerID))
		case !userIDPattern.MatchString(it.TransIn) || it.TransIn == tr.SellerID || !t.accountExists(it.TransIn):
			return invalidParam(fmt.Sprintf("royalty_parameters[%d].trans_in %q 不是可收款的沙箱账户", i, it.TransIn))
		case (it.Amount == nil || *it.Amount == 0) == (pct == 0):
			return invalidParam(fmt.Sprintf("royalty_parameters[%d] 须给出 amount 或 amount_percentage 之一", i))
		case it.Amount != nil && (*it.Amount < 0 || it.Amount.CheckTrade() != nil):
			return invalidParam(fmt.Sprintf("royalty_parameters[%d].amount 须在 0.01 到 100000000.00 之间", i))
		case pct < 0 || pct > 100:
			return invalidParam(fmt.Sprintf("royalty_parameters[%d].amount_percentage 须为 1 到 100", i))
		}
		p := RoyaltyItem{SerialNo: int64(i + 1), TransOut: tr.SellerID, TransIn: it.TransIn, Percentage: pct, Desc: it.Desc}
		if it.Amount != nil {
			p.Amount = *it.Amount
			sum += p.Amount
		} else {
			sum += f2fpay.Amount(int64(tr.Receipt) * pct / 100)
		}
		plan = append(plan, p)
	}
	avail := tr.unsettled()
	if sum > avail {
		return bizError("ACQ.ALLOC_AMOUNT_VALIDATE_ERROR", fmt.Sprintf("分账金额超过最大可分账金额 %s (the trade has %s unsettled)", avail, avail))
	}
	w := t.tradeW(tr.TradeNo)
	for _, it := range plan {
		amt, x := t.transfer(w, it, string(r.OutRequestNo), avail)
		avail -= amt
		w.Royalties = append(w.Royalties, x)
	}
	settleNo := t.now.In(beijing).Format("20060102") + "0025" + t.ids.digits(16)
	w.Settles = append(w.Settles, SettleRequest{OutRequestNo: string(r.OutRequestNo), SettleNo: settleNo,
		Digest: digest, Finish: finish, Mode: mode, At: t.now})
	if finish {
		w.SettleFinished = true // the rest is the merchant's
	}
	return success().set("trade_no", w.TradeNo).set("settle_no", settleNo)
}

// withSettleInfo wraps trade.query: with query_options ["trade_settle_info"] the answer
// carries trade_settle_info (unsettled amount and every movement).
func withSettleInfo(h func(*txn, *call) *node) func(*txn, *call) *node {
	return func(t *txn, c *call) *node {
		n := h(t, c)
		if n.Code != codeSuccess {
			return n
		}
		var q struct {
			QueryOptions []string `json:"query_options"`
		}
		json.Unmarshal([]byte(c.params["biz_content"]), &q)
		if !slices.Contains(q.QueryOptions, "trade_settle_info") {
			return n
		}
		tr, _ := t.lookup(c)
		if tr == nil {
			return n
		}
		list := make([]map[string]any, 0, len(tr.Royalties))
		for _, x := range tr.Royalties {
			if x.Status != "SUCCESS" {
				continue
			}
			list = append(list, map[string]any{"operation_type": x.OperationType, "operation_serial_no": x.SerialNo,
				"operation_dt": fmtTime(x.At), "trans_out": x.TransOut, "trans_in": x.TransIn, "amount": x.Amount})
		}
		return n.set("trade_settle_info", map[string]any{"trade_unsettled_amount": tr.unsettled(), "trade_settle_detail_list": list})
	}
}

// AccountSpec creates a receiver account.
type AccountSpec struct {
	Name    string        `json:"name,omitempty"`
	Balance f2fpay.Amount `json:"balance,omitempty"`
}

// CreateAccount opens a receiver account for profit shares.
func (s *Sim) CreateAccount(ctx context.Context, spec AccountSpec) (*Account, error) {
	if spec.Balance < 0 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "balance must not be negative")
	}
	if len(spec.Name) > 100 {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "name is too long")
	}
	var a *Account
	err := s.e.update(ctx, func(t *txn) error {
		id := "2088" + t.ids.digits(12)
		for t.accountExists(id) {
			id = "2088" + t.ids.digits(12)
		}
		a = &Account{UserID: id, Name: spec.Name, Balance: spec.Balance, CreatedAt: t.now}
		t.putRec(a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// AccountBalance is any sandbox user's balance: a receiver, a buyer or a merchant.
type AccountBalance struct {
	UserID  string        `json:"user_id"`
	Kind    string        `json:"kind"` // receiver, buyer or merchant
	Name    string        `json:"name,omitempty"`
	AppID   string        `json:"app_id,omitempty"`
	Balance f2fpay.Amount `json:"balance"`
}

// Balance returns the balance of a receiver account, a buyer or a merchant (by seller id
// or app id).
func (s *Sim) Balance(id string) (*AccountBalance, error) {
	var out *AccountBalance
	s.e.view(func(t *txn) {
		if a, ok := t.rec(kindAccount, id).(*Account); ok {
			out = &AccountBalance{UserID: a.UserID, Kind: "receiver", Name: a.Name, Balance: a.Balance}
		} else if b := t.buyerByAny(id); b != nil {
			out = &AccountBalance{UserID: b.UserID, Kind: "buyer", Balance: b.Balance}
		} else if a := t.appBySeller(id); a != nil {
			out = &AccountBalance{UserID: a.SellerID, Kind: "merchant", AppID: a.AppID, Balance: a.Balance}
		} else if a := t.app(id); a != nil {
			out = &AccountBalance{UserID: a.SellerID, Kind: "merchant", AppID: a.AppID, Balance: a.Balance}
		}
	})
	if out == nil {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no account, buyer or merchant %q", id)
	}
	return out, nil
}

func (s *Sim) postAccount(w http.ResponseWriter, r *http.Request) {
	var spec AccountSpec
	if err := s.decode(r, &spec); err != nil {
		writeError(w, err)
		return
	}
	a, err := s.CreateAccount(r.Context(), spec)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

func (s *Sim) getAccount(w http.ResponseWriter, r *http.Request) {
	b, err := s.Balance(r.PathValue("user_id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}
