package alipaysim

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/f2fpay/f2fpay"
)

// Client result codes of the Alipay app's tradePay JSAPI (my.tradePay / AlipayJSBridge),
// which the result page shows as the merchant's H5 page would receive them.
const (
	resultSuccess   = "9000"
	resultCancelled = "6001"
	resultFailed    = "4000"
)

var resultLabels = map[string]string{
	resultSuccess:   "Payment successful",
	resultCancelled: "Payment cancelled",
	resultFailed:    "Payment failed",
}

// needsPassword says whether the wallet asks for the pay password: for a 10003 payment
// always, otherwise above the buyer's threshold (a buyer without one is never asked,
// matching trade.pay).
func needsPassword(b *Buyer, tr *Trade) bool {
	if b.PayPassword == "" {
		return false
	}
	return tr.Pending == "password" || (b.PasswordThreshold != nil && tr.Total > *b.PasswordThreshold)
}

// waitKind says in the buyer's words why a trade is in the wallet.
func waitKind(tr *Trade) string {
	switch {
	case tr.Pending == "password":
		return "The cashier scanned your payment code. Enter your pay password to finish."
	case tr.Method == "alipay.trade.precreate":
		return "You scanned the merchant's QR code."
	case tr.Method == "alipay.trade.create":
		return "The merchant's page asks you to pay (tradePay)."
	}
	return "This payment waits for you."
}

type scanPage struct {
	pageBase
	QRCode string
}

func (s *Sim) walletScanForm(w http.ResponseWriter, r *http.Request) {
	b, ok := s.walletBuyer(w, r)
	if !ok {
		return
	}
	p := scanPage{pageBase: s.base("Scan"), QRCode: r.URL.Query().Get("qr_code")}
	p.Buyer = b
	s.render(w, http.StatusOK, "wallet_scan", p)
}

// walletScan is the buyer pasting a precreate qr_code (the URL, or its token). Scanning
// makes the trade exist (WAIT_BUYER_PAY, with this buyer) as Alipay's does; paying is
// the next page.
func (s *Sim) walletScan(w http.ResponseWriter, r *http.Request) {
	b, ok := s.walletBuyer(w, r)
	if !ok {
		return
	}
	err := s.parseForm(w, r)
	qr := strings.TrimSpace(r.PostForm.Get("qr_code"))
	if err == nil && qr == "" {
		err = f2fpay.Errorf(f2fpay.EINVALID, "paste the qr_code that alipay.trade.precreate returned (https://…/qr/bax…)")
	}
	var tr *Trade
	if err == nil {
		tr, err = s.Scan(r.Context(), ScanSpec{BuyerID: b.UserID, QRCode: qr, Wait: true})
	}
	if err != nil {
		p := scanPage{pageBase: s.base("Scan"), QRCode: qr}
		p.Buyer, p.Error = b, f2fpay.ErrorMessage(err)
		s.render(w, http.StatusBadRequest, "wallet_scan", p)
		return
	}
	seeOther(w, r, walletPath(b.UserID, "trades", tr.TradeNo, "pay"))
}

// qrTrade finds the trade behind a precreate QR token.
func (s *Sim) qrTrade(token string) *Trade {
	var tr *Trade
	s.e.view(func(t *txn) {
		if no, ok := t.e.byQR[token]; ok {
			tr = t.trade(no).clone()
		}
	})
	return tr
}

type qrPage struct {
	pageBase
	Trade    *Trade
	App      *App
	Token    string
	Buyers   []*Buyer
	Selected string
}

// qrLanding is what opening a precreate qr_code shows: to a browser, the merchant, the
// amount and a choice of account, as the app shows after a scan; to anything else, the
// JSON of the control API.
func (s *Sim) qrLanding(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		s.getQR(w, r)
		return
	}
	s.renderQR(w, r, http.StatusOK, "")
}

func (s *Sim) renderQR(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	token := r.PathValue("token")
	tr := s.qrTrade(token)
	if tr == nil {
		s.renderError(w, "Unknown QR code", f2fpay.Errorf(f2fpay.ENOTFOUND,
			"this QR code was not issued by this sandbox; ask the merchant for a new one (alipay.trade.precreate)"))
		return
	}
	p := qrPage{pageBase: s.base("Pay merchant"), Trade: tr, Token: token, Buyers: s.buyers(), Selected: s.rememberedBuyer(r)}
	p.App, _ = s.App(tr.AppID)
	p.Error = errMsg
	if p.Selected == "" && tr.BuyerID != "" {
		p.Selected = tr.BuyerID
	}
	s.render(w, status, "qr_landing", p)
}

// qrScan is the buyer choosing an account on the landing page: the scan.
func (s *Sim) qrScan(w http.ResponseWriter, r *http.Request) {
	err := s.parseForm(w, r)
	buyer := r.PostForm.Get("buyer_id")
	if err == nil && buyer == "" {
		err = f2fpay.Errorf(f2fpay.EINVALID, "choose the account that pays, or create one in the wallet first")
	}
	var tr *Trade
	if err == nil {
		tr, err = s.Scan(r.Context(), ScanSpec{BuyerID: buyer, QRCode: r.PathValue("token"), Wait: true})
	}
	if err != nil {
		status := http.StatusBadRequest
		if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
			status = http.StatusConflict
		}
		s.renderQR(w, r, status, f2fpay.ErrorMessage(err))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: walletCookie, Value: tr.BuyerID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	seeOther(w, r, walletPath(tr.BuyerID, "trades", tr.TradeNo, "pay"))
}

