// Package member is account linking and one-tap payment for vending machines: the H5
// pages a buyer's Alipay app opens from the QR code on a machine (/m/{terminal}),
// member authorisation with Alipay's OAuth (silent auth_base, then auth_user consent
// for a new buyer), phone verification by SMS code, members bound by phone, and the
// payment of the machine's open sale with alipay.trade.create and the wallet's
// tradePay. docs/vending.md §8 has the flows and the decisions behind them.
//
// Phone numbers are sealed (secret.Box, purpose f2fpay.MemberPhonePurpose) and
// looked up by a keyed hash; they, the SMS codes and the OAuth tokens are never
// logged (LogSender, for development, logs codes on purpose) nor shown unmasked.
package member

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/secret"
)

// OAuth is what the flow asks of Alipay; *payment.Engine implements it.
type OAuth interface {
	OAuthToken(ctx context.Context, appID int64, authCode string) (*alipay.OauthTokenResponse, error)
	UserInfo(ctx context.Context, appID int64, accessToken string) (*alipay.UserInfoShareResponse, error)
}

// Payer creates the JSAPI trade; *payment.Engine implements it.
type Payer interface {
	CreateJSAPI(ctx context.Context, req payment.JSAPIRequest) (*f2fpay.Order, error)
	Order(ctx context.Context, appID int64, outTradeNo string) (*f2fpay.Order, error)
}

// Limits of the SMS verification (docs/vending.md §8.2).
const (
	CodeTTL         = 5 * time.Minute
	MaxCodeAttempts = 5
	ResendAfter     = time.Minute
	SendsPerPhone   = 5  // per hour, per merchant
	SendsPerClient  = 10 // per hour, per merchant, per client address
	LinkingTTL      = 30 * time.Minute
	SignedInTTL     = 30 * 24 * time.Hour
)

// CookieName is the session cookie of the H5 pages.
const CookieName = "f2fpay_m"

// Config configures a Handler.
type Config struct {
	Store f2fpay.Storage
	// Box seals phone numbers; its derived keys hash phones, codes and CSRF tokens.
	Box   *secret.Box
	OAuth OAuth
	Payer Payer
	SMS   Sender
	// PublicURL is where buyers reach the service ("https://pay.example.com"); the
	// OAuth redirect_uri is PublicURL + "/m/callback". Cookies are Secure when it is
	// https.
	PublicURL string
	// AuthorizeURL is an app's authorisation page; AuthorizeURL (the function) when nil.
	AuthorizeURL func(app *f2fpay.App) string
	Clock        f2fpay.Clock
	Logger       *slog.Logger
	// Cabinet serves the open-door cabinets' pages (cabinet.go); a cabinet's page is
	// the ordinary sale page when nil.
	Cabinet Cabinet
}

// Handler serves the H5 pages under /m/.
type Handler struct {
	cfg      Config
	phoneKey []byte
	codeKey  []byte
	csrfKey  []byte
	secure   bool
	mux      *http.ServeMux
}

// New checks cfg and builds the pages.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil || cfg.Box == nil || cfg.OAuth == nil || cfg.Payer == nil || cfg.SMS == nil || cfg.PublicURL == "" {
		return nil, errors.New("member: Store, Box, OAuth, Payer, SMS and PublicURL are required")
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("member: PublicURL %q must be an absolute http(s) URL", cfg.PublicURL)
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.AuthorizeURL == nil {
		cfg.AuthorizeURL = AuthorizeURL
	}
	if cfg.Clock == nil {
		cfg.Clock = f2fpay.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &Handler{cfg: cfg, phoneKey: cfg.Box.DeriveKey("member:phone-hash"), codeKey: cfg.Box.DeriveKey("member:sms-code"),
		csrfKey: cfg.Box.DeriveKey("member:csrf"), secure: u.Scheme == "https"}
	m := http.NewServeMux()
	m.HandleFunc("GET /m/callback", h.page(h.callback))
	m.HandleFunc("GET /m/phone", h.page(h.phonePage))
	m.HandleFunc("POST /m/phone", h.page(h.sendCode))
	m.HandleFunc("POST /m/verify", h.page(h.verify))
	m.HandleFunc("GET /m/{terminal}", h.page(h.device))
	m.HandleFunc("POST /m/{terminal}/pay", h.page(h.pay))
	m.HandleFunc("GET /m/{terminal}/orders/{out_trade_no}", h.page(h.result))
	m.HandleFunc("POST /m/{terminal}/cabinet/sign", h.page(h.cabinetStep(h.cabinetSign)))
	m.HandleFunc("POST /m/{terminal}/cabinet/open", h.page(h.cabinetStep(h.cabinetOpen)))
	m.HandleFunc("POST /m/{terminal}/cabinet/pay", h.page(h.cabinetStep(h.cabinetPay)))
	m.HandleFunc("POST /m/{terminal}/cabinet/unsign", h.page(h.cabinetStep(h.cabinetUnsign)))
	m.HandleFunc("/m/", h.page(func(w http.ResponseWriter, r *http.Request) error {
		return refuse(http.StatusNotFound, "notFound", "scanAgain")
	}))
	h.mux = m
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	h.mux.ServeHTTP(w, r)
}

