package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

var approvalLocation = regexp.MustCompile(`approval=(\d+)`)

// TestRefundApproval: above the merchant's threshold a refund waits; the one who asked
// cannot approve it, a read-only user cannot either, another refunding staff member
// can, and only then does the engine get the refund — with the form's refund_id, the
// same however often the approval is sent. Below the threshold it goes at once.
func TestRefundApproval(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		as := b.store.(f2fpay.RefundApprovalStore)
		must(t, as.SetRefundApprovalAbove(t.Context(), b.m1, 500))
		path := "/console/orders/" + strconv.FormatInt(b.mine.ID, 10)

		fin := b.browser(t)
		fin.login("finance", password)
		_, page := fin.get(path)
		if !strings.Contains(page, "5.00") {
			t.Fatalf("the order page does not show the threshold:\n%s", page)
		}
		form := url.Values{"csrf": {csrfOf(t, page)}, "refund_id": {"console-big"}, "amount": {"8.00"}, "reason": {"broken"}}
		code, _, res := fin.post(path+"/refund", form, b.srv.URL)
		m := approvalLocation.FindStringSubmatch(res.Header.Get("Location"))
		if code != http.StatusSeeOther || m == nil {
			t.Fatalf("a refund above the threshold: %d %s, want a redirect to its approval", code, res.Header.Get("Location"))
		}
		// The same form again asks once.
		if _, _, res2 := fin.post(path+"/refund", form, b.srv.URL); res2.Header.Get("Location") != res.Header.Get("Location") {
			t.Fatalf("a resent form: %s, want %s", res2.Header.Get("Location"), res.Header.Get("Location"))
		}
		if n := len(b.refunder.calls()); n != 0 {
			t.Fatalf("a refund above the threshold reached the engine before approval (%d calls)", n)
		}
		approve := "/console/approvals/" + m[1] + "/approve"
		tok := url.Values{"csrf": {csrfOf(t, page)}}
		if code, body, _ := fin.post(approve, tok, b.srv.URL); code != http.StatusConflict || !strings.Contains(body, "another staff member") {
			t.Fatalf("approving one's own refund: %d, want 409", code)
		}
		viewer := b.browser(t)
		viewer.login("viewer", password)
		_, vpage := viewer.get("/console/approvals")
		if code, _, _ := viewer.post(approve, url.Values{"csrf": {csrfOf(t, vpage)}}, b.srv.URL); code != http.StatusForbidden {
			t.Fatalf("a read-only user approving: %d, want 403", code)
		}
		// Without the CSRF token: refused.
		owner := b.browser(t)
		owner.login("owner", password)
		_, opage := owner.get("/console/approvals")
		if !strings.Contains(opage, "console-big") && !strings.Contains(opage, b.mine.OutTradeNo) {
			t.Fatalf("the approvals page does not list the pending refund:\n%s", opage)
		}
		if code, _, _ := owner.post(approve, url.Values{}, b.srv.URL); code != http.StatusForbidden {
			t.Fatalf("an approval without the CSRF token: %d, want 403", code)
		}
		if n := len(b.refunder.calls()); n != 0 {
			t.Fatalf("the engine was called %d times before a valid approval", n)
		}
		otok := url.Values{"csrf": {csrfOf(t, opage)}}
		for range 2 {
			if code, _, res := owner.post(approve, otok, b.srv.URL); code != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "refund=console-big") {
				t.Fatalf("the owner's approval: %d %s", code, res.Header.Get("Location"))
			}
		}
		calls := b.refunder.calls()
		if len(calls) != 2 || calls[0].RefundID != "console-big" || calls[1].RefundID != "console-big" || calls[0].Amount != 800 {
			t.Fatalf("engine calls after approval = %+v; want the one refund, keyed console-big", calls)
		}
		// Decided: a rejection now is refused.
		if code, _, _ := owner.post("/console/approvals/"+m[1]+"/reject", otok, b.srv.URL); code != http.StatusConflict {
			t.Fatalf("rejecting an approved refund: %d, want 409", code)
		}
		for _, action := range []string{"refund_requested", "refund_approved"} {
			if len(b.audit(t, action)) == 0 {
				t.Errorf("no %s in the audit log", action)
			}
		}

		// Rejected: the engine never hears of it.
		_, page = fin.get(path)
		form.Set("refund_id", "console-big2")
		_, _, res = fin.post(path+"/refund", form, b.srv.URL)
		m = approvalLocation.FindStringSubmatch(res.Header.Get("Location"))
		if m == nil {
			t.Fatalf("the second request: %s", res.Header.Get("Location"))
		}
		if code, _, _ := owner.post("/console/approvals/"+m[1]+"/reject", otok, b.srv.URL); code != http.StatusSeeOther {
			t.Fatalf("rejecting: %d", code)
		}
		if n := len(b.refunder.calls()); n != 2 || len(b.audit(t, "refund_rejected")) != 1 {
			t.Fatalf("after a rejection: %d engine calls, %d refund_rejected entries", n, len(b.audit(t, "refund_rejected")))
		}

		// At or below the threshold: at once.
		form.Set("refund_id", "console-small")
		form.Set("amount", "5.00")
		if code, _, res := fin.post(path+"/refund", form, b.srv.URL); code != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "refund=console-small") {
			t.Fatalf("a refund at the threshold: %d %s", code, res.Header.Get("Location"))
		}
		if n := len(b.refunder.calls()); n != 3 {
			t.Fatalf("a refund at the threshold: %d engine calls, want 3", n)
		}
	})
}

// TestStaffPage: an owner creates a staff member whose password is shown once and
// works; others may not.
func TestStaffPage(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		owner := b.browser(t)
		owner.login("owner", password)
		_, page := owner.get("/console/staff")
		code, body, _ := owner.post("/console/staff", url.Values{"csrf": {csrfOf(t, page)}, "login": {"clerk2"}, "role": {"finance"}, "merchant": {strconv.FormatInt(b.m1, 10)}}, b.srv.URL)
		pw := regexp.MustCompile(`data-testid="new-password">([^<]+)<`).FindStringSubmatch(body)
		if code != http.StatusCreated || pw == nil {
			t.Fatalf("creating staff: %d\n%s", code, body)
		}
		clerk := b.browser(t)
		if code := clerk.login("clerk2", pw[1]); code != http.StatusSeeOther {
			t.Fatalf("the new member's login: %d", code)
		}
		if _, again := owner.get("/console/staff"); strings.Contains(again, pw[1]) {
			t.Fatal("the password is shown a second time")
		}
		fin := b.browser(t)
		fin.login("finance", password)
		_, fpage := fin.get("/console/")
		if code, _, _ := fin.post("/console/staff", url.Values{"csrf": {csrfOf(t, fpage)}, "login": {"x"}, "role": {"owner"}}, b.srv.URL); code != http.StatusForbidden {
			t.Fatalf("finance creating staff: %d, want 403", code)
		}
		if len(b.audit(t, "create_user")) != 1 || len(b.audit(t, "create_user_refused")) != 1 {
			t.Fatal("staff creation is not audited")
		}
	})
}
