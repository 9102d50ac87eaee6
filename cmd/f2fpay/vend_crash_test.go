package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
)

var (
	vendCrashVends = flag.Int("vendcrash.vends", 16, "vend orders in TestVendCrash")
	vendCrashKills = flag.Int("vendcrash.kills", 20, "SIGKILLs of the service in TestVendCrash")
)

// TestVendCrash runs serve and the sandbox as processes and sells vend orders
// (docs/vending.md §11) from a vending machine under asynchronous profit sharing while
// serve is SIGKILLed again and again: between payment and the dispense commands,
// between the commands and the machine's reports, between the reports and the refunds,
// and between the last unit and the settlement. Slot A1 always drops its goods, B2 is
// jammed (reported failed), C3 never answers (refunded at the deadline). At the end,
// with only the janitors at work: every paid vend is FINAL; each unit is delivered or
// refunded (a delivery reported after its deadline stays refunded); the sandbox's own
// records agree — one paid trade per vend, one refund per refunded unit and no other,
// the buyer charged exactly the delivered units, the receiver holding its share of
// exactly what was kept.
func TestVendCrash(t *testing.T) { onEachDatabase(t, "vendcrash", vendCrash) }

// vendSlots is the machine's planogram: price in fen, and how the machine behaves.
var vendSlots = map[string]struct {
	price   f2fpay.Amount
	outcome string // delivered, failed, or "" (never answers)
}{
	"A1": {300, f2fpay.OutcomeDelivered},
	"B2": {350, f2fpay.OutcomeFailed},
	"C3": {500, ""},
}

