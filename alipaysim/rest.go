package alipaysim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/f2fpay/f2fpay/alipay"
)

// The REST ("v3") protocol, docs/alipay-protocol.md §12: the same trade engine behind
// POST /v3/alipay/trade/pay and friends. What the sandbox does, and where each rule
// comes from:
//
//   - Request: JSON body (the business fields that biz_content would hold, notify_url
//     among them); trade/query and trade/fastpay/refund/query may also be GET with the
//     fields as query parameters, as Alipay's Java v3 SDK sends query (AlipayTradeApi:
//     "GET /v3/alipay/trade/query").
//   - Authorization: ALIPAY-SHA256withRSA app_id=…[,app_cert_sn=…],nonce=…,timestamp=…
//     [,expired_seconds=…],sign=… — SHA256withRSA over authString, the HTTP method, the
//     path with query as sent, the body, each followed by "\n", plus the
//     alipay-app-auth-token header and "\n" when present (Node SDK #curl; open-v3/054q58).
//     Certificate-mode apps add app_cert_sn and the alipay-root-cert-sn header.
//   - Timestamps are Unix milliseconds and are refused more than restWindow (10 minutes,
//     open-v3/054q58: "超过 10 分钟将被拒绝") from the wall clock — not the sandbox
//     clock, which tests move by hours while clients keep stamping real time. A nonce is
//     accepted once per app within twice that window ("nonce 重复可能被拒").
//   - Success: HTTP 200 and the business JSON itself (no *_response wrapper, no
//     code/msg). Failures: HTTP 4xx/5xx and {"code","message","links"}; business
//     failures carry the form protocol's sub_code (ACQ.*) with status 400 — the v3 error
//     tables list even ACQ.SYSTEM_ERROR under 400 ("请立即调用查询订单API"); gateway-level
//     codes lose their "isv." prefix (a real probe of /v3/alipay/trade/query with a
//     fake app answered 400 {"code":"invalid-app-id","message":"无效的AppID参数"}), and a
//     bad signature is 401 (open-v3/054q58). Where Alipay is silent the sandbox picks
//     the nearest form-protocol name (invalid-timestamp, invalid-nonce).
//   - Every answer, errors included, carries alipay-timestamp, alipay-nonce and
//     alipay-signature (SHA256withRSA over "ts\nnonce\nbody\n"), alipay-sn for
//     certificate-mode apps, and alipay-trace-id. Real Alipay was seen answering a 400
//     without a signature; the Java v3 SDK verifies error bodies when signed, the Node
//     SDK only 2xx, so signing errors too breaks no client and lets ours verify them.
//
// Waiting for the buyer and unknown results of trade/pay. v3 has no "code": the Java v3
// SDK's AlipayTradePayResponseModel has no code, msg or trade_status, and trade/pay
// documents only "200 common response" and error bodies (alipay-sdk-java-all,
// v3/docs/AlipayTradeApi.md); its error enum (AlipayTradePayErrorResponseModel) holds
// ACQ.SYSTEM_ERROR but nothing for "order success, pay in process"; and v3 trade/query
// says to query "调用alipay.trade.pay，返回INPROCESS的状态". So:
//
//   - 10003 (waiting for the buyer's password) is HTTP 200 with the trade as the form
//     protocol's 10003 node carries it — trade_no, out_trade_no, total_amount, zero
//     buyer_pay_amount/receipt_amount and no gmt_payment or fund_bill_list. A paid
//     answer always carries gmt_payment. A client tells them apart by that, and
//     resolves the waiting one with trade/query, exactly as after 10003.
//   - 20000 / ACQ.SYSTEM_ERROR (unknown) is HTTP 400 {"code":"ACQ.SYSTEM_ERROR"}; a
//     failure of the sandbox itself is HTTP 500 {"code":"isp.unknow-error"}. Both mean
//     "query the trade".
//
// alipay-app-auth-token (an ISV calling for a merchant) is verified as part of the
// signature and then refused: the sandbox's third-party authorisation lives on
// gateway.do.
const restWindow = 10 * time.Minute

