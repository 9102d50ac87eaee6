package alipay_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/money"
)

func bizOf(t *testing.T, p url.Values) map[string]any {
	t.Helper()
	var biz map[string]any
	if err := json.Unmarshal([]byte(p.Get("biz_content")), &biz); err != nil {
		t.Fatalf("biz_content %q: %v", p.Get("biz_content"), err)
	}
	return biz
}

func TestSmilepayInitialize(t *testing.T) {
	t.Parallel()
	const flat = `{"code":"10000","msg":"Success","zim_id":"1e11fab27dbe2741fe1e66890bbc5f20c","zim_init_client_data":"eyJhIjoxfQ"}`
	tests := []struct {
		name    string
		node    string
		wantErr func(error) bool
	}{
		{"success", flat, nil},
		{"no zim_id is unknown", `{"code":"10000","msg":"Success"}`, alipay.IsUnknown},
		{"refusal", `{"code":"40004","msg":"Business Failed","sub_code":"ZOLOZ_INIT_FAIL","sub_msg":"x"}`,
			func(err error) bool { var e *alipay.Error; return errors.As(err, &e) && e.SubCode == "ZOLOZ_INIT_FAIL" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, func(string, url.Values) reply { return reply{content: tt.node} })
			c := newClient(t, g)
			out, err := c.SmilepayInitialize(context.Background(), &alipay.SmilepayInitializeRequest{
				ApdidToken: "apdid", AppName: "com.alipay.zoloz.smile", AppVersion: "4.0.1", BioMetaInfo: "2.3.0:3,-4",
				MerchantInfo: &alipay.SmilepayMerchantInfo{DeviceNum: "VM-0001", MerchantID: "2088102146225135"},
			})
			if tt.wantErr == nil {
				if err != nil || out.ZimID != "1e11fab27dbe2741fe1e66890bbc5f20c" || out.ZimInitClientData != "eyJhIjoxfQ" {
					t.Fatalf("out = %+v, err %v", out, err)
				}
			} else if !tt.wantErr(err) {
				t.Fatalf("err = %v", err)
			}
			p := g.requests()[0]
			biz := bizOf(t, p)
			if p.Get("method") != alipay.MethodSmilepayInitialize || biz["bio_meta_info"] != "2.3.0:3,-4" ||
				biz["merchant_info"].(map[string]any)["device_num"] != "VM-0001" || p.Has("notify_url") {
				t.Errorf("request %v", p)
			}
		})
	}
	c := newClient(t, newGateway(t, nil))
	if _, err := c.SmilepayInitialize(context.Background(), &alipay.SmilepayInitializeRequest{AppName: "x"}); !errors.Is(err, alipay.ErrInvalidRequest) {
		t.Errorf("missing metainfo: %v", err)
	}
}