// AuthorizeURL is an app's authorisation page, told by its gateway: Alipay's
// openauth for Alipay's gateway and for its online sandbox, and the gateway's own
// /oauth/authorize otherwise (the offline sandbox, alipaysim). Alipay documents no
// link between the two; docs/vending.md §8.1.
func AuthorizeURL(app *f2fpay.App) string {
	u, err := url.Parse(app.Gateway)
	if err != nil {
		return ""
	}
	switch {
	case u.Host == "openapi.alipay.com":
		return "https://openauth.alipay.com/oauth2/publicAppAuthorize.htm"
	case strings.HasSuffix(u.Host, ".alipaydev.com"):
		return "https://openauth-sandbox.dl.alipaydev.com/oauth2/publicAppAuthorize.htm"
	}
	return u.Scheme + "://" + u.Host + "/oauth/authorize"
}

// walletURL is where a browser without AlipayJSBridge confirms a trade: the offline
// sandbox's wallet page, which stands in for the wallet's tradePay and links back to
// returnTo (the result page) when done; "" for Alipay.
func walletURL(app *f2fpay.App, buyer, tradeNo, returnTo string) string {
	u, err := url.Parse(app.Gateway)
	if err != nil || u.Host == "openapi.alipay.com" || strings.HasSuffix(u.Host, ".alipaydev.com") {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/wallet/" + url.PathEscape(buyer) + "/trades/" + url.PathEscape(tradeNo) + "/pay?" +
		url.Values{"return_url": {returnTo}}.Encode()
}

// refusal is a page that says what went wrong and what to do.
type refusal struct {
	status int
	// What and DoNow are keys of the pages' texts.
	What, DoNow string
}

func (r *refusal) Error() string { return "member: " + r.What }

func refuse(status int, what, doNow string) error {
	return &refusal{status: status, What: what, DoNow: doNow}
}

// page adapts a step: a refusal is rendered as a page, any other error logged and
// shown as a generic one.
func (h *Handler) page(step func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := step(w, r)
		if err == nil {
			return
		}
		var rf *refusal
		if !errors.As(err, &rf) {
			if f2fpay.ErrorCode(err) == f2fpay.EUNAVAILABLE {
				rf = &refusal{status: http.StatusServiceUnavailable, What: "unavailable", DoNow: "tryAgain"}
			} else {
				h.cfg.Logger.ErrorContext(r.Context(), "member page failed", "path", r.URL.Path, "err", err)
				rf = &refusal{status: http.StatusInternalServerError, What: "internal", DoNow: "tryAgain"}
			}
		}
		h.render(w, r, rf.status, "refusal", pageData{Refusal: rf})
	}
}

// ---- sessions ----

func tokenHash(token string) []byte { s := sha256.Sum256([]byte(token)); return s[:] }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// session returns the browser's session, or nil.
func (h *Handler) session(r *http.Request) (*f2fpay.MemberSession, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || len(c.Value) != 64 {
		return nil, nil
	}
	s, err := h.cfg.Store.FindMemberSession(r.Context(), tokenHash(c.Value))
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		return nil, nil
	}
	return s, err
}

