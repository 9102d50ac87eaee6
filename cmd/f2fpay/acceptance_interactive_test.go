package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
)

// fakeOperator is the person at the terminal, played against the sandbox: it reads
// the prompts acceptance writes, and types what a buyer's phone would give — payment
// codes the sandbox issues, the Enter after paying a QR code or entering the password.
type fakeOperator struct {
	t             *testing.T
	sim           *simclient.Client
	simURL        string
	buyer, pwUser *simclient.Buyer
	pw            string
	stopAt        string // the step at whose payment-code prompt it closes the input
	answer        string // to "Continue? [y/N]"

	stdin  *io.PipeReader
	typing *io.PipeWriter
	mu     sync.Mutex
	seen   bytes.Buffer // everything acceptance wrote to the terminal
}

var (
	codePrompt    = regexp.MustCompile(`^\[(\w+)\] 付款码 / payment code:$`)
	confirmPrompt = regexp.MustCompile(`^\[(\w+)\] Alipay waits for the buyer's password: .*trade_no (\S+)\)$`)
	qrPrompt      = regexp.MustCompile(`^\[qr\] qr_code: (\S+)$`)
)

func newFakeOperator(t *testing.T, simURL, stopAt string) *fakeOperator {
	ctx := context.Background()
	o := &fakeOperator{t: t, sim: simclient.New(simURL, nil), simURL: simURL, pw: "246810", stopAt: stopAt, answer: "y"}
	var err error
	if o.buyer, err = o.sim.CreateBuyer(ctx, simclient.BuyerSpec{Balance: f2fpay.MustParseAmount("10.00")}); err != nil {
		t.Fatal(err)
	}
	zero := f2fpay.Amount(0)
	if o.pwUser, err = o.sim.CreateBuyer(ctx, simclient.BuyerSpec{Balance: f2fpay.MustParseAmount("10.00"), PayPassword: o.pw, Threshold: &zero}); err != nil {
		t.Fatal(err)
	}
	o.stdin, o.typing = io.Pipe()
	return o
}

// terminal returns the writer acceptance prompts on, and a wait for the operator to
// have read everything.
func (o *fakeOperator) terminal() (io.WriteCloser, func()) {
	r, w := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			o.mu.Lock()
			o.seen.WriteString(line + "\n")
			o.mu.Unlock()
			o.react(line)
		}
		io.Copy(io.Discard, r)
	}()
	return w, func() { w.Close(); <-done }
}

func (o *fakeOperator) typeLine(s string) {
	if _, err := io.WriteString(o.typing, s+"\n"); err != nil {
		o.t.Errorf("typing %q: %v", s, err)
	}
}

