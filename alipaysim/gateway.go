package alipaysim

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// invalidSignaturePrefix is the real gateway's sub_msg on a bad request signature; the
// gateway's own string-to-sign follows it with '&' written as "&amp;" (docs/alipay-protocol.md §2.1),
// which is how developers find out which parameter they signed differently.
const invalidSignaturePrefix = "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："

// reply is a gateway answer before it is signed.
type reply struct {
	node     string // "<method>_response" or "error_response"
	n        *node
	signType alipay.SignType
	gbk      bool
	status   int    // HTTP status, 200 unless a fault or an oversized body says otherwise
	effect   *Fault // a post-commit fault: drop_response, bad_signature, malformed_json
	// signer and certSN, for certificate-mode apps: the current Alipay certificate's key
	// signs the answer and its SN goes between node and sign (certs.go).
	signer *alipay.KeySigner
	certSN string
	// page: the method is a page API the buyer's browser opened (agreement page.sign):
	// success redirects to the wallet page, a failure is an HTML page, as Alipay's are.
	page     bool
	redirect string
}

// pageMethods are opened by a browser, not called by a program.
var pageMethods = map[string]bool{"alipay.user.agreement.page.sign": true}

// serveGateway is POST /gateway.do.
func (s *Sim) serveGateway(w http.ResponseWriter, r *http.Request) {
	rep := s.gateway(r)
	if rep.page && rep.status == http.StatusOK {
		if rep.redirect != "" {
			http.Redirect(w, r, rep.redirect, http.StatusFound)
			return
		}
		n := rep.n
		if n == nil {
			n = gatewayError(codeUnknown, "ACQ.SYSTEM_ERROR", "系统错误")
		}
		s.renderError(w, "Alipay", f2fpay.Errorf(f2fpay.EINVALID, "%s %s: %s %s — 商户的链接有误，请联系商户 (the merchant's link is wrong)",
			n.Code, n.Msg, n.SubCode, n.SubMsg))
		return
	}
	s.writeReply(w, r, rep)
}

