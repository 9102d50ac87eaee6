package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/console"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/payment"
)

const password = "correct horse battery"

// refunder stands in for the payment engine and remembers what it was asked.
type refunder struct {
	mu   sync.Mutex
	reqs []payment.RefundRequest
}

func (r *refunder) Refund(_ context.Context, req payment.RefundRequest) (*f2fpay.Refund, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	return &f2fpay.Refund{OutRequestNo: payment.OutRequestNo(req.RefundID), Amount: req.Amount, State: f2fpay.RefundSucceeded}, nil
}

func (r *refunder) calls() []payment.RefundRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]payment.RefundRequest(nil), r.reqs...)
}

type bundle struct {
	srv      *httptest.Server
	store    f2fpay.Storage
	staff    f2fpay.StaffStore
	refunder *refunder
	mine     *f2fpay.Order // merchant 1's
	theirs   *f2fpay.Order // merchant 2's
	m1       int64
}

func setup(t *testing.T, kind testdb.Kind) *bundle {
	t.Helper()
	ctx := t.Context()
	store := testdb.Open(t, kind, testdb.Options{})
	staff := store.(f2fpay.StaffStore)
	b := &bundle{store: store, staff: staff, refunder: &refunder{}}
	order := func(name string) *f2fpay.Order {
		m := &f2fpay.Merchant{Name: name}
		must(t, store.CreateMerchant(ctx, m))
		app := &f2fpay.App{MerchantID: m.ID, AppID: "2021" + strconv.FormatInt(m.ID, 10) + "000000001", Name: "main",
			Gateway: "https://openapi.alipay.com/gateway.do", SignType: "RSA2", KeyMode: f2fpay.KeyModePublicKey,
			PrivateKey: "sealed:x", AlipayPublicKey: "MIIB", SellerID: "2088102146225135"}
		must(t, store.CreateApp(ctx, app))
		st := &f2fpay.Store{MerchantID: m.ID, Code: "S1", Name: name + " store"}
		must(t, store.CreateStore(ctx, st))
		o := &f2fpay.Order{OutTradeNo: name + "-001", MerchantID: m.ID, AppID: app.ID, StoreID: st.ID, Kind: f2fpay.KindBarcode,
			Subject: "coffee", TotalAmount: 1000, State: f2fpay.OrderPaid, TradeNo: "2025" + name}
		must(t, store.CreateOrder(ctx, o))
		return o
	}
	b.mine, b.theirs = order("alpha"), order("beta")
	b.m1 = b.mine.MerchantID
	hash, err := console.HashPassword(password)
	must(t, err)
	for _, st := range []*f2fpay.Staff{
		{Login: "owner", Role: f2fpay.RoleOwner},
		{Login: "finance", Role: f2fpay.RoleFinance, MerchantID: b.m1},
		{Login: "viewer", Role: f2fpay.RoleReadOnly, MerchantID: b.m1},
	} {
		st.PasswordHash = hash
		must(t, staff.CreateStaff(ctx, st))
	}
	con, err := console.New(console.Config{Storage: store, Staff: staff, Refunder: b.refunder, MaxFailures: 3})
	must(t, err)
	b.srv = httptest.NewServer(con.Handler())
	t.Cleanup(b.srv.Close)
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t   *testing.T
	b   *bundle
	hc  *http.Client
	jar *cookiejar.Jar
}

