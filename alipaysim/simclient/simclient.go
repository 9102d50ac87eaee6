// Package simclient is a Go client for the f2fpay sandbox's control API (/sandbox/...),
// for tests, scripts and load generators that run the sandbox as a separate process.
// In-process tests can call the *alipaysim.Sim methods directly instead.
package simclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Client talks to one sandbox.
type Client struct {
	base string
	hc   *http.Client
}

// New returns a client for the sandbox at base ("http://127.0.0.1:8090").
func New(base string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: strings.TrimSuffix(base, "/"), hc: hc}
}

// Gateway is the sandbox's gateway.do URL.
func (c *Client) Gateway() string { return c.base + "/gateway.do" }

// Error is the sandbox's answer to a refused control request.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("sandbox: HTTP %d: %s", e.Status, e.Message) }

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(data, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return &Error{Status: resp.StatusCode, Message: e.Error}
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	return json.Unmarshal(data, out)
}

// App is a registered sandbox app.
type App struct {
	AppID           string        `json:"app_id"`
	SellerID        string        `json:"seller_id"`
	AlipayPublicKey string        `json:"alipay_public_key"`
	NotifyURL       string        `json:"notify_url,omitempty"`
	Balance         f2fpay.Amount `json:"balance"`
}

// RegisterApp registers an app with its public key (PEM or base64).
func (c *Client) RegisterApp(ctx context.Context, publicKey, notifyURL string) (*App, error) {
	var a App
	return &a, c.call(ctx, http.MethodPost, "/sandbox/apps", map[string]string{"app_public_key": publicKey, "notify_url": notifyURL}, &a)
}

// GetApp returns an app and its merchant balance.
func (c *Client) GetApp(ctx context.Context, appID string) (*App, error) {
	var a App
	return &a, c.call(ctx, http.MethodGet, "/sandbox/apps/"+url.PathEscape(appID), nil, &a)
}

// Buyer is a sandbox Alipay user.
type Buyer struct {
	UserID  string        `json:"user_id"`
	OpenID  string        `json:"open_id"`
	LogonID string        `json:"logon_id"`
	Balance f2fpay.Amount `json:"balance"`
}

// BuyerSpec creates a buyer; Threshold (optional) is the largest amount paid without
// the password.
type BuyerSpec struct {
	Balance     f2fpay.Amount  `json:"balance"`
	PayPassword string         `json:"pay_password,omitempty"`
	Threshold   *f2fpay.Amount `json:"password_threshold,omitempty"`
}

// CreateBuyer creates a buyer.
func (c *Client) CreateBuyer(ctx context.Context, spec BuyerSpec) (*Buyer, error) {
	var b Buyer
	return &b, c.call(ctx, http.MethodPost, "/sandbox/buyers", spec, &b)
}

// GetBuyer returns a buyer with its balance.
func (c *Client) GetBuyer(ctx context.Context, userID string) (*Buyer, error) {
	var b Buyer
	return &b, c.call(ctx, http.MethodGet, "/sandbox/buyers/"+url.PathEscape(userID), nil, &b)
}

// TopUp adds amount to a buyer's balance and returns the buyer.
func (c *Client) TopUp(ctx context.Context, userID string, amount f2fpay.Amount) (*Buyer, error) {
	var b Buyer
	return &b, c.call(ctx, http.MethodPost, "/sandbox/buyers/"+url.PathEscape(userID)+"/top-up", map[string]f2fpay.Amount{"amount": amount}, &b)
}

// PaymentCode issues a payment code (valid one minute, single use) for a buyer.
func (c *Client) PaymentCode(ctx context.Context, userID string) (string, error) {
	var out struct {
		AuthCode string `json:"auth_code"`
	}
	err := c.call(ctx, http.MethodPost, "/sandbox/buyers/"+url.PathEscape(userID)+"/payment-codes", nil, &out)
	return out.AuthCode, err
}

// PaymentCodes issues n payment codes (1–100) for a buyer in one request.
func (c *Client) PaymentCodes(ctx context.Context, userID string, n int) ([]string, error) {
	var out struct {
		AuthCodes []string `json:"auth_codes"`
	}
	err := c.call(ctx, http.MethodPost, "/sandbox/buyers/"+url.PathEscape(userID)+"/payment-codes?count="+strconv.Itoa(n), nil, &out)
	return out.AuthCodes, err
}

// Trade is the sandbox's record of a trade.
type Trade struct {
	TradeNo    string        `json:"trade_no"`
	OutTradeNo string        `json:"out_trade_no"`
	AppID      string        `json:"app_id"`
	Status     string        `json:"trade_status"`
	Total      f2fpay.Amount `json:"total_amount"`
	BuyerPay   f2fpay.Amount `json:"buyer_pay_amount"`
	BuyerID    string        `json:"buyer_user_id"`
	RefundFee  f2fpay.Amount `json:"refund_fee"`
}

// Trade returns a trade by Alipay's trade_no.
func (c *Client) Trade(ctx context.Context, tradeNo string) (*Trade, error) {
	var t Trade
	return &t, c.call(ctx, http.MethodGet, "/sandbox/trades/"+url.PathEscape(tradeNo), nil, &t)
}

// Trades lists the sandbox's trades, newest first; appID and status ("TRADE_SUCCESS",
// …) filter when not empty.
func (c *Client) Trades(ctx context.Context, appID, status string) ([]Trade, error) {
	q := url.Values{}
	if appID != "" {
		q.Set("app_id", appID)
	}
	if status != "" {
		q.Set("status", status)
	}
	var out struct {
		Trades []Trade `json:"trades"`
	}
	return out.Trades, c.call(ctx, http.MethodGet, "/sandbox/trades?"+q.Encode(), nil, &out)
}

// Confirm plays the buyer entering the password for a waiting (10003) trade.
func (c *Client) Confirm(ctx context.Context, tradeNo, password string) error {
	return c.call(ctx, http.MethodPost, "/sandbox/trades/"+url.PathEscape(tradeNo)+"/confirm", map[string]string{"pay_password": password}, nil)
}

// Fault is a scripted failure; see the sandbox documentation for the kinds.
type Fault struct {
	ID          string  `json:"id,omitempty"`
	Kind        string  `json:"kind"`
	Method      string  `json:"method,omitempty"`
	AppID       string  `json:"app_id,omitempty"`
	OutTradeNo  string  `json:"out_trade_no,omitempty"`
	Count       int     `json:"count,omitempty"`
	Probability float64 `json:"probability,omitempty"`
	Latency     string  `json:"latency,omitempty"`
	Delay       string  `json:"delay,omitempty"`
	ResolveTo   string  `json:"resolve_to,omitempty"`
}

// AddFault installs a fault.
func (c *Client) AddFault(ctx context.Context, f Fault) (*Fault, error) {
	var out Fault
	return &out, c.call(ctx, http.MethodPost, "/sandbox/faults", f, &out)
}

// ClearFaults removes every fault.
func (c *Client) ClearFaults(ctx context.Context) error {
	return c.call(ctx, http.MethodDelete, "/sandbox/faults", nil, nil)
}