func (s *Sim) gateway(r *http.Request) *reply {
	rep := &reply{node: errorNode, signType: alipay.RSA2, status: http.StatusOK}
	fail := func(code, sub, msg string) *reply { rep.n = gatewayError(code, sub, msg); return rep }

	p := params{}
	qerr := parseForm(r.URL.RawQuery, p)
	var berr error
	if r.Method == http.MethodPost && r.Body != nil {
		berr = parseBody(r.Header.Get("Content-Type"), &limitedReader{r: r.Body, n: s.cfg.MaxRequestBytes}, s.cfg.MaxRequestBytes, p)
	}
	if m := p["method"]; m != "" {
		if _, ok := methods[m]; ok {
			rep.node = alipay.ResponseNode(m)
		}
		rep.page = pageMethods[m]
	}
	if st := alipay.SignType(p["sign_type"]); st == alipay.RSA || st == alipay.RSA2 {
		rep.signType = st
	}
	if errors.Is(berr, errTooLarge) {
		rep.status = http.StatusRequestEntityTooLarge
		return fail(codeInvalid, "isv.invalid-parameter", "请求体过大，网关最多接受 1 MiB (request body exceeds the gateway's limit)")
	}
	if err := errors.Join(qerr, berr); err != nil {
		return fail(codeInvalid, "isv.invalid-parameter", "参数格式错误: "+err.Error())
	}
	switch strings.ToLower(p["charset"]) {
	case "", "utf-8", "utf8":
	case "gbk":
		rep.gbk = true
	default:
		return fail(codeInvalid, "isv.invalid-charset", "字符集错误，只支持 UTF-8 和 GBK (charset must be utf-8 or gbk)")
	}
	method := p["method"]
	if method == "" {
		return fail(codeMissing, "isv.missing-method", "缺少方法名参数")
	}
	if _, ok := methods[method]; !ok {
		return fail(codeInvalid, "isv.invalid-method", "不存在的方法名 "+truncate(method, 128))
	}
	switch {
	case p["app_id"] == "":
		return fail(codeMissing, "isv.missing-app-id", "缺少AppID参数")
	case p["sign_type"] == "":
		return fail(codeMissing, "isv.missing-signature-type", "缺少签名类型参数")
	case p["sign_type"] != string(alipay.RSA2) && p["sign_type"] != string(alipay.RSA):
		return fail(codeInvalid, "isv.invalid-signature-type", "无效的签名类型 (sign_type must be RSA2 or RSA)")
	case p["sign"] == "":
		return fail(codeMissing, "isv.missing-signature", "缺少签名参数")
	case p["timestamp"] == "":
		return fail(codeMissing, "isv.missing-timestamp", "缺少时间戳参数")
	case p["version"] == "":
		return fail(codeMissing, "isv.missing-version", "缺少版本参数")
	case p["version"] != "1.0":
		return fail(codeInvalid, "isv.invalid-parameter", "version 只支持 1.0")
	case p["format"] != "" && !strings.EqualFold(p["format"], "json"):
		return fail(codeInvalid, "isv.invalid-format", "无效的数据格式 (format must be JSON)")
	case p["encrypt_type"] != "":
		return fail(codeInvalid, "isv.invalid-encrypt-type", "沙箱不支持内容加密 (the sandbox does not support encrypt_type)")
	}
	if !s.timestampOK(p["timestamp"]) {
		return fail(codeInvalid, "isv.invalid-timestamp", "非法的时间戳参数，格式应为 yyyy-MM-dd HH:mm:ss")
	}
	app := s.app(p["app_id"])
	if app == nil || app.pub == nil {
		return fail(codeInvalid, "isv.invalid-app-id", "无效的AppID参数")
	}
	leaf, certErr := s.checkCertParams(app.AppID, p["app_cert_sn"], p["alipay_root_cert_sn"])
	if leaf != nil {
		rep.signer, rep.certSN = leaf.signer, leaf.sn
	}
	if certErr != nil {
		rep.n = certErr
		return rep
	}
	if err := alipay.VerifyParams(app.pub, p.values()); err != nil {
		content := alipay.SignContent(p.values(), "sign")
		if rep.gbk {
			content = fromGBK(content)
		}
		return fail(codeInvalid, "isv.invalid-signature", invalidSignaturePrefix+strings.ReplaceAll(content, "&", "&amp;"))
	}
	if rep.gbk {
		for k, v := range p {
			p[k] = fromGBK(v)
		}
	}
	if method == certDownloadMethod {
		rep.n = s.certDownload(p["biz_content"])
		return rep
	}
	biz, err := parseBiz(p["biz_content"])
	if err != nil {
		rep.n = bizError("ACQ.INVALID_PARAMETER", "参数有误。"+err.Error())
		return rep
	}
	c := &call{app: app, method: method, biz: biz, signType: string(rep.signType), notifyURL: p["notify_url"], baseURL: s.baseURL(r), params: p}
	if checkURL(c.notifyURL) != nil {
		rep.n = bizError("ACQ.INVALID_PARAMETER", "参数有误。notify_url 必须是 http(s) 地址")
		return rep
	}

	latency, effect := s.e.faults.take(method, app.AppID, string(biz.OutTradeNo), func(k string) bool {
		// bill faults act on the bill (bills.go), face faults on the face scan (face.go)
		return !strings.HasPrefix(k, "notify_") && !strings.HasPrefix(k, "bill_") && !strings.HasPrefix(k, "face_")
	})
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
		}
	}
	if effect != nil {
		switch effect.Kind {
		case FaultSystemError:
			rep.n = gatewayError(codeUnknown, "ACQ.SYSTEM_ERROR", "系统错误")
			return rep
		case FaultHTTP502:
			rep.status = http.StatusBadGateway
			return rep
		case FaultCancelRetry:
			rep.n = bizError("ACQ.SYSTEM_ERROR", "系统错误，请重试").set("retry_flag", "Y").
				set("out_trade_no", string(biz.OutTradeNo)).set("trade_no", string(biz.TradeNo))
			return rep
		case FaultPayPending:
			c.pending = effect
		case FaultPayRefused:
			zero := f2fpay.Amount(0)
			rep.n = bizError(effect.SubCode, "支付失败 (a pay_refused fault)").set("out_trade_no", string(biz.OutTradeNo)).
				set("buyer_pay_amount", zero).set("invoice_amount", zero).set("point_amount", zero).set("receipt_amount", zero)
			return rep
		default:
			rep.effect = effect
		}
	}
	var n *node
	err = s.e.update(r.Context(), func(t *txn) error {
		n = methods[method](t, c)
		return nil
	})
	if err != nil {
		s.log("sandbox: store failed: %v", err)
		rep.n, rep.effect = gatewayError(codeUnknown, "ACQ.SYSTEM_ERROR", "系统错误"), nil
		return rep
	}
	rep.n = n
	rep.redirect = c.redirect
	if c.errorNode {
		rep.node = errorNode
	}
	return rep
}