// restMethods are the methods served under /v3/alipay/..., with whether GET is allowed.
var restMethods = map[string]bool{
	"alipay.trade.pay":                  false,
	"alipay.trade.precreate":            false,
	"alipay.trade.create":               false,
	"alipay.trade.query":                true,
	"alipay.trade.cancel":               false,
	"alipay.trade.close":                false,
	"alipay.trade.refund":               false,
	"alipay.trade.fastpay.refund.query": true,
}

// restAuth is a parsed Authorization header.
type restAuth struct {
	AuthString     string // everything before ",sign=", exactly as signed
	AppID          string
	AppCertSN      string
	Nonce          string
	Timestamp      int64 // Unix milliseconds
	ExpiredSeconds int64 // 0 when absent
	Sign           string
}

// restAuthError is a header problem with the code the gateway answers.
type restAuthError struct {
	status  int
	code    string
	message string
}

func (e *restAuthError) Error() string { return e.code + ": " + e.message }

const restScheme = "ALIPAY-SHA256withRSA "

// maxAuthorization bounds the header: an RSA-4096 signature is 684 base64 characters.
const maxAuthorization = 4096

// parseRESTAuthorization reads "ALIPAY-SHA256withRSA k=v,…,sign=…". The signature is
// the last item (every SDK writes it last, and base64 has no ','); the authString is the
// text before it, byte for byte, because that is what the client signed. Items are
// k=v split on the first '='; unknown keys are allowed (the Node SDK's
// additionalAuthInfo appends its own), repeated keys are not.
func parseRESTAuthorization(h string) (*restAuth, error) {
	bad := func(code, msg string) error {
		return &restAuthError{status: http.StatusBadRequest, code: code, message: msg}
	}
	if h == "" {
		return nil, bad("missing-timestamp", "缺少时间戳参数: no Authorization header; send ALIPAY-SHA256withRSA app_id=…,nonce=…,timestamp=…,sign=…")
	}
	if len(h) > maxAuthorization {
		return nil, bad("invalid-parameter", "Authorization header longer than 4096 bytes")
	}
	if !strings.HasPrefix(h, restScheme) {
		return nil, bad("invalid-signature-type", "Authorization must start with \"ALIPAY-SHA256withRSA \" (the only scheme of the REST protocol; RSA/SHA1 is not supported)")
	}
	rest := h[len(restScheme):]
	i := strings.LastIndex(rest, ",sign=")
	if i < 0 {
		return nil, &restAuthError{status: http.StatusUnauthorized, code: "missing-signature", message: "缺少签名参数: Authorization has no \",sign=\" item at its end"}
	}
	a := &restAuth{AuthString: rest[:i], Sign: rest[i+len(",sign="):]}
	if a.Sign == "" || strings.ContainsAny(a.Sign, ", ") {
		return nil, &restAuthError{status: http.StatusUnauthorized, code: "missing-signature", message: "缺少签名参数: sign is empty or not the last item"}
	}
	seen := map[string]bool{}
	for _, item := range strings.Split(a.AuthString, ",") {
		k, v, ok := strings.Cut(item, "=")
		if !ok || k == "" {
			return nil, bad("invalid-parameter", fmt.Sprintf("Authorization item %q is not key=value", truncate(item, 40)))
		}
		if seen[k] {
			return nil, bad("invalid-parameter", fmt.Sprintf("Authorization repeats %q", truncate(k, 40)))
		}
		seen[k] = true
		switch k {
		case "app_id":
			a.AppID = v
		case "app_cert_sn":
			a.AppCertSN = v
		case "nonce":
			a.Nonce = v
		case "timestamp":
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ms <= 0 || v[0] == '+' {
				return nil, bad("invalid-timestamp", "非法的时间戳参数: timestamp must be Unix milliseconds, e.g. 1715563800000")
			}
			a.Timestamp = ms
		case "expired_seconds":
			sec, err := strconv.ParseInt(v, 10, 64)
			if err != nil || sec <= 0 || v[0] == '+' {
				return nil, bad("invalid-parameter", "expired_seconds must be a positive number of seconds")
			}
			a.ExpiredSeconds = sec
		}
	}
	switch {
	case a.AppID == "":
		return nil, bad("missing-app-id", "缺少AppID参数: Authorization needs app_id=…")
	case !seen["timestamp"]:
		return nil, bad("missing-timestamp", "缺少时间戳参数: Authorization needs timestamp=<Unix milliseconds>")
	case a.Nonce == "":
		return nil, bad("missing-nonce", "缺少 nonce: Authorization needs nonce=<a fresh random string per request>")
	case len(a.Nonce) > 64:
		return nil, bad("invalid-nonce", "nonce longer than 64 characters")
	}
	return a, nil
}

