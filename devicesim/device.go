package devicesim

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
)

// runDevice is the machine's device loop (docs/vending.md §10) on client.Device:
// long-poll, execute each command id at most once (the client's journal), acknowledge
// by id; a lost answer or acknowledgement is repaired by the next poll, which hands
// the command out again and is acknowledged without executing it again.
func (m *Machine) runDevice(ctx context.Context) {
	d := m.c.Device(func(ctx context.Context, c *f2fpay.Command) (json.RawMessage, error) {
		r := m.execute(ctx, c)
		m.logf("确认指令 %d：%s", "acknowledging command %d: %s", c.ID, r)
		return r, nil
	})
	d.OnError = func(err error) { m.logf("设备通道：%v", "device channel: %v", err) }
	fails := 0
	for ctx.Err() == nil {
		cmds, err := d.Poll(ctx, m.sim.cfg.PollWait)
		m.mu.Lock()
		m.lastPoll, m.online = time.Now(), err == nil
		m.mu.Unlock()
		for _, c := range cmds {
			if err = d.Handle(ctx, c); err != nil {
				break
			}
		}
		if err == nil {
			fails = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if fails == 0 {
			m.logf("设备通道出错：%v（稍后重试）", "device channel: %v (retrying)", err)
		}
		fails++
		pause := min(200*time.Millisecond<<min(fails, 8), 30*time.Second)
		if client.ErrorCode(err) == client.ENOTFOUND {
			pause = 30 * time.Second // a service without the device channel
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

// execute carries out one command and says what happened.
func (m *Machine) execute(ctx context.Context, c *f2fpay.Command) json.RawMessage {
	switch c.Kind {
	case f2fpay.CommandDispense:
		var p struct {
			VendID int64  `json:"vend_id"`
			Item   int    `json:"item"`
			Slot   string `json:"slot"`
		}
		json.Unmarshal(c.Payload, &p)
		m.logf("收到出货指令 %d：订单 %d 第 %d 件，货道 %s", "command %d: dispense vend %d unit %d from slot %s", c.ID, p.VendID, p.Item, p.Slot)
		return m.dispense(ctx, p.VendID, p.Item, p.Slot)
	case f2fpay.CommandOpenDoor:
		var p struct {
			SessionID int64 `json:"session_id"`
		}
		json.Unmarshal(c.Payload, &p)
		m.mu.Lock()
		m.door, m.session, m.taken, m.cabinet = "open", p.SessionID, map[string]int{}, nil
		m.mu.Unlock()
		m.headline(screenDoorOpen, "柜门已开，请取商品，取完关门", "The door is open: take what you want, then close it")
		m.logf("收到开门指令 %d：会话 %d，柜门打开", "command %d: open the door for session %d — door open", c.ID, p.SessionID)
		return json.RawMessage(fmt.Sprintf(`{"door":"open","session_id":%d}`, p.SessionID))
	case f2fpay.CommandShowQR:
		var p struct {
			QRCode string `json:"qr_code"`
		}
		json.Unmarshal(c.Payload, &p)
		if p.QRCode != "" {
			m.mu.Lock()
			m.qr = p.QRCode
			m.mu.Unlock()
			m.headline(screenPaying, "请用支付宝扫码支付", "Scan the QR with Alipay to pay")
		}
		m.logf("收到显示二维码指令 %d", "command %d: show a QR", c.ID)
		return json.RawMessage(`{"shown":true}`)
	case f2fpay.CommandCancel:
		m.logf("收到取消指令 %d", "command %d: cancel", c.ID)
		m.reset()
		return json.RawMessage(`{"cancelled":true}`)
	}
	m.logf("未知指令 %d（%s）", "command %d: unknown kind %s", c.ID, c.Kind)
	return json.RawMessage(`{"error":"unknown command kind"}`)
}

// runHeartbeats reports the machine's status on a schedule (docs/vending.md §5).
func (m *Machine) runHeartbeats(ctx context.Context) {
	quiet := false
	for {
		m.mu.Lock()
		h := f2fpay.Heartbeat{Status: f2fpay.MachineNormal}
		for slot, j := range m.jammed {
			if j {
				h.Errors = append(h.Errors, "JAMMED_"+slot)
			}
		}
		if m.cfg.Kind == f2fpay.MachineCabinet {
			t := 5.0 // a chilled cabinet with a door sensor
			h.Temperature, h.Door = &t, m.door
		}
		m.mu.Unlock()
		every := m.sim.cfg.HeartbeatEvery
		ans, err := m.c.Device(nil).Heartbeat(ctx, h)
		switch {
		case err == nil:
			quiet = false
			m.mu.Lock()
			m.online = true // the service answers; the first long-poll may still be waiting
			m.mu.Unlock()
			if ans.NextHeartbeatSeconds > 0 {
				every = time.Duration(ans.NextHeartbeatSeconds) * time.Second // the service's schedule
			}
		case ctx.Err() != nil:
			return
		case !quiet:
			m.logf("心跳未送达：%v", "heartbeat not delivered: %v", err)
			quiet = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// unit names one unit of one vend.
type unit struct {
	vend int64
	item int
}

// dispense drops one unit from slot, once per unit whichever way the machine was told
// (a dispense command, or its own long-poll of the vend when the device channel is
// down): a unit dispensed already answers what happened then. The motor does one unit
// at a time.
func (m *Machine) dispense(ctx context.Context, vendID int64, item int, slot string) json.RawMessage {
	m.motor.Lock()
	defer m.motor.Unlock()
	k := unit{vendID, item}
	m.mu.Lock()
	r, done := m.units[k]
	m.mu.Unlock()
	if done {
		m.logf("订单 %d 第 %d 件已出过货，不再出货", "vend %d unit %d was dispensed already: not again", vendID, item)
		return r
	}
	select {
	case <-ctx.Done():
	case <-time.After(m.sim.cfg.DispenseTime):
	}
	m.mu.Lock()
	jammed := m.jammed[slot]
	m.mu.Unlock()
	r = json.RawMessage(`{"outcome":"delivered"}`)
	if jammed {
		m.logf("货道 %s 卡货：出货失败（JAMMED）", "slot %s jammed: dispense failed (JAMMED)", slot)
		r = json.RawMessage(`{"outcome":"failed","code":"JAMMED"}`)
	} else {
		m.logf("货道 %s 出货成功", "slot %s: delivered", slot)
	}
	m.mu.Lock()
	m.units[k] = r
	if !jammed {
		for i := range m.cfg.Slots {
			if m.cfg.Slots[i].Code == slot && m.cfg.Slots[i].Stock > 0 {
				m.cfg.Slots[i].Stock--
			}
		}
	}
	if len(m.units) > maxUnits {
		for u := range m.units {
			if u != k {
				delete(m.units, u)
				break
			}
		}
	}
	m.mu.Unlock()
	return r
}

// maxUnits bounds the units a machine remembers dispensing (a vend's commands live
// minutes; the machine sells far fewer units in that time).
const maxUnits = 4096
