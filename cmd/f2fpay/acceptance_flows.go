package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/alipaysim/simclient"
)

// The face-to-face flows of `f2fpay acceptance`. The buyer's side is a payer: the
// sandbox's control API (-sandbox), or the operator at the terminal, who presents a
// real payment code at each step. Every test payment is refunded (or cancelled) at
// the end, on Alipay's word, even when a step fails or the operator stops the run.

// payer is the buyer's side of the flows.
type payer interface {
	// code returns a payment code for step; password says the step needs a payment
	// that waits for the buyer's password (10003).
	code(step string, password bool) (string, error)
	// confirm has the buyer enter the password for the waiting trade.
	confirm(step, outTradeNo, tradeNo string) error
	// scan has the buyer scan qrCode and pay.
	scan(step, qrCode string) error
}

// errStopped ends the flows: the operator closed the input.
var errStopped = errors.New("the operator stopped the run (no more input)")

// testAmount is what each test payment charges: one fen.
const testAmount alipay.Amount = 1

// simPayer drives the sandbox's buyers.
type simPayer struct {
	a             *acceptor
	buyer, pwUser *simclient.Buyer
	pw            string
}

func (a *acceptor) simPayer() (*simPayer, error) {
	p := &simPayer{a: a, pw: "112233"}
	var err error
	if p.buyer, err = a.sim.CreateBuyer(a.ctx, simclient.BuyerSpec{Balance: f2fpay.MustParseAmount("100.00")}); err != nil {
		return nil, err
	}
	zero := f2fpay.Amount(0)
	p.pwUser, err = a.sim.CreateBuyer(a.ctx, simclient.BuyerSpec{Balance: f2fpay.MustParseAmount("100.00"), PayPassword: p.pw, Threshold: &zero})
	return p, err
}

func (p *simPayer) code(_ string, password bool) (string, error) {
	if password {
		return p.a.sim.PaymentCode(p.a.ctx, p.pwUser.UserID)
	}
	return p.a.sim.PaymentCode(p.a.ctx, p.buyer.UserID)
}

func (p *simPayer) confirm(_, _, tradeNo string) error {
	return p.a.sim.Confirm(p.a.ctx, tradeNo, p.pw)
}

func (p *simPayer) scan(_, qrCode string) error {
	return p.a.post("/sandbox/scan", map[string]string{"buyer_id": p.buyer.UserID, "qr_code": qrCode})
}

// operator is the person at the terminal: prompts in Chinese and English on out (the
// terminal's stderr), answers read from in (stdin). Closing the input stops the run;
// nothing is ever paid without a code the operator typed or scanned.
type operator struct {
	in  *bufio.Reader
	out io.Writer
}

func newOperator(in io.Reader, out io.Writer) *operator {
	if in == nil {
		in = strings.NewReader("")
	}
	return &operator{in: bufio.NewReader(in), out: out}
}

func (o *operator) line() (string, error) {
	s, err := o.in.ReadString('\n')
	if err != nil && strings.TrimSpace(s) == "" {
		return "", errStopped
	}
	return strings.TrimSpace(s), nil
}

// agree asks before anything is charged.
func (o *operator) agree(cfg alipay.Config) bool {
	fmt.Fprintf(o.out, "验收将通过网关 %s 以应用 %s 发起最多 5 笔 0.01 元的真实付款，结束时全部退款或撤销。\n", cfg.Gateway, cfg.AppID)
	fmt.Fprintf(o.out, "Acceptance makes up to 5 real payments of 0.01 CNY through app %s at %s, all refunded or cancelled at the end.\n", cfg.AppID, cfg.Gateway)
	fmt.Fprintf(o.out, "继续吗 / Continue? [y/N]:\n")
	s, err := o.line()
	return err == nil && (strings.EqualFold(s, "y") || strings.EqualFold(s, "yes") || s == "是")
}

