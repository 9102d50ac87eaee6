package alipaysim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Face payment (刷脸付, docs/vending.md §1). The merchant's server initialises a face
// session for a device with zoloz.authentication.smilepay.initialize (flat answer) or
// the older zoloz.authentication.customer.smilepay.initialize (a JSON text in result);
// the device's face SDK then scans the buyer — here POST /sandbox/face/verify, which a
// simulated machine calls with the buyer it "sees" — and gets an ftoken, which the
// server spends with alipay.trade.pay scene=security_code. An ftoken is bound to the
// merchant (pid) whose session produced it: another merchant's trade.pay answers
// ACQ.SMILE_PAY_MERCHANT_NOT_MATCH.

const kindFaceSession = "face_session"

// FaceSessionTTL is how long a face session (zimId) can be verified: Alipay documents
// the Smile context as valid 24 h and reusable meanwhile.
const FaceSessionTTL = 24 * time.Hour

// FaceSession is one smilepay.initialize: the zimId a device verifies faces with.
type FaceSession struct {
	ZimID     string    `json:"zim_id"`
	AppID     string    `json:"app_id"`
	SellerID  string    `json:"seller_id"`
	Method    string    `json:"method"`
	AppName   string    `json:"app_name,omitempty"`
	DeviceNum string    `json:"device_num,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Verified counts the face scans made with it.
	Verified int `json:"verified"`
}

func (f *FaceSession) recordKind() string  { return kindFaceSession }
func (f *FaceSession) recordID() string    { return f.ZimID }
func (f *FaceSession) cloneRecord() record { c := *f; return &c }

// smilepayMeta is the device metainfo, in the flat snake_case form of the newer method
// and the camelCase JSON text of the older one.
type smilepayMeta struct {
	ApdidToken   jstr `json:"apdid_token"`
	AppName      jstr `json:"app_name"`
	AppVersion   jstr `json:"app_version"`
	BioMetaInfo  jstr `json:"bio_meta_info"`
	MerchantInfo *struct {
		DeviceNum jstr `json:"device_num"`
	} `json:"merchant_info"`

	CamelApdidToken  jstr `json:"apdidToken"`
	CamelAppName     jstr `json:"appName"`
	CamelAppVersion  jstr `json:"appVersion"`
	CamelBioMetaInfo jstr `json:"bioMetaInfo"`
	ZimMetaInfo      jstr `json:"zimmetainfo"`
}

// smilepayInit is zoloz.authentication.smilepay.initialize.
func (t *txn) smilepayInit(c *call) *node {
	var m smilepayMeta
	if err := json.Unmarshal([]byte(c.params["biz_content"]), &m); err != nil {
		return invalidParam("biz_content 不是设备 metainfo 的 JSON (biz_content must be the device's metainfo: " + err.Error() + ")")
	}
	if m.AppName == "" || m.BioMetaInfo == "" || m.ApdidToken == "" {
		return invalidParam("缺少 apdid_token、app_name 或 bio_meta_info (copy them from the device's zolozGetMetaInfo)")
	}
	device := ""
	if m.MerchantInfo != nil {
		device = string(m.MerchantInfo.DeviceNum)
	}
	f := t.newFaceSession(c, string(m.AppName), device)
	return success().set("zim_id", f.ZimID).set("zim_init_client_data", faceClientData(f))
}

// customerSmilepayInit is zoloz.authentication.customer.smilepay.initialize. The SDK
// model wraps the metainfo in zimmetainfo; Alipay's own demo sends the metainfo itself
// as biz_content. Both are accepted.
func (t *txn) customerSmilepayInit(c *call) *node {
	var m smilepayMeta
	if err := json.Unmarshal([]byte(c.params["biz_content"]), &m); err != nil {
		return invalidParam("biz_content 须为 {\"zimmetainfo\": \"<metainfo>\"} (" + err.Error() + ")")
	}
	if m.ZimMetaInfo != "" {
		var inner smilepayMeta
		if err := json.Unmarshal([]byte(m.ZimMetaInfo), &inner); err != nil {
			return invalidParam("zimmetainfo 不是 JSON 文本 (zimmetainfo must be the JSON text zolozGetMetaInfo returned)")
		}
		m = inner
	}
	if m.CamelAppName == "" || m.CamelBioMetaInfo == "" || m.CamelApdidToken == "" {
		return invalidParam("zimmetainfo 缺少 apdidToken、appName 或 bioMetaInfo")
	}
	f := t.newFaceSession(c, string(m.CamelAppName), "")
	result := compactJSON(map[string]string{"type": "zimInit", "zimId": f.ZimID, "zimInitClientData": faceClientData(f)})
	return success().set("result", result)
}

func (t *txn) newFaceSession(c *call, appName, device string) *FaceSession {
	id := strings.ToLower(hexDigits(t, 33))
	for t.rec(kindFaceSession, id) != nil {
		id = strings.ToLower(hexDigits(t, 33))
	}
	f := &FaceSession{ZimID: id, AppID: c.app.AppID, SellerID: c.app.SellerID, Method: c.method, AppName: appName,
		DeviceNum: device, CreatedAt: t.now, ExpiresAt: t.now.Add(FaceSessionTTL)}
	t.putRec(f)
	return f
}

// faceClientData is the opaque blob the device's SDK consumes: here base64url of what
// the sandbox's "face SDK" needs to know.
func faceClientData(f *FaceSession) string {
	return base64.RawURLEncoding.EncodeToString([]byte(compactJSON(map[string]string{
		"zimId": f.ZimID, "appId": f.AppID, "expires": fmtTime(f.ExpiresAt)})))
}

// Outcomes of a face scan, as the device's zolozVerify reports them: code 1000 with an
// ftoken, 1003 the buyer quit, 1004 timed out, 1005 the buyer chose another method. The
// sub codes WEAK_LIGHT and FACE_NOT_RECOGNISED are the sandbox's own names (Alipay's
// face SDK gives a failure code with a subCode whose values are not published).
const (
	FaceOK            = "ok"
	FaceWeakLight     = "weak_light"
	FaceNotRecognised = "not_recognised"
	FaceCancelled     = "cancelled"
	FaceTimeout       = "timeout"
	FaceOtherMethod   = "other_method"
)

// faceOutcomes: outcome → code, subCode, message.
var faceOutcomes = map[string][3]string{
	FaceWeakLight:     {"1004", "WEAK_LIGHT", "光线太暗，未能采集到人脸 (too dark: no face could be captured)"},
	FaceNotRecognised: {"1001", "FACE_NOT_RECOGNISED", "未能识别您的身份，请使用其他方式支付 (the face matched no Alipay account)"},
	FaceCancelled:     {"1003", "USER_QUIT", "用户退出刷脸 (the buyer quit face payment)"},
	FaceTimeout:       {"1004", "TIMEOUT", "刷脸超时 (face scan timed out)"},
	FaceOtherMethod:   {"1005", "OTHER_METHOD", "用户选择了其他支付方式 (the buyer chose another payment method)"},
}

// Fault kinds of the face scan (POST /sandbox/face/verify): the next matching scan
// fails as if the camera met the condition. Scope them with app_id.
const (
	FaultFaceWeakLight     = "face_weak_light"
	FaultFaceNotRecognised = "face_not_recognised"
	FaultFaceCancelled     = "face_cancelled"
)

// faceVerifyMethod is the pseudo-method face faults match: zolozVerify runs on the device.
const faceVerifyMethod = "zolozVerify"

// FaceVerifySpec is a simulated face scan.
type FaceVerifySpec struct {
	ZimID  string `json:"zim_id"`
	UserID string `json:"user_id"` // the buyer in front of the camera (user id, open id or logon id)
	// Outcome forces a result (ok, weak_light, not_recognised, cancelled, timeout,
	// other_method); empty means ok unless a face fault fires.
	Outcome string `json:"outcome,omitempty"`
}

// FaceVerifyResult is what zolozVerify returns to the device.
type FaceVerifyResult struct {
	Code      string `json:"code"`
	SubCode   string `json:"subCode,omitempty"`
	Msg       string `json:"msg,omitempty"`
	FToken    string `json:"ftoken,omitempty"`
	ExpiresAt string `json:"expires_at,omitempty"`
}

// VerifyFace plays the device's face scan for a session. A scan that fails is not an
// error: it is a result with a code other than 1000, as the device sees it.
func (s *Sim) VerifyFace(ctx context.Context, spec FaceVerifySpec) (*FaceVerifyResult, error) {
	if spec.ZimID == "" || spec.UserID == "" {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "zim_id (from smilepay.initialize) and user_id (the buyer at the camera) are required")
	}
	if _, ok := faceOutcomes[spec.Outcome]; !ok && spec.Outcome != "" && spec.Outcome != FaceOK {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "outcome %q: one of ok, weak_light, not_recognised, cancelled, timeout, other_method", spec.Outcome)
	}
	var out *FaceVerifyResult
	err := s.e.update(ctx, func(t *txn) error {
		r := t.rec(kindFaceSession, spec.ZimID)
		if r == nil {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "no face session %q: call smilepay.initialize first", spec.ZimID)
		}
		f := r.(*FaceSession)
		if !t.now.Before(f.ExpiresAt) {
			out = &FaceVerifyResult{Code: "1004", SubCode: "ZIM_EXPIRED", Msg: "刷脸初始化已过期，请重新初始化 (the session expired: initialise again)"}
			return nil
		}
		b := t.buyerByAny(spec.UserID)
		if b == nil {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "no buyer %q", spec.UserID)
		}
		outcome := spec.Outcome
		if outcome == "" {
			_, fault := t.e.faults.take(faceVerifyMethod, f.AppID, "", func(k string) bool { return strings.HasPrefix(k, "face_") })
			if fault != nil {
				outcome = map[string]string{FaultFaceWeakLight: FaceWeakLight, FaultFaceNotRecognised: FaceNotRecognised,
					FaultFaceCancelled: FaceCancelled}[fault.Kind]
			}
		}
		fw := t.recW(kindFaceSession, f.ZimID).(*FaceSession)
		fw.Verified++
		if o, ok := faceOutcomes[outcome]; ok {
			out = &FaceVerifyResult{Code: o[0], SubCode: o[1], Msg: o[2]}
			return nil
		}
		c := t.issueCode(b.UserID, "face")
		c.SellerID, c.ZimID = f.SellerID, f.ZimID
		out = &FaceVerifyResult{Code: "1000", FToken: c.Code, ExpiresAt: fmtTime(c.ExpiresAt)}
		return nil
	})
	return out, err
}

// postFaceVerify is POST /sandbox/face/verify.
func (s *Sim) postFaceVerify(w http.ResponseWriter, r *http.Request) {
	var spec FaceVerifySpec
	if err := s.decode(r, &spec); err != nil {
		writeError(w, err)
		return
	}
	out, err := s.VerifyFace(r.Context(), spec)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
