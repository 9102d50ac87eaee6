package client

import (
	"context"
	"fmt"
	"time"

	"github.com/f2fpay/f2fpay"
)

// FundRule is a store's or a terminal's fund mode as the admin API shows it
// (docs/vending.md §9): collection, realtime or async, with the receivers' shares.
type FundRule struct {
	ID          int64                 `json:"id,omitempty"`
	StoreID     int64                 `json:"store_id,omitempty"`
	TerminalID  int64                 `json:"terminal_id,omitempty"`
	Mode        f2fpay.FundMode       `json:"mode"`
	Receivers   []f2fpay.FundReceiver `json:"receivers"`
	SettleDelay string                `json:"settle_delay,omitempty"` // async: "24h" (the default), "90m"
	CreatedAt   *time.Time            `json:"created_at,omitempty"`
	UpdatedAt   *time.Time            `json:"updated_at,omitempty"`
}

func fundRulePath(scope string, id int64) string {
	return fmt.Sprintf("/admin/%s/%d/fund-rule", scope, id)
}

// SetStoreFundRule sets the fund rule of a store's devices (a terminal's own rule wins).
// The receivers are bound with Alipay first; a rule over 100% or with a receiver Alipay
// will not bind is refused and nothing is saved.
func (a *AdminClient) SetStoreFundRule(ctx context.Context, storeID int64, r FundRule) (*FundRule, error) {
	var out FundRule
	return &out, a.call(ctx, "PUT", fundRulePath("stores", storeID), r, &out)
}

// SetTerminalFundRule sets the fund rule of one device, as SetStoreFundRule.
func (a *AdminClient) SetTerminalFundRule(ctx context.Context, terminalID int64, r FundRule) (*FundRule, error) {
	var out FundRule
	return &out, a.call(ctx, "PUT", fundRulePath("terminals", terminalID), r, &out)
}

// StoreFundRule returns the rule set on a store (not_found when none).
func (a *AdminClient) StoreFundRule(ctx context.Context, storeID int64) (*FundRule, error) {
	var out FundRule
	return &out, a.call(ctx, "GET", fundRulePath("stores", storeID), nil, &out)
}

// TerminalFundRule returns the rule set on a terminal itself (not_found when none).
func (a *AdminClient) TerminalFundRule(ctx context.Context, terminalID int64) (*FundRule, error) {
	var out FundRule
	return &out, a.call(ctx, "GET", fundRulePath("terminals", terminalID), nil, &out)
}

// DeleteStoreFundRule removes a store's rule; its devices collect as before.
func (a *AdminClient) DeleteStoreFundRule(ctx context.Context, storeID int64) error {
	return a.call(ctx, "DELETE", fundRulePath("stores", storeID), nil, nil)
}

// DeleteTerminalFundRule removes a terminal's own rule; its store's applies again.
func (a *AdminClient) DeleteTerminalFundRule(ctx context.Context, terminalID int64) error {
	return a.call(ctx, "DELETE", fundRulePath("terminals", terminalID), nil, nil)
}

// FinalizeSale tells the service that a sale is final (the machine vended), so its
// frozen money (asynchronous profit sharing) is shared now, and returns the settlement
// as it stands. Each call has a fresh Idempotency-Key: the call is idempotent in the
// service itself, and a replayed answer would show a settlement as it stood then.
func (c *Client) FinalizeSale(ctx context.Context, outTradeNo string) (*f2fpay.Settlement, error) {
	var s f2fpay.Settlement
	return &s, c.post(ctx, "/v1/payments/"+esc(outTradeNo)+"/final", "", nil, &s)
}
