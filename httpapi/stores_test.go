package httpapi_test

import (
	"bytes"
	"encoding/json"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/boombuler/barcode/qr"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// TestTerminalsSeeAllOrdersPerMerchant: a sibling terminal sees and refunds another
// till's order only while its merchant's terminals_see_all_orders is on; another
// merchant's terminal never does.
func TestTerminalsSeeAllOrdersPerMerchant(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("100.00")
		p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("10.00"), Subject: "x"})
		b.must(err)
		_, c2 := b.newTerminal("POS-2")
		if _, err := c2.Payment(b.ctx, p.OutTradeNo, 0); client.ErrorCode(err) != client.ENOTFOUND {
			t.Fatalf("sibling before the setting: %v, want not_found", err)
		}

		m, err := b.admin.UpdateMerchant(b.ctx, b.merchID, client.MerchantUpdate{TerminalsSeeAllOrders: new(true)})
		b.must(err)
		if !m.TerminalsSeeAllOrders || !m.WebhookSecretSet {
			t.Fatalf("merchant after the patch: %+v", m)
		}
		if got, err := b.admin.Merchant(b.ctx, b.merchID); err != nil || !got.TerminalsSeeAllOrders {
			t.Fatalf("GET merchant: %+v, %v", got, err)
		}
		seen, err := c2.Payment(b.ctx, p.OutTradeNo, 0)
		if err != nil || seen.State != client.StatePaid || seen.TerminalCode != "POS-1" {
			t.Fatalf("sibling with the setting: %+v, %v (want POS-1's paid order)", seen, err)
		}
		rf, err := c2.Refund(b.ctx, p.OutTradeNo, client.RefundRequest{RefundID: "r-sibling", Amount: amt("4.00")})
		if err != nil || rf.State != "SUCCEEDED" || rf.RefundedAmount != amt("4.00") {
			t.Fatalf("sibling refund: %+v, %v", rf, err)
		}

		// Another merchant, even with the setting on, never sees it.
		m2, err := b.admin.CreateMerchant(b.ctx, client.MerchantRequest{Name: "Other", TerminalsSeeAllOrders: true})
		b.must(err)
		if !m2.TerminalsSeeAllOrders {
			t.Fatalf("created without the setting: %+v", m2)
		}
		st2, err := b.admin.CreateStore(b.ctx, m2.ID, "S9", "")
		b.must(err)
		ak, _ := keys()
		app2, err := b.admin.CreateApp(b.ctx, m2.ID, client.AppRequest{AppID: "2021000000000009", PrivateKey: pemPKCS8(ak), AlipayPublicKey: b.sim.AlipayPublicKey(), SellerID: "2088000000000009"})
		b.must(err)
		t2, err := b.admin.CreateTerminal(b.ctx, m2.ID, client.TerminalRequest{StoreID: st2.ID, AppID: app2.ID, Code: "X"})
		b.must(err)
		c3 := client.NewClient(b.srv.URL, t2.APIKey.KeyID, t2.APIKey.Secret, nil)
		if _, err := c3.Payment(b.ctx, p.OutTradeNo, 0); client.ErrorCode(err) != client.ENOTFOUND {
			t.Fatalf("other merchant: %v, want not_found", err)
		}

		// Off again: the sibling is back to its own orders.
		_, err = b.admin.UpdateMerchant(b.ctx, b.merchID, client.MerchantUpdate{TerminalsSeeAllOrders: new(false)})
		b.must(err)
		if _, err := c2.Payment(b.ctx, p.OutTradeNo, 0); client.ErrorCode(err) != client.ENOTFOUND {
			t.Fatalf("sibling after the setting is off: %v, want not_found", err)
		}
		if _, err := c2.RefundStatus(b.ctx, p.OutTradeNo, "r-sibling"); client.ErrorCode(err) != client.ENOTFOUND {
			t.Fatalf("sibling's refund status after the setting is off: %v, want not_found", err)
		}
	})
}

