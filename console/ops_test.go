package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

// TestWebhooksPage: the outbox in the staff member's scope, and replay — by the roles
// that may, audited, refused to the others.
func TestWebhooksPage(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		ctx := t.Context()
		mk := func(m int64, no string) *f2fpay.Order {
			o := &f2fpay.Order{OutTradeNo: no, MerchantID: m, AppID: b.mine.AppID, Kind: f2fpay.KindBarcode, TotalAmount: 500, State: f2fpay.OrderPaid}
			if m != b.m1 {
				o.AppID = b.theirs.AppID
			}
			must(t, b.store.CreateOrder(ctx, o, &f2fpay.Event{Type: f2fpay.EventPaymentSucceeded, MerchantID: m, Payload: json.RawMessage(`{"x":1}`)}))
			return o
		}
		mine := mk(b.m1, "wh-mine")
		mk(b.theirs.MerchantID, "wh-theirs")
		// The event is delivered: a replay makes it due again.
		es, err := b.store.ListEvents(ctx, f2fpay.EventFilter{OrderID: &mine.ID})
		must(t, err)
		if len(es) != 1 {
			t.Fatalf("%d events of the order", len(es))
		}

		owner := b.browser(t)
		owner.login("owner", password)
		_, page := owner.get("/console/webhooks")
		if !strings.Contains(page, "payment.succeeded") || !strings.Contains(page, "#"+strconv.FormatInt(mine.ID, 10)) {
			t.Fatalf("the webhooks page lacks the event:\n%s", page)
		}
		code, _, res := owner.post("/console/webhooks/replay", url.Values{"csrf": {csrfOf(t, page)}, "order": {strconv.FormatInt(mine.ID, 10)}}, b.srv.URL)
		if code != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "replayed=1") {
			t.Fatalf("replaying an order's events: %d %s", code, res.Header.Get("Location"))
		}
		if len(b.audit(t, "webhooks_replayed")) != 1 {
			t.Fatal("the replay is not audited")
		}

		// A merchant-scoped user sees only their merchant's events.
		fin := b.browser(t)
		fin.login("finance", password)
		_, fpage := fin.get("/console/webhooks")
		if strings.Contains(fpage, "#"+strconv.FormatInt(b.theirs.ID, 10)+"<") || !strings.Contains(fpage, "#"+strconv.FormatInt(mine.ID, 10)) {
			t.Fatal("the webhooks page ignores the staff member's scope")
		}
		// Finance may not replay; nor anyone another merchant's order.
		if code, _, _ := fin.post("/console/webhooks/replay", url.Values{"csrf": {csrfOf(t, fpage)}, "order": {strconv.FormatInt(mine.ID, 10)}}, b.srv.URL); code != http.StatusForbidden {
			t.Fatalf("finance replaying: %d, want 403", code)
		}
	})
}

// TestReconPages: reports of the staff member's apps only.
func TestReconPages(t *testing.T) {
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		b := setup(t, kind)
		ctx := t.Context()
		now := time.Now()
		mineRep, err := b.store.ClaimReconReport(ctx, b.mine.AppID, "2026-01-02", "test", now, time.Minute)
		must(t, err)
		must(t, b.store.FinishReconReport(ctx, mineRep, "test"))
		theirRep, err := b.store.ClaimReconReport(ctx, b.theirs.AppID, "2026-01-03", "test", now, time.Minute)
		must(t, err)
		must(t, b.store.FinishReconReport(ctx, theirRep, "test"))

		fin := b.browser(t)
		fin.login("finance", password)
		code, page := fin.get("/console/reconciliations")
		if code != http.StatusOK || !strings.Contains(page, "2026-01-02") || strings.Contains(page, "2026-01-03") {
			t.Fatalf("finance's reconciliation list: %d\n%s", code, page)
		}
		if code, _ := fin.get("/console/reconciliations/" + strconv.FormatInt(mineRep.ID, 10)); code != http.StatusOK {
			t.Fatalf("a report: %d", code)
		}
		if code, _ := fin.get("/console/reconciliations/" + strconv.FormatInt(theirRep.ID, 10)); code != http.StatusNotFound {
			t.Fatalf("another merchant's report: %d, want 404", code)
		}
		viewer := b.browser(t)
		viewer.login("viewer", password)
		if code, _ := viewer.get("/console/reconciliations"); code != http.StatusForbidden {
			t.Fatalf("a read-only user's reconciliation list: %d, want 403", code)
		}
	})
}