// restStringToSign is what the client signed.
func restStringToSign(authString, httpMethod, pathWithQuery string, body []byte, appAuthToken string) []byte {
	b := make([]byte, 0, len(authString)+len(httpMethod)+len(pathWithQuery)+len(body)+len(appAuthToken)+8)
	b = append(b, authString...)
	b = append(b, '\n')
	b = append(b, httpMethod...)
	b = append(b, '\n')
	b = append(b, pathWithQuery...)
	b = append(b, '\n')
	b = append(b, body...)
	b = append(b, '\n')
	if appAuthToken != "" {
		b = append(b, appAuthToken...)
		b = append(b, '\n')
	}
	return b
}

// restReplay remembers nonces per app until they could no longer pass the timestamp
// check anyway.
type restReplay struct {
	mu    sync.Mutex
	seen  map[string]time.Time // app_id "\x00" nonce → forget after
	sweep time.Time
}

// use records a nonce, reporting false when it was already used.
func (r *restReplay) use(appID, nonce string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]time.Time{}
	}
	if now.Sub(r.sweep) > time.Minute {
		for k, until := range r.seen {
			if now.After(until) {
				delete(r.seen, k)
			}
		}
		r.sweep = now
	}
	key := appID + "\x00" + nonce
	if until, ok := r.seen[key]; ok && !now.After(until) {
		return false
	}
	r.seen[key] = now.Add(2 * restWindow)
	return true
}

// restReply is a REST answer before it is signed.
type restReply struct {
	status int
	body   []byte
	leaf   *alipayLeaf // certificate-mode app: sign with it, send alipay-sn
	effect *Fault
}

func restError(status int, code, message string) *restReply {
	body, _ := json.Marshal(struct {
		Code    string     `json:"code"`
		Message string     `json:"message"`
		Links   []restLink `json:"links"`
	}{code, message, []restLink{{Link: "https://opendocs.alipay.com/open-v3/054fcv", Desc: "解决方案"}}})
	return &restReply{status: status, body: body}
}

type restLink struct {
	Link string `json:"link"`
	Desc string `json:"desc"`
}

// restFromNode turns a gateway node into the REST answer (see the package comment of
// this file for the mapping and its sources).
func restFromNode(n *node) *restReply {
	switch n.Code {
	case codeSuccess, codePaying:
		biz := &node{Fields: n.Fields}
		return &restReply{status: http.StatusOK, body: biz.encode()}
	case codeUnknown:
		if n.SubCode == "ACQ.SYSTEM_ERROR" {
			return restError(http.StatusBadRequest, n.SubCode, n.SubMsg)
		}
		return restError(http.StatusInternalServerError, "isp.unknow-error", "服务暂不可用: "+n.SubMsg)
	case codeBizFailed:
		return restError(http.StatusBadRequest, n.SubCode, n.SubMsg)
	}
	return restError(http.StatusBadRequest, strings.TrimPrefix(n.SubCode, "isv."), n.SubMsg)
}

// serveREST is /v3/...: authenticate, run the method on the trade engine, answer.
func (s *Sim) serveREST(w http.ResponseWriter, r *http.Request) {
	rep := s.rest1(r)
	s.writeREST(w, r, rep)
}

