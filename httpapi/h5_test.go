package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
	"github.com/f2fpay/f2fpay/member"
	"github.com/f2fpay/f2fpay/payment"
)

// browser is a buyer's Alipay app on the H5 pages: a cookie jar that follows no
// redirect by itself, so each step is seen.
type browser struct {
	b *bundle
	c *http.Client
}

func (b *bundle) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{b: b, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (br *browser) do(method, u string, form url.Values) (int, string, string) {
	br.b.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = br.b.srv.URL + u
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(br.b.ctx, method, u, body)
	br.b.must(err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", "en")
	res, err := br.c.Do(req)
	br.b.must(err)
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(out)
}

var (
	csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)
	saleField = regexp.MustCompile(`name="sale" value="([0-9]+)"`)
	devCode   = regexp.MustCompile(`"msg":"` + member.DevCodeMarker + `","phone":"([0-9*]+)","sms_code":"([0-9]{6})"`)
)

func pageField(t testing.TB, re *regexp.Regexp, page string) string {
	t.Helper()
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s in page:\n%s", re, page)
	}
	return m[1]
}

// authorize answers Alipay's authorisation page for buyer, as the buyer tapping
// Allow: where the browser was sent (loc) decides app, scope and state.
func (br *browser) authorize(loc, buyer string, wantScope string) string {
	br.b.t.Helper()
	u, err := url.Parse(loc)
	br.b.must(err)
	q := u.Query()
	if u.Path != "/oauth/authorize" || q.Get("scope") != wantScope || q.Get("state") == "" {
		br.b.t.Fatalf("sent to %s, want the sandbox's /oauth/authorize with scope %s and a state", loc, wantScope)
	}
	to, err := br.b.sim.GrantOAuth(br.b.ctx, alipaysim.OAuthGrant{AppID: q.Get("app_id"), UserID: buyer, Scope: q.Get("scope"),
		RedirectURI: q.Get("redirect_uri"), State: q.Get("state"), Allow: true})
	br.b.must(err)
	return to
}

// lastCode is the newest code the log sender wrote.
func (b *bundle) lastCode() string {
	b.t.Helper()
	all := devCode.FindAllStringSubmatch(b.logs.String(), -1)
	if len(all) == 0 {
		b.t.Fatal("no SMS code in the log")
	}
	return all[len(all)-1][2]
}

// postSale puts a sale on the machine's page through the terminal API.
func (b *bundle) postSale(amount, subject string) (id int64, outTradeNo string) {
	b.t.Helper()
	st, _, body := b.raw("POST", "/v1/sales", b.termAuth(), fmt.Sprintf("sale-%d", time.Now().UnixNano()),
		[]byte(fmt.Sprintf(`{"amount":%q,"subject":%q}`, amount, subject)))
	if st != http.StatusCreated {
		b.t.Fatalf("POST /v1/sales = %d %s", st, body)
	}
	var s struct {
		ID         int64  `json:"id"`
		OutTradeNo string `json:"out_trade_no"`
		PageURL    string `json:"page_url"`
	}
	b.must(json.Unmarshal(body, &s))
	if s.PageURL != fmt.Sprintf("%s/m/%d", b.srv.URL, b.term.ID) {
		b.t.Fatalf("page_url = %q", s.PageURL)
	}
	return s.ID, s.OutTradeNo
}

// link walks a new buyer from the scan to the sale page: silent auth, consent, phone,
// code. It returns the sale page.
func (br *browser) link(buyer, phone string) string {
	b := br.b
	t := b.t
	machine := fmt.Sprintf("/m/%d", b.term.ID)
	st, loc, _ := br.do("GET", machine, nil)
	if st != http.StatusFound {
		t.Fatalf("scan: %d", st)
	}
	st, loc, _ = br.do("GET", br.authorize(loc, buyer, "auth_base"), nil)
	if st != http.StatusFound {
		t.Fatalf("silent callback: %d", st)
	}
	st, loc, _ = br.do("GET", br.authorize(loc, buyer, "auth_user"), nil)
	if st != http.StatusSeeOther || loc != "/m/phone" {
		t.Fatalf("consent callback: %d %s", st, loc)
	}
	_, _, page := br.do("GET", "/m/phone", nil)
	csrf := pageField(t, csrfField, page)
	if st, loc, page = br.do("POST", "/m/phone", url.Values{"csrf": {csrf}, "phone": {phone}}); st != http.StatusSeeOther {
		t.Fatalf("send code: %d %s", st, page)
	}
	if st, loc, page = br.do("POST", "/m/verify", url.Values{"csrf": {csrf}, "code": {b.lastCode()}}); st != http.StatusSeeOther || loc != machine {
		t.Fatalf("verify: %d %s %s", st, loc, page)
	}
	st, _, page = br.do("GET", machine, nil)
	if st != http.StatusOK {
		t.Fatalf("sale page: %d %s", st, page)
	}
	return page
}