func (b *bundle) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, b: b, jar: jar, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (br *browser) get(path string) (int, string) {
	br.t.Helper()
	res, err := br.hc.Get(br.b.srv.URL + path)
	must(br.t, err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func (br *browser) post(path string, form url.Values, origin string) (int, string, *http.Response) {
	br.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, br.b.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := br.hc.Do(req)
	must(br.t, err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// login submits the login form and returns the status.
func (br *browser) login(login, pw string) int {
	br.t.Helper()
	_, page := br.get("/console/login")
	code, _, _ := br.post("/console/login", url.Values{"csrf": {csrfOf(br.t, page)}, "login": {login}, "password": {pw}}, br.b.srv.URL)
	return code
}

func (br *browser) session() string {
	u, _ := url.Parse(br.b.srv.URL)
	for _, c := range br.jar.Cookies(u) {
		if c.Name == "f2fpay_session" {
			return c.Value
		}
	}
	return ""
}

func (b *bundle) audit(t *testing.T, action string) []*f2fpay.AuditEntry {
	t.Helper()
	all, err := b.staff.ListAudit(t.Context(), f2fpay.AuditFilter{})
	must(t, err)
	var out []*f2fpay.AuditEntry
	for _, e := range all {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func TestLogin(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		br := b.browser(t)
		if code, _ := br.get("/console/orders"); code != http.StatusSeeOther {
			t.Fatalf("orders without a session: %d, want a redirect to the login", code)
		}
		if code := br.login("finance", "wrong password!"); code != http.StatusUnauthorized || br.session() != "" {
			t.Fatalf("wrong password: %d, session %q", code, br.session())
		}
		if code := br.login("nobody", password); code != http.StatusUnauthorized {
			t.Fatalf("unknown login: %d", code)
		}
		if n := len(b.audit(t, "login_failed")); n != 2 {
			t.Fatalf("%d login_failed entries, want 2", n)
		}
		// Session fixation: a session id planted before the login is not the one after.
		u, _ := url.Parse(b.srv.URL)
		br.jar.SetCookies(u, []*http.Cookie{{Name: "f2fpay_session", Value: "planted-by-attacker", Path: "/"}})
		if code := br.login("finance", password); code != http.StatusSeeOther {
			t.Fatalf("right password: %d", code)
		}
		sess := br.session()
		if sess == "" || sess == "planted-by-attacker" {
			t.Fatalf("session after login: %q", sess)
		}
		code, page := br.get("/console/")
		if code != http.StatusOK || !strings.Contains(page, `id="chart-data"`) || !strings.Contains(page, "¥10.00") {
			t.Fatalf("overview: %d\n%s", code, page)
		}
		if strings.Contains(page, password) {
			t.Fatal("the page shows the password")
		}
		// Logout ends the session on the server: the old cookie opens nothing.
		if code, _, _ := br.post("/console/logout", url.Values{"csrf": {csrfOf(t, page)}}, b.srv.URL); code != http.StatusSeeOther {
			t.Fatalf("logout: %d", code)
		}
		thief := b.browser(t)
		thief.jar.SetCookies(u, []*http.Cookie{{Name: "f2fpay_session", Value: sess, Path: "/"}})
		if code, _ := thief.get("/console/orders"); code != http.StatusSeeOther {
			t.Fatalf("a logged-out session still opens pages: %d", code)
		}
		if len(b.audit(t, "login")) != 1 || len(b.audit(t, "logout")) != 1 {
			t.Fatal("login and logout not in the audit log")
		}
	})
}

func TestLockout(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		br := b.browser(t)
		for i := 1; i <= 3; i++ {
			want := http.StatusUnauthorized
			if i == 3 {
				want = http.StatusTooManyRequests
			}
			if code := br.login("viewer", "not the password"); code != want {
				t.Fatalf("failure %d: %d, want %d", i, code, want)
			}
		}
		if code := br.login("viewer", password); code != http.StatusTooManyRequests || br.session() != "" {
			t.Fatalf("right password while locked: %d, session %q", code, br.session())
		}
		if len(b.audit(t, "locked")) != 1 {
			t.Fatal("the lockout is not in the audit log")
		}
		// Other accounts are not locked.
		if code := b.browser(t).login("finance", password); code != http.StatusSeeOther {
			t.Fatalf("another account: %d", code)
		}
	})
}

func TestCSRF(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		// A login form posted without the form's cookie (from another site) is refused.
		if code, _, _ := b.browser(t).post("/console/login", url.Values{"csrf": {"guess"}, "login": {"finance"}, "password": {password}}, ""); code != http.StatusForbidden {
			t.Fatalf("login without the CSRF cookie: %d", code)
		}
		br := b.browser(t)
		if code := br.login("finance", password); code != http.StatusSeeOther {
			t.Fatalf("login: %d", code)
		}
		path := "/console/orders/" + strconv.FormatInt(b.mine.ID, 10)
		_, page := br.get(path)
		tok := csrfOf(t, page)
		refund := url.Values{"refund_id": {"console-x1"}, "amount": {"1.00"}, "reason": {"broken cup"}}
		for name, tc := range map[string]struct {
			token, origin string
		}{
			"no token":     {"", b.srv.URL},
			"wrong token":  {"not-the-token", b.srv.URL},
			"other origin": {tok, "https://evil.example"},
		} {
			form := url.Values{}
			for k, v := range refund {
				form[k] = v
			}
			if tc.token != "" {
				form.Set("csrf", tc.token)
			}
			if code, _, _ := br.post(path+"/refund", form, tc.origin); code != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", name, code)
			}
		}
		if n := len(b.refunder.calls()); n != 0 {
			t.Fatalf("%d refunds sent without a valid CSRF token", n)
		}
		refund.Set("csrf", tok)
		code, _, res := br.post(path+"/refund", refund, b.srv.URL)
		if code != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), path) {
			t.Fatalf("refund with the token: %d", code)
		}
		got := b.refunder.calls()
		if len(got) != 1 || got[0].AppID != b.mine.AppID || got[0].OutTradeNo != b.mine.OutTradeNo || got[0].Amount != 100 ||
			got[0].RefundID != "console-x1" || got[0].Reason != "broken cup" {
			t.Fatalf("refunds sent: %+v", got)
		}
		if e := b.audit(t, "refund"); len(e) != 1 || e[0].StaffLogin != "finance" || e[0].MerchantID != b.m1 || e[0].IP == "" {
			t.Fatalf("refund audit entries: %+v", e)
		}
	})
}