func (h *Handler) newSession(w http.ResponseWriter, r *http.Request, term *f2fpay.Terminal) (*f2fpay.MemberSession, error) {
	token := randomHex(32)
	s := &f2fpay.MemberSession{TokenHash: tokenHash(token), MerchantID: term.MerchantID, TerminalID: term.ID,
		ExpiresAt: h.cfg.Clock.Now().Add(LinkingTTL)}
	if err := h.cfg.Store.CreateMemberSession(r.Context(), s); err != nil {
		return nil, err
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/m/", HttpOnly: true, Secure: h.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(SignedInTTL / time.Second)})
	return s, nil
}

// csrf is the token a session's forms carry: HttpOnly SameSite=Lax cookies already
// keep other sites' POSTs out; the token also binds a form to the session it was
// served to.
func (h *Handler) csrf(s *f2fpay.MemberSession) string {
	m := hmac.New(sha256.New, h.csrfKey)
	fmt.Fprintf(m, "%d:%x", s.ID, s.TokenHash)
	return hex.EncodeToString(m.Sum(nil))
}

// form parses a POST and checks its CSRF token against the session.
func (h *Handler) form(r *http.Request) (*f2fpay.MemberSession, error) {
	s, err := h.session(r)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, refuse(http.StatusForbidden, "sessionGone", "scanAgain")
	}
	if err := r.ParseForm(); err != nil {
		return nil, refuse(http.StatusBadRequest, "badForm", "scanAgain")
	}
	if !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(h.csrf(s))) {
		return nil, refuse(http.StatusForbidden, "badForm", "scanAgain")
	}
	return s, nil
}

func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ---- the machine's page and OAuth ----

func (h *Handler) terminal(ctx context.Context, raw string) (*f2fpay.Terminal, *f2fpay.App, error) {
	var id int64
	if _, err := fmt.Sscan(raw, &id); err != nil || id <= 0 || fmt.Sprint(id) != raw {
		return nil, nil, refuse(http.StatusNotFound, "noMachine", "scanAgain")
	}
	t, err := h.cfg.Store.FindTerminal(ctx, id)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND || (err == nil && (t.Disabled || t.AppID == 0)) {
		return nil, nil, refuse(http.StatusNotFound, "noMachine", "scanAgain")
	}
	if err != nil {
		return nil, nil, err
	}
	app, err := h.cfg.Store.FindApp(ctx, t.AppID)
	return t, app, err
}

// device is /m/{terminal}: a signed-in member of the machine's merchant sees its open
// sale; anyone else is sent to Alipay's silent authorisation.
func (h *Handler) device(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	term, app, err := h.terminal(ctx, r.PathValue("terminal"))
	if err != nil {
		return err
	}
	s, err := h.session(r)
	if err != nil {
		return err
	}
	if s != nil && s.MemberID != 0 && s.MerchantID == term.MerchantID {
		m, err := h.cfg.Store.FindMember(ctx, s.MemberID)
		if err != nil {
			return err
		}
		if s.TerminalID != term.ID {
			s.TerminalID = term.ID
			if err := h.cfg.Store.UpdateMemberSession(ctx, s); err != nil {
				return err
			}
		}
		if ok, err := h.isCabinet(ctx, term.ID); err != nil {
			return err
		} else if ok {
			return h.cabinetPage(w, r, s, m, term, http.StatusOK, cabinetView{})
		}
		d := pageData{Session: s, Member: m, Terminal: term, CSRF: h.csrf(s)}
		d.Sale, err = h.cfg.Store.OpenSale(ctx, term.ID, h.cfg.Clock.Now())
		if err != nil && f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
			return err
		}
		h.render(w, r, http.StatusOK, "sale", d)
		return nil
	}
	if r.URL.Query().Get("error") != "" {
		return refuse(http.StatusForbidden, "declined", "declinedDo")
	}
	if s == nil || s.MerchantID != term.MerchantID {
		if s, err = h.newSession(w, r, term); err != nil {
			return err
		}
	}
	s.TerminalID, s.MemberID, s.AppID, s.UserID, s.OpenID, s.Consented = term.ID, 0, app.ID, "", "", false
	return h.authorize(w, r, s, app, alipayScopeBase)
}

const (
	alipayScopeBase = "auth_base"
	alipayScopeUser = "auth_user"
)

// authorize gives the session a fresh state and sends the browser to Alipay.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, s *f2fpay.MemberSession, app *f2fpay.App, scope string) error {
	s.State, s.Scope = randomHex(16), scope
	s.ExpiresAt = h.cfg.Clock.Now().Add(LinkingTTL)
	if err := h.cfg.Store.UpdateMemberSession(r.Context(), s); err != nil {
		return err
	}
	q := url.Values{"app_id": {app.AppID}, "scope": {scope}, "redirect_uri": {h.cfg.PublicURL + "/m/callback"}, "state": {s.State}}
	http.Redirect(w, r, h.cfg.AuthorizeURL(app)+"?"+q.Encode(), http.StatusFound)
	return nil
}

