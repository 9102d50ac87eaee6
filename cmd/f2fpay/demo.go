package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/appkey"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/console"
	"github.com/f2fpay/f2fpay/httpapi"
)

const demoUsage = `Usage: f2fpay demo [flags]

One command, no setup: starts the offline Alipay sandbox and the payment service on
SQLite in a data directory, registers a demo merchant, app, store, cashier terminal,
vending machine (its member page: account linking and one-tap payment), a face machine
and an open-door cabinet (their screens simulated at /sim/, driving the real device API) and buyer, takes a first barcode payment through the terminal API (and one that waits for
the buyer's password, and a partial refund), then keeps running and prints what to try
next. Run it again on the same directory, any number of times: it picks up where it
stopped and tops the buyer's balance up to 1000.00 — kill it mid-payment and the
restarted service resolves the order against the sandbox.

Flags:
`

// demoState is what the demo keeps between runs (in DIR/demo.json, mode 0600).
type demoState struct {
	AppID       string `json:"app_id"`
	SellerID    string `json:"seller_id"`
	BuyerID     string `json:"buyer_id"`
	MerchantID  int64  `json:"merchant_id"`
	TerminalKey string `json:"terminal_key_id"`
	TerminalSec string `json:"terminal_secret"`
	AdminToken  string `json:"admin_token"`
	SandboxURL  string `json:"sandbox_url"`
	MasterKey   string `json:"master_key"`
	// VendTerminalID and its key are the demo's vending machine (kind vending): its
	// member page /m/{id} is where a person tries account linking and one-tap payment.
	VendTerminalID  int64  `json:"vend_terminal_id,omitempty"`
	VendTerminalKey string `json:"vend_terminal_key_id,omitempty"`
	VendTerminalSec string `json:"vend_terminal_secret,omitempty"`
	// FaceTerminalID and CabinetTerminalID are the demo's face machine and open-door
	// cabinet (the ordinary machine is VendTerminalID), run by the simulator (/sim/).
	FaceTerminalID     int64  `json:"face_terminal_id,omitempty"`
	FaceTerminalKey    string `json:"face_terminal_key_id,omitempty"`
	FaceTerminalSec    string `json:"face_terminal_secret,omitempty"`
	CabinetTerminalID  int64  `json:"cabinet_terminal_id,omitempty"`
	CabinetTerminalKey string `json:"cabinet_terminal_key_id,omitempty"`
	CabinetTerminalSec string `json:"cabinet_terminal_secret,omitempty"`
	// ConsolePassword is the password of the console's "owner" (demo only: a real
	// service keeps no password anywhere but as a hash).
	ConsolePassword string `json:"console_password,omitempty"`
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("demo", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, demoUsage); fset.PrintDefaults() }
	dir := fset.String("dir", "f2fpay-demo", "`directory` for the demo's state (SQLite files, keys)")
	simAddr := fset.String("sandbox-listen", "127.0.0.1:8090", "`address` of the sandbox")
	svcAddr := fset.String("listen", "127.0.0.1:8080", "`address` of the payment service")
	once := fset.Bool("once", false, "run the scripted payments and exit instead of serving")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return &usageError{fmt.Sprintf("demo: unexpected argument %q", fset.Arg(0))}
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	state, fresh, err := loadDemoState(*dir)
	if err != nil {
		return err
	}

	// The sandbox: Alipay, offline, its state in DIR/sandbox.
	simStore, err := alipaysim.OpenSQLiteStore(ctx, filepath.Join(*dir, "sandbox"))
	if err != nil {
		return fmt.Errorf("demo: sandbox state: %w", err)
	}
	defer simStore.Close()
	simLn, err := net.Listen("tcp", *simAddr)
	if err != nil {
		return fmt.Errorf("demo: cannot listen on %s (another demo or sandbox running? try -sandbox-listen 127.0.0.1:0): %w", *simAddr, err)
	}
	simURL := "http://" + simLn.Addr().String()
	if !fresh && state.SandboxURL != simURL {
		simLn.Close()
		// The service stored the sandbox's address as the app's gateway.
		return &usageError{fmt.Sprintf("demo: %s was set up with the sandbox at %s; run with -sandbox-listen %s, or delete %s to start over",
			*dir, state.SandboxURL, strings.TrimPrefix(state.SandboxURL, "http://"), *dir)}
	}
	sim, err := alipaysim.New(ctx, alipaysim.Config{Store: simStore, PublicURL: simURL})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer sim.Close()
	simSrv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go simSrv.Serve(simLn)
	defer shutdown(ctx, simSrv)

	// The buyer first: its wallet is linked from the service's home page.
	if err := demoBuyer(ctx, *dir, sim, state, fresh); err != nil {
		return err
	}
	walletURL := simURL + "/wallet/" + state.BuyerID

	// The payment service, its state in DIR/f2fpay.db.
	svcLn, err := net.Listen("tcp", *svcAddr)
	if err != nil {
		return fmt.Errorf("demo: cannot listen on %s (try -listen 127.0.0.1:0): %w", *svcAddr, err)
	}
	cfg := defaultServeConfig()
	cfg.DB = "sqlite:" + filepath.Join(*dir, "f2fpay.db")
	cfg.AdminListen = "" // one listener: the demo's next steps call the admin API on its URL
	cfg.MasterKey, cfg.AdminToken = state.MasterKey, state.AdminToken
	cfg.PublicURL = "http://" + svcLn.Addr().String()
	cfg.LogLevel = "warn"
	cfg.QueryInterval = 2 * time.Second
	cfg.homeLinks = []httpapi.HomeLink{
		{Label: "沙箱买家钱包 · the sandbox buyer's wallet (pay password 123456)", URL: walletURL},
		{Label: "沙箱商户后台 · the sandbox's apps, trades, notifications and faults", URL: simURL + "/sandbox/ui"},
		{Label: "售货机模拟器 · the vending machines' screens (buy, jam a slot, weak light, the cabinet's door)", URL: "/sim/"},
	}
	// The simulator's machines need the terminals' keys, known once the service runs.
	machines := &lateHandler{}
	cfg.mounts = map[string]http.Handler{"/sim/": machines}
	svc, err := startService(ctx, &cfg, io.Discard, stderr, svcLn)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer svc.Stop()

	if fresh {
		if err := demoSetup(ctx, *dir, state, simURL, svc.URL); err != nil {
			return err
		}
	}
	if err := demoConsoleOwner(ctx, *dir, svc.Storage, state); err != nil {
		return err
	}
	consoleLink, err := demoConsoleLink(ctx, svc.Storage)
	if err != nil {
		return err
	}
	if err := demoVendingMachine(ctx, *dir, svc, state); err != nil {
		return err
	}
	sims, err := demoMachines(ctx, *dir, svc, state, simURL)
	if err != nil {
		return err
	}
	machines.set(sims.Handler())
	if !*once {
		simCtx, stopSims := context.WithCancel(ctx)
		simsDone := make(chan struct{})
		go func() { defer close(simsDone); sims.Run(simCtx) }()
		defer func() { stopSims(); <-simsDone }()
	}
	term := client.NewClient(svc.URL, state.TerminalKey, state.TerminalSec, nil)
	term.AcceptLanguage = "zh-CN" // the cashier reads Chinese

	fmt.Fprintf(stdout, "f2fpay demo — Alipay face-to-face payment, offline (state in %s)\n\n", *dir)
	fmt.Fprintf(stdout, "  payment service: %s/   (open this URL in a browser: API docs, /metrics, /healthz)\n", svc.URL)
	fmt.Fprintf(stdout, "  console:         %s/console/   (login owner, password %s)\n", svc.URL, state.ConsolePassword)
	if consoleLink != "" {
		fmt.Fprintf(stdout, "  console link:    %s%s   (logs the owner in once, within %v)\n", svc.URL, consoleLink, console.DefaultLinkTTL)
	}
	fmt.Fprintf(stdout, "  admin token:     %s   (header \"Authorization: Bearer <token>\" on /admin)\n", state.AdminToken)
	fmt.Fprintf(stdout, "  terminal key:    %s.%s   (the same header on /v1)\n", state.TerminalKey, state.TerminalSec)
	fmt.Fprintf(stdout, "  Alipay sandbox:  %s/sandbox/ui   (apps, trades, notifications; SDKs use %s/gateway.do)\n", simURL, simURL)
	fmt.Fprintf(stdout, "  buyer's wallet:  %s   (pay password 123456)\n", walletURL)
	fmt.Fprintf(stdout, "  vending machine: %s/m/%d   (member page: account linking and one-tap payment; open it after a sale, SMS codes in the log)\n", svc.URL, state.VendTerminalID)
	fmt.Fprintf(stdout, "  machine key:     %s.%s   (the vending machine's terminal key: POST /v1/sales)\n", state.VendTerminalKey, state.VendTerminalSec)
	fmt.Fprintf(stdout, "  simulator:       %s/sim/   (the machines' screens, driving the real device API; open one in a browser)\n", svc.URL)
	fmt.Fprintf(stdout, "    ordinary:      %s/sim/%d   (pay by QR; jam a slot and its item is refunded)\n", svc.URL, state.VendTerminalID)
	fmt.Fprintf(stdout, "    face:          %s/sim/%d   (pay by face; weak light falls back to the QR)\n", svc.URL, state.FaceTerminalID)
	fmt.Fprintf(stdout, "    cabinet:       %s/sim/%d   (sign once, open, take goods, close: charged for what was taken)\n", svc.URL, state.CabinetTerminalID)
	fmt.Fprintf(stdout, "  merchant app %s, seller %s; buyer %s, balance %s\n\n", state.AppID, state.SellerID, state.BuyerID, demoBuyerBalance)
	if err := demoPayments(ctx, stdout, sim, term, state); err != nil {
		return err
	}
	if *once {
		return nil
	}
	demoNextSteps(stdout, demoSteps{
		SimURL: simURL, BuyerID: state.BuyerID, SvcURL: svc.URL, Auth: state.TerminalKey + "." + state.TerminalSec,
		AdminToken: state.AdminToken, MemberURL: fmt.Sprintf("%s/m/%d", svc.URL, state.VendTerminalID),
		MachineAuth: state.VendTerminalKey + "." + state.VendTerminalSec, OutTradeNo: "DEMO-" + time.Now().Format("20060102-150405"),
	})
	<-ctx.Done()
	fmt.Fprintln(stdout, "f2fpay demo: stopped")
	return nil
}

