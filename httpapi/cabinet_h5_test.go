package httpapi_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipaysim"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// TestMemberCabinet walks a member through the cabinet's page (docs/vending.md §12) on
// both databases: refused before signing, signs in the sandbox's wallet, opens the
// door, is refused again while a charge refused for balance is owed (the page says how
// much and why), pays now after a top-up, opens again, and cancels the agreement; the
// page in Chinese too.
func TestMemberCabinet(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, onDB(kind))
		ctx := b.ctx
		term, err := b.admin.CreateTerminal(ctx, b.merchID, client.TerminalRequest{StoreID: b.store.ID, AppID: b.app.ID, Code: "CAB-1", Kind: "vending", Name: "cabinet"})
		b.must(err)
		cabAuth := "Bearer " + term.APIKey.KeyID + "." + term.APIKey.Secret
		b.must(b.db.PutDevice(ctx, &f2fpay.Device{TerminalID: term.ID, MerchantID: b.merchID, Machine: f2fpay.MachineCabinet, Slots: []f2fpay.Slot{
			{Code: "A1", GoodsID: "cola", Name: "Cola", Price: 300, Stock: 10},
			{Code: "B1", GoodsID: "chips", Name: "Chips", Price: 550, Stock: 10},
		}}))
		buyer := b.Buyer("5.00")
		br := b.browser()
		br.link(buyer.UserID, "139 0013 9000")
		page := func(want string) string {
			t.Helper()
			st, _, p := br.do("GET", fmt.Sprintf("/m/%d", term.ID), nil)
			if st != http.StatusOK || !strings.Contains(p, want) {
				t.Fatalf("cabinet page: %d, want %q:\n%s", st, want, p)
			}
			return p
		}
		post := func(p, step string) (int, string, string) {
			t.Helper()
			return br.do("POST", fmt.Sprintf("/m/%d/cabinet/%s", term.ID, step), url.Values{"csrf": {pageField(t, csrfField, p)}})
		}
		p := page(`id="sign"`)
		st, _, out := post(p, "open")
		refused(t, st, http.StatusForbidden, out, "Sign the password-free payment agreement first")

		// Sign: the page links to Alipay's signing page (the sandbox's here).
		st, _, out = post(p, "sign")
		if st != http.StatusOK {
			t.Fatalf("sign: %d %s", st, out)
		}
		link := html.UnescapeString(pageField(t, signLink, out))
		st, loc, _ := br.do("GET", link, nil)
		i := strings.LastIndex(loc, "/agreements/sign/")
		if st != http.StatusFound || i < 0 {
			t.Fatalf("the signing link: %d %s", st, loc)
		}
		_, back, err := b.sim.SignAgreement(ctx, alipaysim.AgreementSign{Token: strings.SplitN(loc[i+len("/agreements/sign/"):], "?", 2)[0], UserID: buyer.UserID, Allow: true})
		b.must(err)
		if !strings.HasSuffix(back, fmt.Sprintf("/m/%d", term.ID)) {
			t.Fatalf("the signing page returns to %q", back)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, _, out = br.do("GET", fmt.Sprintf("/m/%d", term.ID), nil)
			if strings.Contains(out, `id="open"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page never offered the door:\n%s", out)
			}
			time.Sleep(30 * time.Millisecond)
		}
		st, loc, out = post(out, "open")
		if st != http.StatusSeeOther {
			t.Fatalf("open: %d %s", st, out)
		}
		p = page(`id="opened"`)
		sessions, err := b.db.ListCabinetSessions(ctx, f2fpay.CabinetSessionFilter{TerminalID: term.ID})
		b.must(err)
		if len(sessions) != 1 || sessions[0].CommandID == 0 {
			t.Fatalf("sessions: %+v", sessions)
		}
		st, _, body := b.rawAt(b.srv.URL, "POST", fmt.Sprintf("/v1/cabinet/sessions/%d/close", sessions[0].ID), cabAuth, "close-1",
			[]byte(`{"items":[{"slot":"A1","count":2},{"slot":"B1","count":1}]}`))
		if st != http.StatusOK || !strings.Contains(string(body), `"state":"DEBT"`) {
			t.Fatalf("close: %d %s", st, body)
		}
		p = page(`id="paynow"`)
		for _, want := range []string{"¥11.50", "Your Alipay balance is not enough", "Cola ×2"} {
			if !strings.Contains(p, want) {
				t.Fatalf("the debt page lacks %q:\n%s", want, p)
			}
		}
		saveCabinetPage(t, "debt-en", p)
		st, _, out = post(p, "open")
		refused(t, st, http.StatusConflict, out, "¥11.50 from an earlier visit is still unpaid")
		if n := strings.Count(out, "¥11.50 from an earlier visit is still unpaid"); n != 1 {
			t.Fatalf("the refused open says the debt %d times, want once:\n%s", n, out)
		}
		_, _, zh := br.do("GET", fmt.Sprintf("/m/%d?lang=zh", term.ID), nil)
		if !strings.Contains(zh, "无限宝盒") || !strings.Contains(zh, "立即补缴") {
			t.Fatalf("the Chinese page:\n%s", zh)
		}
		saveCabinetPage(t, "debt-zh", zh)
		br.do("GET", fmt.Sprintf("/m/%d?lang=en", term.ID), nil)
		if _, err := b.sim.TopUp(ctx, buyer.UserID, 2000); err != nil {
			t.Fatal(err)
		}
		if st, _, out = post(p, "pay"); st != http.StatusSeeOther {
			t.Fatalf("pay now: %d %s", st, out)
		}
		p = page(`id="open"`)
		if !strings.Contains(p, "paid</span> · ¥11.50") {
			t.Fatalf("the last visits:\n%s", p)
		}
		if st, _, out = post(p, "unsign"); st != http.StatusSeeOther {
			t.Fatalf("unsign: %d %s", st, out)
		}
		page("Sign password-free payment again")
	})
}

var signLink = regexp.MustCompile(`id="signlink" href="([^"]+)"`)

// saveCabinetPage keeps a page for a person to look at, under $F2FPAY_ARTIFACTS when set.
func saveCabinetPage(t *testing.T, name, p string) {
	dir := os.Getenv("F2FPAY_ARTIFACTS")
	if dir == "" {
		return
	}
	dir = filepath.Join(dir, "cabinet")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, name+".html"), []byte(p), 0o644)
}
