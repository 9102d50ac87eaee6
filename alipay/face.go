package alipay

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Face payment (刷脸付, docs/vending.md §1): the device's face SDK gives metainfo, the
// merchant's server initialises a face session with it (the device must not hold the
// merchant key), the device scans the face with the session and obtains a face token
// (ftoken), and the server pays with TradePay, scene security_code, auth_code the ftoken.

// SmilepayMerchantInfo is merchant_info of zoloz.authentication.smilepay.initialize.
type SmilepayMerchantInfo struct {
	AreaCode   string `json:"area_code,omitempty"`
	BrandCode  string `json:"brand_code,omitempty"`
	DeviceMac  string `json:"device_mac,omitempty"`
	DeviceNum  string `json:"device_num,omitempty"`
	Geo        string `json:"geo,omitempty"`
	Group      string `json:"group,omitempty"`
	MerchantID string `json:"merchant_id,omitempty"`
	PartnerID  string `json:"partner_id,omitempty"`
	StoreCode  string `json:"store_code,omitempty"`
	WifiMac    string `json:"wifimac,omitempty"`
	WifiName   string `json:"wifiname,omitempty"`
}

// SmilepayMachineInfo is machine_info: the camera and the machine it sits in.
type SmilepayMachineInfo struct {
	CameraDriveVer string `json:"camera_drive_ver,omitempty"`
	CameraModel    string `json:"camera_model,omitempty"`
	CameraName     string `json:"camera_name,omitempty"`
	CameraVer      string `json:"camera_ver,omitempty"`
	Ext            string `json:"ext,omitempty"`
	MachineCode    string `json:"machine_code,omitempty"`
	MachineModel   string `json:"machine_model,omitempty"`
	MachineVer     string `json:"machine_ver,omitempty"`
}

// SmilepayInitializeRequest is the biz_content of zoloz.authentication.smilepay.initialize,
// the newer face initialisation whose fields are the metainfo's, flattened.
type SmilepayInitializeRequest struct {
	ApdidToken   string                `json:"apdid_token"`
	AppName      string                `json:"app_name"`
	AppVersion   string                `json:"app_version"`
	BaseVer      string                `json:"base_ver,omitempty"`
	BioMetaInfo  string                `json:"bio_meta_info"`
	DeviceModel  string                `json:"device_model,omitempty"`
	DeviceType   string                `json:"device_type,omitempty"`
	OsVersion    string                `json:"os_version,omitempty"`
	ZimVer       string                `json:"zim_ver,omitempty"`
	RemoteLogID  string                `json:"remote_log_id,omitempty"`
	ExtInfo      map[string]string     `json:"ext_info,omitempty"`
	MachineInfo  *SmilepayMachineInfo  `json:"machine_info,omitempty"`
	MerchantInfo *SmilepayMerchantInfo `json:"merchant_info,omitempty"`
}

// SmilepayInitializeResponse is the answer node of zoloz.authentication.smilepay.initialize.
type SmilepayInitializeResponse struct {
	ResponseHeader
	RetCodeSub        string `json:"ret_code_sub"`
	RetMessageSub     string `json:"ret_message_sub"`
	ZimID             string `json:"zim_id"`
	ZimInitClientData string `json:"zim_init_client_data"`
}

// SmilepayInitialize starts a face session for a device. Hand ZimID and
// ZimInitClientData to the device, whose face SDK turns them into an ftoken.
func (c *Client) SmilepayInitialize(ctx context.Context, req *SmilepayInitializeRequest, opts ...CallOption) (*SmilepayInitializeResponse, error) {
	if req.ApdidToken == "" || req.AppName == "" || req.AppVersion == "" || req.BioMetaInfo == "" {
		return nil, invalid("apdid_token, app_name, app_version and bio_meta_info are required: copy them from the device's zolozGetMetaInfo")
	}
	var out SmilepayInitializeResponse
	if err := c.typed(ctx, MethodSmilepayInitialize, req, &out, opts); err != nil {
		return &out, err
	}
	if out.ZimID == "" || out.ZimInitClientData == "" {
		return &out, &UnknownError{Method: MethodSmilepayInitialize, Reason: "the answer has no zim_id or zim_init_client_data"}
	}
	return &out, nil
}

// CustomerSmilepayInitializeResponse is the answer node of
// zoloz.authentication.customer.smilepay.initialize. Result is a JSON text in a string;
// ZimID and ZimInitClientData are read from it.
type CustomerSmilepayInitializeResponse struct {
	ResponseHeader
	Result            string `json:"result"`
	ZimID             string `json:"-"`
	ZimInitClientData string `json:"-"`
}

// MaxFaceMetaInfoBytes bounds a device's metainfo; real ones are a few hundred bytes.
const MaxFaceMetaInfoBytes = 8 << 10

// CustomerSmilepayInitialize starts a face session with the older method, which takes
// the device's metainfo as one JSON text (zimmetainfo) and answers with a JSON text
// (result) holding zimId and zimInitClientData.
func (c *Client) CustomerSmilepayInitialize(ctx context.Context, metainfo string, opts ...CallOption) (*CustomerSmilepayInitializeResponse, error) {
	if len(metainfo) > MaxFaceMetaInfoBytes || !json.Valid([]byte(metainfo)) || !strings.HasPrefix(strings.TrimSpace(metainfo), "{") {
		return nil, invalid("zimmetainfo must be the JSON object the device's zolozGetMetaInfo returned (at most %d bytes)", MaxFaceMetaInfoBytes)
	}
	var out CustomerSmilepayInitializeResponse
	biz := struct {
		ZimMetaInfo string `json:"zimmetainfo"`
	}{metainfo}
	if err := c.typed(ctx, MethodCustomerSmilepayInitialize, biz, &out, opts); err != nil {
		return &out, err
	}
	id, data, err := ParseSmilepayResult(out.Result)
	if err != nil {
		return &out, &UnknownError{Method: MethodCustomerSmilepayInitialize, Reason: "the answer's result does not decode", Err: err}
	}
	out.ZimID, out.ZimInitClientData = id, data
	return &out, nil
}

// ParseSmilepayResult reads the result text of the older initialisation:
// {"zimId":"…","zimInitClientData":"…"} (extra keys such as "type" are ignored).
func ParseSmilepayResult(result string) (zimID, zimInitClientData string, err error) {
	if len(result) > 64<<10 {
		return "", "", fmt.Errorf("result is larger than 64 KiB")
	}
	var r struct {
		ZimID             *string `json:"zimId"`
		ZimInitClientData *string `json:"zimInitClientData"`
	}
	if err := json.Unmarshal([]byte(result), &r); err != nil {
		return "", "", fmt.Errorf("result is not a JSON object: %v", err)
	}
	if r.ZimID == nil || *r.ZimID == "" || r.ZimInitClientData == nil || *r.ZimInitClientData == "" {
		return "", "", fmt.Errorf("result has no zimId or zimInitClientData")
	}
	return *r.ZimID, *r.ZimInitClientData, nil
}

// IsFaceToken reports whether s has the form of a face token: "fp" and 33 more
// letters or digits (35 in all, per Alipay's Java SDK).
func IsFaceToken(s string) bool {
	if len(s) != 35 || !strings.HasPrefix(s, "fp") {
		return false
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
