package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Vend orders (docs/vending.md §11): a vending machine sells units from its slots, the
// buyer pays once (a QR on the screen, or a member's page), the machine dispenses each
// unit and reports it; a unit not delivered is refunded on its own.

// VendLine is quantity units from a slot at the unit price the screen shows ("3.50").
type VendLine struct {
	Slot     string `json:"slot"`
	Quantity int    `json:"quantity"`
	Price    string `json:"price"`
}

// VendRequest is a machine's vend. Pay is "qr" (default) or "jsapi" (with BuyerID or
// BuyerOpenID). IdempotencyKey makes a retry return the same vend; one is generated
// when empty (and reused by the client's own retries).
type VendRequest struct {
	Items            []VendLine `json:"items"`
	Pay              string     `json:"pay,omitempty"`
	BuyerID          string     `json:"buyer_id,omitempty"`
	BuyerOpenID      string     `json:"buyer_open_id,omitempty"`
	ExpiresInSeconds *int       `json:"expires_in_seconds,omitempty"`
	IdempotencyKey   string     `json:"-"`
}

// VendItem is one unit of a vend.
type VendItem struct {
	N          int        `json:"n"`
	Slot       string     `json:"slot"`
	GoodsID    string     `json:"goods_id"`
	Name       string     `json:"name"`
	Price      string     `json:"price"`
	State      string     `json:"state"` // PENDING, DISPENSING, DELIVERED, REFUNDING, REFUNDED, REFUND_FAILED, CANCELLED
	CommandID  int64      `json:"command_id,omitempty"`
	Deadline   *time.Time `json:"deadline,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	RefundID   string     `json:"refund_id,omitempty"`
	LateReport bool       `json:"late_report,omitempty"`
}

// Vend is a vend order; Payment carries its QR code while it waits for the buyer.
type Vend struct {
	ID         int64  `json:"id"`
	TerminalID int64  `json:"terminal_id"`
	OutTradeNo string `json:"out_trade_no"`
	PayKind    string `json:"pay_kind"` // qr, jsapi, face
	// FaceOutTradeNo is a face vend's face attempt (after a fallback OutTradeNo is the QR's).
	FaceOutTradeNo string     `json:"face_out_trade_no,omitempty"`
	State          string     `json:"state"` // AWAITING_PAYMENT, DISPENSING, FINAL, CANCELLED, ATTENTION
	Final          bool       `json:"final"`
	Message        string     `json:"message"`
	Total          string     `json:"total"`
	Refunded       string     `json:"refunded"`
	Items          []VendItem `json:"items"`
	PaidAt         *time.Time `json:"paid_at,omitempty"`
	FinalAt        *time.Time `json:"final_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	Payment        *Payment   `json:"payment,omitempty"`
}

// VendReport is the machine's word on a unit: Outcome "delivered" or "failed" (with a
// Code such as "JAMMED").
type VendReport struct {
	Outcome string `json:"outcome"`
	Code    string `json:"code,omitempty"`
}

// CreateVend checks the lines against the machine's planogram and starts the payment.
func (c *Client) CreateVend(ctx context.Context, req VendRequest) (*Vend, error) {
	var v Vend
	return &v, c.post(ctx, "/v1/vends", req.IdempotencyKey, req, &v)
}

// Vend returns a vend; with wait > 0 it long-polls until the vend or one of its units
// moves, at the latest after wait.
func (c *Client) Vend(ctx context.Context, id int64, wait time.Duration) (*Vend, error) {
	path := fmt.Sprintf("/v1/vends/%d", id)
	if wait > 0 {
		path += "?wait=" + url.QueryEscape(wait.String())
	}
	var v Vend
	return &v, c.get(ctx, path, &v)
}

// ReportVendItem reports unit n (from 1) of a vend; the first word on a unit stands.
func (c *Client) ReportVendItem(ctx context.Context, id int64, n int, r VendReport) (*Vend, error) {
	var v Vend
	return &v, c.post(ctx, fmt.Sprintf("/v1/vends/%d/items/%d/report", id, n), "", r, &v)
}

// CancelVend gives up on an unpaid vend; a vend that turns out paid is dispensed.
func (c *Client) CancelVend(ctx context.Context, id int64) (*Vend, error) {
	var v Vend
	return &v, c.post(ctx, fmt.Sprintf("/v1/vends/%d/cancel", id), "", nil, &v)
}

// ListVends lists vends newest first; query: merchant_id, terminal_id, state (comma
// separated), before, limit. next is the before= of the next page, 0 after the last.
func (a *AdminClient) ListVends(ctx context.Context, query url.Values) (vends []Vend, next int64, err error) {
	var out struct {
		Vends      []Vend `json:"vends"`
		NextBefore int64  `json:"next_before"`
	}
	err = a.call(ctx, http.MethodGet, "/admin/vends?"+query.Encode(), nil, &out)
	return out.Vends, out.NextBefore, err
}

// Vend returns a vend with its payment.
func (a *AdminClient) Vend(ctx context.Context, id int64) (*Vend, error) {
	var v Vend
	return &v, a.call(ctx, http.MethodGet, fmt.Sprintf("/admin/vends/%d", id), nil, &v)
}

// FaceSession is what a face machine's SDK needs to scan a face.
type FaceSession struct {
	ZimID             string `json:"zim_id"`
	ZimInitClientData string `json:"zim_init_client_data"`
}

// FaceInitialize asks the service for a face session with the metainfo the machine's
// face SDK gave (the service calls Alipay; the machine never holds the merchant key).
func (c *Client) FaceInitialize(ctx context.Context, metainfo string) (*FaceSession, error) {
	var fs FaceSession
	return &fs, c.post(ctx, "/v1/face/initialize", "", map[string]string{"metainfo": metainfo}, &fs)
}

// PayVendFace pays a face vend with the face token of the scan. A face payment Alipay
// refused or left open is answered with the vend and its payment as they stand: fall
// back to a QR (FallbackVend).
func (c *Client) PayVendFace(ctx context.Context, id int64, ftoken string) (*Vend, error) {
	var v Vend
	return &v, c.post(ctx, fmt.Sprintf("/v1/vends/%d/face", id), "", map[string]string{"ftoken": ftoken}, &v)
}

// FallbackVend switches a face vend to a QR once its face attempt is resolved; a 409
// (ErrorCode ECONFLICT) means "the face payment is still being resolved: ask again".
func (c *Client) FallbackVend(ctx context.Context, id int64) (*Vend, error) {
	var v Vend
	return &v, c.post(ctx, fmt.Sprintf("/v1/vends/%d/fallback", id), "", map[string]any{}, &v)
}
