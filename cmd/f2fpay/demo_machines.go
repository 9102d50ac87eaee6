package main

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/devicesim"
)

// demoPlanograms are the demo machines' slots (docs/vending.md §10). The demo puts
// them again at every run, so the stock is refilled.
var demoPlanograms = map[f2fpay.MachineKind][]f2fpay.Slot{
	f2fpay.MachineOrdinary: {
		{Code: "A1", GoodsID: "cola-330", Name: "可乐 Cola", Price: 350, Stock: 20},
		{Code: "A2", GoodsID: "water-550", Name: "矿泉水 Water", Price: 200, Stock: 20},
		{Code: "A3", GoodsID: "crisps-70", Name: "薯片 Crisps", Price: 550, Stock: 20},
		{Code: "B1", GoodsID: "coffee-250", Name: "冰咖啡 Iced coffee", Price: 600, Stock: 20},
	},
	f2fpay.MachineFace: {
		{Code: "A1", GoodsID: "tea-500", Name: "绿茶 Green tea", Price: 300, Stock: 20},
		{Code: "A2", GoodsID: "juice-300", Name: "橙汁 Orange juice", Price: 450, Stock: 20},
		{Code: "A3", GoodsID: "choc-40", Name: "巧克力 Chocolate", Price: 800, Stock: 20},
	},
	f2fpay.MachineCabinet: {
		{Code: "S1", GoodsID: "sandwich", Name: "三明治 Sandwich", Price: 850, Stock: 10},
		{Code: "S2", GoodsID: "yogurt", Name: "酸奶 Yogurt", Price: 450, Stock: 10},
		{Code: "S3", GoodsID: "banana", Name: "香蕉 Banana", Price: 150, Stock: 10},
		{Code: "S4", GoodsID: "salad", Name: "沙拉 Salad", Price: 1200, Stock: 10},
	},
}

// demoMachines provisions the face machine and the cabinet once (the ordinary machine
// is demoVendingMachine's), describes all three with their planograms at every run,
// and returns the simulator that runs them; the face machine's camera sees the demo
// buyer through the sandbox at simURL.
func demoMachines(ctx context.Context, dir string, svc *service, st *demoState, simURL string) (*devicesim.Sim, error) {
	devices, ok := svc.Storage.(f2fpay.DeviceStore)
	if !ok {
		return nil, fmt.Errorf("demo: the store keeps no vending devices")
	}
	if st.FaceTerminalID == 0 || st.CabinetTerminalID == 0 {
		apps, err := svc.Storage.ListApps(ctx, st.MerchantID)
		if err != nil || len(apps) == 0 {
			return nil, fmt.Errorf("demo: machines: the demo merchant has no app (%v); delete %s to start over", err, dir)
		}
		stores, err := svc.Storage.ListStores(ctx, st.MerchantID)
		if err != nil || len(stores) == 0 {
			return nil, fmt.Errorf("demo: machines: the demo merchant has no store (%v); delete %s to start over", err, dir)
		}
		admin := client.NewAdminClient(svc.AdminURL, st.AdminToken, nil)
		add := func(code, name string) (*client.Terminal, error) {
			return admin.CreateTerminal(ctx, st.MerchantID, client.TerminalRequest{StoreID: stores[0].ID, AppID: apps[0].ID,
				Code: code, Kind: "vending", Name: name})
		}
		if st.FaceTerminalID == 0 {
			t, err := add("VEND-FACE", "face vending machine")
			if err != nil {
				return nil, fmt.Errorf("demo: face machine: %w", err)
			}
			st.FaceTerminalID, st.FaceTerminalKey, st.FaceTerminalSec = t.ID, t.APIKey.KeyID, t.APIKey.Secret
			if err := saveDemoState(dir, st); err != nil {
				return nil, err
			}
		}
		if st.CabinetTerminalID == 0 {
			t, err := add("CABINET-1", "open-door cabinet")
			if err != nil {
				return nil, fmt.Errorf("demo: cabinet: %w", err)
			}
			st.CabinetTerminalID, st.CabinetTerminalKey, st.CabinetTerminalSec = t.ID, t.APIKey.KeyID, t.APIKey.Secret
			if err := saveDemoState(dir, st); err != nil {
				return nil, err
			}
		}
	}
	machines := []devicesim.MachineConfig{
		{TerminalID: st.VendTerminalID, Name: "售货机 Vending machine 1", Kind: f2fpay.MachineOrdinary, KeyID: st.VendTerminalKey, Secret: st.VendTerminalSec},
		{TerminalID: st.FaceTerminalID, Name: "刷脸售货机 Face machine", Kind: f2fpay.MachineFace, KeyID: st.FaceTerminalKey, Secret: st.FaceTerminalSec},
		{TerminalID: st.CabinetTerminalID, Name: "无人货柜 Open-door cabinet", Kind: f2fpay.MachineCabinet, KeyID: st.CabinetTerminalKey, Secret: st.CabinetTerminalSec,
			MemberURL: fmt.Sprintf("%s/m/%d", svc.URL, st.CabinetTerminalID)},
	}
	for i := range machines {
		m := &machines[i]
		m.Slots = append([]f2fpay.Slot(nil), demoPlanograms[m.Kind]...)
		d := &f2fpay.Device{TerminalID: m.TerminalID, MerchantID: st.MerchantID, Machine: m.Kind, Site: "f2fpay demo", Slots: m.Slots}
		if err := devices.PutDevice(ctx, d); err != nil {
			return nil, fmt.Errorf("demo: describing terminal %d (%s): %w", m.TerminalID, m.Kind, err)
		}
	}
	// The face machine's camera sees the demo buyer (the sandbox's face scan).
	return devicesim.New(devicesim.Config{ServiceURL: svc.URL, Machines: machines, Logger: svc.log,
		SandboxURL: simURL, FaceBuyerID: st.BuyerID})
}

// lateHandler serves with a handler set after the service started (503 before).
type lateHandler struct{ h atomic.Pointer[http.Handler] }

func (l *lateHandler) set(h http.Handler) { l.h.Store(&h) }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := l.h.Load()
	if h == nil {
		http.Error(w, "the simulator is starting / 模拟器正在启动", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}
