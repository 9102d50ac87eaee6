package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// vendMachine creates a vending terminal with a planogram (A1 cola 3.00, B2 water
// 3.50) and a client with its key.
func (b *bundle) vendMachine(code string) (*client.Terminal, *client.Client) {
	b.t.Helper()
	term, err := b.admin.CreateTerminal(b.ctx, b.merchID, client.TerminalRequest{StoreID: b.store.ID, AppID: b.app.ID, Code: code,
		Kind: "vending", Name: "lobby machine"})
	b.must(err)
	b.must(b.db.PutDevice(b.ctx, &f2fpay.Device{TerminalID: term.ID, MerchantID: b.merchID, Machine: f2fpay.MachineOrdinary,
		Slots: []f2fpay.Slot{{Code: "A1", GoodsID: "cola", Name: "可乐", Price: 300, Stock: 10},
			{Code: "B2", GoodsID: "water", Name: "矿泉水", Price: 350, Stock: 10}}}))
	c := client.NewClient(b.srv.URL, term.APIKey.KeyID, term.APIKey.Secret, nil)
	c.RetryDelay = 20 * time.Millisecond
	return term, c
}

// TestVendOverHTTP: a machine vends two units, the buyer scans the QR, the machine
// long-polls the vend to DISPENSING, reports one unit delivered and one jammed, and
// long-polls it to FINAL with the jammed unit refunded; the operator lists it.
func TestVendOverHTTP(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		ctx := b.ctx
		term, m := b.vendMachine("VM-1")
		v, err := m.CreateVend(ctx, client.VendRequest{Items: []client.VendLine{{Slot: "A1", Quantity: 1, Price: "3.00"}, {Slot: "B2", Quantity: 1, Price: "3.50"}}})
		b.must(err)
		if v.State != "AWAITING_PAYMENT" || v.Total != "6.50" || v.Payment == nil || v.Payment.QRCode == "" || len(v.Items) != 2 {
			t.Fatalf("created %+v", v)
		}
		by := b.Buyer("20.00")
		if _, err := b.sim.Scan(ctx, alipaysim.ScanSpec{BuyerID: by.UserID, QRCode: v.Payment.QRCode}); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); v.State == "AWAITING_PAYMENT"; {
			if time.Now().After(deadline) {
				t.Fatalf("never paid: %+v", v)
			}
			v, err = m.Vend(ctx, v.ID, 2*time.Second)
			b.must(err)
		}
		if v.State != "DISPENSING" || v.Payment.State != "PAID" {
			t.Fatalf("after payment: %+v", v)
		}
		// Unit 1 through the device channel: the machine's long-poll hands out the
		// dispense commands; it acknowledges unit 1's with its outcome.
		dev := m.Device(nil)
		var cmds []*client.Command
		for deadline := time.Now().Add(5 * time.Second); len(cmds) < 2 && time.Now().Before(deadline); {
			cmds, err = dev.Poll(ctx, time.Second)
			b.must(err)
		}
		if len(cmds) != 2 || cmds[0].Key != fmt.Sprintf("vend:%d:item:1", v.ID) || cmds[0].Kind != f2fpay.CommandDispense {
			t.Fatalf("commands %+v", cmds)
		}
		if _, err := dev.Ack(ctx, cmds[0].ID, json.RawMessage(`{"outcome":"delivered"}`)); err != nil {
			t.Fatal(err)
		}
		v, err = m.ReportVendItem(ctx, v.ID, 2, client.VendReport{Outcome: "failed", Code: "JAMMED"})
		b.must(err)
		for deadline := time.Now().Add(10 * time.Second); !v.Final; {
			if time.Now().After(deadline) {
				t.Fatalf("never final: %+v", v)
			}
			v, err = m.Vend(ctx, v.ID, 2*time.Second)
			b.must(err)
		}
		if v.State != "FINAL" || v.Refunded != "3.50" || v.Items[0].State != "DELIVERED" || v.Items[1].State != "REFUNDED" ||
			v.Payment.RefundedAmount != 350 || !strings.Contains(v.Message, "3.50") {
			t.Fatalf("final %+v", v)
		}
		if got := b.Balance(by.UserID); got != 20_00-300 {
			t.Errorf("buyer paid %s net, want 3.00", 20_00-got)
		}
		// Another terminal cannot see it.
		if _, err := b.client.Vend(ctx, v.ID, 0); client.ErrorCode(err) != f2fpay.ENOTFOUND {
			t.Errorf("another terminal's read: %v", err)
		}
		list, _, err := b.admin.ListVends(ctx, url.Values{"terminal_id": {strconv.FormatInt(term.ID, 10)}, "state": {"final"}})
		b.must(err)
		if len(list) != 1 || list[0].ID != v.ID {
			t.Fatalf("admin list: %+v", list)
		}
		got, err := b.admin.Vend(ctx, v.ID)
		b.must(err)
		if got.Payment == nil || got.Payment.OutTradeNo != v.OutTradeNo {
			t.Fatalf("admin vend %+v", got)
		}
	})
}

