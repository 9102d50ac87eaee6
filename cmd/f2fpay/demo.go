package main

import (
	"context"
	"crypto/rsa"
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
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipay/appkey"
	"github.com/f2fpay/f2fpay/alipaysim"
)

const demoUsage = `Usage: f2fpay demo [flags]

One command, no setup: starts the offline Alipay sandbox on SQLite in a data
directory, registers a demo merchant app and a buyer, takes a first barcode payment
(and a payment that waits for the buyer's password, and a partial refund) through the
f2fpay Alipay SDK, then keeps running and prints what to try next.

Flags:
`

// demoState is what the demo keeps between runs, so a restart finds its app and buyer.
type demoState struct {
	AppID    string `json:"app_id"`
	SellerID string `json:"seller_id"`
	BuyerID  string `json:"buyer_id"`
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("demo", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, demoUsage); fset.PrintDefaults() }
	dir := fset.String("dir", "f2fpay-demo", "`directory` for the demo's state (SQLite files, the app key)")
	listen := fset.String("listen", "127.0.0.1:8090", "`address` of the sandbox")
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

	// The sandbox: Alipay, offline, with its state in the demo directory.
	st, err := alipaysim.OpenSQLiteStore(ctx, filepath.Join(*dir, "sandbox"))
	if err != nil {
		return fmt.Errorf("demo: sandbox state: %w", err)
	}
	defer st.Close()
	sim, err := alipaysim.New(ctx, alipaysim.Config{Store: st})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer sim.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("demo: cannot listen on %s (is another demo or sandbox running? use -listen 127.0.0.1:0): %w", *listen, err)
	}
	base := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()

	key, err := demoAppKey(*dir)
	if err != nil {
		return err
	}
	state, err := demoAccounts(ctx, sim, *dir, key)
	if err != nil {
		return err
	}
	client, err := alipay.New(alipay.Config{
		AppID:           state.AppID,
		Signer:          alipay.NewKeySigner(key),
		AlipayPublicKey: sim.AlipayPublicKey(),
		Gateway:         base + "/gateway.do",
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	fmt.Fprintf(stdout, "f2fpay demo — Alipay face-to-face payment, offline\n\n")
	fmt.Fprintf(stdout, "  sandbox gateway: %s/gateway.do   (state in %s)\n", base, *dir)
	fmt.Fprintf(stdout, "  merchant app:    %s (seller %s)\n  buyer:           %s (pay password 123456)\n\n", state.AppID, state.SellerID, state.BuyerID)
	if err := demoPayments(ctx, stdout, sim, client, state); err != nil {
		return err
	}
	if *once {
		return nil
	}
	fmt.Fprintf(stdout, `
Try it yourself (the sandbox keeps running; Ctrl-C stops it):
  # the buyer shows a payment code (valid one minute, single use):
  curl -s -X POST %[1]s/sandbox/buyers/%[2]s/payment-codes
  # look at a trade, with its refunds:
  curl -s %[1]s/sandbox/trades/<trade_no>
  # inject a lost answer for the next pay, then pay with any SDK and watch it resolve:
  curl -s -X POST %[1]s/sandbox/faults -d '{"kind":"drop_response","method":"alipay.trade.pay","count":1}'
  # keys for your own SDK: app id %[3]s, app private key %[4]s, Alipay public key:
  curl -s %[1]s/sandbox/alipay-public-key
`, base, state.BuyerID, state.AppID, filepath.Join(*dir, "app_private_pkcs1.pem"))
	<-ctx.Done()
	fmt.Fprintln(stdout, "f2fpay demo: stopped")
	return nil
}

// demoAppKey loads the demo app's private key, generating it on first run.
func demoAppKey(dir string) (*rsa.PrivateKey, error) {
	path := filepath.Join(dir, "app_private_pkcs1.pem")
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

// demoAccounts registers the demo app and buyer in the sandbox once, and finds them
// again on later runs.
func demoAccounts(ctx context.Context, sim *alipaysim.Sim, dir string, key *rsa.PrivateKey) (*demoState, error) {
	path := filepath.Join(dir, "demo.json")
	var st demoState
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &st); err != nil {
			return nil, fmt.Errorf("demo: %s is damaged (delete the directory to start over): %w", path, err)
		}
		if _, err := sim.App(st.AppID); err == nil {
			return &st, nil
		}
	}
	app, err := sim.RegisterApp(ctx, alipaysim.AppSpec{PublicKey: string(alipay.PublicKeyPEM(&key.PublicKey))})
	if err != nil {
		return nil, fmt.Errorf("demo: registering the app: %w", err)
	}
	threshold := f2fpay.MustParseAmount("200.00")
	buyer, err := sim.CreateBuyer(ctx, alipaysim.BuyerSpec{
		Balance:           f2fpay.MustParseAmount("1000.00"),
		PayPassword:       "123456",
		PasswordThreshold: &threshold,
	})
	if err != nil {
		return nil, fmt.Errorf("demo: creating the buyer: %w", err)
	}
	st = demoState{AppID: app.AppID, SellerID: app.SellerID, BuyerID: buyer.UserID}
	data, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return &st, nil
}