// callback is Alipay's redirect back with auth_code and state.
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	s, err := h.session(r)
	if err != nil {
		return err
	}
	if s == nil {
		return refuse(http.StatusForbidden, "sessionGone", "scanAgain")
	}
	state := q.Get("state")
	if s.State == "" || !hmac.Equal([]byte(state), []byte(s.State)) {
		// Forged (not this browser's), replayed (used already) or stale.
		return refuse(http.StatusForbidden, "badState", "scanAgain")
	}
	scope := s.Scope
	// The state is spent before Alipay is asked anything: a replay of this URL, even
	// a concurrent one, loses the compare-and-set and is refused.
	s.State = ""
	if err := h.cfg.Store.UpdateMemberSession(ctx, s); err != nil {
		if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
			return refuse(http.StatusForbidden, "badState", "scanAgain")
		}
		return err
	}
	if q.Get("error") != "" || q.Get("auth_code") == "" {
		return refuse(http.StatusForbidden, "declined", "declinedDo")
	}
	tok, err := h.cfg.OAuth.OAuthToken(ctx, s.AppID, q.Get("auth_code"))
	if err != nil {
		h.cfg.Logger.WarnContext(ctx, "member: oauth token refused", "app", s.AppID, "code", f2fpay.ErrorCode(err), "err", oauthErr(err))
		return refuse(http.StatusForbidden, "codeRefused", "scanAgain")
	}
	app, err := h.cfg.Store.FindApp(ctx, s.AppID)
	if err != nil {
		return err
	}
	if scope == alipayScopeUser && ((s.UserID != "" && tok.UserID != "" && s.UserID != tok.UserID) || (s.OpenID != "" && tok.OpenID != "" && s.OpenID != tok.OpenID)) {
		return refuse(http.StatusForbidden, "otherAccount", "scanAgain")
	}
	s.UserID, s.OpenID = tok.UserID, tok.OpenID
	if m, err := h.cfg.Store.FindMemberByIdentity(ctx, s.AppID, tok.UserID, tok.OpenID); err == nil {
		return h.signIn(w, r, s, m, tok.UserID, tok.OpenID)
	} else if f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
		return err
	}
	if scope == alipayScopeBase {
		// A buyer we do not know: ask for consent to read the profile.
		return h.authorize(w, r, s, app, alipayScopeUser)
	}
	info, err := h.cfg.OAuth.UserInfo(ctx, s.AppID, tok.AccessToken)
	if err != nil {
		h.cfg.Logger.WarnContext(ctx, "member: user.info.share refused", "app", s.AppID, "err", oauthErr(err))
		return refuse(http.StatusForbidden, "codeRefused", "scanAgain")
	}
	s.Profile = f2fpay.MemberProfile{NickName: info.NickName, Avatar: info.Avatar, Gender: strings.ToLower(info.Gender),
		Province: info.Province, City: info.City}
	_ = s.Profile.Validate()
	s.Consented = true
	if err := h.cfg.Store.UpdateMemberSession(ctx, s); err != nil {
		return err
	}
	http.Redirect(w, r, "/m/phone", http.StatusSeeOther)
	return nil
}

// oauthErr describes an OAuth failure for the log without the code or token.
func oauthErr(err error) string {
	if ae, ok := alipay.AsError(err); ok && ae != nil {
		return ae.Code + " " + ae.SubCode
	}
	return f2fpay.ErrorCode(err)
}

// signIn ends the flow: the session belongs to the member from now on.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, s *f2fpay.MemberSession, m *f2fpay.Member, userID, openID string) error {
	ctx := r.Context()
	for _, i := range m.Identities {
		if i.AppID == s.AppID && ((userID != "" && i.UserID == userID) || (openID != "" && i.OpenID == openID)) {
			fillUser, fillOpen := "", ""
			if i.UserID == "" {
				fillUser = userID
			}
			if i.OpenID == "" {
				fillOpen = openID
			}
			if err := h.cfg.Store.TouchIdentity(ctx, i.ID, fillUser, fillOpen); err != nil {
				return err
			}
		}
	}
	s.MemberID = m.ID
	s.State, s.Scope, s.Profile, s.Consented = "", "", f2fpay.MemberProfile{}, false
	s.PhoneSealed, s.PhoneHash, s.CodeHash, s.CodeExpiresAt, s.CodeAttempts = "", nil, nil, time.Time{}, 0
	s.ExpiresAt = h.cfg.Clock.Now().Add(SignedInTTL)
	if err := h.cfg.Store.UpdateMemberSession(ctx, s); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/m/%d", s.TerminalID), http.StatusSeeOther)
	return nil
}