// demoSteps is what the next steps are written with.
type demoSteps struct {
	SimURL, BuyerID, SvcURL, Auth, AdminToken string
	// MemberURL and MachineAuth are the vending machine's member page and terminal key.
	MemberURL, MachineAuth string
	// OutTradeNo is the stem of the two payments' out_trade_no (-1, -2), chosen here
	// so that step 4 can name them.
	OutTradeNo string
}

// demoNextSteps prints what a newcomer can do next, as shell commands to copy and
// paste on Linux or macOS (TestDemoNextSteps runs them). The sandbox's control API
// answers indented JSON, so the payment code is picked out after the spaces and
// newlines are gone.
func demoNextSteps(w io.Writer, d demoSteps) {
	pay := func(n int) string {
		out := fmt.Sprintf("%s-%d", d.OutTradeNo, n)
		return fmt.Sprintf(`  CODE=$(curl -s -X POST %[1]s/sandbox/buyers/%[2]s/payment-codes | tr -d ' \n' | sed -E 's/.*"auth_code":"([0-9]+)".*/\1/')
  curl -s -X POST %[3]s/v1/payments/barcode -H 'Authorization: Bearer %[4]s' -H 'Accept-Language: zh-CN' \
       -H 'Idempotency-Key: %[5]s' -d "{\"out_trade_no\":\"%[5]s\",\"auth_code\":\"$CODE\",\"amount\":\"9.99\",\"subject\":\"coffee\"}"
`, d.SimURL, d.BuyerID, d.SvcURL, d.Auth, out)
	}
	fmt.Fprintf(w, `
Now you (the sandbox and the service keep running; Ctrl-C stops both):

  # 1. the buyer opens the wallet — open this URL in a browser: a live payment code, balance and history
  #    %[1]s/wallet/%[2]s
  # 2. or take a payment code and pay order %[5]s-1 with it at the cashier, in one copy-paste:
%[6]s  # 3. make Alipay lose its next answer, pay order %[5]s-2, and watch the service resolve it:
  curl -s -X POST %[1]s/sandbox/faults -d '{"kind":"drop_response","method":"alipay.trade.pay","count":1}'
%[7]s  # 4. look the two payments up as the terminal, and the second one's calls to Alipay as the operator:
  curl -s %[3]s/v1/payments/%[5]s-1 -H 'Authorization: Bearer %[4]s' -H 'Accept-Language: zh-CN'
  curl -s %[3]s/v1/payments/%[5]s-2 -H 'Authorization: Bearer %[4]s' -H 'Accept-Language: zh-CN'
  curl -s %[3]s/admin/orders/%[5]s-2 -H 'Authorization: Bearer %[8]s'
  # 5. kill this demo (kill -9) in the middle of a payment and run it again:
  #    the janitor resolves every unfinished order against the sandbox.
  # 6. the vending machine offers a 3.50 sale; open its member page in a browser (a phone's size suits it),
  #    allow the sign-in as the buyer, verify any mainland number with the SMS code this log shows, pay in one tap:
  curl -s -X POST %[3]s/v1/sales -H 'Authorization: Bearer %[10]s' -H 'Idempotency-Key: %[5]s-sale' \
       -d '{"amount":"3.50","subject":"cola","expires_in_seconds":900}'
  #    %[9]s
`, d.SimURL, d.BuyerID, d.SvcURL, d.Auth, d.OutTradeNo, pay(1), pay(2), d.AdminToken, d.MemberURL, d.MachineAuth)
}

