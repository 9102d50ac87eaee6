package alipaysim

import (
	"bytes"
	"encoding/json"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/qr"
	"github.com/f2fpay/f2fpay"
)

// page requests path from the sandbox as a browser would (no redirects followed) and
// returns the status, the Location header and the body.
func (b *bundle) page(method, path string, form url.Values) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(raw)
}

func (b *bundle) jsonGet(path string, v any) int {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

var dataCode = regexp.MustCompile(`data-code="(\d{18})"`)

func shownCode(t *testing.T, body string) string {
	t.Helper()
	m := dataCode.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no payment code on the wallet page")
	}
	return m[1]
}

func TestWalletPickAndCreate(t *testing.T) {
	b := setup(t)
	existing := b.buyer("12.00", func(s *BuyerSpec) { s.LogonID = "alice@example.com" })
	status, _, body := b.page("GET", "/wallet", nil)
	if status != 200 {
		t.Fatalf("GET /wallet: %d", status)
	}
	mustContain(t, "the account list", body, existing.UserID, "alice@example.com", "¥12.00", `action="/wallet"`)

	tests := []struct {
		name    string
		form    url.Values
		status  int
		message string
	}{
		{"created", url.Values{"balance": {"88.80"}, "pay_password": {"135790"}, "password_threshold": {"50"}, "logon_id": {"bob@example.com"}}, 303, ""},
		{"bad balance", url.Values{"balance": {"12.345"}}, 400, "is not an amount in yuan"},
		{"threshold without password", url.Values{"balance": {"1"}, "password_threshold": {"5"}}, 400, "needs a pay password"},
		{"taken logon", url.Values{"balance": {"1"}, "logon_id": {"alice@example.com"}}, 400, "exists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, loc, body := b.page("POST", "/wallet", tc.form)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.status != 303 {
				mustContain(t, "the refused form", body, tc.message, `role="alert"`)
				return
			}
			by, err := b.sim.Buyer("bob@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if loc != "/wallet/"+by.UserID || by.Balance != amt("88.80") || by.PayPassword != "135790" ||
				by.PasswordThreshold == nil || *by.PasswordThreshold != amt("50") {
				t.Errorf("created %+v, redirected to %q", by, loc)
			}
		})
	}
	if status, _, body := b.page("GET", "/wallet/2088000000000000", nil); status != 404 || !strings.Contains(body, "no sandbox buyer") {
		t.Errorf("unknown buyer: %d %s", status, body)
	}
}

