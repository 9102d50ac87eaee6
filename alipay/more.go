package alipay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// Bill types of alipay.data.dataservice.bill.downloadurl.query.
const (
	BillTypeTrade        = "trade"        // 业务账单: trades and refunds
	BillTypeSignCustomer = "signcustomer" // 账务账单: balance movements
)

// BillDownloadURLQueryRequest is the biz_content of the bill download URL query.
type BillDownloadURLQueryRequest struct {
	BillType string `json:"bill_type"`
	// BillDate is "yyyy-MM-dd" for a day or "yyyy-MM" for a month.
	BillDate string `json:"bill_date"`
	Smid     string `json:"smid,omitempty"`
}

// BillDownloadURLQueryResponse carries a URL valid for 30 seconds.
type BillDownloadURLQueryResponse struct {
	ResponseHeader
	BillDownloadURL string `json:"bill_download_url"`
	BillFileCode    string `json:"bill_file_code,omitempty"`
}

var billDatePattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$`)

// BillDownloadURLQuery asks for the download URL of a daily or monthly bill. A day that
// is not over yet answers an *Error with sub_code isp.bill_not_exist.
func (c *Client) BillDownloadURLQuery(ctx context.Context, req *BillDownloadURLQueryRequest, opts ...CallOption) (*BillDownloadURLQueryResponse, error) {
	if req.BillType == "" {
		return nil, invalid("bill_type is required (trade or signcustomer)")
	}
	if !billDatePattern.MatchString(req.BillDate) {
		return nil, invalid("bill_date %q must be yyyy-MM-dd (a day) or yyyy-MM (a month)", req.BillDate)
	}
	var out BillDownloadURLQueryResponse
	return &out, c.typed(ctx, MethodBillDownloadURLQuery, req, &out, opts)
}

// DownloadBill fetches a bill zip from the URL BillDownloadURLQuery returned (it expires
// 30 s after it was issued) and streams it to w, at most maxBytes (0: 512 MiB). Open the
// result with bill.OpenZip.
func (c *Client) DownloadBill(ctx context.Context, url string, w io.Writer, maxBytes int64) (int64, error) {
	if maxBytes <= 0 {
		maxBytes = 512 << 20
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("alipay: bill download URL %q: %w", url, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("alipay: downloading bill: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("alipay: downloading bill: HTTP %d (the URL is valid for 30 s only: ask for a new one)", resp.StatusCode)
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return n, fmt.Errorf("alipay: downloading bill: %w", err)
	}
	if n > maxBytes {
		return n, fmt.Errorf("alipay: bill is larger than %d bytes", maxBytes)
	}
	return n, nil
}

// Grant types of alipay.system.oauth.token.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
)

// OauthTokenResponse is the answer node of alipay.system.oauth.token. Note that a
// successful answer carries no code at all.
type OauthTokenResponse struct {
	ResponseHeader
	AccessToken  string `json:"access_token"`
	AlipayUserID string `json:"alipay_user_id"`
	UserID       string `json:"user_id"`
	OpenID       string `json:"open_id"`
	UnionID      string `json:"union_id"`
	ExpiresIn    int64  `json:"expires_in"`
	ReExpiresIn  int64  `json:"re_expires_in"`
	RefreshToken string `json:"refresh_token"`
	AuthStart    Time   `json:"auth_start"`
}

// SystemOauthToken exchanges an OAuth auth_code (grant authorization_code) or a
// refresh token (grant refresh_token) for a user's access token and ids.
func (c *Client) SystemOauthToken(ctx context.Context, grantType, codeOrToken string, opts ...CallOption) (*OauthTokenResponse, error) {
	var key string
	switch grantType {
	case GrantAuthorizationCode:
		key = "code"
	case GrantRefreshToken:
		key = "refresh_token"
	default:
		return nil, invalid("grant_type %q must be authorization_code or refresh_token", grantType)
	}
	if codeOrToken == "" {
		return nil, invalid("%s is empty", key)
	}
	opts = append(opts, WithParam("grant_type", grantType), WithParam(key, codeOrToken))
	var out OauthTokenResponse
	if err := c.typed(ctx, MethodSystemOauthToken, nil, &out, opts); err != nil {
		return &out, err
	}
	if out.AccessToken == "" || (out.UserID == "" && out.OpenID == "") {
		return &out, &UnknownError{Method: MethodSystemOauthToken, Reason: "the answer has no access_token or user id"}
	}
	return &out, nil
}

// UserInfoShareResponse is the answer node of alipay.user.info.share.
type UserInfoShareResponse struct {
	ResponseHeader
	UserID             string `json:"user_id"`
	OpenID             string `json:"open_id"`
	Avatar             string `json:"avatar"`
	Province           string `json:"province"`
	City               string `json:"city"`
	NickName           string `json:"nick_name"`
	Gender             string `json:"gender"`
	IsCertified        string `json:"is_certified"`
	IsStudentCertified string `json:"is_student_certified"`
	UserType           string `json:"user_type"`
	UserStatus         string `json:"user_status"`
	Mobile             string `json:"mobile"`
	Email              string `json:"email"`
}

// UserInfoShare reads the profile of the user who granted auth_user to accessToken.
func (c *Client) UserInfoShare(ctx context.Context, accessToken string, opts ...CallOption) (*UserInfoShareResponse, error) {
	if accessToken == "" {
		return nil, invalid("access token is empty: get one with SystemOauthToken after an auth_user authorisation")
	}
	opts = append(opts, WithAuthToken(accessToken))
	var out UserInfoShareResponse
	return &out, c.typed(ctx, MethodUserInfoShare, nil, &out, opts)
}

// OpenAuthTokenAppRequest exchanges a merchant's app_auth_code for an app_auth_token
// (third-party authorisation, 第三方授权).
type OpenAuthTokenAppRequest struct {
	GrantType    string `json:"grant_type"`
	Code         string `json:"code,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// OpenAuthTokenAppResponse is the answer node of alipay.open.auth.token.app.