func shutdown(ctx context.Context, srv *http.Server) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
}

// loadDemoState reads DIR/demo.json, or makes a fresh state (new master key and admin
// token) when there is none.
func loadDemoState(dir string) (*demoState, bool, error) {
	path := filepath.Join(dir, "demo.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		tok := make([]byte, 18)
		rand.Read(key)
		rand.Read(tok)
		return &demoState{MasterKey: base64.StdEncoding.EncodeToString(key), AdminToken: base64.RawURLEncoding.EncodeToString(tok)}, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("demo: %w", err)
	}
	var st demoState
	if err := json.Unmarshal(data, &st); err != nil || st.TerminalKey == "" {
		return nil, false, fmt.Errorf("demo: %s is damaged or from an older demo; delete %s to start over", path, dir)
	}
	return &st, false, nil
}

// demoSetup registers everything once: the app key, the sandbox app and buyer, and the
// merchant, app, store and terminal in the service.
func demoSetup(ctx context.Context, dir string, st *demoState, simURL, svcURL string) error {
	key, err := demoAppKey(dir)
	if err != nil {
		return err
	}
	sim := simclient.New(simURL, nil)
	p, err := provision(ctx, sim, client.NewAdminClient(svcURL, st.AdminToken, nil), key, client.MerchantRequest{Name: "Demo Coffee"}, 1)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	st.AppID, st.SellerID, st.MerchantID = p.SandboxApp.AppID, p.SandboxApp.SellerID, p.MerchantID
	st.TerminalKey, st.TerminalSec = p.Terminals[0].APIKey.KeyID, p.Terminals[0].APIKey.Secret
	st.SandboxURL = simURL
	return saveDemoState(dir, st)
}