// demoPayments takes the scripted payments through the SDK and prints what happened.
func demoPayments(ctx context.Context, w io.Writer, sim *alipaysim.Sim, c *alipay.Client, st *demoState) error {
	stamp := time.Now().Format("20060102150405.000")
	pay := func(outTradeNo, amount string) (*alipay.PayResult, error) {
		code, err := sim.IssuePaymentCode(ctx, st.BuyerID)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "→ buyer shows payment code %s; cashier charges %s yuan\n", code.Code, amount)
		return c.TradePay(ctx, &alipay.TradePayRequest{
			OutTradeNo: outTradeNo, AuthCode: code.Code, Subject: "f2fpay demo",
			TotalAmount: f2fpay.MustParseAmount(amount), StoreID: "DEMO_001", TerminalID: "POS-1",
		})
	}

	no1 := "DEMO" + stamp + "-1"
	res, err := pay(no1, "12.34")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(w, "  %s: trade %s, buyer paid %s\n", res.Status, tradeNo(res), buyerPaid(res))
	if res.Status != alipay.PayPaid {
		return fmt.Errorf("demo: the first payment did not succeed: %v", res.Err)
	}

	no2 := "DEMO" + stamp + "-2"
	res, err = pay(no2, "388.00")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(w, "  %s: above the buyer's 200.00 password threshold, Alipay answered 10003\n", res.Status)
	if res.Status == alipay.PayWaiting {
		if _, err := sim.Confirm(ctx, res.Response.TradeNo, "123456"); err != nil {
			return fmt.Errorf("demo: confirming: %w", err)
		}
		fmt.Fprintf(w, "→ buyer enters the password in the wallet\n")
		q, err := c.TradeQuery(ctx, &alipay.TradeQueryRequest{OutTradeNo: no2})
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		fmt.Fprintf(w, "  query: %s, buyer paid %s\n", q.TradeStatus, q.BuyerPayAmount)
	}

	r, err := c.TradeRefund(ctx, &alipay.TradeRefundRequest{OutTradeNo: no1, RefundAmount: f2fpay.MustParseAmount("2.34"), OutRequestNo: no1 + "-r1", RefundReason: "demo partial refund"})
	if err != nil {
		return fmt.Errorf("demo: refund: %w", err)
	}
	fmt.Fprintf(w, "→ partial refund of 2.34 on %s: refunded so far %s (fund_change %s)\n", no1, r.RefundFee, r.FundChange)
	return nil
}

func tradeNo(r *alipay.PayResult) string {
	if r.Response == nil {
		return "-"
	}
	return r.Response.TradeNo
}

func buyerPaid(r *alipay.PayResult) string {
	if r.Response == nil {
		return "-"
	}
	return r.Response.BuyerPayAmount.String()
}
