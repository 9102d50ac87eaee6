package alipaysim

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
)

func cabinetSign(external string) *alipay.AgreementPageSignRequest {
	return &alipay.AgreementPageSignRequest{
		PersonalProductCode: alipay.PersonalGeneralWithholding, ProductCode: alipay.ProductGeneralWithholding,
		AccessParams: alipay.AccessParams{Channel: alipay.ChannelAlipayApp}, SignScene: alipay.SceneVendingMachine,
		ExternalAgreementNo: external, ExternalLogonID: "member " + external,
		DeviceParams: &alipay.AgreementDeviceParams{DeviceID: "C-01"},
	}
}

var signTokenPattern = regexp.MustCompile(`/agreements/sign/(sr[0-9]+)$`)

// openSignPage opens a page.sign link as a browser does and returns the sign page's
// URL (after the gateway's redirect) and body.
func (b *bundle) openSignPage(link string) (string, string) {
	b.t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !signTokenPattern.MatchString(resp.Request.URL.Path) {
		b.t.Fatalf("page.sign link: HTTP %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
	return resp.Request.URL.String(), string(body)
}

// answerSignPage posts the buyer's decision on the sign page.
func (b *bundle) answerSignPage(page, buyerID, decision string) (int, string) {
	b.t.Helper()
	resp, err := http.PostForm(page, url.Values{"buyer_id": {buyerID}, "decision": {decision}})
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// sign runs the whole signing for buyer and returns the agreement.
func (b *bundle) signAgreement(c *alipay.Client, buyerID string, req *alipay.AgreementPageSignRequest) *Agreement {
	b.t.Helper()
	link, err := c.AgreementPageSignURL(context.Background(), req, alipay.WithReturnURL("https://merchant.example/signed"))
	if err != nil {
		b.t.Fatal(err)
	}
	page, _ := b.openSignPage(link)
	if st, body := b.answerSignPage(page, buyerID, "allow"); st != 200 || !strings.Contains(body, "https://merchant.example/signed") {
		b.t.Fatalf("sign: %d %s", st, body)
	}
	as := b.sim.Agreements(AgreementFilter{UserID: buyerID, Status: AgreementNormal})
	if len(as) == 0 {
		b.t.Fatal("no agreement after signing")
	}
	return &as[0]
}

func agreementCharge(out, no, amount string) *alipay.TradePayRequest {
	return &alipay.TradePayRequest{OutTradeNo: out, Subject: "cabinet C-01", TotalAmount: amt(amount), TerminalID: "C-01",
		AgreementParams: &alipay.AgreementParams{AgreementNo: no}}
}

// TestAgreementLifecycle: sign on the wallet page → dut_user_sign verified by the SDK →
// charge without a password → merchant unsign → dut_user_unsign → charge refused.
func TestAgreementLifecycle(t *testing.T) {
	b := setup(t)
	rcv := newReceiver(t)
	c := b.client(b.app, rcv.srv.URL+"/notify")
	ctx := context.Background()
	th := amt("0.01") // every wallet payment would ask for the password: an agreement charge does not
	by := b.buyer("50.00", func(s *BuyerSpec) { s.PasswordThreshold = &th; s.LogonID = "15712345667" })

	link, err := c.AgreementPageSignURL(ctx, cabinetSign("M42"), alipay.WithReturnURL("https://merchant.example/signed?m=42"))
	if err != nil {
		t.Fatal(err)
	}
	page, body := b.openSignPage(link)
	for _, want := range []string{"开通免密支付", "Enable password-free payment", "GENERAL_WITHHOLDING_P", "INDUSTRY|VENDING_MACHINE", "member M42", by.LogonID} {
		if !strings.Contains(body, want) {
			t.Errorf("sign page lacks %q", want)
		}
	}
	st, body := b.answerSignPage(page, by.UserID, "allow")
	if st != 200 || !strings.Contains(body, `href="https://merchant.example/signed?m=42"`) || !strings.Contains(body, "已开通免密支付") {
		t.Fatalf("signed page: %d %s", st, body)
	}
	b.settle()
	got := rcv.received()
	if len(got) != 1 {
		t.Fatalf("%d notifications, want dut_user_sign", len(got))
	}
	sign, err := c.ParseAgreementNotification([]byte(got[0].Encode()))
	if err != nil {
		t.Fatalf("the SDK refuses the sandbox's dut_user_sign: %v", err)
	}
	if !sign.Signed() || sign.AlipayUserID != by.UserID || sign.ExternalAgreementNo != "M42" || sign.AlipayLogonID != "157******67" ||
		sign.InvalidTime.String() != "2115-02-01 00:00:00" || len(sign.AgreementNo) != 20 || !strings.HasPrefix(sign.AgreementNo, "2026") {
		t.Errorf("dut_user_sign = %+v", sign)
	}
	// Opening the link again shows the agreement, signs nothing new.
	if st, _ := b.answerSignPage(page, by.UserID, "allow"); st != 200 || len(b.sim.Agreements(AgreementFilter{})) != 1 {
		t.Errorf("second answer: %d, %d agreements", st, len(b.sim.Agreements(AgreementFilter{})))
	}

	q, err := c.AgreementQuery(ctx, &alipay.AgreementRef{AgreementNo: sign.AgreementNo})
	if err != nil || q.Status != alipay.AgreementNormal || q.PrincipalID != by.UserID || q.DeviceID != "C-01" {
		t.Fatalf("query: %v %+v", err, q)
	}
	for _, ref := range []alipay.AgreementRef{
		{PersonalProductCode: alipay.PersonalGeneralWithholding, SignScene: alipay.SceneVendingMachine, AlipayUserID: by.UserID},
		{PersonalProductCode: alipay.PersonalGeneralWithholding, SignScene: alipay.SceneVendingMachine, ExternalAgreementNo: "M42"},
		{PersonalProductCode: alipay.PersonalGeneralWithholding, SignScene: alipay.SceneVendingMachine, AlipayLogonID: by.LogonID},
	} {
		if q, err := c.AgreementQuery(ctx, &ref); err != nil || q.AgreementNo != sign.AgreementNo {
			t.Errorf("query %+v: %v %+v", ref, err, q)
		}
	}

	res, err := c.TradePay(ctx, agreementCharge("cab1", sign.AgreementNo, "12.50"))
	if err != nil || res.Status != alipay.PayPaid || res.Response.BuyerUserID != by.UserID {
		t.Fatalf("agreement charge: %v %+v", err, res)
	}
	tr, _ := b.sim.TradeByOutTradeNo(b.app.AppID, "cab1")
	if tr.ProductCode != "GENERAL_WITHHOLDING" || tr.AgreementNo != sign.AgreementNo || tr.Scene != "" {
		t.Errorf("trade %+v", tr)
	}
	if got := b.sim.mustBuyer(t, by.UserID).Balance; got != amt("37.50") {
		t.Errorf("buyer balance %v, want 37.50", got)
	}
	if q, _ := c.AgreementQuery(ctx, &alipay.AgreementRef{AgreementNo: sign.AgreementNo}); q.LastDeductTime.IsZero() {
		t.Errorf("last_deduct_time not set: %+v", q)
	}

	if _, err := c.AgreementUnsign(ctx, &alipay.AgreementUnsignRequest{AgreementRef: alipay.AgreementRef{AgreementNo: sign.AgreementNo}}); err != nil {
		t.Fatal(err)
	}
	b.settle()
	got = rcv.received()
	if len(got) != 3 {
		t.Fatalf("%d notifications, want sign, trade_status_sync, unsign", len(got))
	}
	// The trade's notification and the unsign's are delivered independently: either
	// may arrive first.
	byType := map[string]url.Values{}
	for _, n := range got[1:] {
		byType[n.Get("notify_type")] = n
	}
	if tn := byType["trade_status_sync"]; tn.Get("out_trade_no") != "cab1" {
		t.Errorf("trade notification %v (all: %v)", tn, got[1:])
	}
	unsign, err := c.ParseAgreementNotification([]byte(byType["dut_user_unsign"].Encode()))
	if err != nil || unsign.Status != alipay.AgreementUnsign || unsign.AgreementNo != sign.AgreementNo || unsign.UnsignTime.IsZero() {
		t.Fatalf("dut_user_unsign: %v %+v", err, unsign)
	}

	res, err = c.TradePay(ctx, agreementCharge("cab2", sign.AgreementNo, "1.00"))
	if err != nil || res.Status != alipay.PayFailed || !hasSub(res.Err, alipay.SubAgreementNotExist) || !alipay.IsAgreementGone(res.Err) {
		t.Errorf("charge after unsign: %v %+v", err, res)
	}
	if _, err := c.AgreementQuery(ctx, &alipay.AgreementRef{AgreementNo: sign.AgreementNo}); !hasSub(err, alipay.SubUserAgreementNotExist) {
		t.Errorf("query after unsign: %v", err)
	}
	if _, err := c.AgreementUnsign(ctx, &alipay.AgreementUnsignRequest{AgreementRef: alipay.AgreementRef{AgreementNo: sign.AgreementNo}}); !hasSub(err, alipay.SubAgreementHasUnsigned) {
		t.Errorf("second unsign: %v", err)
	}
	if resp, err := http.Get(page); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "已解约") {
			t.Errorf("the sign link of an unsigned agreement: %s", body)
		}
	}
	if got := b.sim.mustBuyer(t, by.UserID).Balance; got != amt("37.50") {
		t.Errorf("buyer balance %v after the refused charge", got)
	}
}

func TestAgreementChargeRefusals(t *testing.T) {
	b := setup(t)
	c := b.client(b.app, "")
	ctx := context.Background()
	by := b.buyer("5.00")
	a := b.signAgreement(c, by.UserID, cabinetSign("R1"))

	// Balance: refused, nothing created; the same out_trade_no goes through after a top-up.
	res, _ := c.TradePay(ctx, agreementCharge("d1", a.AgreementNo, "8.00"))
	if res.Status != alipay.PayFailed || !hasSub(res.Err, alipay.SubBuyerBalanceNotEnough) || alipay.IsAgreementGone(res.Err) {
		t.Fatalf("low balance: %+v", res)
	}
	if _, err := b.sim.TopUp(ctx, by.UserID, amt("10.00")); err != nil {
		t.Fatal(err)
	}
	if res, _ = c.TradePay(ctx, agreementCharge("d1", a.AgreementNo, "8.00")); res.Status != alipay.PayPaid {
		t.Fatalf("after top-up: %+v", res)
	}
	// Paused.
	if _, err := b.sim.StopAgreement(ctx, a.AgreementNo, true); err != nil {
		t.Fatal(err)
	}
	if res, _ = c.TradePay(ctx, agreementCharge("d2", a.AgreementNo, "1.00")); !hasSub(res.Err, alipay.SubAgreementStatusNotNormal) {
		t.Errorf("stopped: %+v", res)
	}
	if q, err := c.AgreementQuery(ctx, &alipay.AgreementRef{AgreementNo: a.AgreementNo}); err != nil || q.Status != alipay.AgreementStop {
		t.Errorf("query stopped: %v %+v", err, q)
	}
	b.sim.StopAgreement(ctx, a.AgreementNo, false)

	other := b.otherApp()
	tests := []struct {
		name string
		c    *alipay.Client
		req  *alipay.TradePayRequest
		sub  string
	}{
		{"unknown agreement", c, agreementCharge("e1", "20269999999999999999", "1.00"), alipay.SubAgreementNotExist},
		{"another merchant's agreement", b.client(other, ""), agreementCharge("e2", a.AgreementNo, "1.00"), alipay.SubAgreementNotExist},
		{"product mismatch", c, func() *alipay.TradePayRequest {
			r := agreementCharge("e3", a.AgreementNo, "1.00")
			r.ProductCode = alipay.ProductCyclePayAuth
			return r
		}(), alipay.SubAgreementError},
		{"buyer mismatch", c, func() *alipay.TradePayRequest {
			r := agreementCharge("e4", a.AgreementNo, "1.00")
			r.BuyerID = "2088000000000001"
			return r
		}(), alipay.SubAgreementError},
	}
	for _, tt := range tests {
		res, err := tt.c.TradePay(ctx, tt.req)
		if err != nil || res.Status != alipay.PayFailed || !hasSub(res.Err, tt.sub) {
			t.Errorf("%s: %v %+v", tt.name, err, res)
		}
	}
	// What the SDK refuses to send, the sandbox refuses too.
	for _, biz := range []string{
		`{"out_trade_no":"g1","subject":"s","total_amount":"1.00","product_code":"GENERAL_WITHHOLDING","scene":"bar_code","auth_code":"281234567890123456","agreement_params":{"agreement_no":"` + a.AgreementNo + `"}}`,
		`{"out_trade_no":"g2","subject":"s","total_amount":"1.00","agreement_params":{"agreement_no":"` + a.AgreementNo + `"}}`,
	} {
		wantFields(t, b.call("alipay.trade.pay", biz), map[string]string{"code": "40004", "sub_code": "ACQ.INVALID_PARAMETER"})
	}
	wantFields(t, b.call("alipay.trade.pay", `{"out_trade_no":"g3","subject":"s","total_amount":"1.00","product_code":"GENERAL_WITHHOLDING","agreement_params":{}}`),
		map[string]string{"code": "40004", "sub_code": "ACQ.AGREEMENT_ERROR"})

	// A charge that waits (pay_pending), then resolves.
	b.sim.AddFault(Fault{Kind: FaultPayPending, OutTradeNo: "p1", Delay: Duration(30 * time.Second)})
	if res, _ = c.TradePay(ctx, agreementCharge("p1", a.AgreementNo, "2.00")); res.Status != alipay.PayWaiting {
		t.Fatalf("pending: %+v", res)
	}
	b.advance(31 * time.Second)
	if q, err := c.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: "p1"}); err != nil || q.TradeStatus != alipay.TradeSuccess {
		t.Errorf("resolved: %v %+v", err, q)
	}
	if got := b.sim.mustBuyer(t, by.UserID).Balance; got != amt("5.00") {
		t.Errorf("balance %v, want 5.00 (15.00 − 8.00 − 2.00)", got)
	}

	// An agreement signed for a day stops working after it.
	short := cabinetSign("R2")
	short.SignValidityPeriod = "1d"
	a2 := b.signAgreement(c, by.UserID, short)
	b.advance(25 * time.Hour)
	if res, _ = c.TradePay(ctx, agreementCharge("x1", a2.AgreementNo, "1.00")); !hasSub(res.Err, alipay.SubAgreementInvalid) {
		t.Errorf("expired agreement: %+v", res)
	}
}

