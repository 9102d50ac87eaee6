package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Sales and members (docs/vending.md §8): a vending machine puts a sale on its member
// page and long-polls it; an operator lists, unlinks and erases members.

// SaleRequest puts a sale on the machine's member page.
type SaleRequest struct {
	Amount           string `json:"amount"`
	Subject          string `json:"subject"`
	OutTradeNo       string `json:"out_trade_no,omitempty"`
	ExpiresInSeconds *int   `json:"expires_in_seconds,omitempty"`
	IdempotencyKey   string `json:"-"`
}

// Sale is a machine's sale; Payment is set once a member took it.
type Sale struct {
	ID         int64     `json:"id"`
	OutTradeNo string    `json:"out_trade_no"`
	Amount     string    `json:"amount"`
	Subject    string    `json:"subject"`
	State      string    `json:"state"` // OPEN, TAKEN, CANCELLED
	ExpiresAt  time.Time `json:"expires_at"`
	PageURL    string    `json:"page_url,omitempty"`
	Payment    *Payment  `json:"payment,omitempty"`
}

// CreateSale puts a sale on the machine's page (cancelling its older open one).
func (c *Client) CreateSale(ctx context.Context, req SaleRequest) (*Sale, error) {
	var s Sale
	return &s, c.post(ctx, "/v1/sales", req.IdempotencyKey, req, &s)
}

// Sale returns a sale; with wait > 0 it long-polls until a member paid it and the
// payment is final, at the latest after wait.
func (c *Client) Sale(ctx context.Context, id int64, wait time.Duration) (*Sale, error) {
	path := fmt.Sprintf("/v1/sales/%d", id)
	if wait > 0 {
		path += "?wait=" + url.QueryEscape(wait.String())
	}
	var s Sale
	return &s, c.get(ctx, path, &s)
}

// CancelSale takes an open sale off the page.
func (c *Client) CancelSale(ctx context.Context, id int64) (*Sale, error) {
	var s Sale
	return &s, c.post(ctx, fmt.Sprintf("/v1/sales/%d/cancel", id), "", nil, &s)
}

// Member is a member as the admin API shows it: the phone masked.
type Member struct {
	ID          int64            `json:"id"`
	MerchantID  int64            `json:"merchant_id"`
	PhoneMasked string           `json:"phone_masked,omitempty"`
	NickName    string           `json:"nick_name,omitempty"`
	Avatar      string           `json:"avatar,omitempty"`
	Gender      string           `json:"gender,omitempty"`
	Province    string           `json:"province,omitempty"`
	City        string           `json:"city,omitempty"`
	Identities  []MemberIdentity `json:"identities"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
	ErasedAt    time.Time        `json:"erased_at,omitzero"`
}

// MemberIdentity is a linked Alipay account.
type MemberIdentity struct {
	ID       int64     `json:"id"`
	AppID    int64     `json:"app_id"`
	UserID   string    `json:"user_id,omitempty"`
	OpenID   string    `json:"open_id,omitempty"`
	LinkedAt time.Time `json:"linked_at"`
	SeenAt   time.Time `json:"seen_at"`
}

// Members lists a merchant's members after afterID (0: from the first), at most
// limit (0: 100).
func (a *AdminClient) Members(ctx context.Context, merchantID, afterID int64, limit int) ([]Member, error) {
	q := url.Values{}
	if afterID > 0 {
		q.Set("after_id", fmt.Sprint(afterID))
	}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	var out struct {
		Members []Member `json:"members"`
	}
	err := a.call(ctx, http.MethodGet, fmt.Sprintf("/admin/merchants/%d/members?%s", merchantID, q.Encode()), nil, &out)
	return out.Members, err
}

// Member returns one member.
func (a *AdminClient) Member(ctx context.Context, id int64) (*Member, error) {
	var m Member
	return &m, a.call(ctx, http.MethodGet, fmt.Sprintf("/admin/members/%d", id), nil, &m)
}

// UnlinkIdentity removes one linked Alipay account and signs the member out.
func (a *AdminClient) UnlinkIdentity(ctx context.Context, memberID, identityID int64) (*Member, error) {
	var m Member
	return &m, a.call(ctx, http.MethodDelete, fmt.Sprintf("/admin/members/%d/identities/%d", memberID, identityID), nil, &m)
}

// EraseMember drops the person (identities, phone, profile); orders are kept.
func (a *AdminClient) EraseMember(ctx context.Context, id int64) (*Member, error) {
	var m Member
	return &m, a.call(ctx, http.MethodPost, fmt.Sprintf("/admin/members/%d/erase", id), nil, &m)
}
