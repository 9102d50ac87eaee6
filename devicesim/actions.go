package devicesim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
)

// Action is what the page asks the machine to do (POST /sim/{terminal}/actions).
type Action struct {
	// Kind: buy (Slots), jam (Slot, On), weak_light (On), face (Slots), cancel,
	// take (Slot: one unit out of the open cabinet), put_back (Slot), close_door, reset.
	Kind  string   `json:"kind"`
	Slots []string `json:"slots,omitempty"`
	Slot  string   `json:"slot,omitempty"`
	On    bool     `json:"on,omitempty"`
}

// maxBuy bounds the units one purchase on the screen takes (f2fpay.MaxVendItems).
const maxBuy = f2fpay.MaxVendItems

// Do carries out a on the machine. Errors are the buyer's to read, in both languages.
func (m *Machine) Do(ctx context.Context, a Action) error {
	switch a.Kind {
	case "jam":
		if m.slot(a.Slot) == nil {
			return errf("没有货道 %s", "no slot %s", a.Slot)
		}
		m.mu.Lock()
		m.jammed[a.Slot] = a.On
		m.mu.Unlock()
		if a.On {
			m.logf("货道 %s 设为卡货：下次出货将失败", "slot %s jammed: its next dispense fails", a.Slot)
		} else {
			m.logf("货道 %s 已修好", "slot %s cleared", a.Slot)
		}
		return nil
	case "weak_light":
		if m.cfg.Kind != f2fpay.MachineFace {
			return errf("这台机器没有摄像头", "this machine has no camera")
		}
		m.mu.Lock()
		m.weakLight = a.On
		m.mu.Unlock()
		if a.On {
			m.logf("光线变暗：刷脸将失败", "weak light: face capture will fail")
		} else {
			m.logf("光线正常", "light back to normal")
		}
		return nil
	case "buy", "face":
		return m.buy(ctx, a.Slots, a.Kind == "face")
	case "cancel":
		return m.cancel(ctx)
	case "reset":
		m.mu.Lock()
		busy := m.screen == screenPaying || m.screen == screenDispensing || m.screen == screenDoorOpen
		m.mu.Unlock()
		if busy {
			return errf("机器正忙", "the machine is busy")
		}
		m.reset()
		return nil
	case "take", "put_back":
		return m.take(a.Slot, a.Kind == "take")
	case "close_door":
		return m.closeDoor(ctx)
	}
	return errf("未知操作 %q", "unknown action %q", a.Kind)
}

func (m *Machine) slot(code string) *f2fpay.Slot {
	for i := range m.cfg.Slots {
		if m.cfg.Slots[i].Code == code {
			return &m.cfg.Slots[i]
		}
	}
	return nil
}

// buy starts a vend order for the chosen slots (one unit each, repeated codes for
// more), paid by QR — or first by face on a face machine.
func (m *Machine) buy(ctx context.Context, slots []string, face bool) error {
	if m.cfg.Kind == f2fpay.MachineCabinet {
		return errf("无人货柜请扫码开门", "a cabinet opens for a member: scan its QR")
	}
	if len(slots) == 0 || len(slots) > maxBuy {
		return errf("请选择 1 到 %d 件商品", "choose 1 to %d items", maxBuy)
	}
	if face && m.cfg.Kind != f2fpay.MachineFace {
		return errf("这台机器没有摄像头", "this machine has no camera")
	}
	var lines []client.VendLine
	at := map[string]int{}
	for _, code := range slots {
		s := m.slot(code)
		if s == nil {
			return errf("没有货道 %s", "no slot %s", code)
		}
		if i, ok := at[code]; ok {
			lines[i].Quantity++
			continue
		}
		at[code] = len(lines)
		lines = append(lines, client.VendLine{Slot: code, Quantity: 1, Price: s.Price.String()})
	}
	m.mu.Lock()
	if m.screen == screenPaying || m.screen == screenDispensing {
		m.mu.Unlock()
		return errf("上一笔还没完成", "the previous purchase is not finished")
	}
	weak := m.weakLight
	m.faceTried = face
	m.mu.Unlock()

	if face && m.sim.cfg.SandboxURL != "" && m.sim.cfg.FaceBuyerID != "" {
		return m.payByFace(ctx, lines, weak)
	}
	if face {
		m.logf("刷脸：没有摄像头（未配置沙箱），改为扫码支付", "pay by face: no camera (no sandbox configured), falling back to the QR")
	}
	v, err := m.c.CreateVend(ctx, client.VendRequest{Items: lines, Pay: "qr"})
	if err != nil {
		m.logf("下单失败：%v", "vend refused: %v", err)
		return errf("下单失败：%v", "the vend was refused: %v", err)
	}
	m.logf("订单 %d（%s）：待付 %s 元", "vend %d (%s): %s yuan to pay", v.ID, v.OutTradeNo, v.Total)
	m.showVend(v, face)
	return nil
}