// TestWalletPaymentCode: the page shows a working code, keeps it while valid, and
// reports it used or expired.
func TestWalletPaymentCode(t *testing.T) {
	b := setup(t)
	by := b.buyer("100.00")
	_, _, body := b.page("GET", "/wallet/"+by.UserID, nil)
	code := shownCode(t, body)
	mustContain(t, "the wallet", body, "¥100.00", `src="data:image/png;base64,`, groupDigits(code), "/assets/wallet.js")
	if _, _, again := b.page("GET", "/wallet/"+by.UserID, nil); shownCode(t, again) != code {
		t.Errorf("a reload changed a code that is still valid")
	}
	var st codeStatus
	if b.jsonGet("/wallet/"+by.UserID+"/codes/"+code, &st); st.Status != "valid" {
		t.Errorf("status %q, want valid", st.Status)
	}
	wantFields(t, b.call("alipay.trade.pay", pay("w1", code, "9.90")), map[string]string{"code": "10000"})
	if b.jsonGet("/wallet/"+by.UserID+"/codes/"+code, &st); st.Status != "used" || st.Balance != amt("90.10") {
		t.Errorf("after the payment: %+v, want used and 90.10", st)
	}
	_, _, body = b.page("GET", "/wallet/"+by.UserID, nil)
	next := shownCode(t, body)
	if next == code {
		t.Errorf("the used code is still shown")
	}
	mustContain(t, "the wallet after paying", body, "¥90.10", "coffee", "−¥9.90")

	b.advance(PaymentCodeTTL)
	if b.jsonGet("/wallet/"+by.UserID+"/codes/"+next, &st); st.Status != "expired" {
		t.Errorf("after a minute: %q, want expired", st.Status)
	}
	// The minute refresh asks for a new code as JSON.
	req, _ := http.NewRequest("POST", b.srv.URL+"/wallet/"+by.UserID+"/codes", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var fresh codeState
	json.NewDecoder(resp.Body).Decode(&fresh)
	resp.Body.Close()
	if resp.StatusCode != 201 || fresh.Status != "valid" || fresh.Code == next || !strings.HasPrefix(string(fresh.QR), "data:image/png;base64,") {
		t.Errorf("new code: %d %+v", resp.StatusCode, fresh.Code)
	}
	if status := b.jsonGet("/wallet/"+by.UserID+"/codes/"+code[:17]+"0", &map[string]any{}); status != 404 {
		t.Errorf("someone else's or no code: %d", status)
	}
}

// TestWalletPendingPayment: a 10003 payment shows up in the wallet, asks for the
// password, refuses a wrong one and pays with the right one.
func TestWalletPendingPayment(t *testing.T) {
	for _, tc := range []struct {
		name, action, password string
		status                 int
		result, tradeStatus    string
		balance                string
	}{
		{"wrong password", "pay", "000000", 403, "", WaitBuyerPay, "500.00"},
		{"right password", "pay", "246810", 303, "9000", TradeSuccess, "300.00"},
		{"declined", "reject", "", 303, "6001", TradeClosed, "500.00"},
		{"cancelled", "cancel", "", 303, "6001", WaitBuyerPay, "500.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t)
			th := amt("100.00")
			by := b.buyer("500.00", func(s *BuyerSpec) { s.PayPassword, s.PasswordThreshold = "246810", &th })
			m := b.call("alipay.trade.pay", pay("p1", b.code(by.UserID), "200.00"))
			wantFields(t, m, map[string]string{"code": "10003"})
			no := m["trade_no"].(string)

			_, _, home := b.page("GET", "/wallet/"+by.UserID, nil)
			mustContain(t, "the wallet", home, "Waiting for you", "/wallet/"+by.UserID+"/trades/"+no+"/pay")
			var st codeStatus
			b.jsonGet("/wallet/"+by.UserID+"/codes/"+shownCode(t, home), &st)
			if len(st.Waiting) != 1 || st.Waiting[0].TradeNo != no {
				t.Errorf("the poll does not report the waiting payment: %+v", st.Waiting)
			}
			_, _, sheet := b.page("GET", "/wallet/"+by.UserID+"/trades/"+no+"/pay", nil)
			mustContain(t, "the payment sheet", sheet, "¥200.00", `name="pay_password"`, "Enter your pay password", b.app.SellerID)

			status, loc, body := b.page("POST", "/wallet/"+by.UserID+"/trades/"+no+"/pay",
				url.Values{"action": {tc.action}, "pay_password": {tc.password}})
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.result == "" {
				mustContain(t, "the sheet after a wrong password", body, "Wrong pay password", `name="pay_password"`)
			} else {
				want := "/wallet/" + by.UserID + "/trades/" + no + "/result?resultCode=" + tc.result
				if loc != want {
					t.Errorf("redirect %q, want %q", loc, want)
				}
				_, _, res := b.page("GET", loc, nil)
				mustContain(t, "the result page", res, `data-result-code="`+tc.result+`"`, `data-trade-status="`+tc.tradeStatus+`"`)
			}
			tr, _ := b.sim.Trade(no)
			after, _ := b.sim.Buyer(by.UserID)
			if tr.Status != tc.tradeStatus || after.Balance != amt(tc.balance) {
				t.Errorf("trade %s, balance %s; want %s, %s", tr.Status, after.Balance, tc.tradeStatus, tc.balance)
			}
		})
	}
}

