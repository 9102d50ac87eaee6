package alipay

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Protocol selects how a Client talks to Alipay. Both protocols reach the same trade
// engine and share the typed API (TradePay, TradeQuery, …); only the wire differs.
type Protocol string

const (
	// ProtocolForm is the form protocol: signed parameters POSTed to gateway.do, answers
	// in a signed JSON envelope with code/sub_code. The default.
	ProtocolForm Protocol = "form"
	// ProtocolREST is the REST ("v3") protocol: JSON to /v3/alipay/<method path>, an
	// ALIPAY-SHA256withRSA Authorization header, answers signed in response headers,
	// failures as HTTP 4xx/5xx with {"code","message"} (docs/alipay-protocol.md §12). It always
	// signs with SHA256withRSA, whatever Config.SignType says.
	ProtocolREST Protocol = "rest"
)

// Endpoints of the REST protocol.
const (
	ProductionEndpoint = "https://openapi.alipay.com"
	SandboxEndpoint    = "https://openapi-sandbox.dl.alipaydev.com"
)

// configureREST checks Protocol and Endpoint. With the REST protocol and no Gateway, the
// gateway (still used for alipay.open.app.alipaycert.download, which has no REST path)
// is Endpoint + "/gateway.do", so one URL configures a sandbox.
func (c *Client) configureREST(cfg Config) error {
	switch cfg.Protocol {
	case "", ProtocolForm:
		c.protocol = ProtocolForm
		return nil
	case ProtocolREST:
		c.protocol = ProtocolREST
	default:
		return fmt.Errorf("alipay: Config.Protocol %q must be alipay.ProtocolForm or alipay.ProtocolREST", cfg.Protocol)
	}
	c.endpoint = strings.TrimSuffix(cfg.Endpoint, "/")
	if c.endpoint == "" {
		c.endpoint = ProductionEndpoint
	}
	u, err := url.Parse(c.endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("alipay: Config.Endpoint %q must be a bare http(s) origin such as %s (the client appends /v3/alipay/…)", cfg.Endpoint, ProductionEndpoint)
	}
	if c.gateway == "" {
		c.gateway = c.endpoint + "/gateway.do"
	}
	return nil
}

// Protocol returns the protocol the client speaks.
func (c *Client) Protocol() Protocol { return c.protocol }

// restPath is the REST path of a method: alipay.trade.pay → /v3/alipay/trade/pay.
func restPath(method string) string { return "/v3/" + strings.ReplaceAll(method, ".", "/") }

// restSignContent is the REST request string-to-sign: authString, HTTP method, path with
// query and body, each followed by "\n", then the app auth token and "\n" when one is
// sent (Node SDK #curl; Alipay open-v3/054q58).
func restSignContent(authString, httpMethod, pathWithQuery, body, appAuthToken string) []byte {
	s := authString + "\n" + httpMethod + "\n" + pathWithQuery + "\n" + body + "\n"
	if appAuthToken != "" {
		s += appAuthToken + "\n"
	}
	return []byte(s)
}

// restResponseContent is what a REST answer's alipay-signature covers.
func restResponseContent(ts, nonce string, body []byte) []byte {
	b := make([]byte, 0, len(ts)+len(nonce)+len(body)+3)
	b = append(append(b, ts...), '\n')
	b = append(append(b, nonce...), '\n')
	return append(append(b, body...), '\n')
}