func (s *Sim) rest1(r *http.Request) *restReply {
	method := "alipay." + strings.ReplaceAll(strings.TrimPrefix(r.URL.Path, "/v3/alipay/"), "/", ".")
	getOK, ok := restMethods[method]
	if !ok || !strings.HasPrefix(r.URL.Path, "/v3/alipay/") {
		return restError(http.StatusNotFound, "invalid-method", "不存在的接口 "+truncate(r.URL.Path, 128)+" (the sandbox serves /v3/alipay/trade/{pay,precreate,create,query,cancel,close,refund,fastpay/refund/query})")
	}
	switch {
	case r.Method == http.MethodPost:
	case r.Method == http.MethodGet && getOK:
	default:
		return restError(http.StatusMethodNotAllowed, "invalid-method", r.Method+" is not allowed on "+r.URL.Path+"; use POST with a JSON body")
	}
	body, err := io.ReadAll(&limitedReader{r: r.Body, n: s.cfg.MaxRequestBytes})
	if errors.Is(err, errTooLarge) {
		return restError(http.StatusRequestEntityTooLarge, "invalid-parameter", "请求体过大，网关最多接受 1 MiB")
	} else if err != nil {
		return restError(http.StatusBadRequest, "invalid-parameter", "reading the body: "+err.Error())
	}

	auth, err := parseRESTAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		ae := err.(*restAuthError)
		return restError(ae.status, ae.code, ae.message)
	}
	now := time.Now()
	ts := time.UnixMilli(auth.Timestamp)
	if d := now.Sub(ts); d > restWindow || d < -restWindow {
		return restError(http.StatusBadRequest, "invalid-timestamp", fmt.Sprintf("非法的时间戳参数: timestamp %d is %v away from Alipay's clock; requests older or newer than 10 minutes are refused (check the host clock)", auth.Timestamp, d.Round(time.Second)))
	}
	if auth.ExpiredSeconds > 0 && now.After(ts.Add(time.Duration(auth.ExpiredSeconds)*time.Second)) {
		return restError(http.StatusBadRequest, "invalid-timestamp", fmt.Sprintf("请求已过期: expired_seconds=%d after timestamp %d has passed", auth.ExpiredSeconds, auth.Timestamp))
	}
	app := s.app(auth.AppID)
	if app == nil || app.pub == nil {
		return restError(http.StatusBadRequest, "invalid-app-id", "无效的AppID参数")
	}
	var leaf *alipayLeaf
	if appSN, rootSN, l, ok := s.certApp(app.AppID); ok {
		leaf = l
		rootHdr := r.Header.Get("alipay-root-cert-sn")
		fail := func(code, msg string) *restReply {
			e := restError(http.StatusBadRequest, code, msg)
			e.leaf = leaf
			return e
		}
		switch {
		case auth.AppCertSN == "":
			return fail("missing-app-cert-sn", "缺少应用公钥证书序列号: a certificate-mode app puts app_cert_sn=… in Authorization")
		case rootHdr == "":
			return fail("missing-alipay-root-cert-sn", "缺少支付宝根证书序列号: a certificate-mode app sends header alipay-root-cert-sn")
		case auth.AppCertSN != appSN:
			return fail("app-cert-not-exist", "应用公钥证书不存在: app_cert_sn "+truncate(auth.AppCertSN, 64)+" is not this app's certificate")
		case rootHdr != rootSN:
			return fail("invalid-alipay-root-cert-sn", "无效的支付宝根证书序列号: alipay-root-cert-sn must cover the RSA certificates of alipayRootCert.crt only")
		}
	}
	token := r.Header.Get("alipay-app-auth-token")
	content := restStringToSign(auth.AuthString, r.Method, r.RequestURI, body, token)
	if err := alipay.VerifySignature(app.pub, alipay.RSA2, content, auth.Sign); err != nil {
		e := restError(http.StatusUnauthorized, "invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："+strings.ReplaceAll(string(content), "\n", "\\n"))
		e.leaf = leaf
		return e
	}
	if !s.rest.use(app.AppID, auth.Nonce, now) {
		e := restError(http.StatusBadRequest, "invalid-nonce", "nonce 已使用: each request needs a fresh nonce (replayed request refused)")
		e.leaf = leaf
		return e
	}
	fail := func(status int, code, msg string) *restReply {
		e := restError(status, code, msg)
		e.leaf = leaf
		return e
	}
	if token != "" {
		return fail(http.StatusBadRequest, "invalid-parameter", "the sandbox does not take alipay-app-auth-token on the REST protocol; call gateway.do with app_auth_token for third-party authorisation")
	}

	bizJSON := body
	if r.Method == http.MethodGet {
		q := map[string]any{}
		for k, vs := range r.URL.Query() {
			if k == "query_options" {
				q[k] = strings.Split(strings.Join(vs, ","), ",")
			} else if len(vs) > 0 {
				q[k] = vs[0]
			}
		}
		bizJSON, _ = json.Marshal(q)
	}
	if t := bytes.TrimSpace(bizJSON); len(t) > 0 && t[0] != '{' {
		return fail(http.StatusBadRequest, "invalid-parameter", "参数有误: the body must be a JSON object of the business fields")
	}
	biz, err := parseBiz(string(bizJSON))
	if err != nil {
		return fail(http.StatusBadRequest, "ACQ.INVALID_PARAMETER", "参数有误。"+err.Error())
	}
	var extra struct {
		NotifyURL jstr `json:"notify_url"`
	}
	if len(bytes.TrimSpace(bizJSON)) > 0 {
		_ = json.Unmarshal(bizJSON, &extra)
	}
	c := &call{app: app, method: method, biz: biz, signType: string(alipay.RSA2), notifyURL: string(extra.NotifyURL), baseURL: s.baseURL(r),
		// The royalty plan and extend_params are read from biz_content, as on gateway.do.
		params: params{"biz_content": string(bizJSON)}}
	if checkURL(c.notifyURL) != nil {
		return fail(http.StatusBadRequest, "ACQ.INVALID_PARAMETER", "参数有误。notify_url 必须是 http(s) 地址")
	}

	latency, effect := s.e.faults.take(method, app.AppID, string(biz.OutTradeNo), func(k string) bool {
		return !strings.HasPrefix(k, "notify_") && !strings.HasPrefix(k, "bill_") && !strings.HasPrefix(k, "face_")
	})
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
		}
	}
	var postEffect *Fault
	if effect != nil {
		switch effect.Kind {
		case FaultSystemError:
			return fail(http.StatusBadRequest, "ACQ.SYSTEM_ERROR", "系统错误")
		case FaultHTTP502:
			return &restReply{status: http.StatusBadGateway}
		case FaultCancelRetry:
			return fail(http.StatusBadRequest, "ACQ.SYSTEM_ERROR", "系统错误，请重试")
		case FaultPayPending:
			c.pending = effect
		case FaultPayRefused:
			return fail(http.StatusBadRequest, effect.SubCode, "支付失败 (a pay_refused fault)")
		default:
			postEffect = effect
		}
	}
	var n *node
	err = s.e.update(r.Context(), func(t *txn) error {
		n = methods[method](t, c)
		return nil
	})
	if err != nil {
		s.log("sandbox: store failed: %v", err)
		return fail(http.StatusInternalServerError, "isp.unknow-error", "服务暂不可用")
	}
	rep := restFromNode(n)
	rep.leaf, rep.effect = leaf, postEffect
	return rep
}