// TestWalletScanQR: opening the precreate link or pasting it makes the trade and pays it.
func TestWalletScanQR(t *testing.T) {
	b := setup(t)
	th := amt("10.00")
	by := b.buyer("50.00", func(s *BuyerSpec) { s.PayPassword, s.PasswordThreshold = "111111", &th })
	precreate := func(out, total string) string {
		m := b.call("alipay.trade.precreate", map[string]any{"out_trade_no": out, "subject": "可乐 cola", "total_amount": total, "store_id": "S01"})
		return m["qr_code"].(string)
	}

	t.Run("open the link", func(t *testing.T) {
		qr := precreate("q1", "3.50")
		path := strings.TrimPrefix(qr, b.srv.URL)
		status, _, body := b.page("GET", path, nil)
		if status != 200 {
			t.Fatalf("landing %d", status)
		}
		mustContain(t, "the landing page", body, "可乐 cola", "¥3.50", "Store S01", b.app.SellerID, by.UserID)
		// A program still gets the JSON it got before the wallet pages existed.
		var j map[string]string
		b.jsonGet(path, &j)
		if j["total_amount"] != "3.50" || j["status"] != WaitBuyerPay {
			t.Errorf("JSON landing: %v", j)
		}
		status, loc, body := b.page("POST", path, url.Values{"buyer_id": {by.UserID}})
		if status != 303 {
			t.Fatalf("scan: %d %s", status, body)
		}
		tr, err := b.sim.TradeByOutTradeNo(b.app.AppID, "q1")
		if err != nil || !tr.Visible || tr.Status != WaitBuyerPay || tr.BuyerID != by.UserID {
			t.Fatalf("after the scan: %v %+v", err, tr)
		}
		if loc != "/wallet/"+by.UserID+"/trades/"+tr.TradeNo+"/pay" {
			t.Errorf("redirect %q", loc)
		}
		_, _, sheet := b.page("GET", loc, nil)
		if strings.Contains(sheet, `name="pay_password"`) {
			t.Errorf("3.50 is under the buyer's threshold, yet the sheet asks for the password")
		}
		status, loc, _ = b.page("POST", loc, url.Values{"action": {"pay"}})
		if tr, _ := b.sim.Trade(tr.TradeNo); status != 303 || !strings.HasSuffix(loc, "resultCode=9000") || tr.Status != TradeSuccess {
			t.Errorf("pay: %d %q %s", status, loc, tr.Status)
		}
		// The same link again: nothing left to pay.
		_, _, body = b.page("GET", path, nil)
		mustContain(t, "a paid QR", body, "can no longer be paid")
	})

	t.Run("paste it, above the threshold", func(t *testing.T) {
		qr := precreate("q2", "20.00")
		status, loc, body := b.page("POST", "/wallet/"+by.UserID+"/scan", url.Values{"qr_code": {" " + qr + "\n"}})
		if status != 303 {
			t.Fatalf("scan: %d %s", status, body)
		}
		_, _, sheet := b.page("GET", loc, nil)
		mustContain(t, "the sheet", sheet, `name="pay_password"`, "¥20.00")
		status, loc, _ = b.page("POST", loc, url.Values{"action": {"pay"}, "pay_password": {"111111"}})
		tr, _ := b.sim.TradeByOutTradeNo(b.app.AppID, "q2")
		if status != 303 || !strings.HasSuffix(loc, "resultCode=9000") || tr.Status != TradeSuccess {
			t.Errorf("pay: %d %q %s", status, loc, tr.Status)
		}
	})

	for _, tc := range []struct{ name, qr, want string }{
		{"empty", "", "paste the qr_code"},
		{"unknown", "https://example.com/qr/bax000", "was not issued by this sandbox"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := b.page("POST", "/wallet/"+by.UserID+"/scan", url.Values{"qr_code": {tc.qr}})
			if status != 400 {
				t.Errorf("status %d", status)
			}
			mustContain(t, "the scan form", body, tc.want, `name="qr_code"`)
		})
	}
	if status, _, body := b.page("GET", "/qr/bax404", nil); status != 404 || !strings.Contains(body, "not issued by this sandbox") {
		t.Errorf("unknown QR landing: %d", status)
	}
}

