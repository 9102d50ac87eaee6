package device

import (
	"context"
	"fmt"
	"strconv"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
)

// AlipayForwarder forwards heartbeats as monitor.heartbeat.syn (交易保障,
// docs/alipay-protocol.md §6.14) with type VM, through the terminal's app — or its
// merchant's only app when the terminal names none.
type AlipayForwarder struct {
	Store   f2fpay.MerchantStore
	Clients payment.Clients
}

// Forward implements Forwarder.
func (f *AlipayForwarder) Forward(ctx context.Context, t *f2fpay.Terminal, h *f2fpay.DeviceHealth, hb *f2fpay.Heartbeat) error {
	app, err := f.app(ctx, t)
	if err != nil {
		return err
	}
	c, err := f.Clients.Client(ctx, app)
	if err != nil {
		return err
	}
	req := &alipay.HeartbeatRequest{Product: "FP", Type: "VM", EquipmentID: t.Code,
		EquipmentStatus: hb.Status.EquipmentStatus(), NetworkType: hb.NetworkType, ExceptionInfo: hb.Errors}
	if t.StoreID != 0 {
		if st, err := f.Store.FindStore(ctx, t.StoreID); err == nil {
			req.StoreID = st.Code
		}
	}
	for _, tr := range hb.Trades {
		req.TradeInfo = append(req.TradeInfo, alipay.HeartbeatTrade{OutTradeNo: tr.OutTradeNo, Seconds: tr.Seconds, Status: tr.Status})
	}
	ext := map[string]string{}
	if hb.Door != "" {
		ext["door"] = hb.Door
	}
	if hb.Temperature != nil {
		ext["temperature"] = strconv.FormatFloat(*hb.Temperature, 'f', 1, 64)
	}
	if len(ext) > 0 {
		req.ExtendInfo = ext
	}
	if _, err := c.MonitorHeartbeatSyn(ctx, req, c.Options()...); err != nil {
		return fmt.Errorf("monitor.heartbeat.syn for terminal %s: %w", t.Code, err)
	}
	return nil
}

func (f *AlipayForwarder) app(ctx context.Context, t *f2fpay.Terminal) (*f2fpay.App, error) {
	if t.AppID != 0 {
		return f.Store.FindApp(ctx, t.AppID)
	}
	apps, err := f.Store.ListApps(ctx, t.MerchantID)
	if err != nil {
		return nil, err
	}
	if len(apps) != 1 {
		return nil, fmt.Errorf("terminal %s names no app and its merchant has %d: give the terminal an app to report it to Alipay", t.Code, len(apps))
	}
	return apps[0], nil
}