func saveDemoState(dir string, st *demoState) error {
	data, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "demo.json"), data, 0o600); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// demoBuyerBalance is what the demo buyer holds at the start of every run. A run's
// scripted payments spend 398.00 of it (and the next steps 19.98), so without the
// top-up the third run would fail with ACQ.BUYER_BALANCE_NOT_ENOUGH.
var demoBuyerBalance = f2fpay.MustParseAmount("1000.00")

// demoBuyer creates the demo buyer (on the first run, or when the sandbox's state no
// longer has it) or tops its balance up to demoBuyerBalance.
func demoBuyer(ctx context.Context, dir string, sim *alipaysim.Sim, st *demoState, fresh bool) error {
	if st.BuyerID != "" {
		b, err := sim.Buyer(st.BuyerID)
		switch {
		case err == nil && b.Balance < demoBuyerBalance:
			if _, err := sim.TopUp(ctx, b.UserID, demoBuyerBalance-b.Balance); err != nil {
				return fmt.Errorf("demo: topping up the buyer: %w", err)
			}
			return nil
		case err == nil:
			return nil
		case f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND:
			return fmt.Errorf("demo: the buyer: %w", err)
		}
	}
	threshold := f2fpay.MustParseAmount("200.00")
	b, err := sim.CreateBuyer(ctx, alipaysim.BuyerSpec{Balance: demoBuyerBalance, PayPassword: "123456", PasswordThreshold: &threshold})
	if err != nil {
		return fmt.Errorf("demo: creating the buyer: %w", err)
	}
	st.BuyerID = b.UserID
	if fresh {
		return nil // demoSetup writes the state
	}
	return saveDemoState(dir, st)
}