// ---- phone verification ----

func (h *Handler) linking(r *http.Request, s *f2fpay.MemberSession) error {
	if s == nil {
		return refuse(http.StatusForbidden, "sessionGone", "scanAgain")
	}
	if s.MemberID != 0 || !s.Consented || (s.UserID == "" && s.OpenID == "") {
		return refuse(http.StatusConflict, "notLinking", "scanAgain")
	}
	return nil
}

func (h *Handler) phonePage(w http.ResponseWriter, r *http.Request) error {
	s, err := h.session(r)
	if err != nil {
		return err
	}
	if err := h.linking(r, s); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "phone", pageData{Session: s, CSRF: h.csrf(s), CodeSent: len(s.CodeHash) > 0,
		PhoneMasked: h.maskedSessionPhone(s)})
	return nil
}

func (h *Handler) maskedSessionPhone(s *f2fpay.MemberSession) string {
	p, err := h.cfg.Box.Open(s.PhoneSealed, f2fpay.MemberPhonePurpose)
	if err != nil || p == "" {
		return ""
	}
	return f2fpay.MaskPhone(p)
}

func (h *Handler) phoneHash(phone string) []byte {
	m := hmac.New(sha256.New, h.phoneKey)
	m.Write([]byte(phone))
	return m.Sum(nil)
}

func (h *Handler) codeHash(s *f2fpay.MemberSession, code string) []byte {
	m := hmac.New(sha256.New, h.codeKey)
	fmt.Fprintf(m, "%d:%x:%s", s.ID, s.PhoneHash, code)
	return m.Sum(nil)
}

// sendCode is POST /m/phone: check the number and the limits, then send a code.
func (h *Handler) sendCode(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, err := h.form(r)
	if err != nil {
		return err
	}
	if err := h.linking(r, s); err != nil {
		return err
	}
	phone, err := f2fpay.NormalizePhone(r.PostForm.Get("phone"))
	if err != nil {
		return h.phoneAgain(w, r, s, "badPhone")
	}
	now := h.cfg.Clock.Now()
	if len(s.CodeHash) > 0 && now.Before(s.CodeExpiresAt.Add(-CodeTTL+ResendAfter)) {
		return h.phoneAgain(w, r, s, "waitResend")
	}
	ph := h.phoneHash(phone)
	toPhone, byClient, err := h.cfg.Store.CountSMSSends(ctx, s.MerchantID, ph, clientOf(r), now.Add(-time.Hour))
	if err != nil {
		return err
	}
	if toPhone >= SendsPerPhone || byClient >= SendsPerClient {
		return refuse(http.StatusTooManyRequests, "tooManySends", "tooManySendsDo")
	}
	sealed, err := h.cfg.Box.Seal(phone, f2fpay.MemberPhonePurpose)
	if err != nil {
		return err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1000000))
	if err != nil {
		return err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	s.PhoneSealed, s.PhoneHash = sealed, ph
	s.CodeHash, s.CodeExpiresAt, s.CodeAttempts = h.codeHash(s, code), now.Add(CodeTTL), 0
	// Recorded before it is sent: a send that fails still counts, so a failing
	// provider cannot be used to get around the limits.
	if err := h.cfg.Store.RecordSMSSend(ctx, f2fpay.SMSSend{MerchantID: s.MerchantID, PhoneHash: ph, Client: clientOf(r), SentAt: now}); err != nil {
		return err
	}
	if err := h.cfg.Store.UpdateMemberSession(ctx, s); err != nil {
		return err
	}
	if err := h.cfg.SMS.Send(ctx, phone, code); err != nil {
		h.cfg.Logger.ErrorContext(ctx, "member: SMS send failed", "err", err)
		return refuse(http.StatusServiceUnavailable, "smsFailed", "tryAgain")
	}
	http.Redirect(w, r, "/m/phone", http.StatusSeeOther)
	return nil
}

