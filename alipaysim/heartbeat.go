package alipaysim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Heartbeat is one monitor.heartbeat.syn (交易保障) report: a cash register or vending
// machine telling Alipay it is alive and how long its recent trades took. Alipay used
// these to route around broken terminals; the sandbox records them so a test can see
// that a device reports, and what.
type Heartbeat struct {
	ID         string    `json:"id"`
	AppID      string    `json:"app_id"`
	SellerID   string    `json:"seller_id"`
	ReceivedAt time.Time `json:"received_at"`

	Product              string           `json:"product"`
	Type                 string           `json:"type"`
	EquipmentID          string           `json:"equipment_id"`
	EquipmentStatus      string           `json:"equipment_status"`
	Time                 string           `json:"time"`
	StoreID              string           `json:"store_id,omitempty"`
	ManufacturerAppID    string           `json:"manufacturer_app_id,omitempty"`
	SysServiceProviderID string           `json:"sys_service_provider_id,omitempty"`
	EquipmentPosition    string           `json:"equipment_position,omitempty"`
	BBSPosition          string           `json:"bbs_position,omitempty"`
	NetworkStatus        string           `json:"network_status,omitempty"`
	NetworkType          string           `json:"network_type,omitempty"`
	Battery              string           `json:"battery,omitempty"`
	WifiMac              string           `json:"wifi_mac,omitempty"`
	WifiName             string           `json:"wifi_name,omitempty"`
	IP                   string           `json:"ip,omitempty"`
	MAC                  string           `json:"mac,omitempty"`
	TradeInfo            []HeartbeatTrade `json:"trade_info,omitempty"`
	ExceptionInfo        json.RawMessage  `json:"exception_info,omitempty"`
	ExtendInfo           json.RawMessage  `json:"extend_info,omitempty"`
}

// HeartbeatTrade is one trade in a heartbeat, with the demo's short keys.
type HeartbeatTrade struct {
	OutTradeNo string `json:"OTN"`
	// Seconds is the time the trade took, as sent (the demo sends a decimal string).
	Seconds jstr `json:"TC"`
	// Status: S success, I in process, F failed, P waiting for the buyer's password,
	// X/Y/Z/C/T the demo's other outcomes (closed, cancelled, timed out, ...).
	Status string `json:"STAT"`
}

func (h *Heartbeat) recordKind() string { return kindHeartbeat }
func (h *Heartbeat) recordID() string   { return h.ID }
func (h *Heartbeat) cloneRecord() record {
	c := *h
	c.TradeInfo = slices.Clone(h.TradeInfo)
	return &c
}

// The values the F2F demo's AlipayHeartbeatSynRequestBuilder documents (docs/alipay-protocol.md §6.14).
var (
	heartbeatProducts = []string{"FP", "MP"}
	heartbeatTypes    = []string{"CR", "STORE", "VM", "MD", "SOFT_POS", "POS", "ALI_POS"}
	heartbeatStatuses = []string{"10", "20", "30", "40", "41"}
	heartbeatStats    = "SIFPXYZCT"
)

// heartbeat is monitor.heartbeat.syn. The answer's pid is the merchant's partner id.
func (t *txn) heartbeat(c *call) *node {
	bad := func(format string, args ...any) *node {
		return gatewayError(codeInvalid, "isv.invalid-parameter", "参数有误。"+fmt.Sprintf(format, args...))
	}
	h := &Heartbeat{}
	if raw := c.params["biz_content"]; strings.TrimSpace(raw) != "" {
		if err := json.Unmarshal([]byte(raw), h); err != nil {
			return bad("biz_content 不是合法的心跳 JSON (biz_content is not a heartbeat object: %v)", err)
		}
	}
	switch {
	case !slices.Contains(heartbeatProducts, h.Product):
		return bad("product 须为 FP 或 MP (product must be FP for 当面付)")
	case !slices.Contains(heartbeatTypes, h.Type):
		return bad("type 须为 %s 之一", strings.Join(heartbeatTypes, "/"))
	case h.EquipmentID == "" || len(h.EquipmentID) > 64:
		return bad("equipment_id 必填且不超过 64 个字符 (equipment_id is required)")
	case !slices.Contains(heartbeatStatuses, h.EquipmentStatus):
		return bad("equipment_status 须为 10/20/30/40/41 之一")
	case h.Time == "":
		return bad("time 必填 (yyyy-MM-dd HH:mm:ss)")
	case len(h.TradeInfo) > 100:
		return bad("trade_info 最多 100 笔")
	}
	if _, err := time.ParseInLocation(timeLayout, h.Time, beijing); err != nil {
		return bad("time 格式应为 yyyy-MM-dd HH:mm:ss")
	}
	for i, tr := range h.TradeInfo {
		sec, err := strconv.ParseFloat(string(tr.Seconds), 64)
		switch {
		case tr.OutTradeNo == "":
			return bad("trade_info[%d].OTN 必填", i)
		case err != nil || sec < 0 || sec > 99:
			return bad("trade_info[%d].TC 须为 0 到 99 秒", i)
		case len(tr.Status) != 1 || !strings.Contains(heartbeatStats, tr.Status):
			return bad("trade_info[%d].STAT 须为 %s 之一", i, strings.Join(strings.Split(heartbeatStats, ""), "/"))
		}
	}
	h.ID = "hb" + t.now.In(beijing).Format("20060102") + t.ids.digits(12)
	h.AppID, h.SellerID, h.ReceivedAt = c.app.AppID, c.app.SellerID, t.now
	t.putRec(h)
	return success().set("pid", c.app.SellerID)
}

// HeartbeatFilter selects heartbeats; empty fields match everything.
type HeartbeatFilter struct {
	AppID       string
	EquipmentID string
}

// Heartbeats lists the recorded heartbeats, oldest first.
func (s *Sim) Heartbeats(f HeartbeatFilter) []Heartbeat {
	var out []Heartbeat
	s.e.view(func(t *txn) {
		t.eachRec(kindHeartbeat, func(r record) bool {
			h := r.(*Heartbeat)
			if (f.AppID == "" || h.AppID == f.AppID) && (f.EquipmentID == "" || h.EquipmentID == f.EquipmentID) {
				out = append(out, *h.cloneRecord().(*Heartbeat))
			}
			return true
		})
	})
	slices.SortFunc(out, func(a, b Heartbeat) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// getHeartbeats is GET /sandbox/heartbeats?app_id=&equipment_id=.
func (s *Sim) getHeartbeats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	hs := s.Heartbeats(HeartbeatFilter{AppID: q.Get("app_id"), EquipmentID: q.Get("equipment_id")})
	if hs == nil {
		hs = []Heartbeat{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"heartbeats": hs})
}