func TestAgreementQueryRefusals(t *testing.T) {
	b := setup(t)
	c := b.client(b.app, "")
	ctx := context.Background()
	by := b.buyer("5.00")
	a := b.signAgreement(c, by.UserID, cabinetSign("Q1"))
	other := b.client(b.otherApp(), "")
	wm := alipay.PersonalGeneralWithholding
	tests := []struct {
		name string
		c    *alipay.Client
		ref  alipay.AgreementRef
		sub  string
	}{
		{"another merchant", other, alipay.AgreementRef{AgreementNo: a.AgreementNo}, alipay.SubAuthoreeNotMatch},
		{"unknown number", c, alipay.AgreementRef{AgreementNo: "20260000000000000000"}, alipay.SubUserAgreementNotExist},
		{"unknown user", c, alipay.AgreementRef{PersonalProductCode: wm, SignScene: alipay.SceneVendingMachine, AlipayUserID: "2088000000000009"}, "USER_NOT_EXIST_ERROR"},
		{"unsupported product", c, alipay.AgreementRef{PersonalProductCode: "FOO_P", SignScene: alipay.SceneVendingMachine, ExternalAgreementNo: "Q1"}, alipay.SubProductCodeNotSupported},
		{"other scene", c, alipay.AgreementRef{PersonalProductCode: wm, SignScene: "INDUSTRY|GAME_CHARGE", ExternalAgreementNo: "Q1"}, alipay.SubUserAgreementNotExist},
		{"other user's external number", other, alipay.AgreementRef{PersonalProductCode: wm, SignScene: alipay.SceneVendingMachine, ExternalAgreementNo: "Q1"}, alipay.SubUserAgreementNotExist},
	}
	for _, tt := range tests {
		if _, err := tt.c.AgreementQuery(ctx, &tt.ref); !hasSub(err, tt.sub) {
			t.Errorf("query %s: %v", tt.name, err)
		}
		if _, err := tt.c.AgreementUnsign(ctx, &alipay.AgreementUnsignRequest{AgreementRef: tt.ref}); !hasSub(err, tt.sub) {
			t.Errorf("unsign %s: %v", tt.name, err)
		}
	}
	wantFields(t, b.call(alipay.MethodUserAgreementQuery, `{"personal_product_code":"GENERAL_WITHHOLDING_P"}`),
		map[string]string{"code": "40004", "sub_code": "INVALID_PARAMETER"})
	if q, err := c.AgreementQuery(ctx, &alipay.AgreementRef{AgreementNo: a.AgreementNo}); err != nil || q.Status != AgreementNormal {
		t.Errorf("the refusals changed the agreement: %v %+v", err, q)
	}
}