// TestAdminRefund: a back-office refund goes through the engine, is idempotent by
// refund_id, refuses another amount under the same id and more than is left, and the
// terminal sees the refunded total.
func TestAdminRefund(t *testing.T) {
	t.Parallel()
	b := setup(t)
	buyer := b.Buyer("100.00")
	p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("10.00"), Subject: "kettle"})
	b.must(err)
	admin := "Bearer " + adminToken
	path := "/admin/orders/" + url.PathEscape(p.OutTradeNo) + "/refunds"
	type answer struct {
		Refund f2fpay.PublicRefund `json:"refund"`
		Order  f2fpay.PublicOrder  `json:"order"`
	}
	refund := func(path, body string) (int, answer, []byte) {
		t.Helper()
		status, _, out := b.raw(http.MethodPost, path, admin, "", []byte(body))
		var a answer
		if status == http.StatusOK {
			if err := json.Unmarshal(out, &a); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
		}
		return status, a, out
	}
	status, a, out := refund(path, `{"refund_id":"bo-1","amount":"3.00","reason":"broken lid"}`)
	if status != http.StatusOK || a.Refund.State != f2fpay.RefundSucceeded || a.Refund.Amount != amt("3.00") ||
		a.Refund.OutTradeNo != p.OutTradeNo || a.Order.RefundedAmount != amt("3.00") {
		t.Fatalf("refund: %d %s", status, out)
	}
	// The same refund again: the same refund, nothing more refunded.
	status, again, out := refund(path+"?app_id="+itoa(b.app.ID), `{"refund_id":"bo-1","amount":"3.00","reason":"broken lid"}`)
	if status != http.StatusOK || again.Refund.ID != a.Refund.ID || again.Order.RefundedAmount != amt("3.00") {
		t.Fatalf("repeated refund: %d %s", status, out)
	}
	viaClient, err := b.admin.RefundOrder(b.ctx, p.OutTradeNo, b.app.ID, client.RefundRequest{RefundID: "bo-1", Amount: amt("3.00"), Reason: "broken lid"})
	if err != nil || viaClient.Refund.ID != a.Refund.ID || viaClient.Order.RefundedAmount != amt("3.00") {
		t.Fatalf("AdminClient.RefundOrder: %+v, %v", viaClient, err)
	}
	if got := b.Balance(buyer.UserID); got != amt("93.00") {
		t.Fatalf("buyer's balance %s, want 93.00 (one refund of 3.00)", got)
	}
	for _, tc := range []struct {
		name, path, body string
		status           int
	}{
		{"same id, other amount", path, `{"refund_id":"bo-1","amount":"4.00"}`, http.StatusConflict},
		{"more than is left", path, `{"refund_id":"bo-2","amount":"7.01"}`, http.StatusConflict},
		{"no refund_id", path, `{"amount":"1.00"}`, http.StatusBadRequest},
		{"bad amount", path, `{"refund_id":"bo-3","amount":"1.001"}`, http.StatusBadRequest},
		{"unknown order", "/admin/orders/nope/refunds", `{"refund_id":"bo-4","amount":"1.00"}`, http.StatusNotFound},
		{"another app", path + "?app_id=999999", `{"refund_id":"bo-5","amount":"1.00"}`, http.StatusNotFound},
	} {
		if status, _, out := refund(tc.path, tc.body); status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, status, out, tc.status)
		}
	}
	if status, _, _ := b.raw(http.MethodPost, path, b.termAuth(), "", []byte(`{"refund_id":"bo-6","amount":"1.00"}`)); status != http.StatusUnauthorized {
		t.Errorf("a terminal's key on the admin refund: %d", status)
	}
	seen, err := b.client.Payment(b.ctx, p.OutTradeNo, 0)
	if err != nil || seen.RefundedAmount != amt("3.00") {
		t.Fatalf("the terminal sees %+v, %v", seen, err)
	}
	if rest, err := b.client.Refund(b.ctx, p.OutTradeNo, client.RefundRequest{RefundID: "t-1", Amount: amt("7.00")}); err != nil || rest.RefundedAmount != amt("10.00") {
		t.Fatalf("the terminal refunds the rest: %+v, %v", rest, err)
	}
}