// TestVendErrorsInChinese: what the planogram refuses, in the machine's language;
// cancel of an unpaid vend.
func TestVendErrorsInChinese(t *testing.T) {
	t.Parallel()
	b := setup(t)
	term, m := b.vendMachine("VM-2")
	auth := "Bearer " + term.APIKey.KeyID + "." + term.APIKey.Secret
	i := 0
	for body, want := range map[string]string{
		`{"items":[{"slot":"A1","quantity":1,"price":"2.50"}]}`:              "货道 A1 的价格是 3.00 元，不是 2.50 元",
		`{"items":[{"slot":"Z9","quantity":1,"price":"2.50"}]}`:              "货道 Z9 不在本机的货道表中",
		`{"items":[{"slot":"A1","quantity":11,"price":"3.00"}]}`:             "请求无效",
		`{"items":[{"slot":"B2","quantity":1,"price":"3.50"}],"pay":"face"}`: "售货机 VM-2 没有刷脸摄像头，请扫码付款",
	} {
		status, _, out := b.rawAt(b.srv.URL, http.MethodPost, "/v1/vends", auth, "k-zh-"+strconv.Itoa(i), []byte(body), "Accept-Language", "zh-CN")
		i++
		code, msg := errorOf(t, out)
		if status != http.StatusBadRequest || code != f2fpay.EINVALID || !strings.Contains(msg, want) {
			t.Errorf("%s: %d %s %q; want 400 with %q", body, status, code, msg, want)
		}
	}
	// A cashier terminal is refused.
	status, _, out := b.raw(http.MethodPost, "/v1/vends", b.termAuth(), "k-cashier", []byte(`{"items":[{"slot":"A1","quantity":1,"price":"3.00"}]}`))
	if code, _ := errorOf(t, out); status != http.StatusBadRequest || code != f2fpay.EINVALID {
		t.Errorf("cashier terminal: %d %s", status, out)
	}

	v, err := m.CreateVend(b.ctx, client.VendRequest{Items: []client.VendLine{{Slot: "A1", Quantity: 2, Price: "3.00"}}, IdempotencyKey: "vend-1"})
	b.must(err)
	again, err := m.CreateVend(b.ctx, client.VendRequest{Items: []client.VendLine{{Slot: "A1", Quantity: 2, Price: "3.00"}}, IdempotencyKey: "vend-1"})
	b.must(err)
	if again.ID != v.ID || again.OutTradeNo != v.OutTradeNo {
		t.Fatalf("a retried request made another vend: %d, %d", again.ID, v.ID)
	}
	if _, err := m.ReportVendItem(b.ctx, v.ID, 1, client.VendReport{Outcome: "delivered"}); client.ErrorCode(err) != f2fpay.ECONFLICT {
		t.Errorf("a report before payment: %v", err)
	}
	v, err = m.CancelVend(b.ctx, v.ID)
	b.must(err)
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	for v.State != "CANCELLED" && ctx.Err() == nil {
		v, err = m.Vend(ctx, v.ID, time.Second)
		b.must(err)
	}
	if v.State != "CANCELLED" || v.Items[0].State != "CANCELLED" {
		raw, _ := json.Marshal(v)
		t.Fatalf("cancelled: %s", raw)
	}
}

// TestVendFaceOverHTTP: a face machine asks for a face session, the scan fails in weak
// light (no face token), the vend falls back to a QR, the buyer scans and pays once,
// the unit is delivered.
func TestVendFaceOverHTTP(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := b.ctx
	term, m := b.vendMachine("VM-F")
	b.must(b.db.PutDevice(ctx, &f2fpay.Device{TerminalID: term.ID, MerchantID: b.merchID, Machine: f2fpay.MachineFace,
		Slots: []f2fpay.Slot{{Code: "A1", GoodsID: "cola", Name: "可乐", Price: 300, Stock: 10}}}))
	v, err := m.CreateVend(ctx, client.VendRequest{Items: []client.VendLine{{Slot: "A1", Quantity: 1, Price: "3.00"}}, Pay: "face"})
	b.must(err)
	if v.State != "AWAITING_PAYMENT" || v.PayKind != "face" || v.Payment != nil {
		t.Fatalf("face vend %+v", v)
	}
	fs, err := m.FaceInitialize(ctx, `{"apdidToken":"a","appName":"com.alipay.zoloz.smile","appVersion":"4.0.1","bioMetaInfo":"2.3.0:3,-4"}`)
	b.must(err)
	by := b.Buyer("20.00")
	scan, err := b.sim.VerifyFace(ctx, alipaysim.FaceVerifySpec{ZimID: fs.ZimID, UserID: by.UserID, Outcome: "weak_light"})
	b.must(err)
	if scan.FToken != "" {
		t.Fatalf("a weak-light scan gave a token: %+v", scan)
	}
	v, err = m.FallbackVend(ctx, v.ID)
	b.must(err)
	if v.PayKind != "qr" || v.Payment == nil || v.Payment.QRCode == "" {
		t.Fatalf("after the fallback: %+v", v)
	}
	if _, err := b.sim.Scan(ctx, alipaysim.ScanSpec{BuyerID: by.UserID, QRCode: v.Payment.QRCode}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); v.State != "DISPENSING"; {
		if time.Now().After(deadline) {
			t.Fatalf("never paid: %+v", v)
		}
		v, err = m.Vend(ctx, v.ID, time.Second)
		b.must(err)
	}
	v, err = m.ReportVendItem(ctx, v.ID, 1, client.VendReport{Outcome: "delivered"})
	b.must(err)
	if v.State != "FINAL" {
		t.Fatalf("after delivery: %+v", v)
	}
	if got := 20_00 - b.Balance(by.UserID); got != 300 {
		t.Errorf("buyer charged %s, want 3.00 once", got)
	}
}