type OpenAuthTokenAppResponse struct {
	ResponseHeader
	UserID          string `json:"user_id"`
	AuthAppID       string `json:"auth_app_id"`
	AppAuthToken    string `json:"app_auth_token"`
	AppRefreshToken string `json:"app_refresh_token"`
	ExpiresIn       int64  `json:"expires_in"`
	ReExpiresIn     int64  `json:"re_expires_in"`
}

// OpenAuthTokenApp exchanges or refreshes a merchant's authorisation of this ISV app.
func (c *Client) OpenAuthTokenApp(ctx context.Context, req *OpenAuthTokenAppRequest, opts ...CallOption) (*OpenAuthTokenAppResponse, error) {
	switch {
	case req.GrantType == GrantAuthorizationCode && req.Code != "":
	case req.GrantType == GrantRefreshToken && req.RefreshToken != "":
	default:
		return nil, invalid("give grant_type authorization_code with code, or refresh_token with refresh_token")
	}
	var out OpenAuthTokenAppResponse
	return &out, c.typed(ctx, MethodOpenAuthTokenApp, req, &out, opts)
}

// HeartbeatTrade is one recent trade reported in a heartbeat.
type HeartbeatTrade struct {
	OutTradeNo string `json:"OTN"`
	// Seconds is the trade's duration (0–99).
	Seconds int `json:"TC"`
	// Status: S success, I in process, F failed, P paying, X/Y/Z/C/T per Alipay's demo.
	Status string `json:"STAT"`
}

// HeartbeatRequest is the biz_content of monitor.heartbeat.syn (交易保障).
type HeartbeatRequest struct {
	Product              string            `json:"product"`          // FP 当面付
	Type                 string            `json:"type"`             // CR cash register, VM vending machine, ...
	EquipmentID          string            `json:"equipment_id"`     //
	EquipmentStatus      string            `json:"equipment_status"` // 10 on, 20 off, 30 normal, 40 sleep, 41 awake
	Time                 string            `json:"time"`
	StoreID              string            `json:"store_id,omitempty"`
	ManufacturerAppID    string            `json:"manufacturer_app_id,omitempty"`
	SysServiceProviderID string            `json:"sys_service_provider_id,omitempty"`
	EquipmentPosition    string            `json:"equipment_position,omitempty"`
	NetworkType          string            `json:"network_type,omitempty"`
	IP                   string            `json:"ip,omitempty"`
	MAC                  string            `json:"mac,omitempty"`
	TradeInfo            []HeartbeatTrade  `json:"trade_info,omitempty"`
	ExceptionInfo        []string          `json:"exception_info,omitempty"`
	ExtendInfo           map[string]string `json:"extend_info,omitempty"`
}

// HeartbeatResponse is the answer node of monitor.heartbeat.syn.
type HeartbeatResponse struct {
	ResponseHeader
	Pid string `json:"pid"`
}

// MonitorHeartbeatSyn reports a device's health and recent trade latencies. Alipay's
// demo sends it every 900 s. (The historical mcloudmonitor.com endpoint does not sign
// its answers; this client verifies every answer, as the f2fpay sandbox signs them.)
func (c *Client) MonitorHeartbeatSyn(ctx context.Context, req *HeartbeatRequest, opts ...CallOption) (*HeartbeatResponse, error) {
	if req.EquipmentID == "" || req.Product == "" || req.Type == "" {
		return nil, invalid("product, type and equipment_id are required")
	}
	r := *req
	if r.Time == "" {
		r.Time = c.now().In(c.loc).Format(timeLayout)
	}
	var out HeartbeatResponse
	return &out, c.typed(ctx, MethodMonitorHeartbeatSyn, &r, &out, opts)
}