// stepWords say what the buyer does at each step that takes a payment code.
var stepWords = map[string][2]string{
	"barcode_pay":    {"出示付款码，正常付款（免密即可）", "present a payment code and pay normally (no password needed)"},
	"password_10003": {"出示付款码；本步骤需要支付宝要求输入支付密码（请使用需验密的账户或关闭小额免密），稍后会提示输入", "present a payment code of an account Alipay asks for its password (small-amount password-free payment off); you will be told when to enter it"},
	"cancel":         {"出示付款码；手机要求输入密码时请不要输入，本笔将被撤销", "present a payment code; when the phone asks for the password, do NOT enter it: the payment is cancelled"},
	"close":          {"出示付款码；手机要求输入密码时请不要输入，本笔将被关闭", "present a payment code; when the phone asks for the password, do NOT enter it: the payment is closed"},
}

func (o *operator) code(step string, _ bool) (string, error) {
	w := stepWords[step]
	fmt.Fprintf(o.out, "\n[%s] 收取 0.01 元（结束时退款）：%s。扫码枪扫描或输入付款码数字后回车。\n", step, w[0])
	fmt.Fprintf(o.out, "[%s] Charging 0.01 CNY (refunded at the end): %s. Scan it or type its digits, then Enter.\n", step, w[1])
	for range 3 {
		fmt.Fprintf(o.out, "[%s] 付款码 / payment code:\n", step)
		s, err := o.line()
		if err != nil {
			return "", err
		}
		if isAuthCode(s) {
			return s, nil
		}
		fmt.Fprintf(o.out, "[%s] %q 不是付款码（16 至 24 位数字）/ is not a payment code (16 to 24 digits)\n", step, s)
	}
	return "", fmt.Errorf("no valid payment code after three tries")
}