// phoneAgain shows the phone page with a message about what was entered.
func (h *Handler) phoneAgain(w http.ResponseWriter, r *http.Request, s *f2fpay.MemberSession, msg string) error {
	h.render(w, r, http.StatusBadRequest, "phone", pageData{Session: s, CSRF: h.csrf(s), CodeSent: len(s.CodeHash) > 0,
		PhoneMasked: h.maskedSessionPhone(s), Message: msg})
	return nil
}

// verify is POST /m/verify: the code, then the binding.
func (h *Handler) verify(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	s, err := h.form(r)
	if err != nil {
		return err
	}
	if err := h.linking(r, s); err != nil {
		return err
	}
	now := h.cfg.Clock.Now()
	switch {
	case len(s.CodeHash) == 0:
		return h.phoneAgain(w, r, s, "noCode")
	case s.CodeAttempts >= MaxCodeAttempts:
		return h.phoneAgain(w, r, s, "tooManyAttempts")
	case !now.Before(s.CodeExpiresAt):
		return h.phoneAgain(w, r, s, "codeExpired")
	}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	if !hmac.Equal(h.codeHash(s, code), s.CodeHash) {
		s.CodeAttempts++
		if err := h.cfg.Store.UpdateMemberSession(ctx, s); err != nil {
			return err
		}
		if s.CodeAttempts >= MaxCodeAttempts {
			return h.phoneAgain(w, r, s, "tooManyAttempts")
		}
		return h.phoneAgain(w, r, s, "wrongCode")
	}
	// The code is spent whatever happens next.
	s.CodeHash, s.CodeExpiresAt = nil, time.Time{}
	if err := h.cfg.Store.UpdateMemberSession(ctx, s); err != nil {
		return err
	}
	identity := &f2fpay.MemberIdentity{AppID: s.AppID, UserID: s.UserID, OpenID: s.OpenID}
	m, err := h.cfg.Store.FindMemberByPhone(ctx, s.MerchantID, s.PhoneHash)
	switch {
	case err == nil:
		if err := h.bind(ctx, m, identity, s.Profile); err != nil {
			return err
		}
	case f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND:
		phone, err := h.cfg.Box.Open(s.PhoneSealed, f2fpay.MemberPhonePurpose)
		if err != nil {
			return err
		}
		m = &f2fpay.Member{MerchantID: s.MerchantID, PhoneSealed: s.PhoneSealed, PhoneHash: s.PhoneHash,
			PhoneMasked: f2fpay.MaskPhone(phone), MemberProfile: s.Profile, Identities: []*f2fpay.MemberIdentity{identity}}
		if err := h.cfg.Store.CreateMember(ctx, m); err != nil {
			if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
				return refuse(http.StatusConflict, "raced", "scanAgain")
			}
			return err
		}
	default:
		return err
	}
	return h.signIn(w, r, s, m, s.UserID, s.OpenID)
}

// bind links identity to m, the member who owns the verified phone — unless m has
// another Alipay account for this app already: one phone, one account per app.
// An identity whose ids cannot contradict the new one (user id on one side, open id
// on the other: an app that switched) is the same account and gets the missing id.
func (h *Handler) bind(ctx context.Context, m *f2fpay.Member, identity *f2fpay.MemberIdentity, profile f2fpay.MemberProfile) error {
	for _, i := range m.Identities {
		if i.AppID != identity.AppID {
			continue
		}
		userDiffers := i.UserID != "" && identity.UserID != "" && i.UserID != identity.UserID
		openDiffers := i.OpenID != "" && identity.OpenID != "" && i.OpenID != identity.OpenID
		if userDiffers || openDiffers {
			return refuse(http.StatusConflict, "phoneTaken", "phoneTakenDo")
		}
		fillUser, fillOpen := "", ""
		if i.UserID == "" {
			fillUser = identity.UserID
		}
		if i.OpenID == "" {
			fillOpen = identity.OpenID
		}
		return h.cfg.Store.TouchIdentity(ctx, i.ID, fillUser, fillOpen)
	}
	err := h.cfg.Store.LinkIdentity(ctx, m.ID, identity, &profile)
	if f2fpay.ErrorCode(err) == f2fpay.ECONFLICT {
		return refuse(http.StatusConflict, "raced", "scanAgain")
	}
	return err
}

// ---- one-tap payment ----