type payPage struct {
	pageBase
	// ReturnURL is the merchant's page the result links back to (return_url).
	ReturnURL     string
	Trade         *Trade
	App           *App
	NeedsPassword bool
	Kind          string
	Waiting       bool
}

// buyerTrade loads {trade_no} for the wallet's buyer; another buyer's trade is not found.
func (s *Sim) buyerTrade(w http.ResponseWriter, r *http.Request) (*Buyer, *Trade, bool) {
	b, ok := s.walletBuyer(w, r)
	if !ok {
		return nil, nil, false
	}
	tr, err := s.Trade(r.PathValue("trade_no"))
	if err != nil || !tr.Visible || tr.BuyerID != b.UserID {
		s.renderError(w, "No such payment", f2fpay.Errorf(f2fpay.ENOTFOUND,
			"account %s has no trade %q; scan the QR code or open the payment from the merchant again", b.LogonID, r.PathValue("trade_no")))
		return nil, nil, false
	}
	return b, tr, true
}

func (s *Sim) payPage(b *Buyer, tr *Trade) payPage {
	p := payPage{pageBase: s.base("Confirm payment"), Trade: tr, NeedsPassword: needsPassword(b, tr),
		Kind: waitKind(tr), Waiting: tr.Status == WaitBuyerPay}
	p.Buyer = b
	p.App, _ = s.App(tr.AppID)
	return p
}

func (s *Sim) walletPayPage(w http.ResponseWriter, r *http.Request) {
	b, tr, ok := s.buyerTrade(w, r)
	if !ok {
		return
	}
	p := s.payPage(b, tr)
	p.ReturnURL = returnURL(r)
	s.render(w, http.StatusOK, "pay", p)
}

// returnURL is the page's return_url when it is an absolute http(s) URL: where the
// wallet sends the buyer back after tradePay, as the Alipay app returns to the
// merchant's H5 page (whose callback gets the result code). The form posts to the
// page's own URL, so the query carries it from the sheet to the result.
func returnURL(r *http.Request) string {
	raw := r.URL.Query().Get("return_url")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return raw
}

// walletPay answers the payment sheet: pay (with the password when asked), cancel
// (6001: the trade stays open, as when a buyer closes the sheet) or reject (the trade
// closes, as the sandbox's POST /sandbox/trades/{trade_no}/reject).
func (s *Sim) walletPay(w http.ResponseWriter, r *http.Request) {
	b, tr, ok := s.buyerTrade(w, r)
	if !ok {
		return
	}
	if err := s.parseForm(w, r); err != nil {
		s.renderError(w, "Confirm payment", err)
		return
	}
	result := func(code string, err error) {
		q := url.Values{"resultCode": {code}}
		if ret := returnURL(r); ret != "" {
			q.Set("return_url", ret)
		}
		if err != nil {
			q.Set("memo", f2fpay.ErrorMessage(err))
		}
		seeOther(w, r, walletPath(b.UserID, "trades", tr.TradeNo, "result")+"?"+q.Encode())
	}
	switch r.PostForm.Get("action") {
	case "cancel":
		result(resultCancelled, nil)
	case "reject":
		if _, err := s.Reject(r.Context(), tr.TradeNo); err != nil {
			result(resultFailed, err)
			return
		}
		result(resultCancelled, nil)
	case "pay":
		pw := b.PayPassword
		if needsPassword(b, tr) {
			pw = r.PostForm.Get("pay_password")
		}
		_, err := s.Confirm(r.Context(), tr.TradeNo, pw)
		switch {
		case err == nil:
			result(resultSuccess, nil)
		case f2fpay.ErrorCode(err) == f2fpay.EUNAUTHORIZED:
			p := s.payPage(b, tr)
			p.ReturnURL = returnURL(r)
			p.Error = "Wrong pay password. Try again."
			s.render(w, http.StatusForbidden, "pay", p)
		default:
			result(resultFailed, err)
		}
	default:
		s.renderError(w, "Confirm payment", f2fpay.Errorf(f2fpay.EINVALID, "action must be pay, cancel or reject"))
	}
}

type resultPage struct {
	pageBase
	Trade      *Trade
	ResultCode string
	ReturnURL  string
	Label      string
	Memo       string
}

// walletResult shows the tradePay result code next to the trade's real state, which a
// merchant must still confirm with trade.query or the notification.
func (s *Sim) walletResult(w http.ResponseWriter, r *http.Request) {
	b, tr, ok := s.buyerTrade(w, r)
	if !ok {
		return
	}
	code := r.URL.Query().Get("resultCode")
	label, known := resultLabels[code]
	if !known {
		s.renderError(w, "Payment result", f2fpay.Errorf(f2fpay.EINVALID, "resultCode must be 9000, 6001 or 4000"))
		return
	}
	p := resultPage{pageBase: s.base(label), Trade: tr, ResultCode: code, Label: label, Memo: r.URL.Query().Get("memo"),
		ReturnURL: returnURL(r)}
	p.Buyer = b
	s.render(w, http.StatusOK, "result", p)
}
