package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
	"github.com/f2fpay/f2fpay/client"
)

// TestRetryAfterCrash is issue 10's first defect, with real processes: a terminal sends
// a barcode payment, the service is SIGKILLed while Alipay (the sandbox) is slow to
// answer trade.pay — the buyer is charged, the answer goes nowhere — and restarted. The
// terminal then resends exactly the same request (same Idempotency-Key, same body), as
// docs/api.md tells it to. Within 30 s of the restart it must be told the truth, PAID,
// and never "start a new payment" or "out_trade_no already used"; the buyer is charged
// once. Both with the terminal's own out_trade_no and without one.
func TestRetryAfterCrash(t *testing.T) { onEachDatabase(t, "retrycrash", retryAfterCrash) }

// onEachDatabase runs a process test on a fresh SQLite file and on a fresh schema of
// F2FPAY_TEST_POSTGRES (skipped without it; CI sets it), passing serve's -db value.
func onEachDatabase(t *testing.T, prefix string, run func(t *testing.T, db string)) {
	t.Run("sqlite", func(t *testing.T) {
		run(t, "sqlite:"+filepath.Join(t.TempDir(), "f2fpay.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		base := os.Getenv("F2FPAY_TEST_POSTGRES")
		if base == "" {
			t.Skip("F2FPAY_TEST_POSTGRES is not set (CI sets it)")
		}
		run(t, postgresSchema(t, base, prefix))
	})
}

// postgresSchema makes a fresh schema in the database at base, dropped after the test,
// and returns a DSN that uses it.
func postgresSchema(t *testing.T, base, prefix string) string {
	t.Helper()
	schema := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	conn, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatalf("PostgreSQL at F2FPAY_TEST_POSTGRES: %v", err)
	}
	if _, err := conn.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.Background())
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func retryAfterCrash(t *testing.T, db string) {
	if testing.Short() {
		t.Skip("-short: runs the service and the sandbox as processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	st := startServeStack(ctx, t, db, "retry", "F2FPAY_INSTANCE=till-server") // the same name after the restart
	sim, p, base := st.sim, st.p, st.URL
	initial := f2fpay.MustParseAmount("1000.00")
	buyer, err := sim.CreateBuyer(ctx, simclient.BuyerSpec{Balance: initial})
	if err != nil {
		t.Fatal(err)
	}
	term := terminalClient(base, p.Terminals[0], &http.Client{Timeout: 20 * time.Second})
	term.Retries = 0 // the test retries itself, to see every answer

	charged := f2fpay.Amount(0)
	for _, tc := range []struct {
		name       string
		outTradeNo string
		amount     f2fpay.Amount
	}{
		{"the terminal's own out_trade_no", "TILL-7-000123", f2fpay.MustParseAmount("12.34")},
		{"a number derived from the key", "", f2fpay.MustParseAmount("5.67")},
	} {
		code, err := sim.PaymentCode(ctx, buyer.UserID)
		if err != nil {
			t.Fatal(err)
		}
		req := client.BarcodeRequest{
			AuthCode: code, Amount: tc.amount, Subject: "retry after a crash", OutTradeNo: tc.outTradeNo,
			WaitSeconds: 10, PayTimeoutSeconds: 10, IdempotencyKey: "key-" + strings.ReplaceAll(tc.name, " ", "-"),
		}
		before, err := sim.Trades(ctx, p.SandboxApp.AppID, "")
		if err != nil {
			t.Fatal(err)
		}
		// Alipay charges the buyer, then takes 20 s to say so.
		if _, err := sim.AddFault(ctx, simclient.Fault{Kind: "slow_answer", Method: "alipay.trade.pay", Count: 1, Latency: "20s"}); err != nil {
			t.Fatal(err)
		}
		first := make(chan error, 1)
		go func() {
			_, err := term.PayBarcode(ctx, req)
			first <- err
		}()
		// Kill the service once the charge has happened at Alipay.
		var trade simclient.Trade
		for deadline := time.Now().Add(20 * time.Second); ; {
			trades, err := sim.Trades(ctx, p.SandboxApp.AppID, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(trades) > len(before) {
				trade = trades[0]
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: trade.pay never reached the sandbox", tc.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		st.kill()
		if err := <-first; err == nil {
			t.Fatalf("%s: the first request was answered although the service was killed", tc.name)
		}
		st.start()
		restarted := time.Now()

		// The terminal resends the exact request until it hears a final outcome.
		var answers []string
		var got *client.Payment
		for got == nil || !got.Final {
			if time.Since(restarted) > 30*time.Second {
				t.Fatalf("%s: no final answer within 30 s of the restart; answers:\n%s", tc.name, strings.Join(answers, "\n"))
			}
			pay, err := term.PayBarcode(ctx, req)
			if err != nil {
				answers = append(answers, fmt.Sprintf("%5.1fs %v", time.Since(restarted).Seconds(), err))
				if strings.Contains(err.Error(), "already used") || strings.Contains(err.Error(), "new payment") {
					t.Fatalf("%s: a retry was told to start over although the buyer paid: %v", tc.name, err)
				}
				time.Sleep(500 * time.Millisecond)
				continue
			}
			got = pay
			answers = append(answers, fmt.Sprintf("%5.1fs %s %s", time.Since(restarted).Seconds(), pay.State, pay.OutTradeNo))
		}
		t.Logf("%s: answers after the restart:\n%s", tc.name, strings.Join(answers, "\n"))
		if got.State != string(f2fpay.OrderPaid) || got.OutTradeNo != trade.OutTradeNo || got.TradeNo != trade.TradeNo {
			t.Fatalf("%s: final answer %s for %s (trade %s); the sandbox charged trade %s of %s", tc.name, got.State, got.OutTradeNo, got.TradeNo, trade.TradeNo, trade.OutTradeNo)
		}
		if tc.outTradeNo != "" && got.OutTradeNo != tc.outTradeNo {
			t.Errorf("%s: answered for %s, want %s", tc.name, got.OutTradeNo, tc.outTradeNo)
		}
		charged += tc.amount
		// One charge: one trade for the number, and the buyer's balance down by the amount.
		after, err := sim.Trades(ctx, p.SandboxApp.AppID, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before)+1 {
			t.Errorf("%s: %d trades at the sandbox after the retries, want %d", tc.name, len(after), len(before)+1)
		}
		b, err := sim.GetBuyer(ctx, buyer.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if b.Balance != initial-charged {
			t.Errorf("%s: the buyer has %s, want %s", tc.name, b.Balance, initial-charged)
		}
	}
}

// serveStack is what a process test of serve runs: the built binary, a sandbox process,
// and one serve process (a single listener) with a merchant, an app at the sandbox and
// one terminal provisioned. The serve process can be killed (SIGKILL) and started
// again with the same configuration, database and port.
type serveStack struct {
	t       *testing.T
	bin     string
	gateway string // the sandbox's base URL
	sim     *simclient.Client
	URL     string // the service
	admin   *client.AdminClient
	env     []string
	svc     *process
	p       *provisioned
}

// startServeStack starts the sandbox and serve on db, provisions merchant name and one
// terminal; env adds settings of serve (F2FPAY_...). Both processes die with the test.
func startServeStack(ctx context.Context, t *testing.T, db, name string, env ...string) *serveStack {
	t.Helper()
	st := &serveStack{t: t, bin: buildF2fpay(t)}
	sandbox := startProcess(t, st.bin, nil, "sandbox", "--listen", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "sandbox"))
	t.Cleanup(sandbox.kill)
	st.gateway = sandbox.waitFor(t, regexp.MustCompile(`gateway:\s+(http://\S+)/gateway\.do`))
	st.sim = simclient.New(st.gateway, nil)
	master := make([]byte, 32)
	rand.Read(master)
	port := freePort(t)
	st.URL = "http://127.0.0.1:" + port
	st.env = append([]string{
		"F2FPAY_MASTER_KEY=" + base64.StdEncoding.EncodeToString(master),
		"F2FPAY_ADMIN_TOKEN=" + name + "-admin", "F2FPAY_DB=" + db, "F2FPAY_LISTEN=127.0.0.1:" + port,
		"F2FPAY_PUBLIC_URL=" + st.URL, "F2FPAY_LOG_LEVEL=warn",
	}, env...)
	st.start()
	t.Cleanup(func() { st.kill() })
	st.admin = client.NewAdminClient(st.URL, name+"-admin", nil)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if st.p, err = provision(ctx, st.sim, st.admin, key, client.MerchantRequest{Name: name}, 1); err != nil {
		t.Fatal(err)
	}
	return st
}

// start starts serve and waits until it is ready.
func (st *serveStack) start() {
	st.t.Helper()
	st.svc = startProcess(st.t, st.bin, st.env, "serve", "-admin-listen=")
	waitReady(st.t, st.URL)
}

// kill is SIGKILL: exactly a crash.
func (st *serveStack) kill() { st.svc.kill() }
