package alipay_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
)

// signNotification signs form as Alipay signs trade_status_sync: every field but sign and
// sign_type.
func signNotification(t testing.TB, form url.Values) url.Values {
	t.Helper()
	form.Set("sign_type", "RSA2")
	content := alipay.SignContent(form, "sign", "sign_type")
	sig, err := alipay.NewKeySigner(alipayKey()).Sign(context.Background(), alipay.RSA2, []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	form.Set("sign", base64.StdEncoding.EncodeToString(sig))
	return form
}

func paidNotification() url.Values {
	return url.Values{
		"notify_time": {"2024-05-13 17:49:25"}, "notify_type": {"trade_status_sync"},
		"notify_id": {"2024051300222174925068450559358070"}, "app_id": {"2021000000000001"},
		"auth_app_id": {"2021000000000001"}, "charset": {"utf-8"}, "version": {"1.0"},
		"trade_no": {"2024051322001432790585537960"}, "out_trade_no": {"20150320010101001"},
		"buyer_id": {"2088102363632794"}, "buyer_logon_id": {"159****5620"},
		"seller_id": {"2088102146225135"}, "trade_status": {"TRADE_SUCCESS"},
		"total_amount": {"88.88"}, "receipt_amount": {"78.88"}, "invoice_amount": {"78.88"},
		"buyer_pay_amount": {"78.88"}, "point_amount": {"0.00"}, "subject": {"Iphone6 16G & 配件"},
		"gmt_create": {"2024-05-13 17:49:20"}, "gmt_payment": {"2024-05-13 17:49:21"},
		"fund_bill_list":                {`[{"amount":"78.88","fundChannel":"ALIPAYACCOUNT"},{"amount":"10.00","fundChannel":"DISCOUNT"}]`},
		"voucher_detail_list":           {`[{"amount":"10.00","merchantContribute":"0.00","name":"店庆券","otherContribute":"10.00","type":"ALIPAY_FIX_VOUCHER","voucherId":"2016"}]`},
		"extra_field_alipay_adds_later": {"kept"},
	}
}

func TestNotificationVerifies(t *testing.T) {
	c := newClient(t, newGateway(t, nil))
	form := signNotification(t, paidNotification())
	n, err := c.VerifyNotification(form)
	if err != nil {
		t.Fatal(err)
	}
	if n.TradeStatus != alipay.TradeSuccess || n.TotalAmount != 8888 || n.ReceiptAmount != 7888 ||
		n.OutTradeNo != "20150320010101001" || n.SellerID != "2088102146225135" || n.IsRefund() {
		t.Errorf("notification = %+v", n)
	}
	if len(n.FundBillList) != 2 || n.FundBillList[1].FundChannel != "DISCOUNT" || n.FundBillList[1].Amount != 1000 {
		t.Errorf("fund_bill_list = %+v", n.FundBillList)
	}
	if len(n.VoucherDetailList) != 1 || n.VoucherDetailList[0].ID != "2016" || n.VoucherDetailList[0].OtherContribute != 1000 {
		t.Errorf("voucher_detail_list = %+v", n.VoucherDetailList)
	}
	if n.Extra["extra_field_alipay_adds_later"] != "kept" || n.GmtPayment.String() != "2024-05-13 17:49:21" {
		t.Errorf("extra = %v, gmt_payment %v", n.Extra, n.GmtPayment)
	}

	// The raw body round trip: exactly as POSTed, decoded once.
	if _, err := c.ParseNotification([]byte(form.Encode())); err != nil {
		t.Errorf("raw body: %v", err)
	}
}

func TestForgedNotificationsAreRefused(t *testing.T) {
	c := newClient(t, newGateway(t, nil))
	tests := []struct {
		name string
		make func() url.Values
		want string
	}{
		{"changed amount", func() url.Values {
			f := signNotification(t, paidNotification())
			f.Set("total_amount", "0.01")
			return f
		}, "signature"},
		{"added field", func() url.Values {
			f := signNotification(t, paidNotification())
			f.Set("refund_fee", "88.88")
			return f
		}, "signature"},
		{"unsigned", func() url.Values { return paidNotification() }, "no sign"},
		{"signed by someone else", func() url.Values {
			f := paidNotification()
			sig, _ := alipay.NewKeySigner(otherKey()).Sign(context.Background(), alipay.RSA2, []byte(alipay.SignContent(f, "sign", "sign_type")))
			f.Set("sign", base64.StdEncoding.EncodeToString(sig))
			f.Set("sign_type", "RSA2")
			return f
		}, "signature"},
		{"another app's notification", func() url.Values {
			f := paidNotification()
			f.Set("app_id", "2021000000000999")
			return signNotification(t, f)
		}, "not this client's app"},
		{"garbage amount, validly signed", func() url.Values {
			f := paidNotification()
			f.Set("total_amount", "88.888")
			return signNotification(t, f)
		}, "total_amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.VerifyNotification(tt.make())
			if !errors.Is(err, alipay.ErrNotification) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrNotification mentioning %q", err, tt.want)
			}
		})
	}
}

func TestNotificationRequestIgnoresQuery(t *testing.T) {
	c := newClient(t, newGateway(t, nil))
	body := signNotification(t, paidNotification()).Encode()
	var got *alipay.Notification
	var gotErr error
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotErr = c.ParseNotificationRequest(r)
		if gotErr != nil {
			http.Error(w, "fail", http.StatusBadRequest)
			return
		}
		alipay.AckNotification(w)
	})
	// A query string on the notify URL must not join the verified set.
	req := httptest.NewRequest(http.MethodPost, "/notify?trade_status=TRADE_CLOSED", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if gotErr != nil || rec.Body.String() != "success" || got.TradeStatus != alipay.TradeSuccess {
		t.Fatalf("err %v body %q status %v", gotErr, rec.Body.String(), got)
	}
	big := strings.Repeat("a", alipay.MaxNotificationBytes+1)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/notify", strings.NewReader(big)))
	if gotErr == nil || rec.Code != http.StatusBadRequest {
		t.Fatalf("oversized body accepted: %v", gotErr)
	}
}

func FuzzParseNotification(f *testing.F) {
	f.Add([]byte(signNotification(f, paidNotification()).Encode()))
	f.Add([]byte("a=%zz&sign=x"))
	f.Add([]byte("sign=&sign_type=RSA2"))
	c := newClient(f, newGateway(f, nil))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := c.ParseNotification(body)
		if err == nil && n.AppID != "2021000000000001" {
			t.Fatalf("accepted a notification for app %q", n.AppID)
		}
	})
}
