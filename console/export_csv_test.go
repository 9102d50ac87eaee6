package console_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// TestExportCSV: the export streams every order of the search (more than one of its
// pages), with the page's filters and the staff member's scope, defuses formulas, and
// is audited.
func TestExportCSV(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		ctx := t.Context()
		const extra = 1100
		for i := range extra {
			o := &f2fpay.Order{OutTradeNo: fmt.Sprintf("bulk-%04d", i), MerchantID: b.m1, AppID: b.mine.AppID, StoreID: b.mine.StoreID,
				Kind: f2fpay.KindBarcode, Subject: "tea", TotalAmount: f2fpay.Amount(100 + i), State: f2fpay.OrderPaid}
			if i == 0 {
				o.Subject = "=HYPERLINK(\"http://evil\")"
			}
			must(t, b.store.CreateOrder(ctx, o))
		}
		fin := b.browser(t)
		fin.login("finance", password)
		res, err := fin.hc.Get(b.srv.URL + "/console/orders.csv?state=PAID")
		must(t, err)
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("export: %d %v", res.StatusCode, res.Header)
		}
		if res.ContentLength != -1 {
			t.Fatalf("the export has a Content-Length (%d): it was buffered, not streamed", res.ContentLength)
		}
		rows, err := csv.NewReader(res.Body).ReadAll()
		must(t, err)
		if rows[0][0] != "\uFEFFid" || rows[0][1] != "out_trade_no" {
			t.Fatalf("header = %q", rows[0])
		}
		// Merchant 1's paid orders: the extra ones and alpha-001; never beta's.
		if got := len(rows) - 1; got != extra+1 {
			t.Fatalf("exported %d orders, want %d", got, extra+1)
		}
		seen := map[string]bool{}
		for _, r := range rows[1:] {
			if seen[r[1]] {
				t.Fatalf("order %s exported twice", r[1])
			}
			seen[r[1]] = true
			if r[1] == b.theirs.OutTradeNo {
				t.Fatal("a merchant-scoped export holds another merchant's order")
			}
			if r[1] == "bulk-0000" && r[10] != "'=HYPERLINK(\"http://evil\")" {
				t.Fatalf("a formula subject is exported as %q", r[10])
			}
		}
		// The filters are the page's: one order number, one row.
		res2, err := fin.hc.Get(b.srv.URL + "/console/orders.csv?out_trade_no=bulk-0042")
		must(t, err)
		rows2, _ := csv.NewReader(res2.Body).ReadAll()
		res2.Body.Close()
		if len(rows2) != 2 || rows2[1][6] != "1.42" {
			t.Fatalf("export of one order number = %q", rows2)
		}
		if n := len(b.audit(t, "export")); n != 2 {
			t.Fatalf("%d export entries in the audit log, want 2", n)
		}
		// Without a session: no export.
		anon := b.browser(t)
		if code, _ := anon.get("/console/orders.csv"); code != http.StatusSeeOther {
			t.Fatalf("an export without a session: %d, want a redirect to the login", code)
		}
	})
}