// TestWalletTradePay: a created trade (JSAPI tradePay) — cancel keeps it open, a short
// balance fails with 4000, paying gives 9000.
func TestWalletTradePay(t *testing.T) {
	b := setup(t)
	by := b.buyer("5.00")
	other := b.buyer("5.00")
	m := b.call("alipay.trade.create", map[string]any{"out_trade_no": "c1", "subject": "snack", "total_amount": "4.00", "buyer_id": by.UserID})
	no := m["trade_no"].(string)
	payPath := "/wallet/" + by.UserID + "/trades/" + no + "/pay"

	_, _, sheet := b.page("GET", payPath, nil)
	mustContain(t, "the sheet", sheet, "tradePay", "¥4.00", "snack", "c1")
	_, loc, _ := b.page("POST", payPath, url.Values{"action": {"cancel"}})
	if tr, _ := b.sim.Trade(no); !strings.HasSuffix(loc, "resultCode=6001") || tr.Status != WaitBuyerPay {
		t.Errorf("cancel: %q, %s", loc, tr.Status)
	}
	// Another buyer cannot see or pay it.
	if status, _, _ := b.page("GET", "/wallet/"+other.UserID+"/trades/"+no+"/pay", nil); status != 404 {
		t.Errorf("another buyer's sheet: %d", status)
	}
	if status, _, _ := b.page("POST", "/wallet/"+other.UserID+"/trades/"+no+"/pay", url.Values{"action": {"pay"}}); status != 404 {
		t.Errorf("another buyer paying: %d", status)
	}

	m = b.call("alipay.trade.create", map[string]any{"out_trade_no": "c2", "subject": "big", "total_amount": "6.00", "buyer_id": by.UserID})
	_, loc, _ = b.page("POST", "/wallet/"+by.UserID+"/trades/"+m["trade_no"].(string)+"/pay", url.Values{"action": {"pay"}})
	if !strings.Contains(loc, "resultCode=4000") || !strings.Contains(loc, "BUYER_BALANCE_NOT_ENOUGH") {
		t.Errorf("short balance: %q", loc)
	}
	_, _, res := b.page("GET", loc, nil)
	mustContain(t, "the failure page", res, "Payment failed", "BUYER_BALANCE_NOT_ENOUGH")

	_, loc, _ = b.page("POST", payPath, url.Values{"action": {"pay"}})
	if tr, _ := b.sim.Trade(no); !strings.HasSuffix(loc, "resultCode=9000") || tr.Status != TradeSuccess {
		t.Errorf("pay: %q, %s", loc, tr.Status)
	}
	_, _, sheet = b.page("GET", payPath, nil)
	mustContain(t, "a paid trade's sheet", sheet, "nothing to pay")
	if status, _, _ := b.page("POST", payPath, url.Values{"action": {"steal"}}); status != 400 {
		t.Errorf("unknown action: %d", status)
	}
	if status, _, _ := b.page("GET", "/wallet/"+by.UserID+"/trades/"+no+"/result?resultCode=1234", nil); status != 400 {
		t.Errorf("made-up result code: %d", status)
	}
}

// TestWalletEscapesMerchantText: subjects, bodies and store ids come from merchants and
// must never become markup on the buyer's or the console's pages.
func TestWalletEscapesMerchantText(t *testing.T) {
	b := setup(t)
	by := b.buyer("100.00")
	evil := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	m := b.call("alipay.trade.create", map[string]any{"out_trade_no": "e1", "subject": evil, "body": evil,
		"total_amount": "1.00", "buyer_id": by.UserID, "store_id": "<b>s</b>"})
	no := m["trade_no"].(string)
	qr := b.call("alipay.trade.precreate", map[string]any{"out_trade_no": "e2", "subject": evil, "total_amount": "1.00"})["qr_code"].(string)
	for _, path := range []string{
		"/wallet/" + by.UserID, "/wallet/" + by.UserID + "/trades/" + no + "/pay",
		"/wallet/" + by.UserID + "/trades/" + no + "/result?resultCode=4000&memo=" + url.QueryEscape(evil),
		strings.TrimPrefix(qr, b.srv.URL), "/sandbox/ui",
		"/wallet/" + by.UserID + "/scan?qr_code=" + url.QueryEscape(`"><script>alert(2)</script>`),
	} {
		status, _, body := b.page("GET", path, nil)
		if status != 200 {
			t.Errorf("%s: %d", path, status)
			continue
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, "<b>s</b>") {
			t.Errorf("%s renders merchant text as markup", path)
		}
		if !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s does not show the escaped text", path)
		}
	}
}