// timestampOK enforces the format and, when Config.TimestampSkew is set, the distance
// from the sandbox clock in Beijing time. By default only the format is checked: most
// SDKs (Python, Node, PHP, gopay, smartwalle) send host-local time, so a strict Beijing
// window would refuse every client outside UTC+8.
func (s *Sim) timestampOK(ts string) bool {
	t, err := time.ParseInLocation(timeLayout, ts, beijing)
	if err != nil {
		return false
	}
	if s.cfg.TimestampSkew <= 0 {
		return true
	}
	d := s.clock.Now().Sub(t)
	return d <= s.cfg.TimestampSkew && d >= -s.cfg.TimestampSkew
}

func (s *Sim) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = "127.0.0.1"
	}
	return scheme + "://" + host
}

func fromGBK(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x80 }) {
		return s
	}
	b, err := simplifiedchinese.GBK.NewDecoder().String(s)
	if err != nil {
		return s
	}
	return b
}

// writeReply signs and writes a reply. Signing happens here, outside any lock.
func (s *Sim) writeReply(w http.ResponseWriter, r *http.Request, rep *reply) {
	h := w.Header()
	h.Set("trace_id", s.traceID())
	if rep.status == http.StatusBadGateway {
		h.Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>"))
		return
	}
	content := rep.n.encode()
	charset := "utf-8"
	if rep.gbk {
		if g, err := simplifiedchinese.GBK.NewEncoder().Bytes(content); err == nil {
			content, charset = g, "GBK"
		}
	}
	signer := s.signer
	if rep.signer != nil {
		signer = rep.signer
	}
	sig, err := signer.Sign(r.Context(), rep.signType, content)
	if err != nil {
		http.Error(w, "sandbox: signing failed", http.StatusInternalServerError)
		return
	}
	sign := base64.StdEncoding.EncodeToString(sig)
	if rep.effect != nil && rep.effect.Kind == FaultBadSignature {
		sign = corruptSignature(sign)
	}
	body := alipay.AppendEnvelope(make([]byte, 0, len(content)+len(rep.node)+len(sign)+20), rep.node, content, rep.certSN, sign)
	if rep.effect != nil {
		switch rep.effect.Kind {
		case FaultMalformedJSON:
			body = body[:len(body)*2/3]
		case FaultSlowAnswer:
			// The trade is committed; the answer takes its time, and is lost if the
			// caller hangs up (or dies) meanwhile.
			select {
			case <-time.After(rep.effect.Latency.D()):
			case <-r.Context().Done():
				return
			}
		case FaultDropResponse:
			// The trade is committed; the answer is lost on the way back.
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler) // HTTP/2 or a recorder: abort the stream instead
		}
	}
	h.Set("Content-Type", "application/json;charset="+charset)
	w.WriteHeader(rep.status)
	w.Write(body)
}

// corruptSignature changes one base64 character so the signature stays well-formed but
// no longer verifies.
func corruptSignature(sig string) string {
	b := []byte(sig)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func (s *Sim) traceID() string {
	var b [16]byte
	n := s.traceSeq.Add(1)
	for i := range b {
		b[i] = "0123456789abcdef"[(splitmix(n+uint64(i)*0x9e37)>>3)%16]
	}
	return string(b[:])
}

func (s *Sim) app(id string) *App {
	var a *App
	s.e.view(func(t *txn) { a = t.app(id) })
	return a
}
