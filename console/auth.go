package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

const (
	sessionCookie   = "f2fpay_session"
	loginCSRFCookie = "f2fpay_login_csrf"
	// maxFormBytes bounds a console form's body: the longest is a refund's reason.
	maxFormBytes = 16 << 10
)

// errForbidden: the staff member's role or scope does not allow the action (403).
var errForbidden = errors.New("console: forbidden")

// errCSRF: a form without the session's token, or from another origin (403).
var errCSRF = errors.New("console: CSRF check failed")

// session is the logged-in staff member of a request.
type session struct {
	staff *f2fpay.Staff
	sess  *f2fpay.StaffSession
	lang  lang
}

type handler func(w http.ResponseWriter, r *http.Request) error

type authedHandler func(w http.ResponseWriter, r *http.Request, s *session) error

// newToken returns 32 random bytes, URL-safe base64.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionID is what the store keeps of a session token.
func sessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// clientIP is the peer's address. X-Forwarded-For is not trusted: anyone can send it.
func clientIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func (c *Console) cookie(r *http.Request, name, value string, maxAge time.Duration) *http.Cookie {
	ck := &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: c.secure || r.TLS != nil, MaxAge: int(maxAge / time.Second),
	}
	if maxAge < 0 {
		ck.MaxAge = -1
	}
	return ck
}

// loadSession returns the request's session, or nil when it has none (or it expired,
// or its staff member was disabled since).
func (c *Console) loadSession(r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 100 {
		return nil, nil
	}
	sess, err := c.staff.FindSession(r.Context(), sessionID(ck.Value), c.clock.Now())
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st, err := c.staff.FindStaff(r.Context(), sess.StaffID)
	if err != nil {
		return nil, err
	}
	if st.Disabled {
		return nil, nil
	}
	return &session{staff: st, sess: sess, lang: requestLang(r)}, nil
}

// sameOrigin refuses a POST whose Origin (or, without one, Referer) names another
// site: a second line behind the CSRF token.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return true // old browsers and privacy settings send neither; the token decides
	}
	u, err := url.Parse(src)
	return err == nil && u.Host == r.Host
}

// readForm bounds and parses a POSTed form.
func readForm(w http.ResponseWriter, r *http.Request) error {
	// Key and certificate uploads come as multipart forms, bounded more loosely.
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
		if err := r.ParseMultipartForm(maxUploadBytes); err != nil {
			return f2fpay.Errorf(f2fpay.EINVALID, "the form could not be read (at most %d bytes)", maxUploadBytes)
		}
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return f2fpay.Errorf(f2fpay.EINVALID, "the form could not be read (at most %d bytes)", maxFormBytes)
	}
	return nil
}

// authed runs h for a logged-in staff member; a POST must also carry the session's
// CSRF token and come from this origin.
func (c *Console) authed(h authedHandler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		s, err := c.loadSession(r)
		if err != nil {
			return err
		}
		if s == nil {
			if r.Method != http.MethodGet {
				return f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "log in first")
			}
			http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil
		}
		if r.Method == http.MethodPost {
			if err := readForm(w, r); err != nil {
				return err
			}
			tok := r.PostForm.Get("csrf")
			if !sameOrigin(r) || tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.sess.CSRFToken)) != 1 {
				c.record(r.Context(), r, s.staff, s.staff.MerchantID, "csrf_refused", r.URL.Path, "")
				return errCSRF
			}
		}
		w.Header().Set("Cache-Control", "no-store") // pages with orders stay out of shared caches
		return h(w, r, s)
	}
}

// record appends an audit entry; a failure is logged (the caller decides whether the
// action may go on without its entry: a refund may not).
func (c *Console) record(ctx context.Context, r *http.Request, st *f2fpay.Staff, merchantID int64, action, target, detail string) error {
	e := &f2fpay.AuditEntry{MerchantID: merchantID, Action: action, Target: target, Detail: detail, IP: clientIP(r)}
	if st != nil {
		e.StaffID, e.StaffLogin = st.ID, st.Login
	}
	err := c.staff.AppendAudit(context.WithoutCancel(ctx), e)
	if err != nil {
		c.log.Error("console: audit entry not written", "action", action, "err", err)
	}
	return err
}

// safeNext is where to go after login: a console path, never another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console/"
	}
	return next
}

type loginView struct {
	Failed, Locked bool
	Login, Next    string
}

