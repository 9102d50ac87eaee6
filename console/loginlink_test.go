package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/console"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// TestLoginLink: a one-time link logs its staff member in once, through a button
// (opening it spends nothing), with the login form's CSRF check; expired or spent
// links do nothing; making and using it are audited.
func TestLoginLink(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		ctx := t.Context()
		owner, err := b.staff.FindStaffByLogin(ctx, "owner")
		must(t, err)
		links := b.store.(f2fpay.RefundApprovalStore)
		path, err := console.NewLoginLink(ctx, links, b.staff, owner, 0, "demo")
		must(t, err)
		if !strings.HasPrefix(path, "/console/login/link/") {
			t.Fatalf("link %q", path)
		}
		br := b.browser(t)
		// Opened twice (a previewer first): still good.
		br.get(path)
		code, page := br.get(path)
		if code != http.StatusOK || br.session() != "" {
			t.Fatalf("opening the link: %d, session %q", code, br.session())
		}
		token := strings.TrimPrefix(path, "/console/login/link/")
		if code, _, _ := br.post("/console/login/link", url.Values{"token": {token}}, b.srv.URL); code != http.StatusForbidden {
			t.Fatalf("the link's POST without the CSRF token: %d, want 403", code)
		}
		form := url.Values{"csrf": {csrfOf(t, page)}, "token": {token}}
		code, _, res := br.post("/console/login/link", form, b.srv.URL)
		if code != http.StatusSeeOther || res.Header.Get("Location") != "/console/" || br.session() == "" {
			t.Fatalf("using the link: %d %s", code, res.Header.Get("Location"))
		}
		if code, page := br.get("/console/audit"); code != http.StatusOK || !strings.Contains(page, "one-time link") {
			t.Fatalf("the owner's audit log after a link login: %d", code)
		}
		// Spent: a second browser gets nothing.
		other := b.browser(t)
		_, page = other.get(path)
		if code, _, _ := other.post("/console/login/link", url.Values{"csrf": {csrfOf(t, page)}, "token": {token}}, b.srv.URL); code != http.StatusUnauthorized || other.session() != "" {
			t.Fatalf("a spent link: %d, session %q", code, other.session())
		}
		// Expired.
		short, err := console.NewLoginLink(ctx, links, b.staff, owner, time.Millisecond, "demo")
		must(t, err)
		time.Sleep(5 * time.Millisecond)
		_, page = other.get(short)
		if code, _, _ := other.post("/console/login/link", url.Values{"csrf": {csrfOf(t, page)}, "token": {regexp.MustCompile(`[^/]+$`).FindString(short)}}, b.srv.URL); code != http.StatusUnauthorized {
			t.Fatalf("an expired link: %d, want 401", code)
		}
		if len(b.audit(t, "login_link_created")) != 2 {
			t.Fatal("making a link is not audited")
		}
	})
}
