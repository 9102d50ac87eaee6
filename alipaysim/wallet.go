package alipaysim

import (
	"cmp"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// The wallet pages play the Alipay app for a person at a browser: pick a sandbox buyer,
// show the live payment code, scan a QR, confirm or refuse what waits for the buyer, pay
// a created trade as JSAPI tradePay does, and answer OAuth consent. They are plain
// server-rendered HTML with a few lines of JavaScript (the minute refresh of the code),
// so they work in any browser and in headless Chromium without a build step.
//
// Like the control API they have no authentication and no CSRF protection: the sandbox
// is a local test tool, and anyone who can reach it may act as any buyer.

//go:embed web
var webFS embed.FS

// walletCookie remembers the buyer last opened in the wallet, so the QR landing page
// and the OAuth consent page can preselect the account, as a logged-in app would.
const walletCookie = "alipaysim_buyer"

// pages are the parsed templates, one set per page, each with the shared layout. They
// are immutable after package initialisation.
var pages = parsePages("wallet_pick", "wallet_home", "wallet_scan", "qr_landing", "pay", "result",
	"oauth", "merchant", "error", "agreement_sign", "agreement_done")

func parsePages(names ...string) map[string]*template.Template {
	funcs := template.FuncMap{
		"yuan":    func(a f2fpay.Amount) string { return "¥" + a.String() },
		"minus":   func(a, b f2fpay.Amount) f2fpay.Amount { return a - b },
		"when":    func(t time.Time) string { return fmtTime(t) },
		"whenp":   func(t *time.Time) string { return fmtTimePtr(t) },
		"mask":    maskLogon,
		"status":  statusLabel,
		"digits4": groupDigits,
		"short":   shortText,
		"initial": initial,
	}
	m := make(map[string]*template.Template, len(names))
	for _, n := range names {
		m[n] = template.Must(template.New(n).Funcs(funcs).ParseFS(webFS, "web/layout.html", "web/"+n+".html"))
	}
	return m
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return fmtTime(*t)
}

// statusLabel is how the app words a trade's state for the buyer.
func statusLabel(s string) string {
	switch s {
	case WaitBuyerPay:
		return "Waiting for payment"
	case TradeSuccess:
		return "Paid"
	case TradeClosed:
		return "Closed"
	case TradeFinished:
		return "Finished"
	}
	return s
}

// groupDigits writes a payment code in groups of four, as the app prints it under the
// barcode, so a person can read it out to a cashier.
func groupDigits(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// pageBase is what the layout needs on every page.
type pageBase struct {
	Title   string
	Now     time.Time // sandbox time
	Buyer   *Buyer    // the wallet's account, when the page belongs to one
	Wide    bool      // the merchant page uses the full width
	Message string    // a notice at the top of the page
	Error   string    // what went wrong, in words a person can act on
}

func (s *Sim) base(title string) pageBase { return pageBase{Title: title, Now: s.clock.Now()} }

// walletRoutes registers the wallet, QR landing, OAuth consent and merchant pages.
func (s *Sim) walletRoutes(mux *http.ServeMux) {
	static, _ := fs.Sub(webFS, "web/static")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", cacheFor(time.Hour, http.FileServerFS(static))))
	mux.HandleFunc("GET /wallet", s.walletPick)
	mux.HandleFunc("POST /wallet", s.walletCreateBuyer)
	mux.HandleFunc("GET /wallet/{user_id}", s.walletHome)
	mux.HandleFunc("POST /wallet/{user_id}/codes", s.walletNewCode)
	mux.HandleFunc("GET /wallet/{user_id}/codes/{code}", s.walletCodeStatus)
	mux.HandleFunc("GET /wallet/{user_id}/scan", s.walletScanForm)
	mux.HandleFunc("POST /wallet/{user_id}/scan", s.walletScan)
	mux.HandleFunc("GET /wallet/{user_id}/trades/{trade_no}/pay", s.walletPayPage)
	mux.HandleFunc("POST /wallet/{user_id}/trades/{trade_no}/pay", s.walletPay)
	mux.HandleFunc("GET /wallet/{user_id}/trades/{trade_no}/result", s.walletResult)
	mux.HandleFunc("GET /qr/{token}", s.qrLanding)
	mux.HandleFunc("POST /qr/{token}", s.qrScan)
	mux.HandleFunc("GET /oauth/authorize", s.oauthPage)
	mux.HandleFunc("POST /oauth/authorize", s.oauthAnswer)
	mux.HandleFunc("GET /agreements/sign/{token}", s.agreementSignPage) // wallet_agreement.go
	mux.HandleFunc("POST /agreements/sign/{token}", s.agreementSignAnswer)
	mux.HandleFunc("POST /wallet/{user_id}/agreements/{agreement_no}/unsign", s.walletUnsign)
	mux.HandleFunc("GET /sandbox/ui", s.merchantPage)
	mux.HandleFunc("POST /sandbox/ui/faults", s.merchantAddFault)
	mux.HandleFunc("POST /sandbox/ui/faults/{id}/delete", s.merchantDeleteFault)
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(d.Seconds())))
		h.ServeHTTP(w, r)
	})
}

