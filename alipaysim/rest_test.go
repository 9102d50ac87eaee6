package alipaysim

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// restReq is one hand-made REST request; the zero fields get sane defaults.
type restReq struct {
	method, path, body string
	appID, appCertSN   string
	rootSN             string
	nonce              string
	ts                 int64
	token              string // alipay-app-auth-token
	tokenUnsigned      bool   // send the token header but leave it out of the signature
	key                *rsa.PrivateKey
	auth               *string // the Authorization header verbatim
}

type restResp struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

var restNonce int

func (b *bundle) rest(r restReq) restResp {
	b.t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	if r.appID == "" {
		r.appID = b.app.AppID
	}
	if r.nonce == "" {
		restNonce++
		r.nonce = "n" + strconv.Itoa(restNonce) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	if r.ts == 0 {
		r.ts = time.Now().UnixMilli()
	}
	key := r.key
	if key == nil {
		key, _ = keys(b.t)
	}
	authString := "app_id=" + r.appID
	if r.appCertSN != "" {
		authString += ",app_cert_sn=" + r.appCertSN
	}
	authString += ",nonce=" + r.nonce + ",timestamp=" + strconv.FormatInt(r.ts, 10)
	signedToken := r.token
	if r.tokenUnsigned {
		signedToken = ""
	}
	sig, err := alipay.NewKeySigner(key).Sign(context.Background(), alipay.RSA2, restStringToSign(authString, r.method, r.path, []byte(r.body), signedToken))
	if err != nil {
		b.t.Fatal(err)
	}
	req, _ := http.NewRequest(r.method, b.srv.URL+r.path, strings.NewReader(r.body))
	if r.auth != nil {
		if *r.auth != "" {
			req.Header.Set("Authorization", *r.auth)
		}
	} else {
		req.Header.Set("Authorization", "ALIPAY-SHA256withRSA "+authString+",sign="+base64.StdEncoding.EncodeToString(sig))
	}
	req.Header.Set("Content-Type", "application/json")
	if r.rootSN != "" {
		req.Header.Set("alipay-root-cert-sn", r.rootSN)
	}
	if r.token != "" {
		req.Header.Set("alipay-app-auth-token", r.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := restResp{status: resp.StatusCode, header: resp.Header, body: body}
	json.Unmarshal(body, &out.json)
	return out
}

// verifyREST checks an answer's signature with pub, as every SDK does.
func verifyREST(t testing.TB, pub *rsa.PublicKey, r restResp) {
	t.Helper()
	ts, nonce, sig := r.header.Get("alipay-timestamp"), r.header.Get("alipay-nonce"), r.header.Get("alipay-signature")
	if ts == "" || nonce == "" || sig == "" || r.header.Get("alipay-trace-id") == "" {
		t.Fatalf("answer lacks signature headers: %v", r.header)
	}
	if err := alipay.VerifySignature(pub, alipay.RSA2, restResponseToSign(ts, nonce, r.body), sig); err != nil {
		t.Fatalf("answer signature: %v (body %s)", err, r.body)
	}
}

func jsonBody(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestRESTProtocol(t *testing.T) {
	b := setup(t)
	_, sk := keys(t)
	rich := b.buyer("500.00")
	careful := b.buyer("500.00", func(s *BuyerSpec) {
		th := f2fpay.MustParseAmount("10.00")
		s.PasswordThreshold, s.PayPassword = &th, "123456"
	})
	stale := time.Now().Add(-11 * time.Minute).UnixMilli()
	empty := ""
	garbled := "ALIPAY-SHA256withRSA app_id=" + b.app.AppID + ",nonce=x,timestamp=1"

	tests := []struct {
		name   string
		req    func() restReq
		fault  *Fault
		status int
		code   string            // error code, or "" for success
		fields map[string]string // expected fields of a success body
		absent []string          // fields a success body must not have
	}{
		{name: "pay paid", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/pay", body: jsonBody(pay("r1", b.code(rich.UserID), "12.50"))}
		}, status: 200, fields: map[string]string{"out_trade_no": "r1", "total_amount": "12.50", "receipt_amount": "12.50"}, absent: []string{"code", "msg"}},
		{name: "pay waiting for the buyer's password is 200 without gmt_payment", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/pay", body: jsonBody(pay("r2", b.code(careful.UserID), "20.00"))}
		}, status: 200, fields: map[string]string{"out_trade_no": "r2", "buyer_pay_amount": "0.00"}, absent: []string{"gmt_payment", "fund_bill_list", "code"}},
		{name: "pay with a bad code", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/pay", body: jsonBody(pay("r3", "289999999999999999", "1.00"))}
		}, status: 400, code: "ACQ.PAYMENT_AUTH_CODE_INVALID"},
		{name: "system error is 400 ACQ.SYSTEM_ERROR", fault: &Fault{Kind: FaultSystemError, OutTradeNo: "r4", Count: 1}, req: func() restReq {
			return restReq{path: "/v3/alipay/trade/pay", body: jsonBody(pay("r4", b.code(rich.UserID), "1.00"))}
		}, status: 400, code: "ACQ.SYSTEM_ERROR"},
		{name: "query by POST", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/query", body: `{"out_trade_no":"r1"}`}
		}, status: 200, fields: map[string]string{"trade_status": "TRADE_SUCCESS", "total_amount": "12.50"}},
		{name: "query by GET with the query string signed", req: func() restReq {
			return restReq{method: "GET", path: "/v3/alipay/trade/query?out_trade_no=r2"}
		}, status: 200, fields: map[string]string{"trade_status": "WAIT_BUYER_PAY"}},
		{name: "query of nothing", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/query", body: `{"out_trade_no":"nope"}`}
		}, status: 400, code: "ACQ.TRADE_NOT_EXIST"},
		{name: "refund", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/refund", body: `{"out_trade_no":"r1","refund_amount":"2.50","out_request_no":"rf1"}`}
		}, status: 200, fields: map[string]string{"fund_change": "Y", "refund_fee": "2.50"}},
		{name: "refund query", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/fastpay/refund/query", body: `{"out_trade_no":"r1","out_request_no":"rf1"}`}
		}, status: 200, fields: map[string]string{"refund_status": "REFUND_SUCCESS", "refund_amount": "2.50"}},
		{name: "precreate", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/precreate", body: `{"out_trade_no":"r5","total_amount":"3.00","subject":"qr"}`}
		}, status: 200, fields: map[string]string{"out_trade_no": "r5"}},
		{name: "create", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/create", body: jsonBody(map[string]string{"out_trade_no": "r6", "total_amount": "3.00", "subject": "js", "buyer_id": rich.UserID})}
		}, status: 200, fields: map[string]string{"out_trade_no": "r6"}},
		{name: "close", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/close", body: `{"out_trade_no":"r6"}`}
		}, status: 200, fields: map[string]string{"out_trade_no": "r6"}},
		{name: "cancel", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/cancel", body: `{"out_trade_no":"r2"}`}
		}, status: 200, fields: map[string]string{"action": "close"}},
		{name: "no Authorization", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/query", body: `{}`, auth: &empty}
		}, status: 400, code: "missing-timestamp"},
		{name: "Authorization without sign", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/query", body: `{}`, auth: &garbled}
		}, status: 401, code: "missing-signature"},
		{name: "signed by another key", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/query", body: `{"out_trade_no":"r1"}`, key: sk}
		}, status: 401, code: "invalid-signature"},
		{name: "stale timestamp", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/query", body: `{"out_trade_no":"r1"}`, ts: stale}
		}, status: 400, code: "invalid-timestamp"},
		{name: "unknown app", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/query", body: `{}`, appID: "2021000000000000"}
		}, status: 400, code: "invalid-app-id"},
		{name: "unknown path", req: func() restReq { return restReq{path: "/v3/alipay/trade/teleport", body: `{}`} }, status: 404, code: "invalid-method"},
		{name: "GET on pay", req: func() restReq { return restReq{method: "GET", path: "/v3/alipay/trade/pay"} }, status: 405, code: "invalid-method"},
		{name: "body not an object", req: func() restReq { return restReq{path: "/v3/alipay/trade/query", body: `[1]`} }, status: 400, code: "invalid-parameter"},
		{name: "app auth token left out of the signature", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/query", body: `{"out_trade_no":"r1"}`, token: "202401BB", tokenUnsigned: true}
		}, status: 401, code: "invalid-signature"},
		{name: "app auth token signed, then refused", req: func() restReq {
			return restReq{path: "/v3/alipay/trade/query", body: `{"out_trade_no":"r1"}`, token: "202401BB"}
		}, status: 400, code: "invalid-parameter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != nil {
				if _, err := b.sim.AddFault(*tc.fault); err != nil {
					t.Fatal(err)
				}
			}
			r := b.rest(tc.req())
			if r.status != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", r.status, tc.status, r.body)
			}
			verifyREST(t, &sk.PublicKey, r)
			if tc.code != "" {
				if r.json["code"] != tc.code || r.json["message"] == "" {
					t.Fatalf("error body %s, want code %s and a message", r.body, tc.code)
				}
				return
			}
			for k, v := range tc.fields {
				if got, _ := r.json[k].(string); got != v {
					t.Errorf("%s = %v, want %s (body %s)", k, r.json[k], v, r.body)
				}
			}
			for _, k := range tc.absent {
				if _, ok := r.json[k]; ok {
					t.Errorf("%s present in %s", k, r.body)
				}
			}
		})
	}
	if tr, err := b.sim.TradeByOutTradeNo(b.app.AppID, "r1"); err != nil || tr.RefundFee != f2fpay.MustParseAmount("2.50") {
		t.Errorf("the REST refund did not reach the trade engine: %v %+v", err, tr)
	}
}