// TestMerchantConsole: apps, trades with refunds, notification attempts and faults are
// listed; faults are added and removed with the form.
func TestMerchantConsole(t *testing.T) {
	rcv := newReceiver(t)
	b := setup(t)
	by := b.buyer("100.00")
	b.call("alipay.trade.pay", pay("m1", b.code(by.UserID), "10.00"), "notify_url", rcv.srv.URL)
	b.call("alipay.trade.refund", map[string]any{"out_trade_no": "m1", "refund_amount": "2.50", "out_request_no": "rf1", "refund_reason": "broken cup"})
	b.settle()

	status, _, body := b.page("GET", "/sandbox/ui", nil)
	if status != 200 {
		t.Fatalf("console: %d", status)
	}
	ns := b.sim.Notifications(NotificationFilter{})
	if len(ns) == 0 {
		t.Fatal("no notification was recorded")
	}
	mustContain(t, "the console", body, b.app.AppID, b.app.SellerID, "m1", "coffee", "rf1", "broken cup", "−¥2.50",
		ns[0].NotifyID, rcv.srv.URL, "success", "No active faults")

	tests := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"added", url.Values{"kind": {"pay_pending"}, "method": {"alipay.trade.pay"}, "count": {"2"}, "delay": {"30s"}, "resolve_to": {"closed"}}, 303, ""},
		{"unknown kind", url.Values{"kind": {"meteor"}}, 400, "meteor"},
		{"bad count", url.Values{"kind": {"latency"}, "count": {"two"}}, 400, "is not a whole number"},
		{"bad duration", url.Values{"kind": {"latency"}, "latency": {"soon"}}, 400, "bad duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := b.page("POST", "/sandbox/ui/faults", tc.form)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			if tc.want != "" {
				mustContain(t, "the refused fault", body, tc.want, `value="`+tc.form.Get("count")+`"`)
			}
		})
	}
	fs := b.sim.Faults()
	if len(fs) != 1 || fs[0].Kind != FaultPayPending || fs[0].Count != 2 || fs[0].Delay.D() != 30*time.Second || fs[0].ResolveTo != "closed" {
		t.Fatalf("faults %+v", fs)
	}
	_, _, body = b.page("GET", "/sandbox/ui", nil)
	mustContain(t, "the console with a fault", body, fs[0].ID, "pay_pending", "30s")
	if status, _, _ := b.page("POST", "/sandbox/ui/faults/"+fs[0].ID+"/delete", url.Values{}); status != 303 || len(b.sim.Faults()) != 0 {
		t.Errorf("delete: %d, %d left", status, len(b.sim.Faults()))
	}
	if status, _, _ := b.page("POST", "/sandbox/ui/faults/nope/delete", url.Values{}); status != 404 {
		t.Errorf("deleting an unknown fault: %d", status)
	}
	// The filter by app.
	_, _, body = b.page("GET", "/sandbox/ui?app_id=2021000000000000", nil)
	if strings.Contains(body, "m1") {
		t.Errorf("another app's filter shows this app's trade")
	}
}

