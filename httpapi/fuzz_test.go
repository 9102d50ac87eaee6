package httpapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// FuzzPaymentBody runs terminal request bodies through the same decoding and
// validation the handlers use. Whatever the input: no panic, and a refusal is always
// an EINVALID *f2fpay.Error with a message (never an internal error, which would
// answer 500 to a terminal's typo); an accepted amount is a valid trade amount.
func FuzzPaymentBody(f *testing.F) {
	for _, s := range []string{
		`{"auth_code":"286248123456789012","amount":"88.88","subject":"coffee","wait_seconds":30}`,
		`{"amount":"0.01","subject":"x","pay_timeout_seconds":60,"out_trade_no":"A-1.b_2"}`,
		`{"amount":1.5}`, `{"amount":"1.001"}`, `[]`, `{"subject":"\u0000"}`, ``, `{} {}`, `{"amount":"100000000.01"}`,
		`{"wait_seconds":-1,"amount":"1","subject":"s"}`, `{"amount":"007","subject":"s"}`, `{"x":1}`, `{"amount":null}`,
		`{"amount":"1.00","subject":"s","amount":"2.00"}`, `{"amount":"1.00","Subject":"s","subject":"t"}`,
		"{\"amount\":\"1.00\",\"subject\":\"\xbf\xa7\"}", `{"amount":"1.00","subject":"\ud800"}`,
		`{"amount":"1.00","subject":"` + strings.Repeat("汉", 129) + `"}`,
	} {
		f.Add([]byte(s))
	}
	s := &Server{maxWait: 60 * time.Second}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req paymentRequest
		err := decodeJSON(body, &req)
		if err == nil {
			r := httptest.NewRequest(http.MethodPost, "/v1/payments/qr", nil)
			ri := &reqInfo{terminal: &f2fpay.Terminal{ID: 1}}
			r = r.WithContext(withInfo(r.Context(), ri))
			var f paymentFields
			f, err = s.commonFields(r, &req)
			if err == nil {
				if f.amount.CheckTrade() != nil {
					t.Fatalf("accepted amount %v is not a trade amount", f.amount)
				}
				if alipay.LimitSubject.Check(req.Subject) != nil || alipay.LimitBody.Check(req.Body) != nil || alipay.LimitOperatorID.Check(req.OperatorID) != nil {
					t.Fatalf("accepted text Alipay would refuse: %q %q %q", req.Subject, req.Body, req.OperatorID)
				}
				if ri.outTradeNo == "" || f2fpay.CheckID("out_trade_no", ri.outTradeNo, true, 64) != nil {
					t.Fatalf("bad out_trade_no %q", ri.outTradeNo)
				}
				return
			}
		}
		var fe *f2fpay.Error
		if !errors.As(err, &fe) || fe.Code != f2fpay.EINVALID || strings.TrimSpace(fe.Message) == "" {
			t.Fatalf("refusal %v is not an EINVALID error with a message", err)
		}
	})
}

// FuzzWait: the long-poll parameter never yields a negative or over-long wait.
func FuzzWait(f *testing.F) {
	for _, s := range []string{"30s", "30", "", "-1s", "1h", "1e9", "0", "59.999s", "9223372036854775807"} {
		f.Add(s)
	}
	s := &Server{maxWait: 60 * time.Second}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := s.parseWait(v)
		if err != nil {
			if f2fpay.ErrorCode(err) != f2fpay.EINVALID {
				t.Fatalf("%q: %v", v, err)
			}
			return
		}
		if d < 0 || d > s.maxWait {
			t.Fatalf("%q accepted as %v", v, d)
		}
	})
}

// FuzzHeartbeatBody runs machines' heartbeat bodies through parseHeartbeat: no panic,
// a refusal is an EINVALID with a message, and an accepted heartbeat is valid.
func FuzzHeartbeatBody(f *testing.F) {
	for _, s := range []string{
		`{"status":"normal","errors":["E12"],"temperature":4.5,"door":"closed","network_type":"4G","trades":[{"out_trade_no":"T1","seconds":3,"status":"S"}]}`,
		`{"status":"sleep"}`, `{"status":"melting"}`, `{"temperature":1e400,"status":"on"}`, `{"status":"on","door":"ajar"}`,
		`{"status":"on","trades":[{"out_trade_no":"","seconds":100,"status":"Q"}]}`, `[]`, ``, `{"status":"on","errors":["a b"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		hb, err := parseHeartbeat(body)
		if err != nil {
			var e *f2fpay.Error
			if !errors.As(err, &e) || e.Code != f2fpay.EINVALID || e.Message == "" {
				t.Fatalf("refusal %v is not an EINVALID with a message", err)
			}
			return
		}
		if hb.Validate() != nil {
			t.Fatalf("accepted an invalid heartbeat %+v", hb)
		}
	})
}

// FuzzVendBody runs vend bodies through the decoder and parseVendLines: no panic, a
// refusal is EINVALID with a message, and accepted lines are what the vend service may
// check against a planogram (a trade amount, a quantity it accepts, a slot code).
func FuzzVendBody(f *testing.F) {
	for _, s := range []string{
		`{"items":[{"slot":"A1","quantity":2,"price":"3.00"},{"slot":"B2","quantity":1,"price":"3.50"}]}`,
		`{"items":[]}`, `{"items":[{"slot":"","quantity":1,"price":"1"}]}`, `{"items":[{"slot":"A1","quantity":0,"price":"1.00"}]}`,
		`{"items":[{"slot":"A1","quantity":1,"price":"-1.00"}]}`, `{"items":[{"slot":"A 1","quantity":1,"price":"1.00"}]}`,
		`{"items":[{"slot":"A1","quantity":1,"price":"100000000.01"}]}`, `{"pay":"face","items":[{"slot":"A1","quantity":11,"price":"1"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req vendRequest
		if decodeJSON(body, &req) != nil {
			return
		}
		lines, err := parseVendLines(req.Items)
		if err != nil {
			if f2fpay.ErrorCode(err) != f2fpay.EINVALID || f2fpay.ErrorMessage(err) == "" {
				t.Fatalf("refusal %v", err)
			}
			return
		}
		for _, l := range lines {
			if l.Price.CheckTrade() != nil || l.Quantity < 1 || l.Quantity > f2fpay.MaxVendItems || f2fpay.CheckID("slot", l.Slot, true, f2fpay.MaxSlotCodeLen) != nil {
				t.Fatalf("accepted line %+v", l)
			}
		}
	})
}
