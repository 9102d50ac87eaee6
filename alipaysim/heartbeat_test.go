package alipaysim

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay/alipay"
)

func TestHeartbeat(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	c := b.sdk(b.app.AppID)
	res, err := c.MonitorHeartbeatSyn(ctx, &alipay.HeartbeatRequest{Product: "FP", Type: "VM", EquipmentID: "vm-7", EquipmentStatus: "30",
		StoreID: "s1", TradeInfo: []alipay.HeartbeatTrade{{OutTradeNo: "o1", Seconds: 3, Status: "S"}, {OutTradeNo: "o2", Seconds: 41, Status: "P"}}})
	if err != nil || res.Pid != b.app.SellerID {
		t.Fatalf("heartbeat: %v %+v", err, res)
	}
	if _, err := c.MonitorHeartbeatSyn(ctx, &alipay.HeartbeatRequest{Product: "FP", Type: "CR", EquipmentID: "cr-1", EquipmentStatus: "10"}); err != nil {
		t.Fatal(err)
	}
	var out struct{ Heartbeats []Heartbeat }
	if st := b.control("GET", "/sandbox/heartbeats?equipment_id=vm-7", nil, &out); st != 200 || len(out.Heartbeats) != 1 {
		t.Fatalf("list: %d %+v", st, out)
	}
	h := out.Heartbeats[0]
	if h.AppID != b.app.AppID || h.Type != "VM" || h.EquipmentStatus != "30" || len(h.TradeInfo) != 2 || h.TradeInfo[1].Seconds != "41" || h.TradeInfo[1].Status != "P" {
		t.Errorf("recorded %+v", h)
	}
	if all := b.sim.Heartbeats(HeartbeatFilter{AppID: b.app.AppID}); len(all) != 2 || all[0].EquipmentID != "vm-7" {
		t.Errorf("all: %+v", all)
	}

	tests := []struct {
		name, biz, want string
	}{
		{"bad product", `{"product":"XX","type":"VM","equipment_id":"e","equipment_status":"10","time":"2026-03-14 10:00:00"}`, "product"},
		{"bad type", `{"product":"FP","type":"TOASTER","equipment_id":"e","equipment_status":"10","time":"2026-03-14 10:00:00"}`, "type"},
		{"no equipment", `{"product":"FP","type":"VM","equipment_status":"10","time":"2026-03-14 10:00:00"}`, "equipment_id"},
		{"bad status", `{"product":"FP","type":"VM","equipment_id":"e","equipment_status":"99","time":"2026-03-14 10:00:00"}`, "equipment_status"},
		{"bad time", `{"product":"FP","type":"VM","equipment_id":"e","equipment_status":"10","time":"yesterday"}`, "time"},
		{"slow trade", `{"product":"FP","type":"VM","equipment_id":"e","equipment_status":"10","time":"2026-03-14 10:00:00","trade_info":[{"OTN":"o","TC":"120","STAT":"S"}]}`, "TC"},
		{"bad stat", `{"product":"FP","type":"VM","equipment_id":"e","equipment_status":"10","time":"2026-03-14 10:00:00","trade_info":[{"OTN":"o","TC":"1.5","STAT":"Q"}]}`, "STAT"},
		{"not a heartbeat", `{"product":"FP","type":"VM","equipment_id":"e","equipment_status":"10","time":"2026-03-14 10:00:00","trade_info":"none"}`, "biz_content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Call(ctx, "monitor.heartbeat.syn", tt.biz, nil)
			var ae *alipay.Error
			if !errors.As(err, &ae) || ae.SubCode != "isv.invalid-parameter" || !strings.Contains(ae.SubMsg, tt.want) {
				t.Fatalf("got %v, want isv.invalid-parameter about %s", err, tt.want)
			}
		})
	}
	if n := len(b.sim.Heartbeats(HeartbeatFilter{})); n != 2 {
		t.Errorf("%d heartbeats recorded; refused ones must not be", n)
	}
}