func TestWalletAssets(t *testing.T) {
	b := setup(t)
	for _, tc := range []struct{ path, typ, want string }{
		{"/assets/style.css", "text/css", ".paycode"},
		{"/assets/wallet.js", "javascript", "setInterval"},
	} {
		resp, err := http.Get(b.srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), tc.typ) || !strings.Contains(string(raw), tc.want) {
			t.Errorf("%s: %d %s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

// TestBarcodeImages decodes the PNGs and samples every module: the drawn code must be
// the encoded one at a whole-pixel scale with a white quiet zone, or scanners fail.
func TestBarcodeImages(t *testing.T) {
	for _, code := range []string{"281234567890123456", "25" + strings.Repeat("0", 22)} {
		bar, err := barcodePNG(code, 3, 50)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := code128.Encode(code)
		checkModules(t, "barcode "+code, bar, want, 3, 30, 0)
		q, err := qrPNG(code, 4)
		if err != nil {
			t.Fatal(err)
		}
		wantQR, _ := qr.Encode(code, qr.M, qr.Auto)
		checkModules(t, "QR "+code, q, wantQR, 4, 16, 16)
		img, err := renderCode(code)
		if err != nil || !strings.HasPrefix(string(img.Barcode), "data:image/png;base64,") || !strings.HasPrefix(string(img.QR), "data:image/png;base64,") {
			t.Errorf("%s: not PNG data URLs (%v)", code, err)
		}
	}
	if _, err := barcodePNG("unencodable \u00ff\u4e2d", 3, 50); err == nil {
		t.Errorf("Code 128 accepted text it cannot encode")
	}
	if groupDigits("281234567890123456") != "2812 3456 7890 1234 56" {
		t.Errorf("groupDigits: %q", groupDigits("281234567890123456"))
	}
}

func checkModules(t *testing.T, what string, p []byte, want barcode.Barcode, scale, mx, my int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(p))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	dark := func(c color.Color) bool { return color.GrayModel.Convert(c).(color.Gray).Y < 0x80 }
	wb := want.Bounds()
	if got := img.Bounds().Dx(); got != wb.Dx()*scale+2*mx {
		t.Fatalf("%s: %d px wide, want %d", what, got, wb.Dx()*scale+2*mx)
	}
	for x := 0; x < mx; x++ {
		if dark(img.At(x, img.Bounds().Dy()/2)) || dark(img.At(img.Bounds().Dx()-1-x, img.Bounds().Dy()/2)) {
			t.Fatalf("%s: no quiet zone", what)
		}
	}
	rows := wb.Dy()
	for my0 := 0; my0 < rows; my0++ {
		y := my + my0*scale + scale/2
		if rows == 1 {
			y = img.Bounds().Dy() / 2
		}
		for m := 0; m < wb.Dx(); m++ {
			if dark(img.At(mx+m*scale+scale/2, y)) != dark(want.At(wb.Min.X+m, wb.Min.Y+my0)) {
				t.Fatalf("%s: module (%d,%d) differs", what, m, my0)
			}
		}
	}
}

// TestOAuthConsent: the consent page explains the link's mistakes, and the buyer's
// answer redirects with an auth_code the app can exchange, or with the refusal.
func TestOAuthConsent(t *testing.T) {
	b := setup(t)
	by := b.buyer("1.00", func(s *BuyerSpec) { s.LogonID = "mei@example.com" })
	link := func(app, scope, redirect, state string) url.Values {
		return url.Values{"app_id": {app}, "scope": {scope}, "redirect_uri": {redirect}, "state": {state}}
	}
	const cb = "https://merchant.example.com/oauth/cb?shop=7"

	for _, tc := range []struct {
		name   string
		q      url.Values
		status int
		want   string
	}{
		{"valid", link(b.app.AppID, "auth_user", cb, "s1"), 200, "nickname, avatar"},
		{"both scopes", link(b.app.AppID, "auth_base,auth_user", cb, ""), 200, "silent authorization"},
		{"no app", link("", "auth_base", cb, ""), 400, "app_id is missing"},
		{"unknown app", link("2021000000000001", "auth_base", cb, ""), 404, "not registered"},
		{"no scope", link(b.app.AppID, "", cb, ""), 400, "scope is missing"},
		{"bad scope", link(b.app.AppID, "auth_everything", cb, ""), 400, "auth_everything"},
		{"relative redirect", link(b.app.AppID, "auth_base", "/cb", ""), 400, "absolute http"},
		{"javascript redirect", link(b.app.AppID, "auth_base", "javascript:alert(1)", ""), 400, "absolute http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := b.page("GET", "/oauth/authorize?"+tc.q.Encode(), nil)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			mustContain(t, "the consent page", body, tc.want)
		})
	}

	// Hidden fields carry the link as text, never as markup.
	_, _, body := b.page("GET", "/oauth/authorize?"+link(b.app.AppID, "auth_base", cb, `"><script>alert(1)</script>`).Encode(), nil)
	if strings.Contains(body, "<script>alert") {
		t.Errorf("the state is rendered as markup")
	}

	answer := func(decision, buyer string) (int, *url.URL, string) {
		f := link(b.app.AppID, "auth_user", cb, "s1")
		f.Set("decision", decision)
		if buyer != "" {
			f.Set("buyer_id", buyer)
		}
		status, loc, body := b.page("POST", "/oauth/authorize", f)
		u, _ := url.Parse(loc)
		return status, u, body
	}
	status, u, body := answer("allow", by.UserID)
	if status != 302 || u.Host != "merchant.example.com" || u.Path != "/oauth/cb" {
		t.Fatalf("allow: %d %v %s", status, u, body)
	}
	q := u.Query()
	if q.Get("shop") != "7" || q.Get("state") != "s1" || q.Get("auth_code") == "" || q.Get("scope") != "auth_user" {
		t.Errorf("allow redirect %v", q)
	}
	tok := b.call("alipay.system.oauth.token", nil, "grant_type", "authorization_code", "code", q.Get("auth_code"))
	if tok["user_id"] != by.UserID || tok["access_token"] == "" {
		t.Errorf("exchanging the code: %v", tok)
	}

	status, u, _ = answer("deny", "mei@example.com")
	if status != 302 || u.Query().Get("auth_code") != "" || u.Query().Get("error") != "access_denied" {
		t.Errorf("deny: %d %v", status, u)
	}
	for _, tc := range []struct{ name, buyer, want string }{
		{"no account", "", "Choose the account"},
		{"unknown account", "2088000000000000", "no buyer"},
	} {
		status, _, body := answer("allow", tc.buyer)
		if status != 400 || !strings.Contains(body, tc.want) || !strings.Contains(body, `name="redirect_uri"`) {
			t.Errorf("%s: %d, want the form again with %q", tc.name, status, tc.want)
		}
	}
}

// FuzzWalletForms posts arbitrary bodies to every form of the pages. Nothing may panic
// or answer 500, every answer is a page or a redirect, and no money appears or vanishes
// except through the new-account form.
func FuzzWalletForms(f *testing.F) {
	b := setup(f)
	th := amt("5.00")
	by := b.buyer("100.00", func(s *BuyerSpec) { s.PayPassword, s.PasswordThreshold = "123456", &th })
	qr := b.call("alipay.trade.precreate", map[string]any{"out_trade_no": "fz1", "subject": "s", "total_amount": "1.00"})["qr_code"].(string)
	token := qr[strings.LastIndexByte(qr, '/')+1:]
	no := b.call("alipay.trade.create", map[string]any{"out_trade_no": "fz2", "subject": "s", "total_amount": "2.00", "buyer_id": by.UserID})["trade_no"].(string)
	paths := []string{"/wallet", "/wallet/" + by.UserID + "/scan", "/qr/" + token, "/wallet/" + by.UserID + "/trades/" + no + "/pay",
		"/sandbox/ui/faults", "/oauth/authorize", "/wallet/" + by.UserID + "/codes"}
	for i, body := range []string{"balance=1.00&pay_password=1&password_threshold=0.5", "qr_code=" + url.QueryEscape(qr),
		"buyer_id=" + by.UserID, "action=pay&pay_password=123456", "kind=latency&latency=1ms&count=1",
		"app_id=" + b.app.AppID + "&scope=auth_base&redirect_uri=http%3A%2F%2Fx%2F&decision=allow&buyer_id=" + by.UserID, "",
		"balance=%zz", "action=reject", "kind=pay_pending&probability=2", "scope=auth_user,,&app_id=&redirect_uri=javascript:1"} {
		f.Add(uint8(i%len(paths)), body)
	}
	money := func() (total f2fpay.Amount) {
		b.sim.e.view(func(t *txn) {
			for _, x := range t.e.buyers {
				total += x.Balance
			}
			for _, a := range t.e.apps {
				total += a.Balance
			}
		})
		return total
	}
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		path := paths[int(which)%len(paths)]
		before := money()
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		b.sim.Handler().ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q: %d %s", path, body, rec.Code, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); rec.Code != 303 && rec.Code != 302 && !strings.HasPrefix(ct, "text/html") &&
			!strings.HasPrefix(ct, "application/json") {
			t.Fatalf("POST %s %q: %d with Content-Type %q", path, body, rec.Code, ct)
		}
		if path != "/wallet" && money() != before {
			t.Fatalf("POST %s %q changed the money in the sandbox from %s to %s", path, body, before, money())
		}
		b.sim.RemoveFault("")
	})
}
