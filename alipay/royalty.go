package alipay

import (
	"context"
)

// RoyaltyEntity is a receiver of profit shares in alipay.trade.royalty.relation.bind
// (Java RoyaltyEntity): Type "userId" with Account a 2088 user id, "loginName" (Name
// then required) or "openId". Alipay checks Name against the account's real name when
// it is given.
type RoyaltyEntity struct {
	Type    string `json:"type"`
	Account string `json:"account"`
	Name    string `json:"name,omitempty"`
	Memo    string `json:"memo,omitempty"`
}

// RoyaltyRelationBindRequest is the biz_content of alipay.trade.royalty.relation.bind
// (docs/vending.md §9). OutRequestNo is ≤ 32 letters, digits or '_'.
type RoyaltyRelationBindRequest struct {
	ReceiverList []RoyaltyEntity `json:"receiver_list"`
	OutRequestNo string          `json:"out_request_no"`
}

// RoyaltyRelationBindResponse: ResultCode "SUCCESS" or "FAIL".
type RoyaltyRelationBindResponse struct {
	ResponseHeader
	ResultCode string `json:"result_code"`
}

// TradeRoyaltyRelationBind binds receivers to the app: Alipay shares an app's trades
// only with bound accounts. Binding a bound account again succeeds.
func (c *Client) TradeRoyaltyRelationBind(ctx context.Context, req *RoyaltyRelationBindRequest, opts ...CallOption) (*RoyaltyRelationBindResponse, error) {
	if !settleNoPattern.MatchString(req.OutRequestNo) {
		return nil, invalid("out_request_no %q must be 1–32 letters, digits or '_'", req.OutRequestNo)
	}
	if n := len(req.ReceiverList); n == 0 || n > 20 {
		return nil, invalid("receiver_list holds 1–20 receivers, not %d", n)
	}
	for i, r := range req.ReceiverList {
		if r.Type == "" || r.Account == "" {
			return nil, invalid("receiver_list[%d] needs type and account", i)
		}
		if r.Type == "userId" && !isUserID(r.Account) {
			return nil, invalid("receiver_list[%d].account %q is not an Alipay user id", i, r.Account)
		}
	}
	var out RoyaltyRelationBindResponse
	return &out, c.typed(ctx, MethodRoyaltyRelationBind, req, &out, opts)
}

// TradeOrderSettleQueryRequest is the biz_content of alipay.trade.order.settle.query:
// SettleNo alone, or OutRequestNo with TradeNo.
type TradeOrderSettleQueryRequest struct {
	SettleNo     string `json:"settle_no,omitempty"`
	OutRequestNo string `json:"out_request_no,omitempty"`
	TradeNo      string `json:"trade_no,omitempty"`
}

// RoyaltyDetailResult is one movement of a settle request (Java RoyaltyDetail): OperationType
// transfer, transfer_refund, replenish or replenish_refund; State SUCCESS, FAIL or
// PROCESSING.
type RoyaltyDetailResult struct {
	OperationType string `json:"operation_type"`
	ExecuteDt     Time   `json:"execute_dt"`
	TransOut      string `json:"trans_out"`
	TransOutType  string `json:"trans_out_type"`
	TransIn       string `json:"trans_in"`
	TransInType   string `json:"trans_in_type"`
	Amount        Amount `json:"amount"`
	State         string `json:"state"`
	DetailID      string `json:"detail_id"`
	ErrorCode     string `json:"error_code"`
	ErrorDesc     string `json:"error_desc"`
}

// TradeOrderSettleQueryResponse is the answer node of alipay.trade.order.settle.query.
// SettleNo and ResultCode appear in Alipay's sandbox samples only, not in the Java model.
type TradeOrderSettleQueryResponse struct {
	ResponseHeader
	OutRequestNo      string                `json:"out_request_no"`
	OperationDt       Time                  `json:"operation_dt"`
	SettleNo          string                `json:"settle_no"`
	ResultCode        string                `json:"result_code"`
	RoyaltyDetailList []RoyaltyDetailResult `json:"royalty_detail_list"`
}

// TradeOrderSettleQuery asks what became of a settle request. A request Alipay never
// received answers an *Error with sub_code SubSettleNotExist.
func (c *Client) TradeOrderSettleQuery(ctx context.Context, req *TradeOrderSettleQueryRequest, opts ...CallOption) (*TradeOrderSettleQueryResponse, error) {
	if req.SettleNo == "" && (req.OutRequestNo == "" || req.TradeNo == "") {
		return nil, invalid("settle query needs settle_no, or out_request_no with trade_no")
	}
	var out TradeOrderSettleQueryResponse
	return &out, c.typed(ctx, MethodTradeOrderSettleQuery, req, &out, opts)
}

// SubSettleNotExist is the sub_code a settle query answers for a request Alipay has no
// record of. Alipay documents none for this case; ACQ.TRADE_NOT_EXIST is what its
// settle errors use for an unknown trade, and the sandbox answers it for an unknown
// settle request too (docs/vending.md §9).
const SubSettleNotExist = "ACQ.TRADE_NOT_EXIST"