// showVend puts a vend on the screen (its QR while it waits for the buyer) and follows
// it to the end.
func (m *Machine) showVend(v *client.Vend, fallback bool) {
	m.mu.Lock()
	m.vend, m.qr = v, ""
	if v.Payment != nil {
		m.qr = v.Payment.QRCode
	}
	m.watchGen++
	gen := m.watchGen
	m.mu.Unlock()
	switch {
	case v.State == "DISPENSING":
		m.headline(screenDispensing, "支付成功，正在出货…", "Paid: dispensing…")
	case fallback:
		m.headline(screenPaying, "刷脸失败，请用支付宝扫码支付", "Face payment failed: scan the QR with Alipay instead")
	default:
		m.headline(screenPaying, "请用支付宝扫码支付", "Scan the QR with Alipay to pay")
	}
	go m.watch(m.sim.background(), gen, v.ID)
}

// maxAnswer bounds what the simulator reads of the camera's (the sandbox's) answer.
const maxAnswer = 1 << 20

// faceMetainfo is what a face SDK hands the machine for smilepay.initialize.
const faceMetainfo = `{"apdidToken":"devicesim","appName":"com.alipay.zoloz.smile","appVersion":"4.0.1","bioMetaInfo":"2.3.0:3,-4"}`

// payByFace sells by face (docs/vending.md §1, §11): a vend with pay face, a face
// session from the service, the camera's scan (the sandbox), the face token paid; when
// the scan or the payment fails in a way a QR fixes, the same vend falls back to a QR
// once the service has resolved the face attempt — the buyer can never pay both.
func (m *Machine) payByFace(ctx context.Context, lines []client.VendLine, weak bool) error {
	v, err := m.c.CreateVend(ctx, client.VendRequest{Items: lines, Pay: "face"})
	if err != nil {
		m.logf("下单失败：%v", "vend refused: %v", err)
		return errf("下单失败：%v", "the vend was refused: %v", err)
	}
	m.logf("订单 %d（%s）：刷脸支付 %s 元", "vend %d (%s): %s yuan to pay by face", v.ID, v.OutTradeNo, v.Total)
	m.mu.Lock()
	m.vend, m.qr = v, ""
	m.watchGen++
	m.mu.Unlock()
	m.headline(screenPaying, "请正对摄像头…", "Look at the camera…")
	fail := func(zh, en string, args ...any) error {
		m.logf(zh, en, args...)
		return m.fallback(ctx, v.ID)
	}
	fs, err := m.c.FaceInitialize(ctx, faceMetainfo)
	if err != nil {
		return fail("刷脸初始化失败：%v；改为扫码支付", "face initialisation failed: %v; falling back to the QR", err)
	}
	outcome := "ok"
	if weak {
		outcome = "weak_light"
	}
	ftoken, code, err := m.faceScan(ctx, fs.ZimID, outcome)
	switch {
	case err != nil:
		return fail("刷脸失败：%v；改为扫码支付", "face scan failed: %v; falling back to the QR", err)
	case ftoken == "":
		return fail("光线太暗，刷脸失败（face_weak_light, %s）：改为扫码支付", "weak light, face capture failed (face_weak_light, %s): falling back to the QR", code)
	}
	m.logf("刷脸成功：用刷脸令牌支付", "face recognised: paying with the face token")
	paid, err := m.c.PayVendFace(ctx, v.ID, ftoken)
	if err != nil {
		return fail("刷脸支付失败：%v；改为扫码支付", "face payment failed: %v; falling back to the QR", err)
	}
	if paid.State != "DISPENSING" && !paid.Final {
		return fail("刷脸支付未成功（%s）：改为扫码支付", "face payment did not go through (%s): falling back to the QR", paid.State)
	}
	m.logf("刷脸支付成功", "paid by face")
	m.showVend(paid, false)
	return nil
}

// fallback asks the service to switch vend id to a QR, again while the face attempt is
// still being resolved (409), then shows it.
func (m *Machine) fallback(ctx context.Context, id int64) error {
	for range 40 {
		v, err := m.c.FallbackVend(ctx, id)
		if client.ErrorCode(err) == client.ECONFLICT {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			m.logf("改为扫码支付失败：%v", "falling back to the QR failed: %v", err)
			return errf("改为扫码支付失败：%v", "falling back to the QR failed: %v", err)
		}
		m.logf("订单 %d 改为扫码支付（刷脸已了结，不会重复扣款）", "vend %d falls back to a QR (the face attempt is resolved: no double charge)", id)
		m.showVend(v, v.State != "DISPENSING")
		return nil
	}
	return errf("刷脸支付仍在处理中，请稍候", "the face payment is still being resolved; try again shortly")
}