// pay taps "pay" on the sale page and confirms in the sandbox's wallet; the machine's
// long-poll sees PAID.
func (br *browser) pay(page string, saleID int64, buyer *alipaysim.Buyer) {
	b := br.b
	st, _, payPage := br.do("POST", fmt.Sprintf("/m/%d/pay", b.term.ID), url.Values{"csrf": {pageField(b.t, csrfField, page)}, "sale": {pageField(b.t, saleField, page)}})
	if st != http.StatusOK || !strings.Contains(payPage, "/wallet/"+buyer.UserID+"/trades/") {
		b.t.Fatalf("pay: %d %s", st, payPage)
	}
	tradeNo := regexp.MustCompile(`tradeNO: "([0-9]+)"`).FindStringSubmatch(payPage)[1]
	_, err := b.sim.Confirm(b.ctx, tradeNo, buyer.PayPassword)
	b.must(err)
	st, _, body := b.raw("GET", fmt.Sprintf("/v1/sales/%d?wait=10s", saleID), b.termAuth(), "", nil)
	var sale struct {
		State   string `json:"state"`
		Payment struct {
			State   string `json:"state"`
			TradeNo string `json:"trade_no"`
		} `json:"payment"`
	}
	b.must(json.Unmarshal(body, &sale))
	if st != 200 || sale.State != "TAKEN" || sale.Payment.State != "PAID" || sale.Payment.TradeNo != tradeNo {
		b.t.Fatalf("the machine sees %d %s", st, body)
	}
}

// TestMemberLinkAndPay: docs/vending.md §8 end to end on both databases — a new
// buyer links and pays; a second visit from a browser that lost its cookie signs in
// silently and pays with one tap; the phone is never shown unmasked.
func TestMemberLinkAndPay(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		buyer := b.Buyer("100.00")
		saleID, _ := b.postSale("3.50", "Cola 330ml")
		br := b.browser()
		page := br.link(buyer.UserID, "138 0013 8000")
		if !strings.Contains(page, "¥3.50") || !strings.Contains(page, "138****8000") {
			t.Fatalf("sale page:\n%s", page)
		}
		br.pay(page, saleID, buyer)

		members, err := b.db.ListMembers(b.ctx, f2fpay.MemberFilter{MerchantID: b.merchID})
		b.must(err)
		if len(members) != 1 || members[0].PhoneMasked != "138****8000" || members[0].NickName == "" ||
			len(members[0].Identities) != 1 || members[0].Identities[0].UserID != buyer.UserID {
			t.Fatalf("members = %+v", members)
		}
		if strings.Contains(b.logs.String(), "13800138000") && strings.Count(b.logs.String(), "13800138000") > 0 {
			t.Fatal("the phone number is in the log")
		}

		// Second visit, a fresh browser: silent auth signs in, one tap pays.
		saleID, _ = b.postSale("5.00", "Water")
		br2 := b.browser()
		st, loc, _ := br2.do("GET", fmt.Sprintf("/m/%d", b.term.ID), nil)
		st, loc, _ = br2.do("GET", br2.authorize(loc, buyer.UserID, "auth_base"), nil)
		if st != http.StatusSeeOther || loc != fmt.Sprintf("/m/%d", b.term.ID) {
			t.Fatalf("known buyer's callback: %d %s", st, loc)
		}
		_, _, page = br2.do("GET", loc, nil)
		br2.pay(page, saleID, buyer)

		// The admin API shows the member masked; erasure keeps the orders.
		st, _, body := b.raw("GET", fmt.Sprintf("/admin/merchants/%d/members", b.merchID), "Bearer "+adminToken, "", nil)
		if st != 200 || strings.Contains(string(body), "13800138000") || !strings.Contains(string(body), "138****8000") {
			t.Fatalf("admin list: %d %s", st, body)
		}
		st, _, body = b.raw("POST", fmt.Sprintf("/admin/members/%d/erase", members[0].ID), "Bearer "+adminToken, "", nil)
		if st != 200 || !strings.Contains(string(body), `"erased_at"`) || strings.Contains(string(body), "138") {
			t.Fatalf("erase: %d %s", st, body)
		}
		orders, err := b.db.ListOrders(b.ctx, f2fpay.OrderFilter{MerchantID: &b.merchID})
		b.must(err)
		if len(orders) != 2 {
			t.Fatalf("%d orders after erasure, want 2", len(orders))
		}
		// The erased buyer is a stranger again: the old session is gone.
		st, loc, _ = br2.do("GET", fmt.Sprintf("/m/%d", b.term.ID), nil)
		if st != http.StatusFound || !strings.Contains(loc, "scope=auth_base") {
			t.Fatalf("after erasure: %d %s", st, loc)
		}
	})
}