func (c *Console) getLogin(w http.ResponseWriter, r *http.Request) error {
	if s, err := c.loadSession(r); err == nil && s != nil {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return nil
	}
	return c.renderLogin(w, r, http.StatusOK, loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

// renderLogin shows the login form with a fresh double-submit token: the login form
// has no session yet, so its token is a cookie the form must repeat (login CSRF would
// otherwise log a victim in as the attacker).
func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) error {
	tok := newToken()
	http.SetCookie(w, c.cookie(r, loginCSRFCookie, tok, time.Hour))
	w.Header().Set("Cache-Control", "no-store")
	return c.render(w, r, status, "login", &view{L: requestLang(r), CSRF: tok, Data: v})
}

func (c *Console) postLogin(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	ck, err := r.Cookie(loginCSRFCookie)
	tok := r.PostForm.Get("csrf")
	if err != nil || tok == "" || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(tok), []byte(ck.Value)) != 1 {
		return errCSRF
	}
	login := strings.TrimSpace(r.PostForm.Get("login"))
	password := r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	v := loginView{Login: login, Next: next}
	if len(login) > 64 {
		login = login[:64]
	}
	ctx := r.Context()
	now := c.clock.Now()

	st, err := c.staff.FindStaffByLogin(ctx, login)
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		c.verify(dummyHash(), password) // as slow as a real check
		c.record(ctx, r, nil, 0, "login_failed", login, "unknown login")
		v.Failed = true
		return c.renderLogin(w, r, http.StatusUnauthorized, v)
	}
	if err != nil {
		return err
	}
	if st.LockedUntil.After(now) {
		c.record(ctx, r, st, st.MerchantID, "login_failed", st.Login, "locked")
		v.Locked = true
		return c.renderLogin(w, r, http.StatusTooManyRequests, v)
	}
	ok, err := c.verify(st.PasswordHash, password)
	if err != nil {
		return err
	}
	if !ok || st.Disabled {
		upd, err := c.staff.LoginFailed(ctx, st.ID, c.maxFail, now.Add(c.lockFor))
		if err != nil {
			return err
		}
		c.record(ctx, r, st, st.MerchantID, "login_failed", st.Login, "wrong password")
		if upd.LockedUntil.After(now) {
			c.record(ctx, r, st, st.MerchantID, "locked", st.Login, "until "+upd.LockedUntil.In(c.loc).Format(time.DateTime))
			v.Locked = true
			return c.renderLogin(w, r, http.StatusTooManyRequests, v)
		}
		v.Failed = true
		return c.renderLogin(w, r, http.StatusUnauthorized, v)
	}
	if err := c.staff.LoginSucceeded(ctx, st.ID); err != nil {
		return err
	}
	return c.startSession(w, r, st, "login", "", next)
}

// startSession logs st in: a new session, its cookie, an audit entry, and a redirect
// to next.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, st *f2fpay.Staff, action, detail, next string) error {
	ctx := r.Context()
	// A new session id at every login, and the old one (if the browser had one)
	// ended: a session id planted before login is worth nothing after it.
	if old, err := r.Cookie(sessionCookie); err == nil && old.Value != "" {
		if err := c.staff.DeleteSession(ctx, sessionID(old.Value)); err != nil {
			return err
		}
	}
	token := newToken()
	sess := &f2fpay.StaffSession{ID: sessionID(token), StaffID: st.ID, CSRFToken: newToken(), IP: clientIP(r), ExpiresAt: c.clock.Now().Add(c.ttl)}
	if err := c.staff.CreateSession(ctx, sess); err != nil {
		return err
	}
	c.record(ctx, r, st, st.MerchantID, action, st.Login, detail)
	http.SetCookie(w, c.cookie(r, sessionCookie, token, c.ttl))
	http.SetCookie(w, c.cookie(r, loginCSRFCookie, "", -1))
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// verify checks a password, a few at a time: each check holds 64 MiB.
func (c *Console) verify(hash, password string) (bool, error) {
	c.hashing <- struct{}{}
	defer func() { <-c.hashing }()
	return verifyPassword(hash, password)
}

func (c *Console) postLogout(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.staff.DeleteSession(r.Context(), s.sess.ID); err != nil {
		return err
	}
	c.record(r.Context(), r, s.staff, s.staff.MerchantID, "logout", s.staff.Login, "")
	http.SetCookie(w, c.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	return nil
}

// setLang is the language switch: a cookie, then back to the page (a console path).
func (c *Console) setLang(w http.ResponseWriter, r *http.Request) error {
	l := lang(r.PathValue("lang"))
	if l != langZH && l != langEN {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "no language %q", l)
	}
	ck := c.cookie(r, langCookie, string(l), 365*24*time.Hour)
	ck.HttpOnly = false
	http.SetCookie(w, ck)
	http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
	return nil
}