func (h *Handler) member(r *http.Request, term *f2fpay.Terminal) (*f2fpay.MemberSession, *f2fpay.Member, *f2fpay.MemberIdentity, error) {
	s, err := h.form(r)
	if err != nil {
		return nil, nil, nil, err
	}
	if s.MemberID == 0 || s.MerchantID != term.MerchantID {
		return nil, nil, nil, refuse(http.StatusForbidden, "sessionGone", "scanAgain")
	}
	m, err := h.cfg.Store.FindMember(r.Context(), s.MemberID)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, i := range m.Identities {
		if i.AppID == term.AppID {
			return s, m, i, nil
		}
	}
	// Linked through another app of the operator: this machine's app must know the
	// buyer too (trade.create names the buyer as the app knows them).
	return nil, nil, nil, refuse(http.StatusForbidden, "sessionGone", "scanAgain")
}

// pay is POST /m/{terminal}/pay: take the open sale and create its trade.
func (h *Handler) pay(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	term, app, err := h.terminal(ctx, r.PathValue("terminal"))
	if err != nil {
		return err
	}
	_, m, ident, err := h.member(r, term)
	if err != nil {
		return err
	}
	var saleID int64
	if _, err := fmt.Sscan(r.PostForm.Get("sale"), &saleID); err != nil {
		return refuse(http.StatusBadRequest, "badForm", "scanAgain")
	}
	sale, err := h.cfg.Store.FindSale(ctx, saleID)
	if err != nil || sale.TerminalID != term.ID {
		return refuse(http.StatusNotFound, "noSale", "noSaleDo")
	}
	if _, err := h.cfg.Store.TakeSale(ctx, sale.ID, m.ID); err != nil {
		if c := f2fpay.ErrorCode(err); c == f2fpay.ECONFLICT || c == f2fpay.ENOTFOUND {
			return refuse(http.StatusConflict, "noSale", "noSaleDo")
		}
		return err
	}
	req := payment.JSAPIRequest{TerminalID: term.ID, Amount: sale.Amount, Subject: sale.Subject,
		OutTradeNo: sale.OutTradeNo, RequestKey: fmt.Sprintf("sale:%d:member:%d", sale.ID, m.ID)}
	if ident.UserID != "" {
		req.BuyerID = ident.UserID
	} else {
		req.BuyerOpenID = ident.OpenID
	}
	o, err := h.cfg.Payer.CreateJSAPI(ctx, req)
	if err != nil || o.TradeNo == "" {
		if err != nil {
			h.cfg.Logger.WarnContext(ctx, "member: trade.create failed", "out_trade_no", sale.OutTradeNo, "code", f2fpay.ErrorCode(err))
		}
		return refuse(http.StatusBadGateway, "payFailed", "payFailedDo")
	}
	h.render(w, r, http.StatusOK, "pay", pageData{Terminal: term, Order: o, Member: m,
		WalletURL: walletURL(app, cmpOr(ident.UserID, ident.OpenID), o.TradeNo,
			fmt.Sprintf("%s/m/%d/orders/%s", h.cfg.PublicURL, term.ID, url.PathEscape(o.OutTradeNo)))})
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// result is the page tradePay returns to: the order as the service knows it (the
// wallet's result code is a hint; the notification or trade.query decide).
func (h *Handler) result(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	term, _, err := h.terminal(ctx, r.PathValue("terminal"))
	if err != nil {
		return err
	}
	s, err := h.session(r)
	if err != nil {
		return err
	}
	if s == nil || s.MemberID == 0 || s.MerchantID != term.MerchantID {
		return refuse(http.StatusForbidden, "sessionGone", "scanAgain")
	}
	o, err := h.cfg.Payer.Order(ctx, term.AppID, r.PathValue("out_trade_no"))
	if err != nil || o.TerminalID != term.ID || o.Kind != f2fpay.KindJSAPI {
		return refuse(http.StatusNotFound, "noSale", "noSaleDo")
	}
	m, err := h.cfg.Store.FindMember(ctx, s.MemberID)
	if err != nil {
		return err
	}
	owns := false
	for _, i := range m.Identities {
		if o.BuyerID != "" && (o.BuyerID == i.UserID || o.BuyerID == i.OpenID) {
			owns = true
		}
	}
	if !owns {
		return refuse(http.StatusNotFound, "noSale", "noSaleDo")
	}
	h.render(w, r, http.StatusOK, "result", pageData{Terminal: term, Order: o, Member: m})
	return nil
}