// refused checks a step ended on a refusal page naming what went wrong.
func refused(t testing.TB, st, want int, page, says string) {
	t.Helper()
	if st != want || !strings.Contains(page, says) {
		t.Fatalf("got %d, want %d saying %q:\n%s", st, want, says, page)
	}
}

// TestMemberRefusals: every bad input is a page that says what to do, and nothing is
// half-written.
func TestMemberRefusals(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		machine := fmt.Sprintf("/m/%d", b.term.ID)
		noMembers := func() {
			t.Helper()
			ms, err := b.db.ListMembers(b.ctx, f2fpay.MemberFilter{MerchantID: b.merchID})
			b.must(err)
			if len(ms) != 0 {
				t.Fatalf("members written: %+v", ms)
			}
		}
		buyer := b.Buyer("10.00")

		t.Run("forged and replayed state", func(t *testing.T) {
			victim, attacker := b.browser(), b.browser()
			_, loc, _ := victim.do("GET", machine, nil)
			callback := victim.authorize(loc, buyer.UserID, "auth_base")
			// Another browser (no session, or its own) cannot use it.
			st, _, page := attacker.do("GET", callback, nil)
			refused(t, st, 403, page, "Your session has expired")
			attacker.do("GET", machine, nil)
			st, _, page = attacker.do("GET", callback, nil)
			refused(t, st, 403, page, "was not started in this browser, or was used already")
			// The victim's own callback works once; its replay is refused.
			if st, _, _ = victim.do("GET", callback, nil); st != http.StatusFound {
				t.Fatalf("first callback: %d", st)
			}
			st, _, page = victim.do("GET", callback, nil)
			refused(t, st, 403, page, "was used already")
			noMembers()
		})

		t.Run("reused auth_code", func(t *testing.T) {
			br := b.browser()
			_, loc, _ := br.do("GET", machine, nil)
			used := br.authorize(loc, buyer.UserID, "auth_base")
			_, loc, _ = br.do("GET", used, nil) // spent on Alipay
			u, _ := url.Parse(used)
			// A new authorisation under way; the old code sent with its fresh state.
			next, _ := url.Parse(loc)
			q := u.Query()
			q.Set("state", next.Query().Get("state"))
			u.RawQuery = q.Encode()
			st, _, page := br.do("GET", u.String(), nil)
			refused(t, st, 403, page, "Alipay did not accept this sign-in")
			noMembers()
		})

		t.Run("declined", func(t *testing.T) {
			br := b.browser()
			_, loc, _ := br.do("GET", machine, nil)
			q, _ := url.Parse(loc)
			to, err := b.sim.GrantOAuth(b.ctx, alipaysim.OAuthGrant{AppID: q.Query().Get("app_id"), UserID: buyer.UserID, Scope: "auth_base",
				RedirectURI: q.Query().Get("redirect_uri"), State: q.Query().Get("state"), Allow: false})
			b.must(err)
			st, _, page := br.do("GET", to, nil)
			refused(t, st, 403, page, "pay by scanning the payment QR")
		})

		// consented walks a browser to the phone page and returns its CSRF token.
		consented := func(br *browser, who string) string {
			_, loc, _ := br.do("GET", machine, nil)
			_, loc, _ = br.do("GET", br.authorize(loc, who, "auth_base"), nil)
			br.do("GET", br.authorize(loc, who, "auth_user"), nil)
			_, _, page := br.do("GET", "/m/phone", nil)
			return pageField(t, csrfField, page)
		}

		t.Run("forms need their token", func(t *testing.T) {
			br := b.browser()
			consented(br, buyer.UserID)
			st, _, page := br.do("POST", "/m/phone", url.Values{"phone": {"13800138000"}})
			refused(t, st, 403, page, "This form has expired")
			st, _, page = br.do("POST", "/m/phone", url.Values{"csrf": {strings.Repeat("0", 64)}, "phone": {"13800138000"}})
			refused(t, st, 403, page, "This form has expired")
		})

		t.Run("wrong code five times", func(t *testing.T) {
			br := b.browser()
			csrf := consented(br, buyer.UserID)
			st, _, page := br.do("POST", "/m/phone", url.Values{"csrf": {csrf}, "phone": {"12345"}})
			refused(t, st, 400, page, "11-digit mainland China mobile number")
			br.do("POST", "/m/phone", url.Values{"csrf": {csrf}, "phone": {"13900139000"}})
			right := b.lastCode()
			wrong := fmt.Sprintf("%06d", (mustAtoi(right)+1)%1000000)
			for i := 1; i <= 4; i++ {
				st, _, page = br.do("POST", "/m/verify", url.Values{"csrf": {csrf}, "code": {wrong}})
				refused(t, st, 400, page, "That code is wrong")
			}
			st, _, page = br.do("POST", "/m/verify", url.Values{"csrf": {csrf}, "code": {wrong}})
			refused(t, st, 400, page, "Too many wrong codes")
			st, _, page = br.do("POST", "/m/verify", url.Values{"csrf": {csrf}, "code": {right}})
			refused(t, st, 400, page, "Too many wrong codes")
			// Asking again right away is refused, then the limit per phone holds.
			st, _, page = br.do("POST", "/m/phone", url.Values{"csrf": {csrf}, "phone": {"13900139000"}})
			refused(t, st, 400, page, "wait a minute")
			noMembers()
		})

		t.Run("phone bound to another identity", func(t *testing.T) {
			first := b.browser()
			first.link(buyer.UserID, "13700137000")
			other := b.Buyer("10.00")
			br := b.browser()
			csrf := consented(br, other.UserID)
			br.do("POST", "/m/phone", url.Values{"csrf": {csrf}, "phone": {"13700137000"}})
			st, _, page := br.do("POST", "/m/verify", url.Values{"csrf": {csrf}, "code": {b.lastCode()}})
			refused(t, st, 409, page, "linked to another Alipay account")
			if _, err := b.db.FindMemberByIdentity(b.ctx, b.app.ID, other.UserID, ""); f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
				t.Fatalf("the other account was linked: %v", err)
			}
			m, err := b.db.FindMemberByIdentity(b.ctx, b.app.ID, buyer.UserID, "")
			b.must(err)
			if len(m.Identities) != 1 {
				t.Fatalf("the phone's member changed: %+v", m.Identities)
			}
		})

		t.Run("trade.create without terminal_id", func(t *testing.T) {
			before := b.gw.Total("alipay.trade.create")
			_, err := b.engine.CreateJSAPI(b.ctx, payment.JSAPIRequest{BuyerID: buyer.UserID, Amount: 100, Subject: "cola"})
			if f2fpay.ErrorCode(err) != f2fpay.EINVALID || !strings.Contains(f2fpay.ErrorMessage(err), "terminal_id is required") {
				t.Fatalf("CreateJSAPI without a terminal: %v", err)
			}
			if b.gw.Total("alipay.trade.create") != before {
				t.Fatal("trade.create was sent")
			}
		})

		t.Run("unknown machine", func(t *testing.T) {
			st, _, page := b.browser().do("GET", "/m/99999", nil)
			refused(t, st, 404, page, "This machine is unknown")
		})
	})
}

func mustAtoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

// TestMemberClient: the Go clients drive sales and the members' admin API.
func TestMemberClient(t *testing.T) {
	b := setup(t)
	buyer := b.Buyer("20.00")
	sale, err := b.client.CreateSale(b.ctx, client.SaleRequest{Amount: "2.00", Subject: "Tea"})
	b.must(err)
	if sale.State != "OPEN" || sale.PageURL == "" {
		t.Fatalf("CreateSale = %+v", sale)
	}
	br := b.browser()
	br.pay(br.link(buyer.UserID, "13600136000"), sale.ID, buyer)
	got, err := b.client.Sale(b.ctx, sale.ID, 0)
	b.must(err)
	if got.State != "TAKEN" || got.Payment == nil || got.Payment.State != "PAID" {
		t.Fatalf("Sale = %+v", got)
	}
	if _, err := b.client.CancelSale(b.ctx, sale.ID); err == nil {
		t.Fatal("a taken sale was cancelled")
	}
	ms, err := b.admin.Members(b.ctx, b.merchID, 0, 0)
	b.must(err)
	if len(ms) != 1 || ms[0].PhoneMasked != "136****6000" {
		t.Fatalf("Members = %+v", ms)
	}
	m, err := b.admin.UnlinkIdentity(b.ctx, ms[0].ID, ms[0].Identities[0].ID)
	b.must(err)
	if len(m.Identities) != 0 {
		t.Fatalf("after unlink: %+v", m)
	}
	m, err = b.admin.EraseMember(b.ctx, m.ID)
	b.must(err)
	if m.ErasedAt.IsZero() || m.PhoneMasked != "" {
		t.Fatalf("after erase: %+v", m)
	}
}