// render writes a page. Templates are executed into memory first so that a template
// error becomes a clean 500 rather than half a page.
func (s *Sim) render(w http.ResponseWriter, status int, name string, data any) {
	var b strings.Builder
	if err := pages[name].ExecuteTemplate(&b, "layout", data); err != nil {
		s.log("sandbox: rendering %s: %v", name, err)
		http.Error(w, "the sandbox could not render this page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	fmt.Fprint(w, b.String())
}

// renderError shows err as a page with the status its code maps to.
func (s *Sim) renderError(w http.ResponseWriter, title string, err error) {
	status := http.StatusInternalServerError
	switch f2fpay.ErrorCode(err) {
	case f2fpay.EINVALID:
		status = http.StatusBadRequest
	case f2fpay.ENOTFOUND:
		status = http.StatusNotFound
	case f2fpay.ECONFLICT:
		status = http.StatusConflict
	case f2fpay.EUNAUTHORIZED:
		status = http.StatusForbidden
	}
	p := s.base(title)
	p.Error = f2fpay.ErrorMessage(err)
	s.render(w, status, "error", p)
}

// seeOther redirects after a form POST, so reloading the next page does not post again.
func seeOther(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func walletPath(userID string, parts ...string) string {
	p := "/wallet/" + url.PathEscape(userID)
	for _, x := range parts {
		p += "/" + url.PathEscape(x)
	}
	return p
}

// parseForm reads a bounded urlencoded form.
func (s *Sim) parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxRequestBytes)
	if err := r.ParseForm(); err != nil {
		return f2fpay.Errorf(f2fpay.EINVALID, "the form could not be read: %v", err)
	}
	return nil
}

// buyers lists every buyer, oldest first.
func (s *Sim) buyers() []*Buyer {
	var out []*Buyer
	s.e.view(func(t *txn) {
		for _, b := range t.e.buyers {
			out = append(out, b.clone())
		}
	})
	slices.SortFunc(out, func(a, b *Buyer) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.UserID, b.UserID))
	})
	return out
}