// A nonce works once: the same signed request sent again is refused, and the first
// one's effect stands.
func TestRESTReplayedNonce(t *testing.T) {
	b := setup(t)
	by := b.buyer("100.00")
	req := restReq{path: "/v3/alipay/trade/pay", body: jsonBody(pay("once", b.code(by.UserID), "5.00")), nonce: "fixed-nonce-1"}
	if r := b.rest(req); r.status != 200 {
		t.Fatalf("first: %d %s", r.status, r.body)
	}
	r := b.rest(req)
	if r.status != 400 || r.json["code"] != "invalid-nonce" {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	got, _ := b.sim.Buyer(by.UserID)
	if got.Balance != f2fpay.MustParseAmount("95.00") {
		t.Errorf("balance %v after a replayed payment, want 95.00", got.Balance)
	}
}

// Post-commit faults break the REST answer the way they break the form one.
func TestRESTFaults(t *testing.T) {
	b := setup(t)
	_, sk := keys(t)
	by := b.buyer("100.00")
	b.sim.AddFault(Fault{Kind: FaultBadSignature, OutTradeNo: "bs", Count: 1})
	r := b.rest(restReq{path: "/v3/alipay/trade/pay", body: jsonBody(pay("bs", b.code(by.UserID), "1.00"))})
	if r.status != 200 || alipay.VerifySignature(&sk.PublicKey, alipay.RSA2,
		restResponseToSign(r.header.Get("alipay-timestamp"), r.header.Get("alipay-nonce"), r.body), r.header.Get("alipay-signature")) == nil {
		t.Errorf("bad_signature fault: the answer still verifies (%d)", r.status)
	}
	b.sim.AddFault(Fault{Kind: FaultHTTP502, OutTradeNo: "gw", Count: 1})
	if r := b.rest(restReq{path: "/v3/alipay/trade/pay", body: jsonBody(pay("gw", b.code(by.UserID), "1.00"))}); r.status != 502 {
		t.Errorf("http_502 fault: %d", r.status)
	}
}

func TestParseRESTAuthorization(t *testing.T) {
	tests := []struct {
		h      string
		ok     bool
		code   string
		authSt string
	}{
		{"ALIPAY-SHA256withRSA app_id=1,nonce=n,timestamp=5,sign=abc=", true, "", "app_id=1,nonce=n,timestamp=5"},
		{"ALIPAY-SHA256withRSA app_id=1,app_cert_sn=ff,nonce=n,timestamp=5,expired_seconds=120,sign=a+b/c==", true, "", "app_id=1,app_cert_sn=ff,nonce=n,timestamp=5,expired_seconds=120"},
		{"ALIPAY-SHA256withRSA app_id=1,nonce=n,timestamp=5,biz=x=y,sign=abc", true, "", "app_id=1,nonce=n,timestamp=5,biz=x=y"},
		{"", false, "missing-timestamp", ""},
		{"RSA2 app_id=1,nonce=n,timestamp=5,sign=abc", false, "invalid-signature-type", ""},
		{"ALIPAY-SHA256withRSA app_id=1,nonce=n,timestamp=5", false, "missing-signature", ""},
		{"ALIPAY-SHA256withRSA app_id=1,nonce=n,timestamp=5,sign=", false, "missing-signature", ""},
		{"ALIPAY-SHA256withRSA nonce=n,timestamp=5,sign=abc", false, "missing-app-id", ""},
		{"ALIPAY-SHA256withRSA app_id=1,nonce=n,sign=abc", false, "missing-timestamp", ""},
		{"ALIPAY-SHA256withRSA app_id=1,timestamp=5,sign=abc", false, "missing-nonce", ""},
		{"ALIPAY-SHA256withRSA app_id=1,nonce=n,timestamp=2024-05-01,sign=abc", false, "invalid-timestamp", ""},
		{"ALIPAY-SHA256withRSA app_id=1,app_id=2,nonce=n,timestamp=5,sign=abc", false, "invalid-parameter", ""},
		{"ALIPAY-SHA256withRSA app_id=1,,nonce=n,timestamp=5,sign=abc", false, "invalid-parameter", ""},
		{"ALIPAY-SHA256withRSA " + strings.Repeat("a", 5000), false, "invalid-parameter", ""},
	}
	for _, tc := range tests {
		a, err := parseRESTAuthorization(tc.h)
		if tc.ok {
			if err != nil || a.AuthString != tc.authSt {
				t.Errorf("%q: %v %+v", tc.h, err, a)
			}
			continue
		}
		ae, _ := err.(*restAuthError)
		if ae == nil || ae.code != tc.code {
			t.Errorf("%q: err %v, want code %s", truncate(tc.h, 60), err, tc.code)
		}
	}
}

// FuzzRESTAuthorization: the parser never panics, and whatever it accepts is the
// header it was given — authString and sign put back together — with the fields it
// promises.
func FuzzRESTAuthorization(f *testing.F) {
	for _, s := range []string{
		"ALIPAY-SHA256withRSA app_id=2021000000000001,nonce=0f3a,timestamp=1715563800000,sign=QUJD",
		"ALIPAY-SHA256withRSA app_id=1,app_cert_sn=866efef280dec9137a87d047ac446315,nonce=n,timestamp=1,expired_seconds=120,sign=a+b/c==",
		"ALIPAY-SHA256withRSA app_id=1,nonce=n,timestamp=5,sign=",
		"ALIPAY-SHA256withRSA ,sign=x",
		"ALIPAY-SHA256withRSA app_id=1,app_id=1,nonce=n,timestamp=5,sign=abc",
		"ALIPAY-SHA256withRSA app_id=\x00,nonce=\xff,timestamp=-1,sign=abc",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseRESTAuthorization(h)
		if err != nil {
			if _, ok := err.(*restAuthError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if restScheme+a.AuthString+",sign="+a.Sign != h {
			t.Fatalf("accepted %q but reassembles to %q", h, restScheme+a.AuthString+",sign="+a.Sign)
		}
		if a.AppID == "" || a.Nonce == "" || a.Timestamp <= 0 || a.Sign == "" {
			t.Fatalf("accepted %q without its required fields: %+v", h, a)
		}
	})
}