// TestMemberSMSLimits: at most member.SendsPerPhone codes per phone and
// member.SendsPerClient per client address, per hour and merchant (docs/vending.md
// §8.2); a refused send sends nothing, and the limits lift an hour later.
func TestMemberSMSLimits(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		machine := fmt.Sprintf("/m/%d", b.term.ID)
		buyer := b.Buyer("10.00")
		consented := func() (*browser, string) {
			br := b.browser()
			_, loc, _ := br.do("GET", machine, nil)
			_, loc, _ = br.do("GET", br.authorize(loc, buyer.UserID, "auth_base"), nil)
			br.do("GET", br.authorize(loc, buyer.UserID, "auth_user"), nil)
			_, _, page := br.do("GET", "/m/phone", nil)
			return br, pageField(t, csrfField, page)
		}
		codes := func() int { return len(devCode.FindAllStringSubmatch(b.logs.String(), -1)) }
		send := func(br *browser, csrf, phone string) (int, string) {
			st, _, page := br.do("POST", "/m/phone", url.Values{"csrf": {csrf}, "phone": {phone}})
			return st, page
		}

		// Per phone: five codes in an hour (a minute apart, the resend wait), not a sixth.
		br, csrf := consented()
		for i := 1; i <= member.SendsPerPhone; i++ {
			if st, page := send(br, csrf, "13800138000"); st != http.StatusSeeOther {
				t.Fatalf("send %d to the phone: %d %s", i, st, page)
			}
			b.clock.Advance(member.ResendAfter + time.Second)
		}
		sent := codes()
		st, page := send(br, csrf, "13800138000")
		refused(t, st, http.StatusTooManyRequests, page, "Too many codes were sent")
		// From another browser too: the limit is the phone's, not the session's.
		other, otherCSRF := consented()
		st, page = send(other, otherCSRF, "138 0013 8000")
		refused(t, st, http.StatusTooManyRequests, page, "Try again in an hour")
		if codes() != sent {
			t.Fatalf("a refused send sent a code")
		}

		// Per client: this address has sent 5; five more to other phones, then no more.
		for i := 0; i < member.SendsPerClient-member.SendsPerPhone; i++ {
			br, csrf := consented()
			if st, page := send(br, csrf, fmt.Sprintf("1390013900%d", i)); st != http.StatusSeeOther {
				t.Fatalf("send %d from the client: %d %s", i, st, page)
			}
		}
		br, csrf = consented()
		st, page = send(br, csrf, "13700137000")
		refused(t, st, http.StatusTooManyRequests, page, "Too many codes were sent")
		if codes() != sent+member.SendsPerClient-member.SendsPerPhone {
			t.Fatalf("%d codes sent, want %d", codes(), sent+member.SendsPerClient-member.SendsPerPhone)
		}

		// An hour later both limits have lifted.
		b.clock.Advance(time.Hour)
		br, csrf = consented()
		if st, page := send(br, csrf, "13800138000"); st != http.StatusSeeOther {
			t.Fatalf("an hour later: %d %s", st, page)
		}
	})
}