func isAuthCode(s string) bool {
	if len(s) < 16 || len(s) > 24 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func (o *operator) confirm(step, outTradeNo, tradeNo string) error {
	fmt.Fprintf(o.out, "[%s] 支付宝正在等待买家输入支付密码：请在手机上输入密码完成付款，然后回车。（订单 %s，支付宝交易号 %s）\n", step, outTradeNo, tradeNo)
	fmt.Fprintf(o.out, "[%s] Alipay waits for the buyer's password: enter it on the phone to pay, then press Enter. (order %s, trade_no %s)\n", step, outTradeNo, tradeNo)
	_, err := o.line()
	return err
}

func (o *operator) scan(step, qrCode string) error {
	fmt.Fprintf(o.out, "\n[%s] 用支付宝扫描下面的二维码并支付 0.01 元（结束时退款），然后回车。\n", step)
	fmt.Fprintf(o.out, "[%s] Scan this QR code with the Alipay app and pay 0.01 CNY (refunded at the end), then press Enter.\n\n", step)
	if t, err := qrText(qrCode); err == nil {
		fmt.Fprint(o.out, t)
	}
	fmt.Fprintf(o.out, "\n[%s] qr_code: %s\n", step, qrCode)
	_, err := o.line()
	return err
}

// qrText draws content as a QR code in text, two modules a character (▀ ▄ █), with a
// quiet zone, for a terminal with dark text on a light background or the reverse.
func qrText(content string) (string, error) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return "", err
	}
	n := code.Bounds().Dx()
	const quiet = 2
	dark := func(x, y int) bool {
		if x < 0 || y < 0 || x >= n || y >= n {
			return false
		}
		r, _, _, _ := code.At(x, y).RGBA()
		return r < 0x8000
	}
	var b strings.Builder
	for y := -quiet; y < n+quiet; y += 2 {
		for x := -quiet; x < n+quiet; x++ {
			// Light modules are drawn (the terminal's text colour), so the code reads on
			// a dark terminal; the quiet zone is drawn too.
			top, bottom := !dark(x, y), !dark(x, y+1)
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteRune(' ')
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// flows runs each face-to-face flow with p as the buyer, then refunds or cancels
// every test payment (cleanup), whatever happened before.
func (a *acceptor) flows(p payer, notify string) {
	ctx := a.ctx
	if a.poll == 0 {
		a.poll = 200 * time.Millisecond
	}
	a.refund = map[string]alipay.Amount{}
	defer a.cleanup()
	stopped := false
	step := func(name string, ok string, f func() error) bool {
		if stopped {
			a.add(name, errors.New("not run: "+errStopped.Error()), "")
			return false
		}
		err := f()
		if errors.Is(err, errStopped) {
			stopped = true
		}
		return a.add(name, err, ok)
	}
	pay := func(stepName, no string, password bool) (*alipay.PayResult, error) {
		code, err := p.code(stepName, password)
		if err != nil {
			return nil, err
		}
		a.trades = append(a.trades, no) // before the call: its outcome may be unknown
		return a.c.TradePay(ctx, &alipay.TradePayRequest{OutTradeNo: no, AuthCode: code, Subject: "acceptance 验收", TotalAmount: testAmount})
	}

	// Barcode pay.
	paidNo := "ACC-PAY-" + randHex(4)
	var paidTradeNo string
	barOK := step("barcode_pay", "trade.pay 10000, paid", func() error {
		res, err := pay("barcode_pay", paidNo, false)
		if err != nil {
			return err
		}
		if res.Status != alipay.PayPaid {
			return fmt.Errorf("trade.pay answered %s (%v), want 10000", res.Status, res.Err)
		}
		paidTradeNo = res.Response.TradeNo
		return nil
	})
	switch {
	case barOK && a.sim != nil && notify != "":
		a.add("notify_signed", a.signedNotified(paidTradeNo), "the notify URL answered \"success\" to Alipay's signed notification")
	case barOK && a.sim == nil:
		a.skip("notify_signed", "what the notify URL answered Alipay cannot be seen from here: the service's log, or GET /admin/orders/"+paidNo+", shows whether the notification of this payment arrived")
	}
	// 10003: the buyer confirms with the password.
	step("password_10003", "10003, confirmed with the password, query says TRADE_SUCCESS", func() error {
		no := "ACC-PWD-" + randHex(4)
		res, err := pay("password_10003", no, true)
		if err != nil {
			return err
		}
		if res.Status != alipay.PayWaiting {
			return fmt.Errorf("trade.pay answered %s, want 10003 (Alipay asking for the password): use an account whose payments need the password", res.Status)
		}
		if err := p.confirm("password_10003", no, res.Response.TradeNo); err != nil {
			return err
		}
		return a.waitStatus(no, alipay.TradeSuccess)
	})
	// QR.
	step("qr", "precreate, the buyer scans and pays, query says TRADE_SUCCESS", func() error {
		no := "ACC-QR-" + randHex(4)
		pre, err := a.c.TradePrecreate(ctx, &alipay.TradePrecreateRequest{OutTradeNo: no, TotalAmount: testAmount, Subject: "acceptance 验收"})
		if err != nil {
			return err
		}
		a.trades = append(a.trades, no)
		if err := p.scan("qr", pre.QRCode); err != nil {
			return err
		}
		return a.waitStatus(no, alipay.TradeSuccess)
	})
	// Refund and refund query of the barcode payment.
	if barOK {
		refunded := step("refund", "trade.refund 10000", func() error {
			_, err := a.c.TradeRefund(ctx, &alipay.TradeRefundRequest{OutTradeNo: paidNo, RefundAmount: testAmount, OutRequestNo: "ACC-RF-1"})
			if err == nil {
				a.refund[paidNo] += testAmount
			}
			return err
		})
		if refunded {
			step("refund_query", "refund query finds the refund", func() error {
				q, err := a.c.TradeFastpayRefundQuery(ctx, &alipay.RefundQueryRequest{OutTradeNo: paidNo, OutRequestNo: "ACC-RF-1"})
				if err == nil && q.RefundAmount != testAmount {
					err = fmt.Errorf("refund query says refund_amount %s, want 0.01", q.RefundAmount)
				}
				return err
			})
		}
	}
	// Cancel: a payment the buyer never confirms.
	step("cancel", "trade.cancel of an unconfirmed payment", func() error {
		no := "ACC-CANCEL-" + randHex(4)
		if _, err := pay("cancel", no, true); err != nil {
			return err
		}
		cr, err := a.c.TradeCancel(ctx, alipay.TradeRef{OutTradeNo: no})
		if err == nil && cr.RetryFlag == "Y" {
			err = errors.New("trade.cancel asks to be retried")
		}
		return err
	})
	// Close: a payment waiting for the buyer's password (a QR nobody scanned has no
	// trade at Alipay yet: closing it answers ACQ.TRADE_NOT_EXIST).
	step("close", "trade.close of a payment waiting for the buyer, query says TRADE_CLOSED", func() error {
		no := "ACC-CLOSE-" + randHex(4)
		res, err := pay("close", no, true)
		if err != nil {
			return err
		}
		if res.Status == alipay.PayPaid {
			return errors.New("Alipay paid without asking for the password, so there was nothing to close (the payment is refunded at the end): use an account whose payments need the password")
		}
		if _, err := a.c.TradeClose(ctx, &alipay.TradeCloseRequest{OutTradeNo: no}); err != nil {
			return err
		}
		return a.queryStatus(no, alipay.TradeClosed)
	})
	// Bill download: yesterday's trade bill.
	day := time.Now().In(alipay.Beijing()).AddDate(0, 0, -1).Format("2006-01-02")
	a.add("bill_download", a.billDownload(day), "bill download URL for "+day+" answers")
}

func (a *acceptor) billDownload(day string) error {
	bill, err := a.c.BillDownloadURLQuery(a.ctx, &alipay.BillDownloadURLQueryRequest{BillType: "trade", BillDate: day})
	if err != nil {
		return err
	}
	resp, err := a.hc.Get(bill.BillDownloadURL)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the bill link answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// waitStatus queries the trade until it has status want, for up to two minutes (the
// buyer may be slow to act).
func (a *acceptor) waitStatus(no string, want alipay.TradeStatus) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := a.queryStatus(no, want)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-a.ctx.Done():
			return err
		case <-time.After(a.poll):
		}
	}
}