// TestPaymentQRPNG: the PNG of a QR payment is the QR code of its qr_code, module for
// module; a barcode payment has none; a closed one no longer shows it.
func TestPaymentQRPNG(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, err := b.client.PayQR(b.ctx, client.QRRequest{Amount: amt("6.00"), Subject: "noodles"})
	b.must(err)
	if p.QRCode == "" {
		t.Fatal("no qr_code")
	}
	status, h, img := b.raw(http.MethodGet, "/v1/payments/"+url.PathEscape(p.OutTradeNo)+"/qr.png", b.termAuth(), "", nil)
	if status != http.StatusOK || h.Get("Content-Type") != "image/png" {
		t.Fatalf("qr.png: %d %s %.200s", status, h.Get("Content-Type"), img)
	}
	pic, err := png.Decode(bytes.NewReader(img))
	b.must(err)
	want, err := qr.Encode(p.QRCode, qr.M, qr.Auto)
	b.must(err)
	n := want.Bounds().Dx()
	const scale, margin = 8, 4
	if got := pic.Bounds().Dx(); got != (n+2*margin)*scale || pic.Bounds().Dy() != got {
		t.Fatalf("image %v, want %d px square", pic.Bounds(), (n+2*margin)*scale)
	}
	dark := func(c color.Color) bool { return color.GrayModel.Convert(c).(color.Gray).Y < 0x80 }
	for y := range n {
		for x := range n {
			if got := dark(pic.At((margin+x)*scale+scale/2, (margin+y)*scale+scale/2)); got != dark(want.At(x, y)) {
				t.Fatalf("module (%d,%d) differs from the QR code of %q", x, y, p.QRCode)
			}
		}
	}
	if dark(pic.At(scale, scale)) {
		t.Fatal("no quiet zone")
	}

	buyer := b.Buyer("100.00")
	bp, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("1.00"), Subject: "x"})
	b.must(err)
	if status, _, out := b.raw(http.MethodGet, "/v1/payments/"+url.PathEscape(bp.OutTradeNo)+"/qr.png", b.termAuth(), "", nil); status != http.StatusBadRequest {
		t.Errorf("qr.png of a barcode payment: %d %s", status, out)
	}
	if status, _, _ := b.raw(http.MethodGet, "/v1/payments/nope/qr.png", b.termAuth(), "", nil); status != http.StatusNotFound {
		t.Errorf("qr.png of no payment: %d", status)
	}
	if status, _, _ := b.raw(http.MethodGet, "/v1/payments/"+url.PathEscape(p.OutTradeNo)+"/qr.png", "", "", nil); status != http.StatusUnauthorized {
		t.Errorf("qr.png without a key: %d", status)
	}
	closed, err := b.client.Close(b.ctx, p.OutTradeNo)
	b.must(err)
	if _, err := b.client.WaitFinal(b.ctx, closed.OutTradeNo, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if status, _, out := b.raw(http.MethodGet, "/v1/payments/"+url.PathEscape(p.OutTradeNo)+"/qr.png", b.termAuth(), "", nil); status != http.StatusConflict {
		t.Errorf("qr.png of a closed payment: %d %s", status, out)
	}
}