func vendCrash(t *testing.T, db string) {
	if testing.Short() {
		t.Skip("-short: runs the service and the sandbox as processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	stack := startServeStack(ctx, t, db, "vendcrash", "F2FPAY_INSTANCE=vend-crash", "F2FPAY_JANITOR_INTERVAL=300ms",
		"F2FPAY_QUERY_INTERVAL=300ms", "F2FPAY_VEND_WINDOW=4s")
	sim, p, admin := stack.sim, stack.p, stack.admin

	control := func(method, path string, in, out any) error {
		var body bytes.Buffer
		if in != nil {
			json.NewEncoder(&body).Encode(in)
		}
		req, _ := http.NewRequestWithContext(ctx, method, stack.gateway+path, &body)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode >= 300 {
			return fmt.Errorf("%s %s: %d", method, path, res.StatusCode)
		}
		return json.NewDecoder(res.Body).Decode(out)
	}
	balance := func(id string) f2fpay.Amount {
		t.Helper()
		var b struct {
			Balance f2fpay.Amount `json:"balance"`
		}
		if err := control("GET", "/sandbox/accounts/"+id, nil, &b); err != nil {
			t.Fatal(err)
		}
		return b.Balance
	}

	// The vending machine: a terminal of kind vending, its planogram written while
	// serve is down (the admin API for planograms is the device channel's work), and
	// asynchronous sharing of 30% with the site owner.
	term, err := admin.CreateTerminal(ctx, p.MerchantID, client.TerminalRequest{StoreID: p.StoreID, AppID: p.App.ID, Code: "VM-1", Kind: "vending", Name: "lobby"})
	if err != nil {
		t.Fatal(err)
	}
	var receiver struct {
		UserID string `json:"user_id"`
	}
	if err := control("POST", "/sandbox/accounts", map[string]string{"name": "site owner"}, &receiver); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.SetTerminalFundRule(ctx, term.ID, client.FundRule{Mode: f2fpay.FundAsync, SettleDelay: "1h",
		Receivers: []f2fpay.FundReceiver{{Account: receiver.UserID, BasisPoints: 3000}}}); err != nil {
		t.Fatal(err)
	}
	desc := client.DeviceDescription{Machine: f2fpay.MachineOrdinary, Site: "lobby"}
	for _, code := range []string{"A1", "B2", "C3"} {
		desc.Slots = append(desc.Slots, client.DeviceSlot{Code: code, GoodsID: "g-" + code, Name: "goods " + code, Price: vendSlots[code].price.String(), Stock: 1000})
	}
	if _, err := admin.SetDevice(ctx, term.ID, desc); err != nil {
		t.Fatal(err)
	}

	machine := client.NewClient(stack.URL, term.APIKey.KeyID, term.APIKey.Secret, &http.Client{Timeout: 20 * time.Second})
	machine.Retries = 0 // this test retries itself, across kills

	// The killer: SIGKILL and restart at random moments while vends run, counting in
	// which phase each kill found the vends.
	var (
		kills     atomic.Int64
		phaseMu   sync.Mutex
		phases    = map[string]int{}
		stopKills = make(chan struct{})
		killerWG  sync.WaitGroup
		downMu    sync.RWMutex // held while serve is down
	)
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))
	// Each kill aims at a phase in turn: it waits (up to 3 s) for a vend standing
	// there, then kills at once — or at a random moment when none shows up.
	targets := []string{"awaiting payment", "paid, commands not enqueued", "dispensing, awaiting reports", "refunding", "final"}
	// The killer has its own generator: a *rand.Rand is not safe for concurrent use,
	// and the buyers' loop draws from rng meanwhile.
	krng := mrand.New(mrand.NewPCG(rng.Uint64(), 11))
	killerWG.Add(1)
	go func() {
		defer killerWG.Done()
		for n := 0; ; n++ {
			select {
			case <-stopKills:
				return
			case <-time.After(time.Duration(300+krng.IntN(700)) * time.Millisecond):
			}
			target, hit := targets[n%len(targets)], "random"
			for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && hit == "random"; time.Sleep(20 * time.Millisecond) {
				vs, _, err := admin.ListVends(ctx, url.Values{"terminal_id": {strconv.FormatInt(term.ID, 10)}, "limit": {"20"}})
				if err != nil {
					continue
				}
				for _, v := range vs {
					if vendPhase(&v) == target {
						hit = target
						break
					}
				}
			}
			downMu.Lock()
			stack.kill()
			kills.Add(1)
			phaseMu.Lock()
			phases[hit]++
			phaseMu.Unlock()
			stack.start()
			downMu.Unlock()
		}
	}()

	// The machine's device channel: A1's dispense commands are acknowledged
	// "delivered" through it (B2's are reported failed below, C3's never answered),
	// retried through the kills like a machine on a weak network.
	devCtx, stopDev := context.WithCancel(ctx)
	var devWG sync.WaitGroup
	devWG.Add(1)
	go func() {
		defer devWG.Done()
		dev := machine.Device(nil)
		for devCtx.Err() == nil {
			downMu.RLock()
			cmds, err := dev.Poll(devCtx, time.Second)
			downMu.RUnlock()
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for _, c := range cmds {
				var p struct {
					Slot string `json:"slot"`
				}
				json.Unmarshal(c.Payload, &p)
				if p.Slot != "A1" {
					continue
				}
				downMu.RLock()
				dev.Ack(devCtx, c.ID, json.RawMessage(`{"outcome":"delivered"}`))
				downMu.RUnlock()
			}
		}
	}()

	// The vends: each a buyer, one to three units, paid by scanning the QR; the
	// machine reports what its slots do, retrying through the kills.
	type sold struct {
		id    int64
		buyer string
		total f2fpay.Amount
	}
	var (
		soldMu sync.Mutex
		vends  []sold
		wg     sync.WaitGroup
	)
	slotNames := []string{"A1", "B2", "C3"}
	for i := 0; i < 120 && (i < *vendCrashVends || kills.Load() < int64(*vendCrashKills)); i++ {
		var lines []client.VendLine
		for _, s := range slotNames {
			if q := rng.IntN(2); q > 0 || (s == "A1" && i%3 == 0) {
				lines = append(lines, client.VendLine{Slot: s, Quantity: max(q, 1), Price: vendSlots[s].price.String()})
			}
		}
		if len(lines) == 0 {
			lines = []client.VendLine{{Slot: slotNames[i%3], Quantity: 1, Price: vendSlots[slotNames[i%3]].price.String()}}
		}
		wg.Add(1)
		go func(i int, lines []client.VendLine) {
			defer wg.Done()
			buyer, err := sim.CreateBuyer(ctx, simclient.BuyerSpec{Balance: f2fpay.MustParseAmount("100.00")})
			if err != nil {
				t.Error(err)
				return
			}
			key := fmt.Sprintf("vendcrash-%d", i)
			var v *client.Vend
			for attempt := 0; ; attempt++ {
				downMu.RLock()
				v, err = machine.CreateVend(ctx, client.VendRequest{Items: lines, IdempotencyKey: key})
				downMu.RUnlock()
				if err == nil && v.Payment != nil && v.Payment.QRCode != "" {
					break
				}
				if ctx.Err() != nil || attempt > 40 {
					t.Errorf("vend %d: not created: %v", i, err)
					return
				}
				if err == nil {
					// Created, but the answer has no QR (its precreate was cut by a
					// kill): this vend is cancelled by the janitor; start a new one.
					key = fmt.Sprintf("vendcrash-%d-%d", i, attempt)
				}
				time.Sleep(200 * time.Millisecond)
			}
			var trade map[string]any
			if err := control("POST", "/sandbox/scan", map[string]string{"buyer_id": buyer.UserID, "qr_code": v.Payment.QRCode}, &trade); err != nil {
				t.Errorf("vend %d: scan: %v", v.ID, err)
				return
			}
			soldMu.Lock()
			vends = append(vends, sold{id: v.ID, buyer: buyer.UserID})
			soldMu.Unlock()
			// The machine: wait for DISPENSING, then report each unit (C3 never).
			reported := map[int]bool{}
			for ctx.Err() == nil {
				downMu.RLock()
				got, err := machine.Vend(ctx, v.ID, 2*time.Second)
				downMu.RUnlock()
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				v = got
				if v.Final {
					return
				}
				if v.State != "DISPENSING" {
					continue
				}
				for _, it := range v.Items {
					beh := vendSlots[it.Slot]
					if reported[it.N] || beh.outcome == "" || it.State != "DISPENSING" || (it.Slot == "A1" && time.Since(v.CreatedAt) < 2*time.Second) {
						continue
					}
					r := client.VendReport{Outcome: beh.outcome}
					if beh.outcome == f2fpay.OutcomeFailed {
						r.Code = "JAMMED"
					}
					downMu.RLock()
					_, err := machine.ReportVendItem(ctx, v.ID, it.N, r)
					downMu.RUnlock()
					if err == nil || client.ErrorCode(err) == f2fpay.ECONFLICT {
						reported[it.N] = true
					}
				}
			}
		}(i, lines)
		time.Sleep(time.Duration(200+rng.IntN(600)) * time.Millisecond)
	}
	wg.Wait()
	close(stopKills)
	killerWG.Wait()
	stopDev()
	devWG.Wait()

	// Only the janitors now: every vend that was paid ends FINAL, settled.
	var all []client.Vend
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		all, _, err = admin.ListVends(ctx, url.Values{"terminal_id": {strconv.FormatInt(term.ID, 10)}, "limit": {"1000"}})
		open := 0
		for _, v := range all {
			if !v.Final {
				open++
			}
		}
		if err == nil && open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d vends still open 90 s after the last kill (%v)", open, err)
		}
	}
	byID := map[int64]client.Vend{}
	for _, v := range all {
		byID[v.ID] = v
	}

	var refundedUnits, deliveredUnits, late int
	var kept f2fpay.Amount // what the buyers paid and kept paid: the settlements' base
	var wantShares f2fpay.Amount
	for _, s := range vends {
		v, ok := byID[s.id]
		if !ok || v.State != "FINAL" {
			t.Errorf("vend %d: %+v, want FINAL", s.id, v)
			continue
		}
		var refunded f2fpay.Amount
		for _, it := range v.Items {
			price := f2fpay.MustParseAmount(it.Price)
			switch {
			case it.State == "REFUNDED":
				refunded += price
				refundedUnits++
				if vendSlots[it.Slot].outcome == f2fpay.OutcomeDelivered {
					late++ // A1's report came after its deadline (a kill held it up)
				}
			case it.State == "DELIVERED" && vendSlots[it.Slot].outcome == f2fpay.OutcomeDelivered:
				deliveredUnits++
			default:
				t.Errorf("vend %d unit %d (%s) is %s", v.ID, it.N, it.Slot, it.State)
			}
		}
		total := f2fpay.MustParseAmount(v.Total)
		if got := f2fpay.MustParseAmount(v.Refunded); got != refunded {
			t.Errorf("vend %d says refunded %s, its units %s", v.ID, got, refunded)
		}
		// The sandbox's word: one paid trade for this out_trade_no, refunded exactly the
		// refunded units, each once under its own out_request_no.
		var tr struct {
			Status    string        `json:"trade_status"`
			Total     f2fpay.Amount `json:"total_amount"`
			BuyerID   string        `json:"buyer_user_id"`
			RefundFee f2fpay.Amount `json:"refund_fee"`
			Refunds   []struct {
				OutRequestNo string        `json:"out_request_no"`
				Amount       f2fpay.Amount `json:"refund_amount"`
			} `json:"refunds"`
		}
		trades, err := sim.Trades(ctx, p.SandboxApp.AppID, "")
		if err != nil {
			t.Fatal(err)
		}
		var tradeNo string
		for _, x := range trades {
			if x.OutTradeNo == v.OutTradeNo {
				tradeNo = x.TradeNo
			}
			if x.BuyerID == s.buyer && x.OutTradeNo != v.OutTradeNo && x.Status != "WAIT_BUYER_PAY" && x.Status != "TRADE_CLOSED" {
				t.Errorf("buyer %s has another trade %s (%s)", s.buyer, x.OutTradeNo, x.Status)
			}
		}
		if err := control("GET", "/sandbox/trades/"+url.PathEscape(tradeNo), nil, &tr); err != nil {
			t.Fatalf("vend %d: sandbox trade: %v", v.ID, err)
		}
		if tr.Total != total || tr.RefundFee != refunded || tr.BuyerID != s.buyer {
			t.Errorf("vend %d: sandbox total %s refunded %s buyer %s; want %s, %s, %s", v.ID, tr.Total, tr.RefundFee, tr.BuyerID, total, refunded, s.buyer)
		}
		seen := map[string]bool{}
		for _, r := range tr.Refunds {
			n, err := strconv.Atoi(strings.TrimPrefix(r.OutRequestNo, fmt.Sprintf("rf-vend-%d-", v.ID)))
			if seen[r.OutRequestNo] || err != nil || n < 1 || n > len(v.Items) || v.Items[n-1].State != "REFUNDED" ||
				f2fpay.MustParseAmount(v.Items[n-1].Price) != r.Amount {
				t.Errorf("vend %d: refund %s of %s does not match a refunded unit once", v.ID, r.OutRequestNo, r.Amount)
			}
			seen[r.OutRequestNo] = true
		}
		if got := 100_00 - balance(s.buyer); got != total-refunded {
			t.Errorf("vend %d: buyer charged %s net, want %s", v.ID, got, total-refunded)
		}
		kept += total - refunded
		wantShares += (total - refunded) * 3000 / 10000
	}
	// Settlements: each vend's frozen money shared once, on what was kept.
	for deadline := time.Now().Add(60 * time.Second); balance(receiver.UserID) != wantShares; time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("receiver holds %s, want %s (30%% of what each vend kept)", balance(receiver.UserID), wantShares)
		}
	}
	phaseMu.Lock()
	t.Logf("%d vends, %d kills, %d units delivered, %d refunded (%d of them delivered after their deadline), kept %s, shared %s; kills by the phase they hit: %v",
		len(vends), kills.Load(), deliveredUnits, refundedUnits, late, kept, wantShares, phases)
	phaseMu.Unlock()
}

// vendPhase names where a vend stands, for the kill tally.
func vendPhase(v *client.Vend) string {
	switch v.State {
	case "AWAITING_PAYMENT":
		return "awaiting payment"
	case "DISPENSING":
		for _, it := range v.Items {
			if it.State == "REFUNDING" {
				return "refunding"
			}
		}
		for _, it := range v.Items {
			if it.State == "DISPENSING" && it.CommandID == 0 {
				return "paid, commands not enqueued"
			}
		}
		return "dispensing, awaiting reports"
	case "FINAL":
		return "final"
	}
	return strings.ToLower(v.State)
}