func TestAgreementSignPage(t *testing.T) {
	b := setup(t)
	c := b.client(b.app, "")
	ctx := context.Background()
	by := b.buyer("5.00")
	get := func(v url.Values) (int, string) {
		resp, err := http.Get(b.srv.URL + "/gateway.do?" + v.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	bad := []struct {
		name, biz, want string
	}{
		{"unsupported product", `{"personal_product_code":"FOO_P","access_params":{"channel":"ALIPAYAPP"}}`, "PRODUCT_CODE_NOT_SUPPORTED_ERROR"},
		{"no channel", `{"personal_product_code":"GENERAL_WITHHOLDING_P"}`, "ACQ.INVALID_PARAMETER"},
		{"external number with the default scene", `{"personal_product_code":"GENERAL_WITHHOLDING_P","access_params":{"channel":"ALIPAYAPP"},"external_agreement_no":"X1"}`, "DEFAULT|DEFAULT"},
		{"wrong sales product", `{"personal_product_code":"GENERAL_WITHHOLDING_P","product_code":"CYCLE_PAY_AUTH","access_params":{"channel":"ALIPAYAPP"}}`, "product_code"},
	}
	for _, tt := range bad {
		st, body := get(b.request(alipay.MethodUserAgreementPageSign, tt.biz))
		if st != http.StatusBadRequest || !strings.Contains(body, tt.want) || !strings.Contains(body, "<html") {
			t.Errorf("%s: %d %s", tt.name, st, body)
		}
	}
	v := b.request(alipay.MethodUserAgreementPageSign, `{"personal_product_code":"GENERAL_WITHHOLDING_P","access_params":{"channel":"ALIPAYAPP"}}`)
	v.Set("biz_content", `{"personal_product_code":"ONE_TIME_AUTH_P","access_params":{"channel":"ALIPAYAPP"}}`)
	if st, body := get(v); st != http.StatusBadRequest || !strings.Contains(body, "isv.invalid-signature") {
		t.Errorf("tampered link: %d %s", st, body)
	}

	// Declining signs nothing, and the link is spent.
	link, _ := c.AgreementPageSignURL(ctx, cabinetSign("S1"))
	page, _ := b.openSignPage(link)
	if st, body := b.answerSignPage(page, by.UserID, "deny"); st != 200 || !strings.Contains(body, "未开通") {
		t.Errorf("decline: %d %s", st, body)
	}
	if st, _ := b.answerSignPage(page, by.UserID, "allow"); st != http.StatusBadRequest || len(b.sim.Agreements(AgreementFilter{})) != 0 {
		t.Errorf("allow after decline: %d", st)
	}
	// No account chosen; an expired link; identity_params naming someone else.
	link, _ = c.AgreementPageSignURL(ctx, cabinetSign("S2"))
	page, _ = b.openSignPage(link)
	if st, _ := b.answerSignPage(page, "", "allow"); st != http.StatusBadRequest {
		t.Errorf("no account: %d", st)
	}
	req := cabinetSign("S3")
	req.IdentityParams = &alipay.AgreementIdentityParams{SignUserID: "2088000000000001"}
	link, _ = c.AgreementPageSignURL(ctx, req)
	p3, _ := b.openSignPage(link)
	if st, body := b.answerSignPage(p3, by.UserID, "allow"); st != http.StatusBadRequest || !strings.Contains(body, "2088000000000001") {
		t.Errorf("identity_params: %d", st)
	}
	b.advance(SignRequestTTL + time.Minute)
	if st, _ := b.answerSignPage(page, by.UserID, "allow"); st != http.StatusBadRequest {
		t.Errorf("expired link: %d", st)
	}
	resp, _ := http.Get(page)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("expired link page: %d", resp.StatusCode)
	}

	// One external number, one buyer.
	b2 := b.buyer("1.00")
	b.signAgreement(c, by.UserID, cabinetSign("S4"))
	link, _ = c.AgreementPageSignURL(ctx, cabinetSign("S4"))
	page, _ = b.openSignPage(link)
	if st, body := b.answerSignPage(page, b2.UserID, "allow"); st != http.StatusBadRequest || !strings.Contains(body, "another Alipay user") {
		t.Errorf("external number taken: %d", st)
	}
}

// TestAgreementBuyerUnsign: the buyer ends it in the wallet; the merchant hears it
// (retried until it answers success) and the console shows it.
func TestAgreementBuyerUnsign(t *testing.T) {
	b := setup(t)
	rcv := newReceiver(t)
	c := b.client(b.app, rcv.srv.URL)
	by := b.buyer("5.00")
	a := b.signAgreement(c, by.UserID, cabinetSign("W1"))
	b.settle()
	rcv.set("fail")

	home := func() string {
		resp, err := http.Get(b.srv.URL + "/wallet/" + by.UserID)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	if body := home(); !strings.Contains(body, a.AgreementNo) || !strings.Contains(body, "/agreements/"+a.AgreementNo+"/unsign") {
		t.Fatalf("the wallet does not list the agreement")
	}
	resp, err := http.PostForm(b.srv.URL+"/wallet/"+by.UserID+"/agreements/"+a.AgreementNo+"/unsign", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Request.URL.RawQuery, "notice=unsigned") {
		t.Errorf("unsign: %d %s", resp.StatusCode, resp.Request.URL)
	}
	if got, _ := b.sim.Agreement(a.AgreementNo); got.Status != AgreementUnsign || got.UnsignedBy != "buyer" {
		t.Errorf("agreement %+v", got)
	}
	b.settle()
	rcv.set("success")
	b.advance(4 * time.Minute)
	ns := b.sim.Notifications(NotificationFilter{AppID: b.app.AppID})
	last := ns[len(ns)-1]
	if last.AgreementNo != a.AgreementNo || last.Params["notify_type"] != "dut_user_unsign" || !last.Delivered || len(last.Attempts) != 2 {
		t.Errorf("dut_user_unsign delivery: %+v", last)
	}
	got := rcv.received()
	if _, err := c.ParseAgreementNotification([]byte(got[len(got)-1].Encode())); err != nil {
		t.Errorf("retried dut_user_unsign: %v", err)
	}
	if _, err := b.sim.UnsignAgreement(context.Background(), a.AgreementNo); err == nil {
		t.Error("second unsign accepted")
	}

	resp, err = http.Get(b.srv.URL + "/sandbox/ui")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`id="agreements"`, a.AgreementNo, "UNSIGN", "by buyer", "dut_user_unsign"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("console lacks %q", want)
		}
	}
	resp, _ = http.Get(b.srv.URL + "/sandbox/agreements?user_id=" + by.UserID)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), a.AgreementNo) {
		t.Errorf("GET /sandbox/agreements: %s", body)
	}
}