// demoAppKey loads the demo app's private key, generating it on first run.
func demoAppKey(dir string) (*rsa.PrivateKey, error) {
	path := appkey.PathsFor(dir, "app").PrivatePKCS1
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err := appkey.Generate()
		if err != nil {
			return nil, err
		}
		if _, err := appkey.WriteFiles(dir, "app", k, false); err != nil {
			return nil, fmt.Errorf("demo: writing the app key: %w", err)
		}
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return alipay.ParsePrivateKey(string(data))
}

// demoPayments takes the scripted payments through the terminal API.
func demoPayments(ctx context.Context, w io.Writer, sim *alipaysim.Sim, term *client.Client, st *demoState) error {
	pay := func(amount string) (*client.Payment, error) {
		code, err := sim.IssuePaymentCode(ctx, st.BuyerID)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "→ the buyer shows payment code %s; the cashier charges %s yuan\n", code.Code, amount)
		return term.PayBarcode(ctx, client.BarcodeRequest{AuthCode: code.Code, Amount: f2fpay.MustParseAmount(amount), Subject: "f2fpay demo", WaitSeconds: 5, PayTimeoutSeconds: 60})
	}
	p, err := pay("12.34")
	if err != nil {
		return fmt.Errorf("demo: first payment: %w", err)
	}
	fmt.Fprintf(w, "  %s: order %s, Alipay trade %s, buyer paid %s\n", p.State, p.OutTradeNo, p.TradeNo, p.BuyerPayAmount)
	if p.State != client.StatePaid {
		return fmt.Errorf("demo: the first payment ended %s: %s", p.State, p.Message)
	}
	first := p.OutTradeNo

	p, err = pay("388.00")
	if err != nil {
		return fmt.Errorf("demo: second payment: %w", err)
	}
	fmt.Fprintf(w, "  %s: above the buyer's 200.00 password threshold, Alipay answered 10003\n", p.State)
	if p.State == client.StateWaiting {
		if _, err := sim.Confirm(ctx, p.TradeNo, "123456"); err != nil {
			return fmt.Errorf("demo: confirming: %w", err)
		}
		fmt.Fprintf(w, "→ the buyer enters the password in the wallet; the terminal long-polls\n")
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		p, err = term.WaitFinal(wctx, p.OutTradeNo, 10*time.Second)
		cancel()
		if err != nil {
			return fmt.Errorf("demo: waiting: %w", err)
		}
		fmt.Fprintf(w, "  %s: buyer paid %s\n", p.State, p.BuyerPayAmount)
	}

	r, err := term.Refund(ctx, first, client.RefundRequest{RefundID: "r1", Amount: f2fpay.MustParseAmount("2.34"), Reason: "demo partial refund"})
	if err != nil {
		return fmt.Errorf("demo: refund: %w", err)
	}
	fmt.Fprintf(w, "→ partial refund of 2.34 on %s: %s\n", first, r.State)
	return nil
}

