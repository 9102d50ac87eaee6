package console

import (
	"context"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/f2fpay/f2fpay"
)

// One-time login links (docs/console.md "One-time login links"): `f2fpay demo` prints
// one that logs the demo's owner in. The link holds a random token the store keeps
// only the SHA-256 of; it works once, for a short while, and both its making and its
// use are audited. Opening the link (GET) only shows a button: a link previewer or a
// mail scanner that fetches it logs nobody in and spends nothing; the button's POST,
// with the login form's double-submit CSRF token, does.

// DefaultLinkTTL is how long a login link works when NewLoginLink is given no TTL.
const DefaultLinkTTL = 15 * time.Minute

// NewLoginLink makes a single-use login link for st and returns the path to open
// (/console/login/link/…), to be put after the service's URL. who names the maker in
// the audit log ("demo", "cli").
func NewLoginLink(ctx context.Context, store f2fpay.RefundApprovalStore, audit f2fpay.StaffStore, st *f2fpay.Staff, ttl time.Duration, who string) (string, error) {
	if ttl <= 0 {
		ttl = DefaultLinkTTL
	}
	token := newToken()
	t := &f2fpay.StaffLoginToken{ID: sessionID(token), StaffID: st.ID, ExpiresAt: time.Now().Add(ttl)}
	if err := store.CreateLoginToken(ctx, t); err != nil {
		return "", err
	}
	if err := audit.AppendAudit(ctx, &f2fpay.AuditEntry{StaffLogin: who, MerchantID: st.MerchantID, Action: "login_link_created",
		Target: st.Login, Detail: "expires " + t.ExpiresAt.UTC().Format(time.RFC3339), IP: "local"}); err != nil {
		return "", err
	}
	return "/console/login/link/" + token, nil
}

type linkView struct{ Token string }

func (c *Console) getLoginLink(w http.ResponseWriter, r *http.Request) error {
	tok := r.PathValue("token")
	if len(tok) > 100 {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "no such login link")
	}
	csrf := newToken()
	http.SetCookie(w, c.cookie(r, loginCSRFCookie, csrf, time.Hour))
	w.Header().Set("Cache-Control", "no-store")
	return c.render(w, r, http.StatusOK, "loginlink", &view{L: requestLang(r), CSRF: csrf, Data: linkView{Token: tok}})
}

func (c *Console) postLoginLink(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	ck, err := r.Cookie(loginCSRFCookie)
	tok := r.PostForm.Get("csrf")
	if err != nil || tok == "" || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(tok), []byte(ck.Value)) != 1 {
		return errCSRF
	}
	link := r.PostForm.Get("token")
	if link == "" || len(link) > 100 {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "no such login link")
	}
	lt, err := c.approval.UseLoginToken(r.Context(), sessionID(link), c.clock.Now())
	if f2fpay.ErrorCode(err) == f2fpay.ENOTFOUND {
		c.record(r.Context(), r, nil, 0, "login_failed", "login link", "unknown, used or expired")
		return f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "%s", requestLang(r).t("link.spent"))
	}
	if err != nil {
		return err
	}
	st, err := c.staff.FindStaff(r.Context(), lt.StaffID)
	if err != nil {
		return err
	}
	if st.Disabled {
		return f2fpay.Errorf(f2fpay.EUNAUTHORIZED, "%s", requestLang(r).t("link.spent"))
	}
	return c.startSession(w, r, st, "login", "one-time link", "/console/")
}
