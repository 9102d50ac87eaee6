package alipay_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/money"
)

func pemPKCS1(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func payRequest() *alipay.TradePayRequest {
	return &alipay.TradePayRequest{
		OutTradeNo:  "20150320010101001",
		AuthCode:    "287634438256643940",
		Subject:     "Iphone6 16G",
		TotalAmount: money.MustParse("88.88"),
		StoreID:     "NJ_001",
		TerminalID:  "T-01",
		ExtendParams: &alipay.ExtendParams{
			SysServiceProviderID: "2088511833207846",
		},
	}
}

const paidNode = `{"code":"10000","msg":"Success","buyer_logon_id":"159****5620","buyer_pay_amount":"78.88","buyer_user_id":"2088102363632794","discount_amount":"10.00","fund_bill_list":[{"amount":"78.88","fund_channel":"ALIPAYACCOUNT"},{"amount":"10.00","fund_channel":"DISCOUNT"}],"gmt_payment":"2024-05-13 17:49:21","invoice_amount":"78.88","out_trade_no":"20150320010101001","point_amount":"0.00","receipt_amount":"78.88","total_amount":"88.88","trade_no":"2024051322001432790585537960","voucher_detail_list":[{"amount":"10.00","id":"2016","merchant_contribute":"0.00","name":"店庆券","other_contribute":"10.00","type":"ALIPAY_FIX_VOUCHER"}]}`

func TestRequestIsSignedAndShaped(t *testing.T) {
	g := newGateway(t, func(method string, p url.Values) reply {
		return reply{content: paidNode}
	})
	now := time.Date(2024, 5, 13, 9, 49, 20, 0, time.UTC)
	c := newClient(t, g, func(c *alipay.Config) { c.Now = func() time.Time { return now } })
	res, err := c.TradePay(context.Background(), payRequest(), alipay.WithAppAuthToken("201910BBa1b2c3"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != alipay.PayPaid {
		t.Fatalf("status = %v, err %v", res.Status, res.Err)
	}
	reqs := g.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	p := reqs[0]
	want := map[string]string{
		"app_id": "2021000000000001", "method": "alipay.trade.pay", "charset": "utf-8",
		"sign_type": "RSA2", "version": "1.0", "format": "JSON",
		"timestamp":      "2024-05-13 17:49:20", // Beijing time whatever the host zone
		"notify_url":     "https://merchant.example/notify",
		"app_auth_token": "201910BBa1b2c3",
	}
	for k, v := range want {
		if got := p.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	var biz map[string]any
	if err := json.Unmarshal([]byte(p.Get("biz_content")), &biz); err != nil {
		t.Fatal(err)
	}
	if biz["total_amount"] != "88.88" || biz["scene"] != "bar_code" || biz["product_code"] != "FACE_TO_FACE_PAYMENT" || biz["terminal_id"] != "T-01" {
		t.Errorf("biz_content = %s", p.Get("biz_content"))
	}
	if ep := biz["extend_params"].(map[string]any); ep["sys_service_provider_id"] != "2088511833207846" {
		t.Errorf("extend_params = %v", ep)
	}
	r := res.Response
	if r.TotalAmount != 8888 || r.ReceiptAmount != 7888 || r.DiscountAmount != 1000 || len(r.FundBillList) != 2 ||
		r.VoucherDetailList[0].OtherContribute != 1000 || r.GmtPayment.String() != "2024-05-13 17:49:21" {
		t.Errorf("response = %+v", r)
	}
}

func TestTradePayOutcomes(t *testing.T) {
	const waiting = `{"code":"10003","msg":" order success pay inprocess","buyer_logon_id":"375***@qq.com","buyer_pay_amount":"0.00","buyer_user_id":"2088002123336273","invoice_amount":"0.00","out_trade_no":"20150320010101001","point_amount":"0.00","receipt_amount":"0.00","total_amount":"88.88","trade_no":"2019120722001436275742003018"}`
	const authInvalid = `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.PAYMENT_AUTH_CODE_INVALID","sub_msg":"支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款","buyer_pay_amount":"0.00","invoice_amount":"0.00","out_trade_no":"20150320010101001","point_amount":"0.00","receipt_amount":"0.00"}`
	tests := []struct {
		name    string
		rep     reply
		status  alipay.PayStatus
		subCode string
	}{
		{"paid", reply{content: paidNode}, alipay.PayPaid, ""},
		{"waiting for the buyer", reply{content: waiting}, alipay.PayWaiting, ""},
		{"failed", reply{content: authInvalid}, alipay.PayFailed, "ACQ.PAYMENT_AUTH_CODE_INVALID"},
		{"balance", reply{content: `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.BUYER_BALANCE_NOT_ENOUGH","sub_msg":"买家余额不足"}`}, alipay.PayFailed, "ACQ.BUYER_BALANCE_NOT_ENOUGH"},
		{"gateway rejects signature", reply{content: `{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}`}, alipay.PayFailed, "isv.invalid-signature"},
		{"20000", reply{content: `{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}`}, alipay.PayUnknown, "isp.unknow-error"},
		{"ACQ.SYSTEM_ERROR", reply{content: `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR","sub_msg":"系统错误"}`}, alipay.PayUnknown, "ACQ.SYSTEM_ERROR"},
		{"signed by another key", reply{content: paidNode, signer: otherKey()}, alipay.PayUnknown, ""},
		{"altered after signing", reply{content: paidNode, tamper: true}, alipay.PayUnknown, ""},
		{"no signature on success", reply{content: paidNode, noSign: true}, alipay.PayUnknown, ""},
		{"no signature on failure", reply{content: authInvalid, noSign: true}, alipay.PayUnknown, ""},
		{"HTTP 502", reply{status: 502, raw: "<html>Bad Gateway</html>"}, alipay.PayUnknown, ""},
		{"connection dropped", reply{drop: true}, alipay.PayUnknown, ""},
		{"truncated JSON", reply{raw: `{"alipay_trade_pay_response":{"code":"10000","msg":"Succ`}, alipay.PayUnknown, ""},
		{"answer to another method", reply{node: "alipay_trade_query_response", content: paidNode}, alipay.PayUnknown, ""},
		{"cert SN in key mode", reply{content: paidNode, certSN: "7513daaaa48aa3ba2e4018d84402479c"}, alipay.PayUnknown, ""},
		{"success without code", reply{content: `{"trade_no":"1"}`}, alipay.PayUnknown, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, func(string, url.Values) reply { return tt.rep })
			res, err := newClient(t, g).TradePay(context.Background(), payRequest())
			if err != nil {
				t.Fatalf("error for a sent request: %v", err)
			}
			if res.Status != tt.status {
				t.Fatalf("status = %v, want %v (err %v)", res.Status, tt.status, res.Err)
			}
			switch tt.status {
			case alipay.PayPaid, alipay.PayWaiting:
				if res.Err != nil || res.Response == nil || res.Response.TradeNo == "" {
					t.Errorf("res = %+v", res)
				}
			default:
				if res.Err == nil {
					t.Fatal("no error explains the outcome")
				}
				if tt.status == alipay.PayUnknown != alipay.IsUnknown(res.Err) {
					t.Errorf("IsUnknown(%v) disagrees with the status", res.Err)
				}
			}
			if tt.subCode != "" && !alipay.HasSubCode(res.Err, tt.subCode) {
				t.Errorf("err = %v, want sub_code %s", res.Err, tt.subCode)
			}
		})
	}
}

func TestTradePayTimeoutIsUnknown(t *testing.T) {
	block := make(chan struct{})
	g := newGateway(t, func(string, url.Values) reply { <-block; return reply{content: paidNode} })
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res, err := newClient(t, g).TradePay(ctx, payRequest())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != alipay.PayUnknown || !alipay.IsUnknown(res.Err) {
		t.Fatalf("res = %+v", res)
	}
}

func TestInvalidRequestsAreNotSent(t *testing.T) {
	g := newGateway(t, func(string, url.Values) reply { return reply{content: paidNode} })
	c := newClient(t, g)
	tests := []struct {
		name string
		mod  func(*alipay.TradePayRequest)
		want string
	}{
		{"no out_trade_no", func(r *alipay.TradePayRequest) { r.OutTradeNo = "" }, "out_trade_no"},
		{"long out_trade_no", func(r *alipay.TradePayRequest) { r.OutTradeNo = strings.Repeat("1", 65) }, "out_trade_no"},
		{"auth code letters", func(r *alipay.TradePayRequest) { r.AuthCode = "28abc" }, "payment code"},
		{"zero amount", func(r *alipay.TradePayRequest) { r.TotalAmount = 0 }, "total_amount"},
		{"too much", func(r *alipay.TradePayRequest) { r.TotalAmount = money.MaxAmount + 1 }, "maximum"},
		{"no subject", func(r *alipay.TradePayRequest) { r.Subject = "" }, "subject"},
		{"bad scene", func(r *alipay.TradePayRequest) { r.Scene = "qr" }, "scene"},
		{"bad timeout", func(r *alipay.TradePayRequest) { r.TimeoutExpress = "1.5h" }, "timeout_express"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := payRequest()
			tt.mod(r)
			res, err := c.TradePay(context.Background(), r)
			if !errors.Is(err, alipay.ErrInvalidRequest) || res != nil {
				t.Fatalf("res %v err %v, want ErrInvalidRequest", res, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	if n := len(g.requests()); n != 0 {
		t.Errorf("%d invalid requests reached the gateway", n)
	}
}

func TestTypedCalls(t *testing.T) {
	answers := map[string]string{
		alipay.MethodTradeQuery:            `{"code":"10000","msg":"Success","buyer_logon_id":"159****5620","buyer_pay_amount":"88.88","out_trade_no":"o1","send_pay_date":"2024-05-13 17:49:21","total_amount":"88.88","trade_no":"2024051322001432790585537960","trade_status":"TRADE_SUCCESS"}`,
		alipay.MethodTradeCancel:           `{"code":"10000","msg":"Success","action":"refund","out_trade_no":"o1","retry_flag":"N","trade_no":"2024051322001432790585537960"}`,
		alipay.MethodTradeRefund:           `{"code":"10000","msg":"Success","buyer_logon_id":"159****5620","fund_change":"Y","gmt_refund_pay":"2024-05-13 18:00:00","out_trade_no":"o1","refund_fee":"10.01","trade_no":"2024051322001432790585537960"}`,
		alipay.MethodTradeFastpayRefundQry: `{"code":"10000","msg":"Success","out_request_no":"r1","out_trade_no":"o1","refund_amount":"10.01","refund_status":"REFUND_SUCCESS","total_amount":"88.88","trade_no":"2024051322001432790585537960"}`,
		alipay.MethodSystemOauthToken:      `{"access_token":"authusrB94739c226e9c400196af5bc4740a9X01","alipay_user_id":"20880063008624437006283650118501","expires_in":1296000,"re_expires_in":2592000,"refresh_token":"authusrBff1f0be8cae1436dace07e6e7cd7cX01","user_id":"2088902487861012"}`,
		alipay.MethodTradeClose:            `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_STATUS_ERROR","sub_msg":"交易状态不合法"}`,
	}
	g := newGateway(t, func(method string, p url.Values) reply {
		if method == alipay.MethodSystemOauthToken && p.Get("code") == "bad" {
			return reply{node: "error_response", content: `{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid","sub_msg":"授权码code无效"}`}
		}
		return reply{content: answers[method]}
	})
	c := newClient(t, g)
	ctx := context.Background()

	q, err := c.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "o1"})
	if err != nil || q.TradeStatus != alipay.TradeSuccess || !q.TradeStatus.Paid() || q.TotalAmount != 8888 {
		t.Errorf("query: %+v %v", q, err)
	}
	cr, err := c.TradeCancel(ctx, alipay.TradeRef{OutTradeNo: "o1"})
	if err != nil || cr.Action != "refund" || cr.Retry() {
		t.Errorf("cancel: %+v %v", cr, err)
	}
	rr, err := c.TradeRefund(ctx, &alipay.TradeRefundRequest{OutTradeNo: "o1", RefundAmount: 1001, OutRequestNo: "r1"})
	if err != nil || rr.RefundFee != 1001 || rr.FundChange != "Y" {
		t.Errorf("refund: %+v %v", rr, err)
	}
	rq, err := c.TradeFastpayRefundQuery(ctx, &alipay.RefundQueryRequest{OutTradeNo: "o1", OutRequestNo: "r1"})
	if err != nil || !rq.Refunded() || rq.RefundAmount != 1001 {
		t.Errorf("refund query: %+v %v", rq, err)
	}
	tok, err := c.SystemOauthToken(ctx, alipay.GrantAuthorizationCode, "05cfa47b90104c9eae6d760c983dOX57")
	if err != nil || tok.UserID != "2088902487861012" || tok.ExpiresIn != 1296000 {
		t.Errorf("oauth: %+v %v", tok, err)
	}
	if p := g.requests()[len(g.requests())-1]; p.Get("grant_type") != "authorization_code" || p.Get("code") == "" || p.Has("biz_content") {
		t.Errorf("oauth request params: %v", p)
	}
	_, err = c.SystemOauthToken(ctx, alipay.GrantAuthorizationCode, "bad")
	if !alipay.HasSubCode(err, "isv.code-invalid") {
		t.Errorf("oauth with a bad code: %v", err)
	}
	_, err = c.TradeClose(ctx, &alipay.TradeCloseRequest{OutTradeNo: "o1"})
	if ae, ok := alipay.AsError(err); !ok || ae.SubCode != alipay.SubTradeStatusError || ae.Code != alipay.CodeBusinessFailed || alipay.IsUnknown(err) {
		t.Errorf("close: %v", err)
	}
}

func TestSlashEscapesVerify(t *testing.T) {
	// The exact bytes are signed, escapes included.
	const node = `{"code":"10000","msg":"Success","bill_download_url":"http:\/\/dwbillcenter.alipay.com\/downloadBillFile.resource?bizType=trade"}`
	g := newGateway(t, func(string, url.Values) reply { return reply{content: node} })
	r, err := newClient(t, g).BillDownloadURLQuery(context.Background(), &alipay.BillDownloadURLQueryRequest{BillType: "trade", BillDate: "2024-05-12"})
	if err != nil || r.BillDownloadURL != "http://dwbillcenter.alipay.com/downloadBillFile.resource?bizType=trade" {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestConfigErrors(t *testing.T) {
	priv := privatePEM(t, appKey())
	alipayPub := string(alipay.PublicKeyPEM(&alipayKey().PublicKey))
	tests := []struct {
		name string
		cfg  alipay.Config
		want string
	}{
		{"no app id", alipay.Config{PrivateKey: priv, AlipayPublicKey: alipayPub}, "AppID"},
		{"no private key", alipay.Config{AppID: "1", AlipayPublicKey: alipayPub}, "private key"},
		{"public key as private", alipay.Config{AppID: "1", PrivateKey: alipayPub, AlipayPublicKey: alipayPub}, "public key, not a private key"},
		{"own public key as Alipay's", alipay.Config{AppID: "1", PrivateKey: priv, AlipayPublicKey: string(alipay.PublicKeyPEM(&appKey().PublicKey))}, "public half of your own app private key"},
		{"no alipay key", alipay.Config{AppID: "1", PrivateKey: priv}, "Alipay public key"},
		{"bad gateway", alipay.Config{AppID: "1", PrivateKey: priv, AlipayPublicKey: alipayPub, Gateway: "openapi.alipay.com"}, "gateway"},
		{"bad sign type", alipay.Config{AppID: "1", PrivateKey: priv, AlipayPublicKey: alipayPub, SignType: "SM2"}, "sign_type"},
		{"gbk", alipay.Config{AppID: "1", PrivateKey: priv, AlipayPublicKey: alipayPub, Charset: "gbk"}, "charset"},
		{"half cert mode", alipay.Config{AppID: "1", PrivateKey: priv, AppCert: []byte("x")}, "all three"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := alipay.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want mention of %q", err, tt.want)
			}
		})
	}
}

func TestClientNeverPrintsKey(t *testing.T) {
	s := alipay.NewKeySigner(appKey())
	for _, out := range []string{s.String(), s.GoString()} {
		if strings.Contains(out, "MII") || !strings.Contains(out, "redacted") {
			t.Errorf("signer prints %q", out)
		}
	}
}