// TestReceiptFields: a paid payment names its merchant, store and till, and its time
// of payment in Beijing time.
func TestReceiptFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	buyer := b.Buyer("100.00")
	p, err := b.client.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("8.80"), Subject: "tea"})
	b.must(err)
	if p.State != client.StatePaid || p.PaidAt == nil {
		t.Fatalf("payment %+v", p)
	}
	want := p.PaidAt.In(time.FixedZone("Asia/Shanghai", 8*3600)).Format("2006-01-02 15:04:05")
	if p.MerchantName != "Test Coffee" || p.StoreName != "Main street" || p.StoreCode != "S001" ||
		p.TerminalName != "till" || p.TerminalCode != "POS-1" || p.PaidAtBeijing != want {
		t.Fatalf("receipt fields %+v, want paid_at_beijing %s", p, want)
	}
	if p.PaidAt.UTC().Hour() == p.PaidAt.In(time.FixedZone("", 8*3600)).Hour() {
		t.Fatal("the test clock cannot tell UTC from Beijing time")
	}
	qp, err := b.client.PayQR(b.ctx, client.QRRequest{Amount: amt("1.00"), Subject: "x"})
	b.must(err)
	if qp.PaidAtBeijing != "" || qp.StoreName != "Main street" {
		t.Fatalf("unpaid QR payment: %+v", qp)
	}
}

// TestAcceptLanguage: the cashier's messages — a payment's message and the common
// errors — are Chinese with Accept-Language: zh…, English without it.
func TestAcceptLanguage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	buyer := b.Buyer("100.00")
	zh := client.NewClient(b.srv.URL, b.term.KeyID, b.secret, nil)
	zh.AcceptLanguage = "zh-CN,zh;q=0.9,en;q=0.8"
	p, err := zh.PayBarcode(b.ctx, client.BarcodeRequest{AuthCode: b.Code(buyer.UserID), Amount: amt("5.00"), Subject: "tea"})
	b.must(err)
	if p.Message != "支付成功" {
		t.Errorf("zh message %q", p.Message)
	}
	en, err := b.client.Payment(b.ctx, p.OutTradeNo, 0)
	if err != nil || en.Message != "paid" {
		t.Errorf("en message %q, %v", en.Message, err)
	}
	_, err = zh.Refund(b.ctx, p.OutTradeNo, client.RefundRequest{RefundID: "r1", Amount: amt("2.00")})
	b.must(err)
	if again, _ := zh.Payment(b.ctx, p.OutTradeNo, 0); again.Message != "支付成功；已退款 2.00 元" {
		t.Errorf("zh message after a refund: %q", again.Message)
	}

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		zh, en                   string
	}{
		{"no payment", http.MethodGet, "/v1/payments/nope", "", http.StatusNotFound, "本终端没有订单 nope", "no payment"},
		{"bad amount", http.MethodPost, "/v1/payments/barcode", `{"auth_code":"2876000000000000","amount":"1.001","subject":"x"}`, http.StatusBadRequest, "金额无效", "amount:"},
		{"no amount", http.MethodPost, "/v1/payments/barcode", `{"auth_code":"2876000000000000","subject":"x"}`, http.StatusBadRequest, "请输入金额", "amount is required"},
		{"no payment code", http.MethodPost, "/v1/payments/barcode", `{"amount":"1.00","subject":"x"}`, http.StatusBadRequest, "请扫描顾客的付款码", "auth_code is required"},
		{"not a payment code", http.MethodPost, "/v1/payments/barcode", `{"auth_code":"12","amount":"1.00","subject":"x"}`, http.StatusBadRequest, "付款码无效", "not an Alipay payment code"},
		{"refund over what is left", http.MethodPost, "/v1/payments/" + p.OutTradeNo + "/refunds", `{"refund_id":"r2","amount":"3.01"}`, http.StatusConflict, "退款 3.01 元超过订单 " + p.OutTradeNo + " 的可退金额 3.00 元", "exceeds what is left"},
		{"refund id reused", http.MethodPost, "/v1/payments/" + p.OutTradeNo + "/refunds", `{"refund_id":"r1","amount":"1.00"}`, http.StatusConflict, "退款单号 r1 已用于一笔 2.00 元的退款", "already used"},
		{"cancel a paid order", http.MethodPost, "/v1/payments/" + p.OutTradeNo + "/cancel", "", http.StatusConflict, "已支付，请退款", "refund it instead"},
		{"no refund", http.MethodGet, "/v1/payments/" + p.OutTradeNo + "/refunds/zz", "", http.StatusNotFound, "没有退款单号为 zz 的退款", "has no refund"},
		{"unknown field", http.MethodPost, "/v1/payments/barcode", `{"amount":"1.00","subject":"x","auth_code":"2876000000000000","tip":"1"}`, http.StatusBadRequest, "请求无效：", "tip"},
	} {
		for i, l := range []string{"zh-CN", ""} {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			key := ""
			if tc.method == http.MethodPost {
				key = strings.ReplaceAll(tc.name, " ", "-") + "-" + l
			}
			status, _, out := b.rawAt(b.srv.URL, tc.method, tc.path, b.termAuth(), key, body, "Accept-Language", l)
			if status != tc.status {
				t.Errorf("%s (%q): %d %s, want %d", tc.name, l, status, out, tc.status)
				continue
			}
			_, msg := errorOf(t, out)
			if want := []string{tc.zh, tc.en}[i]; !strings.Contains(msg, want) {
				t.Errorf("%s (%q): message %q, want it to contain %q", tc.name, l, msg, want)
			}
		}
	}
}

