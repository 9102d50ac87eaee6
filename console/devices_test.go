package console_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// TestDevicesPage: the vending machines with their health and planogram, for any
// staff role, in the staff member's merchant only; anonymous requests go to login.
func TestDevicesPage(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		ctx := t.Context()
		machine := func(o *f2fpay.Order, code, site string) *f2fpay.Terminal {
			term := &f2fpay.Terminal{MerchantID: o.MerchantID, StoreID: o.StoreID, AppID: o.AppID, Code: code,
				Kind: f2fpay.TerminalVending, Name: "lobby machine"}
			must(t, b.store.CreateTerminal(ctx, term))
			must(t, b.store.PutDevice(ctx, &f2fpay.Device{TerminalID: term.ID, Machine: f2fpay.MachineFace, Site: site,
				Slots: []f2fpay.Slot{{Code: "A1", GoodsID: "cola-330", Name: "可乐 Cola", Price: 350, Stock: 7}}}))
			return term
		}
		mine := machine(b.mine, "VM-MINE", "3F 东侧大厅")
		theirs := machine(b.theirs, "VM-THEIRS", "B1 parking")
		temp := 4.5
		_, _, _, err := b.store.RecordHeartbeat(ctx, &f2fpay.HeartbeatRecord{TerminalID: mine.ID, At: time.Now(),
			Report: &f2fpay.Heartbeat{Status: f2fpay.MachineNormal, Errors: []string{"E12"}, Temperature: &temp, Door: "closed"}})
		must(t, err)

		for _, login := range []string{"viewer", "owner"} {
			br := b.browser(t)
			br.login(login, password)
			code, page := br.get("/console/devices")
			for _, want := range []string{"VM-MINE", "3F 东侧大厅", "在线", "E12", "4.5 °C", "刷脸售卖机", `href="/console/devices/` + strconv.FormatInt(mine.ID, 10)} {
				if code != http.StatusOK || !strings.Contains(page, want) {
					t.Fatalf("%s's devices page (%d) lacks %q:\n%s", login, code, want, page)
				}
			}
			if login == "owner" && !strings.Contains(page, "VM-THEIRS") {
				t.Fatalf("the owner of every merchant does not see the other merchant's machine:\n%s", page)
			}
			code, page = br.get("/console/devices/" + strconv.FormatInt(mine.ID, 10))
			if code != http.StatusOK || !strings.Contains(page, "cola-330") || !strings.Contains(page, "¥3.50") || !strings.Contains(page, ">7<") {
				t.Fatalf("%s's planogram page (%d):\n%s", login, code, page)
			}
		}

		// A staff member of merchant 1 sees neither merchant 2's machine nor its planogram.
		viewer := b.browser(t)
		viewer.login("viewer", password)
		_, page := viewer.get("/console/devices")
		if strings.Contains(page, "VM-THEIRS") || strings.Contains(page, "B1 parking") {
			t.Fatalf("another merchant's machine is listed:\n%s", page)
		}
		if code, _ := viewer.get("/console/devices/" + strconv.FormatInt(theirs.ID, 10)); code != http.StatusNotFound {
			t.Fatalf("another merchant's planogram: %d, want 404", code)
		}

		// English, and the never-heard state in words.
		en := b.browser(t)
		en.login("owner", password)
		en.get("/console/lang/en?next=/console/devices")
		if _, page := en.get("/console/devices"); !strings.Contains(page, "online") || !strings.Contains(page, "never heard") {
			t.Fatalf("the English devices page:\n%s", page)
		}

		anon := b.browser(t)
		for _, p := range []string{"/console/devices", "/console/devices/" + strconv.FormatInt(mine.ID, 10)} {
			res, err := anon.hc.Get(b.srv.URL + p)
			must(t, err)
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/console/login") {
				t.Fatalf("anonymous %s: %d %s, want a redirect to login", p, res.StatusCode, res.Header.Get("Location"))
			}
		}
	})
}