func TestCustomerSmilepayInitialize(t *testing.T) {
	t.Parallel()
	const meta = `{"apdidToken":"a","appName":"com.alipay.zoloz.smile","appVersion":"4.0.1","bioMetaInfo":"2.3.0:3,-4"}`
	tests := []struct {
		name   string
		result string
		ok     bool
	}{
		{"result with type", `{\"type\":\"zimInit\",\"zimId\":\"z1\",\"zimInitClientData\":\"d1\"}`, true},
		{"result not JSON", `zimId=z1`, false},
		{"result without data", `{\"zimId\":\"z1\"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, func(string, url.Values) reply {
				return reply{content: `{"code":"10000","msg":"Success","result":"` + tt.result + `"}`}
			})
			out, err := newClient(t, g).CustomerSmilepayInitialize(context.Background(), meta)
			if tt.ok != (err == nil) || (tt.ok && (out.ZimID != "z1" || out.ZimInitClientData != "d1")) {
				t.Fatalf("out = %+v, err %v", out, err)
			}
			if !tt.ok && !alipay.IsUnknown(err) {
				t.Errorf("a result that does not decode must be unknown, got %v", err)
			}
			if biz := bizOf(t, g.requests()[0]); biz["zimmetainfo"] != meta {
				t.Errorf("zimmetainfo = %v", biz["zimmetainfo"])
			}
		})
	}
	c := newClient(t, newGateway(t, nil))
	for _, bad := range []string{"", "[]", "{", strings.Repeat(" ", alipay.MaxFaceMetaInfoBytes) + "{}"} {
		if _, err := c.CustomerSmilepayInitialize(context.Background(), bad); !errors.Is(err, alipay.ErrInvalidRequest) {
			t.Errorf("metainfo %.20q: %v", bad, err)
		}
	}
}

func TestFaceTradePay(t *testing.T) {
	t.Parallel()
	const token = "fp0a1b2c3d4e5f60718293a4b5c6d7e8f90"
	tests := []struct {
		node string
		want alipay.PayStatus
		sub  string
	}{
		{paidNode, alipay.PayPaid, ""},
		{`{"code":"10003","msg":"Waiting","out_trade_no":"20150320010101001","trade_no":"2024051322001432790585537960","total_amount":"88.88"}`, alipay.PayWaiting, ""},
		{`{"code":"20000","msg":"Service Currently Unavailable","sub_code":"ACQ.SYSTEM_ERROR","sub_msg":"系统错误"}`, alipay.PayUnknown, "ACQ.SYSTEM_ERROR"},
		{`{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SMILE_PAY_MERCHANT_NOT_MATCH","sub_msg":"x","out_trade_no":"20150320010101001"}`, alipay.PayFailed, alipay.SubSmilePayMerchantNotMatch},
		{`{"code":"40004","msg":"Business Failed","sub_code":"ACQ.PAYMENT_AUTH_CODE_INVALID","sub_msg":"x"}`, alipay.PayFailed, alipay.SubPaymentAuthCodeInvalid},
	}
	if !alipay.IsFaceToken(token) || alipay.IsFaceToken("287634438256643940") || alipay.IsFaceToken(token+"0") {
		t.Fatal("IsFaceToken")
	}
	for _, tt := range tests {
		g := newGateway(t, func(string, url.Values) reply { return reply{content: tt.node} })
		req := payRequest()
		req.Scene, req.AuthCode = alipay.SceneSecurityCode, token
		res, err := newClient(t, g).TradePay(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		var e *alipay.Error
		if res.Status != tt.want || (tt.sub != "" && (!errors.As(res.Err, &e) || e.SubCode != tt.sub)) {
			t.Errorf("%s: status %v err %v", tt.node, res.Status, res.Err)
		}
		biz := bizOf(t, g.requests()[0])
		if biz["scene"] != "security_code" || biz["auth_code"] != token || biz["product_code"] != "FACE_TO_FACE_PAYMENT" || biz["agreement_params"] != nil {
			t.Errorf("biz_content = %v", biz)
		}
	}
}

func agreementPay() *alipay.TradePayRequest {
	return &alipay.TradePayRequest{
		OutTradeNo: "CAB20260314000001", Subject: "cabinet C-01: 3 items", TotalAmount: money.MustParse("12.50"),
		TerminalID: "C-01", BuyerID: "2088102363632794",
		AgreementParams: &alipay.AgreementParams{AgreementNo: "20215919764488921116"},
	}
}

func TestAgreementTradePay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		node string
		want alipay.PayStatus
		gone bool
	}{
		{paidNode, alipay.PayPaid, false},
		{`{"code":"40004","msg":"Business Failed","sub_code":"ACQ.BUYER_BALANCE_NOT_ENOUGH","sub_msg":"买家余额不足"}`, alipay.PayFailed, false},
		{`{"code":"40004","msg":"Business Failed","sub_code":"ACQ.AGREEMENT_NOT_EXIST","sub_msg":"协议不存在"}`, alipay.PayFailed, true},
		{`{"code":"40004","msg":"Business Failed","sub_code":"ACQ.AGREEMENT_INVALID","sub_msg":"协议已失效"}`, alipay.PayFailed, true},
		{`{"code":"40004","msg":"Business Failed","sub_code":"ACQ.AGREEMENT_STATUS_NOT_NORMAL","sub_msg":"协议状态非正常"}`, alipay.PayFailed, false},
		{`{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}`, alipay.PayUnknown, false},
	}
	for _, tt := range tests {
		g := newGateway(t, func(string, url.Values) reply { return reply{content: tt.node} })
		res, err := newClient(t, g).TradePay(context.Background(), agreementPay())
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != tt.want || alipay.IsAgreementGone(res.Err) != tt.gone {
			t.Errorf("%s: status %v err %v gone %v", tt.node, res.Status, res.Err, alipay.IsAgreementGone(res.Err))
		}
		biz := bizOf(t, g.requests()[0])
		ap, _ := biz["agreement_params"].(map[string]any)
		if biz["product_code"] != "GENERAL_WITHHOLDING" || ap["agreement_no"] != "20215919764488921116" ||
			biz["scene"] != nil || biz["auth_code"] != nil || biz["buyer_id"] != "2088102363632794" {
			t.Errorf("biz_content = %v", biz)
		}
	}

	invalid := []struct {
		name string
		mod  func(*alipay.TradePayRequest)
	}{
		{"auth_code beside the agreement", func(r *alipay.TradePayRequest) { r.AuthCode = "287634438256643940" }},
		{"scene beside the agreement", func(r *alipay.TradePayRequest) { r.Scene = alipay.SceneBarCode }},
		{"no agreement number", func(r *alipay.TradePayRequest) { r.AgreementParams.AgreementNo = "" }},
		{"malformed agreement number", func(r *alipay.TradePayRequest) { r.AgreementParams.AgreementNo = "2021-59" }},
		{"face-to-face product", func(r *alipay.TradePayRequest) { r.ProductCode = alipay.ProductFaceToFace }},
		{"bad buyer_id", func(r *alipay.TradePayRequest) { r.BuyerID = "12345" }},
		{"no subject", func(r *alipay.TradePayRequest) { r.Subject = "" }},
		{"zero amount", func(r *alipay.TradePayRequest) { r.TotalAmount = 0 }},
	}
	g := newGateway(t, func(string, url.Values) reply {
		t.Error("an invalid request was sent")
		return reply{content: paidNode}
	})
	c := newClient(t, g)
	for _, tt := range invalid {
		req := agreementPay()
		tt.mod(req)
		if _, err := c.TradePay(context.Background(), req); !errors.Is(err, alipay.ErrInvalidRequest) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}

func signRequest() *alipay.AgreementPageSignRequest {
	return &alipay.AgreementPageSignRequest{
		PersonalProductCode: alipay.PersonalGeneralWithholding, ProductCode: alipay.ProductGeneralWithholding,
		AccessParams: alipay.AccessParams{Channel: alipay.ChannelAlipayApp}, SignScene: alipay.SceneVendingMachine,
		ExternalAgreementNo: "M00042-1", ExternalLogonID: "member 42",
		DeviceParams: &alipay.AgreementDeviceParams{DeviceID: "C-01", DeviceName: "cabinet", DeviceType: "VENDING_MACHINE"},
	}
}

func TestAgreementPageSignURL(t *testing.T) {
	t.Parallel()
	g := newGateway(t, func(string, url.Values) reply { t.Error("a page link must not be sent"); return reply{} })
	c := newClient(t, g)
	link, err := c.AgreementPageSignURL(context.Background(), signRequest(),
		alipay.WithReturnURL("https://merchant.example/member/signed?m=42"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(link)
	if err != nil || u.Scheme+"://"+u.Host+u.Path != g.URL() {
		t.Fatalf("link %q", link)
	}
	p := u.Query()
	if err := alipay.VerifyParams(&appKey().PublicKey, p); err != nil {
		t.Fatalf("link signature: %v", err)
	}
	if p.Get("method") != alipay.MethodUserAgreementPageSign || p.Get("return_url") != "https://merchant.example/member/signed?m=42" ||
		p.Get("notify_url") != "https://merchant.example/notify" {
		t.Errorf("params %v", p)
	}
	biz := bizOf(t, p)
	if biz["personal_product_code"] != "GENERAL_WITHHOLDING_P" || biz["sign_scene"] != "INDUSTRY|VENDING_MACHINE" ||
		biz["access_params"].(map[string]any)["channel"] != "ALIPAYAPP" || biz["external_agreement_no"] != "M00042-1" {
		t.Errorf("biz_content %v", biz)
	}

	wallet, err := alipay.AgreementWalletLink(link)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := url.Parse(wallet)
	if w.Scheme != "alipays" || w.Query().Get("appId") != "60000157" || w.Query().Get("sign_params") != u.RawQuery {
		t.Errorf("wallet link %q", wallet)
	}

	invalid := []func(*alipay.AgreementPageSignRequest){
		func(r *alipay.AgreementPageSignRequest) { r.PersonalProductCode = "" },
		func(r *alipay.AgreementPageSignRequest) { r.AccessParams.Channel = "WECHAT" },
		func(r *alipay.AgreementPageSignRequest) { r.SignScene = alipay.SceneDefault },
		func(r *alipay.AgreementPageSignRequest) { r.SignScene = "vending" },
		func(r *alipay.AgreementPageSignRequest) { r.ExternalAgreementNo = "has space" },
		func(r *alipay.AgreementPageSignRequest) { r.SignValidityPeriod = "1y" },
		func(r *alipay.AgreementPageSignRequest) { r.EffectTime = 86401 },
	}
	for i, mod := range invalid {
		req := signRequest()
		mod(req)
		if _, err := c.AgreementPageSignURL(context.Background(), req); !errors.Is(err, alipay.ErrInvalidRequest) {
			t.Errorf("invalid %d: %v", i, err)
		}
	}
}

func TestAgreementQueryAndUnsign(t *testing.T) {
	t.Parallel()
	const found = `{"code":"10000","msg":"Success","agreement_no":"20215919764488921116","alipay_logon_id":"157******67","external_agreement_no":"M00042-1","invalid_time":"2115-02-01 00:00:00","personal_product_code":"GENERAL_WITHHOLDING_P","pricipal_type":"CARD","principal_id":"2088102363632794","sign_scene":"INDUSTRY|VENDING_MACHINE","sign_time":"2026-03-14 10:00:00","status":"NORMAL","third_party_type":"PARTNER","valid_time":"2026-03-14 10:00:00"}`
	const missing = `{"code":"40004","msg":"Business Failed","sub_code":"USER_AGREEMENT_NOT_EXIST","sub_msg":"用户协议不存在"}`
	answer := found
	g := newGateway(t, func(method string, p url.Values) reply {
		if method == alipay.MethodUserAgreementUnsign {
			return reply{content: `{"code":"10000","msg":"Success"}`}
		}
		return reply{content: answer}
	})
	c := newClient(t, g)
	ctx := context.Background()
	q, err := c.AgreementQuery(ctx, &alipay.AgreementRef{AgreementNo: "20215919764488921116"})
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != alipay.AgreementNormal || q.PrincipalID != "2088102363632794" || q.PrincipalType != "CARD" ||
		q.InvalidTime.String() != "2115-02-01 00:00:00" || q.ExternalAgreementNo != "M00042-1" {
		t.Errorf("query = %+v", q)
	}
	answer = missing
	_, err = c.AgreementQuery(ctx, &alipay.AgreementRef{PersonalProductCode: alipay.PersonalGeneralWithholding,
		SignScene: alipay.SceneVendingMachine, AlipayUserID: "2088102363632794"})
	if !alipay.IsAgreementGone(err) {
		t.Errorf("missing agreement: %v", err)
	}
	if _, err := c.AgreementUnsign(ctx, &alipay.AgreementUnsignRequest{AgreementRef: alipay.AgreementRef{
		PersonalProductCode: alipay.PersonalGeneralWithholding, SignScene: alipay.SceneVendingMachine, ExternalAgreementNo: "M00042-1"}}); err != nil {
		t.Fatal(err)
	}
	reqs := g.requests()
	if biz := bizOf(t, reqs[1]); biz["alipay_user_id"] != "2088102363632794" || biz["agreement_no"] != nil {
		t.Errorf("query by user: %v", biz)
	}
	if biz := bizOf(t, reqs[2]); reqs[2].Get("method") != alipay.MethodUserAgreementUnsign || biz["external_agreement_no"] != "M00042-1" ||
		biz["sign_scene"] != "INDUSTRY|VENDING_MACHINE" || reqs[2].Has("notify_url") {
		t.Errorf("unsign: %v %v", reqs[2], biz)
	}

	invalid := []alipay.AgreementRef{
		{},
		{AgreementNo: "x"},
		{PersonalProductCode: alipay.PersonalGeneralWithholding, AlipayUserID: "2088102363632794"},
		{PersonalProductCode: alipay.PersonalGeneralWithholding, SignScene: alipay.SceneVendingMachine},
		{PersonalProductCode: alipay.PersonalGeneralWithholding, SignScene: alipay.SceneDefault, ExternalAgreementNo: "M1"},
	}
	for _, ref := range invalid {
		if _, err := c.AgreementQuery(ctx, &ref); !errors.Is(err, alipay.ErrInvalidRequest) {
			t.Errorf("query %+v: %v", ref, err)
		}
		if _, err := c.AgreementUnsign(ctx, &alipay.AgreementUnsignRequest{AgreementRef: ref}); !errors.Is(err, alipay.ErrInvalidRequest) {
			t.Errorf("unsign %+v: %v", ref, err)
		}
	}
	if len(g.requests()) != 3 {
		t.Errorf("invalid requests were sent")
	}
}

// signedAgreementNotification is the 2022 dut_user_sign sample, reshaped for this
// client's app.
func signedAgreementNotification() url.Values {
	return url.Values{
		"notify_type": {"dut_user_sign"}, "notify_id": {"2022051000222211039022101422087419"},
		"notify_time": {"2022-05-10 21:10:40"}, "app_id": {"2021000000000001"}, "auth_app_id": {"2021000000000001"},
		"charset": {"utf-8"}, "version": {"1.0"}, "agreement_no": {"20225310838635316223"},
		"external_agreement_no": {"1700336165218822912819-config"}, "personal_product_code": {"GENERAL_WITHHOLDING_P"},
		"sign_scene": {"INDUSTRY|VENDING_MACHINE"}, "status": {"NORMAL"}, "alipay_user_id": {"2088102363632794"},
		"alipay_logon_id": {"157******67"}, "sign_time": {"2022-05-10 21:10:39"}, "valid_time": {"2022-05-10 21:10:39"},
		"invalid_time": {"2115-02-01 00:00:00"},
	}
}

func unsignedAgreementNotification() url.Values {
	return url.Values{
		"notify_type": {"dut_user_unsign"}, "notify_id": {"2021042500222132138022101422087419"},
		"notify_time": {"2021-04-25 13:21:39"}, "app_id": {"2021000000000001"}, "auth_app_id": {"2021000000000001"},
		"charset": {"utf-8"}, "version": {"1.0"}, "agreement_no": {"20215225715271617440"},
		"personal_product_code": {"GENERAL_WITHHOLDING_P"}, "sign_scene": {"INDUSTRY|GAME_CHARGE"}, "status": {"UNSIGN"},
		"alipay_user_id": {"2088102363632794"}, "unsign_time": {"2021-04-25 13:21:38"},
	}
}

func TestAgreementNotifications(t *testing.T) {
	t.Parallel()
	c := newClient(t, newGateway(t, nil))
	a, err := c.ParseAgreementNotification([]byte(signNotification(t, signedAgreementNotification()).Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if !a.Notification.IsAgreement() {
		t.Error("IsAgreement false for dut_user_sign")
	}
	if n, _ := c.ParseNotification([]byte(signNotification(t, paidNotification()).Encode())); n.IsAgreement() {
		t.Error("IsAgreement true for trade_status_sync")
	}
	if !a.Signed() || a.AgreementNo != "20225310838635316223" || a.AlipayUserID != "2088102363632794" ||
		a.ExternalAgreementNo != "1700336165218822912819-config" || a.SignTime.String() != "2022-05-10 21:10:39" ||
		a.InvalidTime.String() != "2115-02-01 00:00:00" || a.Notification.Values.Get("alipay_logon_id") != "157******67" {
		t.Errorf("sign = %+v", a)
	}
	u, err := c.ParseAgreementNotification([]byte(signNotification(t, unsignedAgreementNotification()).Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if u.Signed() || u.Status != alipay.AgreementUnsign || u.UnsignTime.String() != "2021-04-25 13:21:38" {
		t.Errorf("unsign = %+v", u)
	}

	bad := []struct {
		name string
		form func() url.Values
	}{
		{"a trade notification", func() url.Values { return signNotification(t, paidNotification()) }},
		{"unsigned", func() url.Values { f := signedAgreementNotification(); f.Set("sign", "AAAA"); return f }},
		{"tampered after signing", func() url.Values {
			f := signNotification(t, signedAgreementNotification())
			f.Set("agreement_no", "20225310838635316224")
			return f
		}},
		{"another app", func() url.Values {
			f := signedAgreementNotification()
			f.Set("app_id", "2021000000000002")
			return signNotification(t, f)
		}},
		{"no agreement_no", func() url.Values {
			f := signedAgreementNotification()
			f.Del("agreement_no")
			return signNotification(t, f)
		}},
		{"no user", func() url.Values {
			f := signedAgreementNotification()
			f.Del("alipay_user_id")
			return signNotification(t, f)
		}},
		{"unsign with NORMAL", func() url.Values {
			f := unsignedAgreementNotification()
			f.Set("status", "NORMAL")
			return signNotification(t, f)
		}},
		{"bad time", func() url.Values {
			f := signedAgreementNotification()
			f.Set("sign_time", "yesterday")
			return signNotification(t, f)
		}},
	}
	for _, tt := range bad {
		if _, err := c.ParseAgreementNotification([]byte(tt.form().Encode())); !errors.Is(err, alipay.ErrNotification) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
}

func FuzzAgreementNotification(f *testing.F) {
	f.Add([]byte(signNotification(f, signedAgreementNotification()).Encode()))
	f.Add([]byte(signNotification(f, unsignedAgreementNotification()).Encode()))
	f.Add([]byte("notify_type=dut_user_sign&sign=x"))
	c := newClient(f, newGateway(f, nil))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := c.ParseAgreementNotification(body)
		if err != nil {
			return
		}
		if a.AppID != "2021000000000001" || a.AgreementNo == "" || (a.Signed() && a.Status != alipay.AgreementNormal) {
			t.Fatalf("accepted %+v", a)
		}
	})
}

// FuzzAgreementFields decodes any (unsigned) form as an agreement notification: the
// decoder must never panic and never accept one without its agreement and buyer.
func FuzzAgreementFields(f *testing.F) {
	f.Add(signedAgreementNotification().Encode())
	f.Add(unsignedAgreementNotification().Encode())
	f.Add("notify_type=dut_user_unsign&agreement_no=20215225715271617440&status=UNSIGN&alipay_open_id=x&unsign_time=2021-13-45+99:00:00")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		n := &alipay.Notification{NotifyType: form.Get("notify_type"), Values: form}
		a, err := n.Agreement()
		if err != nil {
			return
		}
		if a.AgreementNo == "" || (a.AlipayUserID == "" && a.AlipayOpenID == "") || a.Status == "" {
			t.Fatalf("accepted %+v", a)
		}
	})
}

func FuzzParseSmilepayResult(f *testing.F) {
	f.Add(`{"type":"zimInit","zimId":"z1","zimInitClientData":"d1"}`)
	f.Add(`{"zimId":null}`)
	f.Add(`"zimId"`)
	f.Fuzz(func(t *testing.T, s string) {
		id, data, err := alipay.ParseSmilepayResult(s)
		if err == nil && (id == "" || data == "") {
			t.Fatalf("accepted %q", s)
		}
	})
}