// doREST sends one REST request and returns the verified answer as a Response the typed
// methods understand: 2xx becomes code 10000 (10003 for a trade.pay answer without
// gmt_payment, see below), an ACQ.* failure code 40004 with the code as sub_code, a 5xx
// code 20000, other failures 40002 — so Error.Unknown, PayResult and every caller behave
// exactly as with the form protocol.
//
// Waiting for the buyer: v3 answers trade.pay with HTTP 200 and no code at all (Alipay's
// Java v3 SDK: AlipayTradePayResponseModel has no code or trade_status; its error enum
// has no "in process" code; v3 trade.query tells to query after "INPROCESS"). The
// answer of a paid trade carries gmt_payment; a waiting one carries the trade with zero
// amounts and no gmt_payment. So a 200 without gmt_payment is WAITING, never PAID:
// mistaking a paid answer for waiting only costs a trade.query, the reverse would hand
// over goods unpaid.
//
// Every answer must carry a valid alipay-signature (and, in certificate mode, an
// alipay-sn the client trusts, downloading a rotated certificate when needed).
// Alipay has been seen sending failures unsigned; such an answer becomes an
// *UnknownError wrapping the unverified *Error: the code is shown but never acted on.
func (c *Client) doREST(ctx context.Context, method string, biz any, o *callOptions) (*Response, error) {
	if o.authToken != "" || len(o.params) > 0 {
		return nil, fmt.Errorf("%w: %s: auth_token and top-level parameters are gateway.do features; use alipay.ProtocolForm for this call", ErrInvalidRequest, method)
	}
	body := ""
	if biz != nil {
		content, err := marshalBiz(biz)
		if err != nil {
			return nil, fmt.Errorf("%w: body: %v", ErrInvalidRequest, err)
		}
		body = content
	}
	notify := o.notifyURL
	if notify == "" && takesNotifyURL(method) {
		notify = c.notifyURL
	}
	if notify != "" {
		// notify_url travels in the JSON body on the REST protocol.
		field, _ := json.Marshal(notify)
		switch t := strings.TrimSpace(body); {
		case t == "" || t == "{}":
			body = `{"notify_url":` + string(field) + `}`
		case strings.HasPrefix(t, "{"):
			body = `{"notify_url":` + string(field) + `,` + t[1:]
		default:
			return nil, fmt.Errorf("%w: the body must be a JSON object to carry notify_url", ErrInvalidRequest)
		}
	}
	path := restPath(method)
	var nb [16]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return nil, err
	}
	auth := "app_id=" + c.appID
	if c.certMode {
		auth += ",app_cert_sn=" + c.appCertSN
	}
	auth += ",nonce=" + hex.EncodeToString(nb[:]) + ",timestamp=" + strconv.FormatInt(c.now().UnixMilli(), 10)
	sig, err := c.signer.Sign(ctx, RSA2, restSignContent(auth, http.MethodPost, path, body, o.appAuthToken))
	if err != nil {
		return nil, fmt.Errorf("alipay: signing %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+path, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRequest, err)
	}
	h := req.Header
	h.Set("Authorization", "ALIPAY-SHA256withRSA "+auth+",sign="+base64.StdEncoding.EncodeToString(sig))
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set("alipay-request-id", hex.EncodeToString(nb[:]))
	if c.certMode {
		h.Set("alipay-root-cert-sn", c.rootCertSN)
	}
	if o.appAuthToken != "" {
		h.Set("alipay-app-auth-token", o.appAuthToken)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &UnknownError{Method: method, Reason: "no answer from the REST endpoint", Err: err}
	}
	defer resp.Body.Close()
	traceID := resp.Header.Get("alipay-trace-id")
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, &UnknownError{Method: method, Reason: "the answer was cut off", Err: err}
	}
	if int64(len(raw)) > c.maxBody {
		return nil, &UnknownError{Method: method, Reason: fmt.Sprintf("the answer exceeds %d bytes", c.maxBody)}
	}
	return c.verifyREST(ctx, method, resp.StatusCode, resp.Header, raw, traceID)
}

// verifyREST checks the answer's signature and turns it into a Response.
func (c *Client) verifyREST(ctx context.Context, method string, status int, h http.Header, raw []byte, traceID string) (*Response, error) {
	var failure struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	isFailure := status >= 300
	if isFailure {
		if json.Unmarshal(raw, &failure) != nil || failure.Code == "" {
			return nil, &UnknownError{Method: method, Reason: fmt.Sprintf("HTTP status %d without an Alipay error body", status)}
		}
	}
	aerr := &Error{Method: method, Code: restFailureCode(status, failure.Code), Msg: failure.Message, SubCode: failure.Code, SubMsg: failure.Message, TraceID: traceID}
	sign := h.Get("alipay-signature")
	if sign == "" {
		if isFailure {
			return nil, &UnknownError{Method: method, Reason: "the failure answer is not signed", Err: aerr}
		}
		return nil, &UnknownError{Method: method, Reason: "the answer is not signed", Err: fmt.Errorf("%w: no alipay-signature header", ErrSignature)}
	}
	key, err := c.responseKey(ctx, h.Get("alipay-sn"))
	if err != nil {
		return nil, &UnknownError{Method: method, Reason: "the answer's certificate is not trusted", Err: err}
	}
	if err := c.verifyRESTSignature(key, h, raw, sign); err != nil {
		return nil, &UnknownError{Method: method, Reason: "the answer's signature does not verify", Err: err}
	}
	if isFailure {
		return &Response{Method: method, Code: aerr.Code, Msg: aerr.Msg, SubCode: aerr.SubCode, SubMsg: aerr.SubMsg,
			Node: "error_response", Content: raw, TraceID: traceID}, nil
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || !json.Valid(t) {
		return nil, &UnknownError{Method: method, Reason: "the verified answer is not a JSON object"}
	}
	code, msg := CodeSuccess, "Success"
	if method == MethodTradePay {
		var paid struct {
			GmtPayment *string `json:"gmt_payment"`
		}
		if json.Unmarshal(raw, &paid) != nil || paid.GmtPayment == nil || *paid.GmtPayment == "" {
			code, msg = CodeWaiting, "order success pay inprocess"
		}
	}
	return &Response{Method: method, Code: code, Msg: msg, Node: ResponseNode(method), Content: raw, TraceID: traceID}, nil
}

func (c *Client) verifyRESTSignature(key *rsa.PublicKey, h http.Header, raw []byte, sign string) error {
	ts, nonce := h.Get("alipay-timestamp"), h.Get("alipay-nonce")
	if ts == "" || nonce == "" {
		return fmt.Errorf("%w: alipay-timestamp or alipay-nonce missing", ErrSignature)
	}
	return VerifySignature(key, RSA2, restResponseContent(ts, nonce, raw), sign)
}

// restFailureCode gives a REST failure the form protocol's top-level code.
func restFailureCode(status int, code string) string {
	switch {
	case status >= 500:
		return CodeUnknown
	case strings.HasPrefix(code, "ACQ."):
		return CodeBusinessFailed
	case status == http.StatusUnauthorized, strings.HasPrefix(code, "invalid-"):
		return CodeInvalidArgument
	case strings.HasPrefix(code, "missing-"):
		return CodeMissingArgument
	}
	return CodeBusinessFailed
}