// demoVendingMachine adds the vending machine to the demo merchant once (a demo
// directory made before it existed gets it on its next run).
func demoVendingMachine(ctx context.Context, dir string, svc *service, st *demoState) error {
	if st.VendTerminalID != 0 {
		return nil
	}
	apps, err := svc.Storage.ListApps(ctx, st.MerchantID)
	if err != nil || len(apps) == 0 {
		return fmt.Errorf("demo: vending machine: the demo merchant has no app (%v); delete %s to start over", err, dir)
	}
	stores, err := svc.Storage.ListStores(ctx, st.MerchantID)
	if err != nil || len(stores) == 0 {
		return fmt.Errorf("demo: vending machine: the demo merchant has no store (%v); delete %s to start over", err, dir)
	}
	admin := client.NewAdminClient(svc.AdminURL, st.AdminToken, nil)
	t, err := admin.CreateTerminal(ctx, st.MerchantID, client.TerminalRequest{StoreID: stores[0].ID, AppID: apps[0].ID,
		Code: "VEND-1", Kind: "vending", Name: "vending machine 1"})
	if err != nil {
		return fmt.Errorf("demo: vending machine: %w", err)
	}
	st.VendTerminalID, st.VendTerminalKey, st.VendTerminalSec = t.ID, t.APIKey.KeyID, t.APIKey.Secret
	return saveDemoState(dir, st)
}

// demoConsoleOwner makes the console's first owner, "owner", once, and keeps its
// password in the demo's state so that every run prints the same login.
func demoConsoleOwner(ctx context.Context, dir string, store f2fpay.Storage, st *demoState) error {
	staff, ok := store.(f2fpay.StaffStore)
	if !ok {
		return nil
	}
	if _, err := staff.FindStaffByLogin(ctx, "owner"); err == nil && st.ConsolePassword != "" {
		return nil
	} else if err != nil && f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
		return fmt.Errorf("demo: console owner: %w", err)
	}
	b := make([]byte, 12)
	rand.Read(b)
	st.ConsolePassword = base64.RawURLEncoding.EncodeToString(b)
	hash, err := console.HashPassword(st.ConsolePassword)
	if err != nil {
		return err
	}
	owner := &f2fpay.Staff{Login: "owner", Name: "Demo owner", Role: f2fpay.RoleOwner, PasswordHash: hash}
	if err := staff.CreateStaff(ctx, owner); err != nil {
		return fmt.Errorf("demo: console owner: %w", err)
	}
	if err := staff.AppendAudit(ctx, &f2fpay.AuditEntry{StaffLogin: "demo", Action: "create_user", Target: "owner", Detail: "role owner, merchant 0", IP: "local"}); err != nil {
		return err
	}
	return saveDemoState(dir, st)
}

// demoConsoleLink makes a single-use login link for the demo's owner, new at every
// run ("" when the store keeps no staff).
func demoConsoleLink(ctx context.Context, store f2fpay.Storage) (string, error) {
	staff, ok := store.(f2fpay.StaffStore)
	links, ok2 := store.(f2fpay.RefundApprovalStore)
	if !ok || !ok2 {
		return "", nil
	}
	owner, err := staff.FindStaffByLogin(ctx, "owner")
	if err != nil {
		return "", fmt.Errorf("demo: console link: %w", err)
	}
	link, err := console.NewLoginLink(ctx, links, staff, owner, 0, "demo")
	if err != nil {
		return "", fmt.Errorf("demo: console link: %w", err)
	}
	return link, nil
}