// faceScan plays the camera: the sandbox's scan of the configured buyer's face for the
// face session, with outcome ok or a fault (weak_light). It answers the face token, or
// the scan's failure code.
func (m *Machine) faceScan(ctx context.Context, zimID, outcome string) (ftoken, code string, err error) {
	body, _ := json.Marshal(map[string]string{"zim_id": zimID, "user_id": m.sim.cfg.FaceBuyerID, "outcome": outcome})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(m.sim.cfg.SandboxURL, "/")+"/sandbox/face/verify", bytes.NewReader(body))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.sim.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	var out struct {
		Code    string `json:"code"`
		SubCode string `json:"subCode"`
		FToken  string `json:"ftoken"`
		Msg     string `json:"msg"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&out); err != nil {
		return "", "", fmt.Errorf("the camera's answer: %w", err)
	}
	if out.Code == "1000" && out.FToken != "" {
		return out.FToken, "", nil
	}
	if out.Code == "" {
		return "", "", fmt.Errorf("the camera answered HTTP %d", resp.StatusCode)
	}
	return "", strings.TrimSpace(out.Code + " " + out.SubCode), nil
}

// watch long-polls the vend until it is final and keeps the screen up to date.
func (m *Machine) watch(ctx context.Context, gen int, id int64) {
	deadline := time.Now().Add(15 * time.Minute)
	last := ""
	for time.Now().Before(deadline) && ctx.Err() == nil {
		v, err := m.c.Vend(ctx, id, 25*time.Second)
		m.mu.Lock()
		current := m.watchGen == gen
		m.mu.Unlock()
		if !current {
			return
		}
		if err != nil {
			m.logf("查询订单 %d 出错：%v", "looking vend %d up failed: %v", id, err)
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
			continue
		}
		m.mu.Lock()
		m.vend = v
		m.mu.Unlock()
		if v.State != last {
			last = v.State
			m.logf("订单 %d：%s", "vend %d: %s", id, v.State)
		}
		switch {
		case v.State == "CANCELLED":
			m.headline(screenDone, "订单已取消，未扣款", "The vend was cancelled: nothing charged")
			return
		case v.Final || v.State == "FINAL" || v.State == "ATTENTION":
			if v.Refunded != "" && v.Refunded != "0.00" {
				m.headline(screenDone, fmt.Sprintf("出货完成，未出货的商品已自动退款 %s 元", v.Refunded),
					fmt.Sprintf("Done. What could not be dispensed was refunded automatically: %s yuan", v.Refunded))
			} else {
				m.headline(screenDone, "出货完成，请取走商品", "Done: take your goods")
			}
			return
		case v.State == "DISPENSING":
			m.headline(screenDispensing, "支付成功，正在出货…", "Paid: dispensing…")
			m.dispenseUnreported(ctx, v)
		}
	}
}

// cancel abandons an unpaid vend (the service closes the trade; a trade that turns out
// paid is dispensed as usual).
func (m *Machine) cancel(ctx context.Context) error {
	m.mu.Lock()
	v := m.vend
	screen := m.screen
	m.mu.Unlock()
	if screen != screenPaying || v == nil {
		return errf("没有待支付的订单", "nothing waiting for payment")
	}
	if _, err := m.c.CancelVend(ctx, v.ID); err != nil {
		return errf("取消失败：%v", "cancelling failed: %v", err)
	}
	m.logf("已请求取消订单 %d", "asked to cancel vend %d", v.ID)
	return nil
}

func (m *Machine) reset() {
	m.mu.Lock()
	m.vend, m.qr, m.faceTried, m.cabinet = nil, "", false, nil
	m.watchGen++
	m.mu.Unlock()
	m.headline(screenIdle, "", "")
}

// take moves one unit of a slot out of (or back into) the open cabinet.
func (m *Machine) take(code string, out bool) error {
	s := m.slot(code)
	if s == nil {
		return errf("没有货道 %s", "no slot %s", code)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.door != "open" {
		return errf("柜门没开", "the door is not open")
	}
	switch {
	case out && m.taken[code] >= s.Stock:
		return errf("%s 已经拿完了", "no %s left", s.Name)
	case out:
		m.taken[code]++
	case m.taken[code] == 0:
		return errf("没有拿过 %s", "no %s was taken", s.Name)
	default:
		m.taken[code]--
	}
	return nil
}

// closeDoor reports what was taken; the service charges it through the member's
// agreement.
func (m *Machine) closeDoor(ctx context.Context) error {
	m.mu.Lock()
	if m.door != "open" {
		m.mu.Unlock()
		return errf("柜门没开", "the door is not open")
	}
	session := m.session
	var items []client.CabinetTaken
	for _, s := range m.cfg.Slots {
		if n := m.taken[s.Code]; n > 0 {
			items = append(items, client.CabinetTaken{Slot: s.Code, Count: n})
		}
	}
	m.door = "closed"
	m.mu.Unlock()
	n := 0
	for _, it := range items {
		n += it.Count
	}
	m.logf("柜门关闭：会话 %d 取走 %d 件", "door closed: session %d took %d items", session, n)
	if items == nil {
		items = []client.CabinetTaken{}
	}
	cs, err := m.c.CloseCabinetSession(ctx, session, items)
	if err != nil {
		m.logf("关门上报失败：%v", "door-close report failed: %v", err)
		m.headline(screenError, "关门上报失败", "The door-close report failed")
		return errf("关门上报失败：%v", "the door-close report failed: %v", err)
	}
	m.mu.Lock()
	for _, it := range items {
		if s := m.slot(it.Slot); s != nil {
			s.Stock = max(0, s.Stock-it.Count)
		}
	}
	m.mu.Unlock()
	m.showCharge(cs)
	go m.watchCharge(m.sim.background(), session)
	return nil
}

func (m *Machine) showCharge(cs *client.CabinetSession) {
	m.mu.Lock()
	m.cabinet = cs
	m.mu.Unlock()
	switch cs.State {
	case "PAID":
		m.headline(screenCharging, fmt.Sprintf("已扣款 %s 元，谢谢", cs.Amount), fmt.Sprintf("Charged %s yuan. Thank you", cs.Amount))
	case "DEBT":
		m.headline(screenCharging, fmt.Sprintf("扣款 %s 元失败（%s），请充值后补缴", cs.Amount, cs.FailCode),
			fmt.Sprintf("Charging %s yuan failed (%s): top up, then pay what is owed", cs.Amount, cs.FailCode))
	case "EMPTY":
		m.headline(screenCharging, "未取商品，不扣款", "Nothing taken, nothing charged")
	default:
		m.headline(screenCharging, fmt.Sprintf("正在扣款 %s 元…", cs.Amount), fmt.Sprintf("Charging %s yuan…", cs.Amount))
	}
	m.logf("会话 %d：%s，%s 元", "session %d: %s, %s yuan", cs.ID, cs.State, cs.Amount)
}

// watchCharge follows the session while it is charging or owed, for a while.
func (m *Machine) watchCharge(ctx context.Context, id int64) {
	last := ""
	for range 120 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		cs, err := m.c.CabinetSession(ctx, id)
		if err != nil {
			continue
		}
		m.mu.Lock()
		current := m.session == id && m.door == "closed"
		m.mu.Unlock()
		if !current {
			return
		}
		if cs.State != last {
			last = cs.State
			m.showCharge(cs)
		}
		if cs.State != "CHARGING" && cs.State != "DEBT" {
			return
		}
	}
}

// userError is a message for the person at the screen.
type userError struct{ zh, en string }

func (e *userError) Error() string { return e.en }

func errf(zh, en string, args ...any) error {
	return &userError{zh: fmt.Sprintf(zh, args...), en: fmt.Sprintf(en, args...)}
}

// dispenseUnreported drops the units of a paid vend itself, and reports each through
// the vend API, while the device channel does not answer (its dispense commands cannot
// arrive): the vend's own word says it is paid. When the channel comes back, a command
// for a unit dispensed this way is acknowledged with the same outcome, not dispensed
// again (Machine.dispense).
func (m *Machine) dispenseUnreported(ctx context.Context, v *client.Vend) {
	m.mu.Lock()
	online := m.online
	m.mu.Unlock()
	if online {
		return
	}
	for _, it := range v.Items {
		k := unit{v.ID, it.N}
		m.mu.Lock()
		done := m.reported[k]
		m.mu.Unlock()
		if done || it.State != "DISPENSING" {
			continue
		}
		m.logf("设备通道不可用：按已支付的订单 %d 出第 %d 件（货道 %s）并上报", "device channel down: dispensing paid vend %d unit %d (slot %s) and reporting it",
			v.ID, it.N, it.Slot)
		var r client.VendReport
		json.Unmarshal(m.dispense(ctx, v.ID, it.N, it.Slot), &r)
		if _, err := m.c.ReportVendItem(ctx, v.ID, it.N, r); err != nil {
			m.logf("上报订单 %d 第 %d 件失败：%v", "reporting vend %d unit %d failed: %v", v.ID, it.N, err)
			continue
		}
		m.mu.Lock()
		m.reported[k] = true
		m.mu.Unlock()
		m.logf("已上报订单 %d 第 %d 件：%s", "reported vend %d unit %d: %s", v.ID, it.N, r.Outcome)
	}
}
