package alipaysim

import (
	"context"
	"errors"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
)

func TestISVActsForMerchant(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	merchant := b.app
	isvApp, err := b.sim.RegisterApp(ctx, AppSpec{PublicKey: merchant.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	isv := b.sdk(isvApp.AppID)

	var codeOut map[string]string
	if st := b.control("POST", "/sandbox/app-auth-codes", map[string]string{"isv_app_id": isvApp.AppID, "merchant_app_id": merchant.AppID}, &codeOut); st != 201 {
		t.Fatalf("app-auth-codes: %d %v", st, codeOut)
	}
	tok, err := isv.OpenAuthTokenApp(ctx, &alipay.OpenAuthTokenAppRequest{GrantType: "authorization_code", Code: codeOut["app_auth_code"]})
	if err != nil || tok.UserID != merchant.SellerID || tok.AuthAppID != merchant.AppID || tok.ExpiresIn != 31536000 || tok.AppAuthToken == "" || tok.AppRefreshToken == "" {
		t.Fatalf("token: %v %+v", err, tok)
	}
	if _, err := isv.OpenAuthTokenApp(ctx, &alipay.OpenAuthTokenAppRequest{GrantType: "authorization_code", Code: codeOut["app_auth_code"]}); subCode(err) != "isv.code-invalid" {
		t.Errorf("code reused: %v", err)
	}

	by := b.buyer("100.00")
	rcv := newReceiver(t)
	res, err := isv.TradePay(ctx, &alipay.TradePayRequest{OutTradeNo: "isv-1", AuthCode: b.code(by.UserID), Subject: "tea", TotalAmount: amt("12.00")},
		alipay.WithAppAuthToken(tok.AppAuthToken), alipay.WithNotifyURL(rcv.srv.URL))
	if err != nil || res.Status != alipay.PayPaid {
		t.Fatalf("pay for the merchant: %v %+v", err, res)
	}
	b.settle()
	if got := rcv.received(); len(got) != 1 || got[0].Get("app_id") != isvApp.AppID || got[0].Get("auth_app_id") != merchant.AppID ||
		got[0].Get("seller_id") != merchant.SellerID {
		t.Errorf("notification %v: want the ISV's app_id, the merchant's auth_app_id and seller_id", got)
	}
	tr, err := b.sim.TradeByOutTradeNo(merchant.AppID, "isv-1")
	if err != nil || tr.SellerID != merchant.SellerID || tr.ISVAppID != isvApp.AppID {
		t.Fatalf("trade %+v %v", tr, err)
	}
	if m, _ := b.sim.App(merchant.AppID); m.Balance != amt("12.00") {
		t.Errorf("merchant balance %s", m.Balance)
	}
	if i, _ := b.sim.App(isvApp.AppID); i.Balance != 0 {
		t.Errorf("the ISV got the money: %s", i.Balance)
	}
	// The merchant's own app sees the trade; the ISV without a token does not.
	if _, err := b.sdk(merchant.AppID).TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "isv-1"}); err != nil {
		t.Errorf("merchant query: %v", err)
	}
	if _, err := isv.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "isv-1"}); subCode(err) != "ACQ.TRADE_NOT_EXIST" {
		t.Errorf("ISV query without token: %v", err)
	}

	// Refresh replaces the pair.
	tok2, err := isv.OpenAuthTokenApp(ctx, &alipay.OpenAuthTokenAppRequest{GrantType: "refresh_token", RefreshToken: tok.AppRefreshToken})
	if err != nil || tok2.AppAuthToken == tok.AppAuthToken || tok2.AuthAppID != merchant.AppID {
		t.Fatalf("refresh: %v %+v", err, tok2)
	}
	other, _ := b.sim.RegisterApp(ctx, AppSpec{PublicKey: merchant.PublicKey})
	tests := []struct {
		name string
		c    *alipay.Client
		tok  string
		code string
		sub  string
	}{
		{"refreshed-away token", isv, tok.AppAuthToken, "20001", "aop.invalid-app-auth-token"},
		{"forged token", isv, "202603BBnotatoken", "20001", "aop.invalid-app-auth-token"},
		{"another ISV's token", b.sdk(other.AppID), tok2.AppAuthToken, "20001", "aop.invalid-app-auth-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "isv-1"}, alipay.WithAppAuthToken(tt.tok))
			var ae *alipay.Error
			if !errors.As(err, &ae) || ae.Code != tt.code || ae.SubCode != tt.sub {
				t.Fatalf("got %v, want %s %s", err, tt.code, tt.sub)
			}
		})
	}
	if q, err := isv.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "isv-1"}, alipay.WithAppAuthToken(tok2.AppAuthToken)); err != nil || q.TradeNo != tr.TradeNo {
		t.Fatalf("query with the new token: %v", err)
	}
	if _, err := isv.OpenAuthTokenApp(ctx, &alipay.OpenAuthTokenAppRequest{GrantType: "refresh_token", RefreshToken: tok.AppRefreshToken}); subCode(err) != "isv.refresh-token-invalid" {
		t.Errorf("refresh token reused: %v", err)
	}
	b.advance(AppAuthTokenTTL)
	if _, err := isv.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "isv-1"}, alipay.WithAppAuthToken(tok2.AppAuthToken)); subCode(err) != "aop.app-auth-token-time-out" {
		t.Errorf("expired token: %v", err)
	}
}

func TestAppAuthCodeErrors(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	isvApp, _ := b.sim.RegisterApp(ctx, AppSpec{PublicKey: b.app.PublicKey})
	tests := []struct {
		name string
		body map[string]string
		want int
	}{
		{"self", map[string]string{"isv_app_id": b.app.AppID, "merchant_app_id": b.app.AppID}, 400},
		{"unknown merchant", map[string]string{"isv_app_id": isvApp.AppID, "merchant_app_id": "2021000000000001"}, 404},
		{"missing", map[string]string{"isv_app_id": isvApp.AppID}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out map[string]string
			if st := b.control("POST", "/sandbox/app-auth-codes", tt.body, &out); st != tt.want || out["error"] == "" {
				t.Fatalf("%d %v, want %d with a message", st, out, tt.want)
			}
		})
	}
	c, err := b.sim.IssueAppAuthCode(ctx, isvApp.AppID, b.app.AppID)
	if err != nil {
		t.Fatal(err)
	}
	b.advance(AppAuthCodeTTL)
	if _, err := b.sdk(isvApp.AppID).OpenAuthTokenApp(ctx, &alipay.OpenAuthTokenAppRequest{GrantType: "authorization_code", Code: c.Code}); subCode(err) != "isv.code-invalid" {
		t.Errorf("expired code: %v", err)
	}
}
