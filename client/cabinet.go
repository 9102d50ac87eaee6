package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Open-door cabinets (docs/vending.md §12): the cabinet reports its door closed with
// what was taken; an operator lists sessions and debts and refunds disputes.

// CabinetTaken is one line of a cabinet's report: a slot and how many units.
type CabinetTaken struct {
	Slot  string `json:"slot"`
	Count int    `json:"count"`
}

// CabinetItem is a priced line of a session.
type CabinetItem struct {
	Slot    string `json:"slot"`
	GoodsID string `json:"goods_id"`
	Name    string `json:"name"`
	Price   string `json:"price"`
	Count   int    `json:"count"`
	Amount  string `json:"amount"`
}

// CabinetSession is one member's visit to a cabinet.
type CabinetSession struct {
	ID          int64         `json:"id"`
	MerchantID  int64         `json:"merchant_id"`
	TerminalID  int64         `json:"terminal_id"`
	MemberID    int64         `json:"member_id"`
	State       string        `json:"state"` // OPEN, EMPTY, CHARGING, DEBT, PAID, ABANDONED
	Items       []CabinetItem `json:"items"`
	Amount      string        `json:"amount"`
	OutTradeNo  string        `json:"out_trade_no,omitempty"`
	TradeNo     string        `json:"trade_no,omitempty"`
	FailCode    string        `json:"fail_code,omitempty"`
	FailReason  string        `json:"fail_reason,omitempty"`
	Attempts    int           `json:"attempts"`
	NextCheckAt *time.Time    `json:"next_check_at,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
	ClosedAt    *time.Time    `json:"closed_at,omitempty"`
	PaidAt      *time.Time    `json:"paid_at,omitempty"`
}

// CloseCabinetSession reports the door of session id (the open_door command's
// session_id) closed with taken. Retrying the same report is safe: it answers the
// session as it stands.
func (c *Client) CloseCabinetSession(ctx context.Context, id int64, taken []CabinetTaken) (*CabinetSession, error) {
	if taken == nil {
		taken = []CabinetTaken{}
	}
	var s CabinetSession
	return &s, c.post(ctx, fmt.Sprintf("/v1/cabinet/sessions/%d/close", id), "", map[string]any{"items": taken}, &s)
}

// CabinetSession returns one of the cabinet's own sessions.
func (c *Client) CabinetSession(ctx context.Context, id int64) (*CabinetSession, error) {
	var s CabinetSession
	return &s, c.get(ctx, fmt.Sprintf("/v1/cabinet/sessions/%d", id), &s)
}

// CabinetSessions lists sessions newest first (query: merchant_id, member_id,
// terminal_id, state such as "DEBT,CHARGING", before_id, limit) and what those
// CHARGING or in DEBT add up to.
func (a *AdminClient) CabinetSessions(ctx context.Context, query url.Values) ([]CabinetSession, string, error) {
	var out struct {
		Sessions []CabinetSession `json:"sessions"`
		Owed     string           `json:"owed"`
	}
	path := "/admin/cabinet-sessions"
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	return out.Sessions, out.Owed, a.call(ctx, http.MethodGet, path, nil, &out)
}

// RefundCabinetSession refunds part or all of a paid session (a dispute);
// req.RefundID makes it idempotent.
func (a *AdminClient) RefundCabinetSession(ctx context.Context, id int64, req RefundRequest) (*AdminRefund, error) {
	var out AdminRefund
	return &out, a.call(ctx, http.MethodPost, fmt.Sprintf("/admin/cabinet-sessions/%d/refunds", id), req, &out)
}