// cleanup refunds every test payment that holds money and cancels every one still
// waiting for the buyer, each on Alipay's answer; it reports what it did and names
// any trade it could not settle, for the merchant console.
func (a *acceptor) cleanup() {
	if r := recover(); r != nil {
		defer panic(r)
	}
	var refunded, cancelled int
	var left []string
	for i, no := range a.trades {
		q, err := a.c.TradeQuery(a.ctx, &alipay.TradeQueryRequest{OutTradeNo: no})
		if alipay.HasSubCode(err, alipay.SubTradeNotExist) {
			continue // never reached Alipay, or a QR nobody scanned
		}
		if err != nil {
			left = append(left, fmt.Sprintf("%s (query: %v)", no, err))
			continue
		}
		switch q.TradeStatus {
		case alipay.TradeWaitBuyerPay:
			cr, err := a.c.TradeCancel(a.ctx, alipay.TradeRef{OutTradeNo: no})
			if err != nil || cr.RetryFlag == "Y" {
				left = append(left, fmt.Sprintf("%s, trade_no %s (cancel: %v)", no, q.TradeNo, err))
				continue
			}
			cancelled++
		case alipay.TradeSuccess:
			rest := q.TotalAmount - a.refund[no]
			if rest <= 0 {
				continue
			}
			_, err := a.c.TradeRefund(a.ctx, &alipay.TradeRefundRequest{OutTradeNo: no, RefundAmount: rest, OutRequestNo: fmt.Sprintf("ACC-CLEANUP-%d", i+1)})
			if err != nil {
				left = append(left, fmt.Sprintf("%s, trade_no %s, %s yuan (refund: %v)", no, q.TradeNo, rest, err))
				continue
			}
			a.refund[no] += rest
			refunded++
		}
	}
	var err error
	if len(left) > 0 {
		err = fmt.Errorf("test payments not refunded or cancelled — settle them on Alipay's merchant console: %s", strings.Join(left, "; "))
	}
	a.add("cleanup", err, fmt.Sprintf("every test payment settled: %d refunded, %d cancelled at the end (Alipay answered 10000 to each)", refunded, cancelled))
}