// writeREST signs and writes a REST answer.
func (s *Sim) writeREST(w http.ResponseWriter, r *http.Request, rep *restReply) {
	h := w.Header()
	h.Set("alipay-trace-id", s.traceID())
	if rep.status == http.StatusBadGateway {
		h.Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"))
		return
	}
	signer := s.signer
	if rep.leaf != nil {
		signer = rep.leaf.signer
		h.Set("alipay-sn", rep.leaf.sn)
	}
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	var nb [16]byte
	rand.Read(nb[:])
	nonce := hex.EncodeToString(nb[:])
	sig, err := signer.Sign(r.Context(), alipay.RSA2, restResponseToSign(ts, nonce, rep.body))
	if err != nil {
		http.Error(w, "sandbox: signing failed", http.StatusInternalServerError)
		return
	}
	sign := base64.StdEncoding.EncodeToString(sig)
	body := rep.body
	if rep.effect != nil {
		switch rep.effect.Kind {
		case FaultBadSignature:
			sign = corruptSignature(sign)
		case FaultMalformedJSON:
			body = body[:len(body)*2/3]
		case FaultDropResponse:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
	}
	h.Set("alipay-timestamp", ts)
	h.Set("alipay-nonce", nonce)
	h.Set("alipay-signature", sign)
	h.Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(rep.status)
	w.Write(body)
}

// restResponseToSign is "ts\nnonce\nbody\n", what clients verify.
func restResponseToSign(ts, nonce string, body []byte) []byte {
	b := make([]byte, 0, len(ts)+len(nonce)+len(body)+3)
	b = append(b, ts...)
	b = append(b, '\n')
	b = append(b, nonce...)
	b = append(b, '\n')
	b = append(b, body...)
	return append(b, '\n')
}
