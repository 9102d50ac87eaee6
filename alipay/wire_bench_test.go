package alipay

// Benchmarks of the wire core. The target (issue): everything around the RSA private-key
// operation — building the string-to-sign, slicing the response, building a notification's
// string — costs under 5% of one RSA-2048 signature. Compare BenchmarkSignRSA2 with the
// others:
//
//	go test ./alipay -run '^$' -bench 'SignRSA2|SignContent|ParseEnvelope|VerifyRSA2|VerifyNotification' -benchmem

import (
	"context"
	"encoding/base64"
	"net/url"
	"testing"
)

// benchPayParams is a realistic alipay.trade.pay request: 12 parameters, the bar-code
// scene's biz_content.
func benchPayParams() url.Values {
	return url.Values{
		"app_id":         {"2021000122671080"},
		"method":         {"alipay.trade.pay"},
		"format":         {"JSON"},
		"charset":        {"utf-8"},
		"sign_type":      {"RSA2"},
		"timestamp":      {"2024-05-13 17:49:20"},
		"version":        {"1.0"},
		"notify_url":     {"https://vending.example.com/alipay/notify"},
		"app_auth_token": {"202405BB5a4f9c0e4f2f4b6a9c2a1d0f8e7b6X12"},
		"alipay_sdk":     {"f2fpay-go/1.0"},
		"return_url":     {""},
		"biz_content": {`{"out_trade_no":"VM-0042-20240513174920-7f3a","scene":"bar_code","auth_code":"283716532987654321",` +
			`"subject":"自动售货机 可口可乐 330ml","total_amount":"3.50","store_id":"SH-PD-0042","terminal_id":"VM0042",` +
			`"timeout_express":"5m","product_code":"FACE_TO_FACE_PAYMENT",` +
			`"goods_detail":[{"goods_id":"6901939621271","goods_name":"可口可乐 330ml","quantity":1,"price":"3.50"}]}`},
	}
}

// benchPayResponse is a ~600-byte signed alipay.trade.pay success body.
func benchPayResponse(b *testing.B) []byte {
	b.Helper()
	node := []byte(`{"code":"10000","msg":"Success","buyer_logon_id":"159****5620","buyer_pay_amount":"3.50",` +
		`"buyer_user_id":"2088102146225135","fund_bill_list":[{"amount":"3.50","fund_channel":"ALIPAYACCOUNT"}],` +
		`"gmt_payment":"2024-05-13 17:49:22","invoice_amount":"3.50","out_trade_no":"VM-0042-20240513174920-7f3a",` +
		`"point_amount":"0.00","receipt_amount":"3.50","total_amount":"3.50","trade_no":"2024051322001404330500012345"}`)
	signer := NewKeySigner(vecPrivateKey(b, "app-private-key.pem"))
	raw, err := signer.Sign(context.Background(), RSA2, node)
	if err != nil {
		b.Fatal(err)
	}
	return AppendEnvelope(nil, ResponseNode("alipay.trade.pay"), node, "", base64.StdEncoding.EncodeToString(raw))
}

// benchNotification is a 25-field trade_status_sync notification signed like Alipay signs
// them (without sign and sign_type).
func benchNotification(b *testing.B) url.Values {
	b.Helper()
	v := url.Values{
		"gmt_create":       {"2024-05-13 17:49:20"},
		"charset":          {"utf-8"},
		"seller_email":     {"vending@example.com"},
		"subject":          {"自动售货机 可口可乐 330ml"},
		"body":             {"VM0042 slot 3"},
		"buyer_id":         {"2088102146225135"},
		"invoice_amount":   {"3.50"},
		"notify_id":        {"2024051300222174922004330512345678"},
		"fund_bill_list":   {`[{"amount":"3.50","fundChannel":"ALIPAYACCOUNT"}]`},
		"notify_type":      {"trade_status_sync"},
		"trade_status":     {"TRADE_SUCCESS"},
		"receipt_amount":   {"3.50"},
		"buyer_pay_amount": {"3.50"},
		"app_id":           {"2021000122671080"},
		"seller_id":        {"2088621234567890"},
		"gmt_payment":      {"2024-05-13 17:49:22"},
		"notify_time":      {"2024-05-13 17:49:23"},
		"version":          {"1.0"},
		"out_trade_no":     {"VM-0042-20240513174920-7f3a"},
		"total_amount":     {"3.50"},
		"trade_no":         {"2024051322001404330500012345"},
		"auth_app_id":      {"2021000122671080"},
		"buyer_logon_id":   {"159****5620"},
		"point_amount":     {"0.00"},
		"sign_type":        {"RSA2"},
	}
	signer := NewKeySigner(vecPrivateKey(b, "app-private-key.pem"))
	raw, err := signer.Sign(context.Background(), RSA2, []byte(SignContent(v, "sign", "sign_type")))
	if err != nil {
		b.Fatal(err)
	}
	v.Set("sign", base64.StdEncoding.EncodeToString(raw))
	if len(v) != 26 {
		b.Fatalf("%d fields", len(v))
	}
	return v
}

func BenchmarkSignRSA2(b *testing.B) {
	signer := NewKeySigner(vecPrivateKey(b, "app-private-key.pem"))
	content := AppendSignContent(nil, benchPayParams(), "sign")
	ctx := context.Background()
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := signer.Sign(ctx, RSA2, content); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignContent(b *testing.B) {
	params := benchPayParams()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendSignContent(buf[:0], params, "sign")
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkSignParams is the whole client-side signing step: string, RSA, base64.
func BenchmarkSignParams(b *testing.B) {
	signer := NewKeySigner(vecPrivateKey(b, "app-private-key.pem"))
	params := benchPayParams()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SignParams(ctx, signer, RSA2, params); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseEnvelope(b *testing.B) {
	body := benchPayResponse(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseEnvelope(body, "alipay.trade.pay"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRSA2(b *testing.B) {
	body := benchPayResponse(b)
	env, err := ParseEnvelope(body, "alipay.trade.pay")
	if err != nil {
		b.Fatal(err)
	}
	pub := &vecPrivateKey(b, "app-private-key.pem").PublicKey
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifySignature(pub, RSA2, env.Content, env.Sign); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyNotificationContent builds the string of a 25-field notification and
// verifies its signature, what a notification handler does per request.
func BenchmarkVerifyNotificationContent(b *testing.B) {
	v := benchNotification(b)
	pub := &vecPrivateKey(b, "app-private-key.pem").PublicKey
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendSignContent(buf[:0], v, "sign", "sign_type")
		if err := VerifySignature(pub, RSA2, buf, v.Get("sign")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNotificationContent is the string-building half of the above alone.
func BenchmarkNotificationContent(b *testing.B) {
	v := benchNotification(b)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendSignContent(buf[:0], v, "sign", "sign_type")
	}
}