// tradesWhere lists visible trades that keep says to keep, newest first, at most limit.
func (s *Sim) tradesWhere(limit int, keep func(*Trade) bool) []*Trade {
	var out []*Trade
	s.e.view(func(t *txn) {
		for _, tr := range t.e.trades {
			if tr.Visible && keep(tr) {
				out = append(out, tr.clone())
			}
		}
	})
	slices.SortFunc(out, func(a, b *Trade) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(b.TradeNo, a.TradeNo))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// waitingFor lists the trades waiting for this buyer: 10003 payments above the
// password threshold, scanned QR codes and created (JSAPI) trades.
func (s *Sim) waitingFor(userID string) []*Trade {
	return s.tradesWhere(0, func(tr *Trade) bool {
		return tr.BuyerID == userID && tr.Status == WaitBuyerPay && tr.Pending != "fault"
	})
}

// codeState is a payment code as the wallet shows it.
type codeState struct {
	Code      string `json:"code"`
	Status    string `json:"status"` // valid, used, expired
	ExpiresAt string `json:"expires_at"`
	codeImages
}

func (s *Sim) codeState(c *Code, now time.Time) codeState {
	st := "valid"
	switch {
	case c.UsedAt != nil:
		st = "used"
	case !now.Before(c.ExpiresAt):
		st = "expired"
	}
	return codeState{Code: c.Code, Status: st, ExpiresAt: fmtTime(c.ExpiresAt)}
}

// currentCode is the buyer's newest unused, unexpired payment code, or a new one: the
// app keeps showing the same code until it is used or its minute is up.
func (s *Sim) currentCode(r *http.Request, userID string) (*Code, error) {
	var cur *Code
	s.e.view(func(t *txn) {
		for _, c := range t.e.codes {
			if c.UserID == userID && c.Kind == "payment" && c.UsedAt == nil && t.now.Before(c.ExpiresAt) &&
				(cur == nil || c.IssuedAt.After(cur.IssuedAt)) {
				cur = c.clone()
			}
		}
	})
	if cur != nil {
		return cur, nil
	}
	return s.IssuePaymentCode(r.Context(), userID)
}

// walletBuyer resolves {user_id} (a user id, open id or logon id) and remembers it.
func (s *Sim) walletBuyer(w http.ResponseWriter, r *http.Request) (*Buyer, bool) {
	b, err := s.Buyer(r.PathValue("user_id"))
	if err != nil {
		s.renderError(w, "No such account", f2fpay.Errorf(f2fpay.ENOTFOUND,
			"there is no sandbox buyer %q; pick or create one at /wallet", r.PathValue("user_id")))
		return nil, false
	}
	http.SetCookie(w, &http.Cookie{Name: walletCookie, Value: b.UserID, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return b, true
}

// rememberedBuyer is the buyer of the wallet cookie, if it still exists.
func (s *Sim) rememberedBuyer(r *http.Request) string {
	c, err := r.Cookie(walletCookie)
	if err != nil {
		return ""
	}
	if b, err := s.Buyer(c.Value); err == nil {
		return b.UserID
	}
	return ""
}

type pickPage struct {
	pageBase
	Buyers []*Buyer
	Form   url.Values
}

func (s *Sim) walletPick(w http.ResponseWriter, r *http.Request) {
	p := pickPage{pageBase: s.base("Choose an account"), Buyers: s.buyers()}
	s.render(w, http.StatusOK, "wallet_pick", p)
}

// walletCreateBuyer is the "new account" form: the same BuyerSpec as POST
// /sandbox/buyers, with amounts typed as yuan.
func (s *Sim) walletCreateBuyer(w http.ResponseWriter, r *http.Request) {
	spec, err := s.buyerForm(w, r)
	if err == nil {
		var b *Buyer
		if b, err = s.CreateBuyer(r.Context(), spec); err == nil {
			seeOther(w, r, walletPath(b.UserID))
			return
		}
	}
	p := pickPage{pageBase: s.base("Choose an account"), Buyers: s.buyers(), Form: r.PostForm}
	p.Error = f2fpay.ErrorMessage(err)
	s.render(w, http.StatusBadRequest, "wallet_pick", p)
}

func (s *Sim) buyerForm(w http.ResponseWriter, r *http.Request) (BuyerSpec, error) {
	var spec BuyerSpec
	if err := s.parseForm(w, r); err != nil {
		return spec, err
	}
	amount := func(field, what string) (f2fpay.Amount, bool, error) {
		v := strings.TrimSpace(r.PostForm.Get(field))
		if v == "" {
			return 0, false, nil
		}
		a, err := f2fpay.ParseAmount(v)
		if err != nil {
			return 0, false, f2fpay.Errorf(f2fpay.EINVALID, "%s %q is not an amount in yuan such as 100.00: %v", what, v, err)
		}
		return a, true, nil
	}
	var err error
	if spec.Balance, _, err = amount("balance", "the balance"); err != nil {
		return spec, err
	}
	th, ok, err := amount("password_threshold", "the password threshold")
	if err != nil {
		return spec, err
	}
	if ok {
		spec.PasswordThreshold = &th
	}
	spec.PayPassword = r.PostForm.Get("pay_password")
	spec.LogonID = strings.TrimSpace(r.PostForm.Get("logon_id"))
	if spec.PasswordThreshold != nil && spec.PayPassword == "" {
		return spec, f2fpay.Errorf(f2fpay.EINVALID, "a password threshold needs a pay password: payments above the threshold ask for it")
	}
	return spec, nil
}

type homePage struct {
	pageBase
	Code       codeState
	Waiting    []*Trade
	History    []*Trade
	Agreements []Agreement
}

func (s *Sim) walletHome(w http.ResponseWriter, r *http.Request) {
	b, ok := s.walletBuyer(w, r)
	if !ok {
		return
	}
	c, err := s.currentCode(r, b.UserID)
	if err != nil {
		s.renderError(w, "Payment code", err)
		return
	}
	p := homePage{pageBase: s.base("My wallet"), Waiting: s.waitingFor(b.UserID),
		History: s.tradesWhere(50, func(tr *Trade) bool { return tr.BuyerID == b.UserID })}
	p.Buyer = b
	p.Agreements = s.Agreements(AgreementFilter{UserID: b.UserID})
	p.Code = s.codeState(c, p.Now)
	if p.Code.codeImages, err = renderCode(c.Code); err != nil {
		s.renderError(w, "Payment code", err)
		return
	}
	switch r.URL.Query().Get("notice") {
	case "paid":
		p.Message = "Payment complete."
	case "rejected":
		p.Message = "You declined the payment; the trade is closed."
	case "unsigned":
		p.Message = "已解约，商户不能再免密扣款。The agreement is cancelled: the merchant can no longer charge you."
	}
	s.render(w, http.StatusOK, "wallet_home", p)
}

// walletNewCode issues a fresh code: the minute refresh of the page, or the button. A
// script (Accept: application/json) gets the code and its images; a form gets the page.
func (s *Sim) walletNewCode(w http.ResponseWriter, r *http.Request) {
	b, err := s.Buyer(r.PathValue("user_id"))
	if err != nil {
		writeError(w, err)
		return
	}
	c, err := s.IssuePaymentCode(r.Context(), b.UserID)
	if err != nil {
		writeError(w, err)
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		seeOther(w, r, walletPath(b.UserID))
		return
	}
	st := s.codeState(c, s.clock.Now())
	if st.codeImages, err = renderCode(c.Code); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, st)
}

// codeStatus is what the page polls: the shown code's state and what waits for the
// buyer, so that a 10003 payment opens the password prompt as the app does.
type codeStatus struct {
	codeState
	Balance f2fpay.Amount `json:"balance"`
	Waiting []waitingJSON `json:"waiting"`
}

type waitingJSON struct {
	TradeNo string `json:"trade_no"`
	Subject string `json:"subject"`
	Amount  string `json:"total_amount"`
	PayURL  string `json:"pay_url"`
}

func (s *Sim) walletCodeStatus(w http.ResponseWriter, r *http.Request) {
	b, err := s.Buyer(r.PathValue("user_id"))
	if err != nil {
		writeError(w, err)
		return
	}
	var c *Code
	s.e.view(func(t *txn) {
		if x := t.code(r.PathValue("code")); x != nil && x.UserID == b.UserID && x.Kind == "payment" {
			c = x.clone()
		}
	})
	if c == nil {
		writeError(w, f2fpay.Errorf(f2fpay.ENOTFOUND, "buyer %s has no payment code %q", b.UserID, r.PathValue("code")))
		return
	}
	out := codeStatus{codeState: s.codeState(c, s.clock.Now()), Balance: b.Balance, Waiting: []waitingJSON{}}
	for _, tr := range s.waitingFor(b.UserID) {
		out.Waiting = append(out.Waiting, waitingJSON{TradeNo: tr.TradeNo, Subject: tr.Subject,
			Amount: tr.Total.String(), PayURL: walletPath(b.UserID, "trades", tr.TradeNo, "pay")})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// shortText cuts s to n characters (not bytes: subjects are often Chinese).
func shortText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// initial is the first character of s, for an avatar.
func initial(s string) string {
	for _, r := range s {
		return string(r)
	}
	return "?"
}