func (o *fakeOperator) react(line string) {
	ctx := context.Background()
	switch {
	case strings.HasSuffix(line, "Continue? [y/N]:"):
		o.typeLine(o.answer)
	case codePrompt.MatchString(line):
		step := codePrompt.FindStringSubmatch(line)[1]
		if step == o.stopAt {
			o.typing.Close()
			return
		}
		user := o.buyer.UserID
		if step == "password_10003" || step == "cancel" || step == "close" {
			user = o.pwUser.UserID
		}
		code, err := o.sim.PaymentCode(ctx, user)
		if err != nil {
			o.t.Error(err)
		}
		o.typeLine(code)
	case confirmPrompt.MatchString(line):
		if err := o.sim.Confirm(ctx, confirmPrompt.FindStringSubmatch(line)[2], o.pw); err != nil {
			o.t.Error(err)
		}
		o.typeLine("")
	case qrPrompt.MatchString(line):
		b, _ := json.Marshal(map[string]string{"buyer_id": o.buyer.UserID, "qr_code": qrPrompt.FindStringSubmatch(line)[1]})
		resp, err := http.Post(o.simURL+"/sandbox/scan", "application/json", bytes.NewReader(b))
		if err != nil || resp.StatusCode >= 300 {
			o.t.Errorf("scanning: %v %v", resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
		o.typeLine("")
	}
}

func (o *fakeOperator) transcript() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen.String()
}

// runInteractive runs acceptance without -sandbox: the sandbox is just the gateway.
func (e *acceptanceEnv) runInteractive(o *fakeOperator, extra ...string) (*acceptanceReport, string, error) {
	args := []string{"acceptance", "-json", "-private-key", e.keyFile}
	for i := 0; i < len(e.args); i++ {
		if e.args[i] == "-sandbox" {
			i++
			continue
		}
		args = append(args, e.args[i])
	}
	term, wait := o.terminal()
	var out bytes.Buffer
	err := run(context.Background(), append(args, extra...), o.stdin, &out, term)
	wait()
	o.typing.Close()
	var rep acceptanceReport
	if out.Len() > 0 {
		if jerr := json.Unmarshal(out.Bytes(), &rep); jerr != nil {
			e.t.Fatalf("report: %v\n%s", jerr, out.String())
		}
	}
	return &rep, out.String(), err
}

// settled fails unless every trade of the app at the sandbox is fully refunded or
// closed: nothing of the test's money is left with the merchant or waiting.
func (e *acceptanceEnv) settled(sim *simclient.Client) int {
	e.t.Helper()
	trades, err := sim.Trades(context.Background(), e.app.AppID, "")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, tr := range trades {
		if tr.Status == "WAIT_BUYER_PAY" || (tr.Status == "TRADE_SUCCESS" && tr.RefundFee != tr.Total) {
			e.t.Errorf("trade %s (%s) is %s with %s of %s refunded", tr.TradeNo, tr.OutTradeNo, tr.Status, tr.RefundFee, tr.Total)
		}
	}
	return len(trades)
}

func check(rep *acceptanceReport, name string) *acceptanceCheck {
	for i := range rep.Checks {
		if rep.Checks[i].Name == name {
			return &rep.Checks[i]
		}
	}
	return nil
}

// TestAcceptanceInteractive: without -sandbox acceptance asks the operator for a
// payment code at each step — here the sandbox issues the codes the test types in —
// and passes every flow, with a bilingual prompt, the QR code drawn as text, and every
// test payment refunded or cancelled at the end.
func TestAcceptanceInteractive(t *testing.T) {
	e := newAcceptanceEnv(t, false)
	o := newFakeOperator(t, e.simURL, "")
	rep, out, err := e.runInteractive(o, "-notify-url", e.notifyEndpoint(false))
	term := o.transcript()
	if err != nil || !rep.Passed {
		t.Fatalf("acceptance failed: %v\n%s\n%s", err, out, term)
	}
	want := []string{"keys", "gateway", "notify_url", "barcode_pay", "notify_signed", "password_10003", "qr", "refund", "refund_query", "cancel", "close", "bill_download", "cleanup"}
	if c := check(rep, "notify_signed"); c == nil || !c.Skipped {
		t.Errorf("notify_signed: %+v, want skipped (Alipay's deliveries are not visible from here)", c)
	}
	var got []string
	for _, c := range rep.Checks {
		got = append(got, c.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("checks %v, want %v", got, want)
	}
	if d := check(rep, "cleanup").Detail; !strings.Contains(d, "2 refunded") {
		t.Errorf("cleanup: %s (want the password and QR payments refunded)", d)
	}
	for _, words := range []string{"Continue? [y/N]", "继续吗", "[barcode_pay] 收取 0.01 元", "Scan it or type its digits", "[password_10003] 支付宝正在等待买家输入支付密码",
		"Scan this QR code with the Alipay app", "█", "do NOT enter it"} {
		if !strings.Contains(term, words) {
			t.Errorf("the terminal never showed %q:\n%s", words, term)
		}
	}
	if n := e.settled(o.sim); n != 5 {
		t.Errorf("%d trades at the sandbox, want 5 (pay, password, QR, cancel, close)", n)
	}
}

// TestAcceptanceInteractiveStopped: the operator stops at the second payment (closes
// the input): the rest is not run, the report fails, and the deferred cleanup refunds
// the payment already made.
func TestAcceptanceInteractiveStopped(t *testing.T) {
	e := newAcceptanceEnv(t, false)
	o := newFakeOperator(t, e.simURL, "password_10003")
	before, err := o.sim.GetBuyer(context.Background(), o.buyer.UserID)
	if err != nil {
		t.Fatal(err)
	}
	rep, out, err := e.runInteractive(o, "-notify-url", e.notifyEndpoint(false))
	if err == nil || rep.Passed {
		t.Fatalf("passed although the operator stopped:\n%s", out)
	}
	if c := check(rep, "barcode_pay"); c == nil || !c.OK {
		t.Fatalf("barcode_pay: %+v", c)
	}
	if d := failed(rep)["password_10003"]; !strings.Contains(d, "the operator stopped the run") {
		t.Errorf("password_10003: %q", d)
	}
	for _, name := range []string{"qr", "refund", "cancel", "close"} {
		if d := failed(rep)[name]; !strings.HasPrefix(d, "not run") {
			t.Errorf("%s: %q, want not run", name, d)
		}
	}
	if c := check(rep, "cleanup"); c == nil || !c.OK || !strings.Contains(c.Detail, "1 refunded") {
		t.Errorf("cleanup: %+v", c)
	}
	if n := e.settled(o.sim); n != 1 {
		t.Errorf("%d trades, want the one barcode payment", n)
	}
	after, err := o.sim.GetBuyer(context.Background(), o.buyer.UserID)
	if err != nil || after.Balance != before.Balance {
		t.Errorf("the buyer has %s after the run, had %s (%v)", after.Balance, before.Balance, err)
	}
}

// TestAcceptanceInteractiveConsent: nothing is charged unless the operator agrees, and
// -yes skips only that question: with no payment code typed, no payment is made and
// the run fails rather than skipping the flows.
func TestAcceptanceInteractiveConsent(t *testing.T) {
	e := newAcceptanceEnv(t, false)
	o := newFakeOperator(t, e.simURL, "")
	o.answer = "n"
	_, _, err := e.runInteractive(o, "-notify-url", e.notifyEndpoint(false))
	if err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("declined: %v", err)
	}
	o = newFakeOperator(t, e.simURL, "barcode_pay") // -yes, and no code ever typed
	rep, out, err := e.runInteractive(o, "-yes", "-notify-url", e.notifyEndpoint(false))
	if err == nil || rep.Passed || strings.Contains(o.transcript(), "Continue?") {
		t.Fatalf("-yes with no codes: %v\n%s\n%s", err, out, o.transcript())
	}
	if d := failed(rep)["barcode_pay"]; !strings.Contains(d, "stopped") {
		t.Errorf("barcode_pay: %q", d)
	}
	for _, c := range rep.Checks {
		if c.Skipped && c.Name != "notify_signed" {
			t.Errorf("check %s skipped: %s", c.Name, c.Detail)
		}
	}
	if n := e.settled(o.sim); n != 0 {
		t.Errorf("%d trades, want none", n)
	}
}
