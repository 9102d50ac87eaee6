package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
)

// TestSettleAfterCrash: asynchronous profit sharing survives a SIGKILL between payment
// and settlement. A vending machine's sale is paid with its money frozen; the machine
// says the sale is final; Alipay (the sandbox) performs the settle but is slow to say
// so, and the service is killed meanwhile. After the restart, with nobody calling, the
// janitor finds the settlement it wrote before sending, confirms it with the settle
// query or the same request again, and the receiver holds exactly its share — once.
func TestSettleAfterCrash(t *testing.T) { onEachDatabase(t, "settlecrash", settleAfterCrash) }

func settleAfterCrash(t *testing.T, db string) {
	if testing.Short() {
		t.Skip("-short: runs the service and the sandbox as processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stack := startServeStack(ctx, t, db, "vending", "F2FPAY_INSTANCE=vending-server", "F2FPAY_JANITOR_INTERVAL=300ms")
	sim, p, base, admin, gateway := stack.sim, stack.p, stack.URL, stack.admin, stack.gateway
	// The sandbox's control API: a receiver account and balances.
	control := func(method, path string, in, out any) {
		t.Helper()
		var body bytes.Buffer
		if in != nil {
			json.NewEncoder(&body).Encode(in)
		}
		req, _ := http.NewRequestWithContext(ctx, method, gateway+path, &body)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d", method, path, res.StatusCode)
		}
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	balance := func(id string) f2fpay.Amount {
		var b struct {
			Balance f2fpay.Amount `json:"balance"`
		}
		control("GET", "/sandbox/accounts/"+id, nil, &b)
		return b.Balance
	}
	var receiver struct {
		UserID string `json:"user_id"`
	}
	control("POST", "/sandbox/accounts", map[string]string{"name": "site owner"}, &receiver)
	term := p.Terminals[0]
	if _, err := admin.SetTerminalFundRule(ctx, term.ID, client.FundRule{Mode: f2fpay.FundAsync, SettleDelay: "1h",
		Receivers: []f2fpay.FundReceiver{{Account: receiver.UserID, BasisPoints: 3000}}}); err != nil {
		t.Fatal(err)
	}
	buyer, err := sim.CreateBuyer(ctx, simclient.BuyerSpec{Balance: f2fpay.MustParseAmount("100.00")})
	if err != nil {
		t.Fatal(err)
	}
	code, err := sim.PaymentCode(ctx, buyer.UserID)
	if err != nil {
		t.Fatal(err)
	}
	tc := terminalClient(base, term, &http.Client{Timeout: 30 * time.Second})
	tc.Retries = 0
	pay, err := tc.PayBarcode(ctx, client.BarcodeRequest{AuthCode: code, Amount: f2fpay.MustParseAmount("10.01"), Subject: "cola"})
	if err != nil || pay.State != "PAID" {
		t.Fatalf("payment: %+v %v", pay, err)
	}
	merchant0 := balance(p.SandboxApp.SellerID)

	// Alipay settles, then takes 20 s to say so; the service dies meanwhile.
	if _, err := sim.AddFault(ctx, simclient.Fault{Kind: "slow_answer", Method: "alipay.trade.order.settle", Count: 1, Latency: "20s"}); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		_, err := tc.FinalizeSale(ctx, pay.OutTradeNo)
		first <- err
	}()
	for deadline := time.Now().Add(20 * time.Second); balance(receiver.UserID) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the settle never reached the sandbox")
		}
	}
	stack.kill()
	if err := <-first; err == nil {
		t.Fatal("the final call was answered although the service was killed")
	}
	stack.start()

	// Nobody calls: the janitor must finish the settlement on its own.
	restarted := time.Now()
	var st *f2fpay.Settlement
	for {
		if time.Since(restarted) > 90*time.Second {
			t.Fatalf("not settled 90 s after the restart: %+v", st)
		}
		time.Sleep(500 * time.Millisecond)
		o, _, err := admin.Order(ctx, pay.OutTradeNo)
		if err != nil || o == nil {
			continue
		}
		// The final call again is idempotent and shows the settlement as it stands.
		if st, err = tc.FinalizeSale(ctx, pay.OutTradeNo); err == nil && st.State == f2fpay.SettlementSettled {
			break
		}
	}
	t.Logf("settled %.1fs after the restart: %+v", time.Since(restarted).Seconds(), st)
	// 30% of 10.01 = 3.003 → 3.00, once; the operator keeps 7.01 of the frozen 10.01.
	if got := balance(receiver.UserID); got != 300 {
		t.Fatalf("receiver holds %s, want 3.00", got)
	}
	if got := balance(p.SandboxApp.SellerID) - merchant0; got != -300 {
		t.Fatalf("merchant moved by %s, want -3.00", got)
	}
	if st.SettleNo == "" || len(st.Shares) != 1 || st.Shares[0].Amount != 300 {
		t.Fatalf("settlement: %+v", st)
	}
}