func TestRoles(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		viewer := b.browser(t)
		if code := viewer.login("viewer", password); code != http.StatusSeeOther {
			t.Fatalf("login: %d", code)
		}
		path := "/console/orders/" + strconv.FormatInt(b.mine.ID, 10)
		code, page := viewer.get(path)
		if code != http.StatusOK || strings.Contains(page, "/refund") {
			t.Fatalf("a read-only user's order page: %d, refund form shown: %v", code, strings.Contains(page, "/refund"))
		}
		// The server refuses, whatever the page showed.
		form := url.Values{"csrf": {csrfOf(t, page)}, "refund_id": {"console-ro"}, "amount": {"1.00"}, "reason": {"x"}}
		if code, _, _ := viewer.post(path+"/refund", form, b.srv.URL); code != http.StatusForbidden {
			t.Fatalf("read-only refund: %d, want 403", code)
		}
		if n := len(b.refunder.calls()); n != 0 {
			t.Fatalf("a read-only user refunded (%d calls)", n)
		}
		if code, _ := viewer.get("/console/audit"); code != http.StatusForbidden {
			t.Fatalf("read-only audit log: %d, want 403", code)
		}

		// A merchant-scoped user never sees another merchant's orders.
		fin := b.browser(t)
		if code := fin.login("finance", password); code != http.StatusSeeOther {
			t.Fatalf("login: %d", code)
		}
		theirs := "/console/orders/" + strconv.FormatInt(b.theirs.ID, 10)
		if code, _ := fin.get(theirs); code != http.StatusNotFound {
			t.Fatalf("another merchant's order: %d, want 404", code)
		}
		_, page = fin.get("/console/orders/" + strconv.FormatInt(b.mine.ID, 10))
		form.Set("csrf", csrfOf(t, page))
		if code, _, _ := fin.post(theirs+"/refund", form, b.srv.URL); code != http.StatusNotFound || len(b.refunder.calls()) != 0 {
			t.Fatalf("refund of another merchant's order: %d", code)
		}
		for _, q := range []string{"", "?trade_no=2025beta", "?out_trade_no=beta-001"} {
			_, list := fin.get("/console/orders" + q)
			if strings.Contains(list, `href="`+theirs+`"`) {
				t.Fatalf("orders%s shows another merchant's order", q)
			}
		}
		if _, list := fin.get("/console/orders?trade_no=2025alpha"); !strings.Contains(list, "alpha-001") {
			t.Fatal("search by trade_no does not find the order")
		}

		// The owner of every merchant sees both and the audit log.
		owner := b.browser(t)
		if code := owner.login("owner", password); code != http.StatusSeeOther {
			t.Fatalf("login: %d", code)
		}
		if _, list := owner.get("/console/orders"); !strings.Contains(list, "alpha-001") || !strings.Contains(list, "beta-001") {
			t.Fatal("the owner does not see every merchant's orders")
		}
		if code, page := owner.get("/console/audit"); code != http.StatusOK || !strings.Contains(page, "viewer") {
			t.Fatalf("owner's audit log: %d", code)
		}
	})
}

// TestMessages: every key the templates translate exists in both languages.
func TestMessages(t *testing.T) {
	key := regexp.MustCompile(`\{\{t \$?\.L "([^"]+)"\}\}`)
	dir, err := os.ReadDir("templates")
	must(t, err)
	for _, f := range dir {
		b, err := os.ReadFile("templates/" + f.Name())
		must(t, err)
		for _, m := range key.FindAllStringSubmatch(string(b), -1) {
			if !console.HasMessage(m[1]) {
				t.Errorf("%s: no message %q", f.Name(), m[1])
			}
		}
	}
}