// TestAgreementControlAPI signs and unsigns through the control API, without a browser.
func TestAgreementControlAPI(t *testing.T) {
	b := setup(t)
	c := b.client(b.app, "")
	by := b.buyer("5.00")
	link, _ := c.AgreementPageSignURL(context.Background(), cabinetSign("K1"))
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m := signTokenPattern.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || m == nil {
		t.Fatalf("page.sign: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	post := func(path, body string) (int, string) {
		resp, err := http.Post(b.srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	st, body := post("/sandbox/agreements/sign", `{"token":"`+m[1]+`","user_id":"`+by.UserID+`","allow":true}`)
	if st != 200 || !strings.Contains(body, `"status": "NORMAL"`) {
		t.Fatalf("sign: %d %s", st, body)
	}
	a := b.sim.Agreements(AgreementFilter{})[0]
	if st, body := post("/sandbox/agreements/"+a.AgreementNo+"/stop", ``); st != 200 || !strings.Contains(body, "STOP") {
		t.Errorf("stop: %d %s", st, body)
	}
	if st, body := post("/sandbox/agreements/"+a.AgreementNo+"/stop", `{"resume":true}`); st != 200 || !strings.Contains(body, "NORMAL") {
		t.Errorf("resume: %d %s", st, body)
	}
	if st, body := post("/sandbox/agreements/"+a.AgreementNo+"/unsign", ``); st != 200 || !strings.Contains(body, "UNSIGN") {
		t.Errorf("unsign: %d %s", st, body)
	}
	if st, _ := post("/sandbox/agreements/"+a.AgreementNo+"/unsign", ``); st != http.StatusConflict {
		t.Errorf("unsign twice: %d", st)
	}
	if st, _ := post("/sandbox/agreements/sign", `{"token":"nope","user_id":"`+by.UserID+`","allow":true}`); st != http.StatusNotFound {
		t.Errorf("unknown token: %d", st)
	}
}

// TestAgreementRestart: agreements live in the store; a restarted sandbox charges and
// unsigns them as before.
func TestAgreementRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := OpenSQLiteStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, func(c *Config) { c.Store = st })
	c := b.client(b.app, "")
	by := b.buyer("20.00")
	a := b.signAgreement(c, by.UserID, cabinetSign("P1"))
	zim := faceInit(t, c)
	before, _ := b.sim.Snapshot()
	b.sim.Close()
	st.Close()

	st2, err := OpenSQLiteStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	_, sk := keys(t)
	sim2, err := New(ctx, Config{Store: st2, Clock: b.clock, Seed: 42, AlipayKey: sk})
	if err != nil {
		t.Fatal(err)
	}
	defer sim2.Close()
	after, _ := sim2.Snapshot()
	if string(before) != string(after) {
		t.Fatal("state differs after restart")
	}
	b.sim = sim2
	b.srv.Config.Handler = sim2.Handler()
	if q, err := c.AgreementQuery(ctx, &alipay.AgreementRef{AgreementNo: a.AgreementNo}); err != nil || q.Status != alipay.AgreementNormal {
		t.Fatalf("query after restart: %v %+v", err, q)
	}
	if res, _ := c.TradePay(ctx, agreementCharge("r1", a.AgreementNo, "3.00")); res.Status != alipay.PayPaid {
		t.Errorf("charge after restart: %+v", res)
	}
	if r := b.verifyFace(zim, by.UserID, ""); r.Code != "1000" {
		t.Errorf("face session after restart: %+v", r)
	}
}

// TestAgreementThroughISV: a service provider signs, charges and unsigns for a merchant
// with its app_auth_token; the agreement and the money are the merchant's, the
// notifications carry the ISV's app_id and the merchant's auth_app_id.
func TestAgreementThroughISV(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	merchant := b.app
	isvApp := b.otherApp()
	var codeOut map[string]string
	if st := b.control("POST", "/sandbox/app-auth-codes", map[string]string{"isv_app_id": isvApp.AppID, "merchant_app_id": merchant.AppID}, &codeOut); st != 201 {
		t.Fatalf("app-auth-codes: %d", st)
	}
	rcv := newReceiver(t)
	isv := b.client(isvApp, rcv.srv.URL)
	tok, err := isv.OpenAuthTokenApp(ctx, &alipay.OpenAuthTokenAppRequest{GrantType: "authorization_code", Code: codeOut["app_auth_code"]})
	if err != nil {
		t.Fatal(err)
	}
	as := alipay.WithAppAuthToken(tok.AppAuthToken)
	by := b.buyer("9.00")
	link, err := isv.AgreementPageSignURL(ctx, cabinetSign("I1"), as)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := b.openSignPage(link)
	if st, _ := b.answerSignPage(page, by.UserID, "allow"); st != 200 {
		t.Fatalf("sign: %d", st)
	}
	a := b.sim.Agreements(AgreementFilter{})[0]
	if a.AppID != merchant.AppID || a.SellerID != merchant.SellerID || a.ISVAppID != isvApp.AppID {
		t.Errorf("agreement %+v", a)
	}
	if res, _ := isv.TradePay(ctx, agreementCharge("i1", a.AgreementNo, "4.00"), as); res.Status != alipay.PayPaid {
		t.Fatalf("charge for the merchant: %+v", res)
	}
	if res, _ := isv.TradePay(ctx, agreementCharge("i2", a.AgreementNo, "1.00")); !hasSub(res.Err, alipay.SubAgreementNotExist) {
		t.Errorf("the ISV's own app charged the merchant's agreement: %+v", res)
	}
	if _, err := isv.AgreementUnsign(ctx, &alipay.AgreementUnsignRequest{AgreementRef: alipay.AgreementRef{AgreementNo: a.AgreementNo}}, as); err != nil {
		t.Fatal(err)
	}
	b.settle()
	for _, n := range rcv.received() {
		if n.Get("app_id") != isvApp.AppID || n.Get("auth_app_id") != merchant.AppID {
			t.Errorf("%s: app_id %s auth_app_id %s", n.Get("notify_type"), n.Get("app_id"), n.Get("auth_app_id"))
		}
		if _, err := isv.VerifyNotification(n); err != nil {
			t.Errorf("%s does not verify for the ISV: %v", n.Get("notify_type"), err)
		}
	}
	if len(rcv.received()) != 3 {
		t.Errorf("%d notifications, want sign, trade, unsign", len(rcv.received()))
	}
	if m, _ := b.sim.App(merchant.AppID); m.Balance != amt("4.00") {
		t.Errorf("merchant balance %s", m.Balance)
	}
}