// TestZhBeforeTheHandler: errors the terminal API gives before a handler runs — a
// failed authentication, a reused Idempotency-Key — come in the cashier's language.
func TestZhBeforeTheHandler(t *testing.T) {
	t.Parallel()
	b := setup(t)
	status, _, out := b.rawAt(b.srv.URL, http.MethodGet, "/v1/payments/x", "Bearer nope.nope", "", nil, "Accept-Language", "zh-CN")
	if _, msg := errorOf(t, out); status != http.StatusUnauthorized || !strings.HasPrefix(msg, "终端未授权") {
		t.Errorf("unauthenticated, zh: %d %q", status, msg)
	}
	buyer := b.Buyer("100.00")
	body := []byte(`{"auth_code":"` + b.Code(buyer.UserID) + `","amount":"1.00","subject":"tea"}`)
	if status, _, out := b.rawAt(b.srv.URL, http.MethodPost, "/v1/payments/barcode", b.termAuth(), "zh-key-1", body); status != http.StatusOK {
		t.Fatalf("first payment: %d %s", status, out)
	}
	status, _, out = b.rawAt(b.srv.URL, http.MethodPost, "/v1/payments/barcode", b.termAuth(), "zh-key-1", []byte(`{"amount":"2.00","subject":"x"}`), "Accept-Language", "zh-CN")
	if _, msg := errorOf(t, out); status != http.StatusUnprocessableEntity || !strings.Contains(msg, "已用于另一笔请求") {
		t.Errorf("reused key, zh: %d %q", status, msg)
	}
	status, _, out = b.rawAt(b.srv.URL, http.MethodPost, "/v1/payments/barcode", b.termAuth(), "zh-key-1", []byte(`{"amount":"2.00","subject":"x"}`))
	if _, msg := errorOf(t, out); status != http.StatusUnprocessableEntity || !strings.Contains(msg, "already used for a different request") {
		t.Errorf("reused key, en: %d %q", status, msg)
	}
	// A number the terminal chose, used again by a new payment: the 409 tells the
	// cashier, in Chinese, not to charge twice.
	own := func() []byte {
		return []byte(`{"auth_code":"` + b.Code(buyer.UserID) + `","amount":"1.00","subject":"tea","out_trade_no":"ZH-1"}`)
	}
	if status, _, out := b.rawAt(b.srv.URL, http.MethodPost, "/v1/payments/barcode", b.termAuth(), "zh-key-2", own()); status != http.StatusOK {
		t.Fatalf("payment ZH-1: %d %s", status, out)
	}
	status, _, out = b.rawAt(b.srv.URL, http.MethodPost, "/v1/payments/barcode", b.termAuth(), "zh-key-3", own(), "Accept-Language", "zh-CN")
	if _, msg := errorOf(t, out); status != http.StatusConflict || !strings.Contains(msg, "订单号 ZH-1 已被之前的一笔支付使用") || !strings.Contains(msg, "切勿重复收款") {
		t.Errorf("reused out_trade_no, zh: %d %q", status, msg)
	}
}
