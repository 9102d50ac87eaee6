package alipaysim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// bizRequest is the sandbox's own reading of biz_content for the trade methods. It is
// deliberately separate from package alipay's request types: the sandbox judges that
// code, so it must not share its mistakes.
type bizRequest struct {
	OutTradeNo     jstr            `json:"out_trade_no"`
	TradeNo        jstr            `json:"trade_no"`
	Scene          jstr            `json:"scene"`
	AuthCode       jstr            `json:"auth_code"`
	Subject        jstr            `json:"subject"`
	Body           jstr            `json:"body"`
	ProductCode    jstr            `json:"product_code"`
	SellerID       jstr            `json:"seller_id"`
	TotalAmount    *f2fpay.Amount  `json:"total_amount"`
	StoreID        jstr            `json:"store_id"`
	TerminalID     jstr            `json:"terminal_id"`
	OperatorID     jstr            `json:"operator_id"`
	GoodsDetail    json.RawMessage `json:"goods_detail"`
	ExtendParams   json.RawMessage `json:"extend_params"`
	TimeoutExpress jstr            `json:"timeout_express"`
	TimeExpire     jstr            `json:"time_expire"`
	BuyerID        jstr            `json:"buyer_id"`
	BuyerOpenID    jstr            `json:"buyer_open_id"`
	PassbackParams jstr            `json:"passback_params"`
	RefundAmount   *f2fpay.Amount  `json:"refund_amount"`
	OutRequestNo   jstr            `json:"out_request_no"`
	RefundReason   jstr            `json:"refund_reason"`
	// AgreementParams makes trade.pay an agreement charge (agreement.go).
	AgreementParams json.RawMessage `json:"agreement_params"`
}

// jstr is a string field that also accepts a JSON number, as the real gateway does for
// ids that merchants send unquoted (out_trade_no: 20150320010101001).
type jstr string

func (s *jstr) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = jstr(v)
	case string(b) == "null":
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		if _, err := strconv.ParseFloat(string(b), 64); err != nil && !errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("bad number %s", b)
		}
		*s = jstr(b)
	default:
		return fmt.Errorf("expected a string, got %s", truncate(string(b), 20))
	}
	return nil
}

func (s jstr) String() string { return string(s) }

// parseBiz decodes biz_content. An empty biz_content is an empty request (the method
// then reports its missing fields).
func parseBiz(content string) (*bizRequest, error) {
	req := &bizRequest{}
	if strings.TrimSpace(content) == "" {
		return req, nil
	}
	if err := json.Unmarshal([]byte(content), req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("biz_content 字段 %s 类型错误 (field %s has the wrong type)", te.Field, te.Field)
		}
		var ae *f2fpay.AmountError
		if errors.As(err, &ae) {
			return nil, fmt.Errorf("金额格式错误: %s", ae.Error())
		}
		return nil, fmt.Errorf("biz_content 不是合法的 JSON 对象 (biz_content is not a JSON object: %s)", err)
	}
	return req, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// expiry computes when an unpaid trade closes: time_expire wins over timeout_express;
// face-to-face trades default to 3h, other products to 15d (docs/alipay-protocol.md §9).
func expiry(now time.Time, req *bizRequest) (time.Time, *node) {
	if te := string(req.TimeExpire); te != "" {
		t, err := time.ParseInLocation(timeLayout, te, beijing)
		if err != nil {
			return time.Time{}, bizError("ACQ.INVALID_PARAMETER", "参数有误。time_expire 格式应为 yyyy-MM-dd HH:mm:ss")
		}
		if !t.After(now) {
			return time.Time{}, bizError("ACQ.NOW_TIME_AFTER_EXPIRE_TIME_ERROR", "当前时间已超过允许支付的时间")
		}
		return t, nil
	}
	te := string(req.TimeoutExpress)
	if te == "" {
		if pc := string(req.ProductCode); pc != "" && pc != "FACE_TO_FACE_PAYMENT" && pc != "OFFLINE_PAYMENT" {
			return now.Add(15 * 24 * time.Hour), nil
		}
		return now.Add(3 * time.Hour), nil
	}
	d, ok := parseTimeoutExpress(now, te)
	if !ok {
		return time.Time{}, bizError("ACQ.INVALID_PARAMETER", "参数有误。timeout_express 取值范围 1m～15d，只能是整数加单位 m/h/d，或 1c")
	}
	return now.Add(d), nil
}

// parseTimeoutExpress reads "90m", "3h", "15d" or "1c" (until midnight, Beijing time).
// Decimals ("1.5h") are refused, as Alipay refuses them.
func parseTimeoutExpress(now time.Time, s string) (time.Duration, bool) {
	if s == "1c" {
		b := now.In(beijing)
		midnight := time.Date(b.Year(), b.Month(), b.Day()+1, 0, 0, 0, 0, beijing)
		return midnight.Sub(now), true
	}
	if len(s) < 2 || len(s) > 6 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 || s[0] == '+' || s[0] == '0' {
		return 0, false
	}
	var d time.Duration
	switch s[len(s)-1] {
	case 'm':
		d = time.Duration(n) * time.Minute
	case 'h':
		d = time.Duration(n) * time.Hour
	case 'd':
		d = time.Duration(n) * 24 * time.Hour
	default:
		return 0, false
	}
	if d < time.Minute || d > 15*24*time.Hour {
		return 0, false
	}
	return d, true
}

// sysServiceProviderID extracts extend_params.sys_service_provider_id.
func sysServiceProviderID(extend json.RawMessage) string {
	if len(extend) == 0 {
		return ""
	}
	var x struct {
		ID jstr `json:"sys_service_provider_id"`
	}
	if json.Unmarshal(extend, &x) != nil {
		return ""
	}
	return string(x.ID)
}

// maskLogon masks a logon id as Alipay shows it to merchants: 159****5620, xud***@126.com.
func maskLogon(s string) string {
	if at := strings.IndexByte(s, '@'); at > 0 {
		n := min(3, at)
		return s[:n] + "***" + s[at:]
	}
	if len(s) >= 11 {
		return s[:3] + "****" + s[len(s)-4:]
	}
	return s
}
