package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/f2fpay/f2fpay"
)

// The webhook deliveries page (the outbox, with replay) and the reconciliation
// reports (docs/console.md "Webhooks" and "Reconciliation").

type webhooksView struct {
	Events      []*f2fpay.Event
	Days        int
	Undelivered bool
	CanReplay   bool
	Replayed    string
	Query       string
}

// eventFilter reads the page's form: the last Days days (1–31), undelivered ones only
// when asked, always in the staff member's scope.
func (c *Console) eventFilter(q url.Values, st *f2fpay.Staff) (f2fpay.EventFilter, int, error) {
	days := 7
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 31 {
			return f2fpay.EventFilter{}, 0, f2fpay.Errorf(f2fpay.EINVALID, "days %q: 1 to 31", v)
		}
		days = n
	}
	since := c.clock.Now().Add(-time.Duration(days) * 24 * time.Hour)
	return f2fpay.EventFilter{MerchantID: scope(st), Since: &since, Undelivered: q.Get("undelivered") == "on", Limit: 500}, days, nil
}

func (c *Console) webhooks(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	f, days, err := c.eventFilter(q, s.staff)
	if err != nil {
		return err
	}
	es, err := c.store.ListEvents(r.Context(), f)
	if err != nil {
		return err
	}
	// The store lists oldest first; the page shows the newest first.
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	v := webhooksView{Events: es, Days: days, Undelivered: f.Undelivered, CanReplay: s.staff.Role.CanReplay(), Replayed: q.Get("replayed")}
	vq := url.Values{"days": {strconv.Itoa(days)}}
	if f.Undelivered {
		vq.Set("undelivered", "on")
	}
	v.Query = vq.Encode()
	return c.render(w, r, http.StatusOK, "webhooks", &view{L: s.lang, Staff: s.staff, CSRF: s.sess.CSRFToken, Nav: "webhooks", Data: v})
}

// replayWebhooks makes events due again: one order's (order=ID) or those the page
// shows (days, undelivered), in the staff member's scope. Replaying a delivered event
// sends it again; the merchant's endpoint deduplicates on the event id.
func (c *Console) replayWebhooks(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	if !s.staff.Role.CanReplay() {
		c.record(ctx, r, s.staff, s.staff.MerchantID, "replay_refused", "webhooks", "role "+string(s.staff.Role))
		return errForbidden
	}
	form := r.PostForm
	f, days, err := c.eventFilter(form, s.staff)
	if err != nil {
		return err
	}
	target := fmt.Sprintf("events of the last %d days", days)
	merchant := s.staff.MerchantID
	if v := form.Get("order"); v != "" {
		oid, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return f2fpay.Errorf(f2fpay.EINVALID, "order %q is not an id", v)
		}
		o, err := c.store.FindOrderByID(ctx, oid)
		if err != nil || !s.staff.Sees(o.MerchantID) {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "order %d not found", oid)
		}
		f = f2fpay.EventFilter{OrderID: &o.ID}
		target, merchant = "events of order "+o.OutTradeNo, o.MerchantID
	} else if f.Undelivered {
		target = "undelivered " + target
	}
	// Audited before the replay: a resend the log does not show must not happen.
	if err := c.record(ctx, r, s.staff, merchant, "webhooks_replayed", target, ""); err != nil {
		return err
	}
	n, err := c.store.ReplayEvents(ctx, f, c.clock.Now())
	if err != nil {
		return err
	}
	back := "/console/webhooks?" + form.Get("back")
	if form.Get("order") != "" {
		back = "/console/orders/" + form.Get("order") + "?"
	}
	http.Redirect(w, r, safeNext(back+"&replayed="+strconv.Itoa(n)), http.StatusSeeOther)
	return nil
}

type reconView struct {
	Reports []*f2fpay.ReconReport
	Apps    map[int64]string
	Report  *f2fpay.ReconReport
}

// reconApps are the apps whose reports the staff member may see, by id.
func (c *Console) reconApps(r *http.Request, st *f2fpay.Staff) (map[int64]string, error) {
	var merchants []*f2fpay.Merchant
	if st.MerchantID == 0 {
		ms, err := c.store.ListMerchants(r.Context())
		if err != nil {
			return nil, err
		}
		merchants = ms
	} else {
		merchants = []*f2fpay.Merchant{{ID: st.MerchantID}}
	}
	out := map[int64]string{}
	for _, m := range merchants {
		as, err := c.store.ListApps(r.Context(), m.ID)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			out[a.ID] = a.AppID + " " + a.Name
		}
	}
	return out, nil
}

func (c *Console) reconciliations(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.staff.Role.CanRefund() {
		return errForbidden // finance's and owners' reports
	}
	apps, err := c.reconApps(r, s.staff)
	if err != nil {
		return err
	}
	v := reconView{Apps: apps}
	if s.staff.MerchantID == 0 {
		if v.Reports, err = c.store.ListReconReports(r.Context(), f2fpay.ReconFilter{Limit: 200}); err != nil {
			return err
		}
	} else {
		for id := range apps {
			rs, err := c.store.ListReconReports(r.Context(), f2fpay.ReconFilter{AppID: id, Limit: 100})
			if err != nil {
				return err
			}
			v.Reports = append(v.Reports, rs...)
		}
	}
	return c.render(w, r, http.StatusOK, "recon", &view{L: s.lang, Staff: s.staff, CSRF: s.sess.CSRFToken, Nav: "recon", Data: v})
}

func (c *Console) reconciliation(w http.ResponseWriter, r *http.Request, s *session) error {
	if !s.staff.Role.CanRefund() {
		return errForbidden
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "no report %q", r.PathValue("id"))
	}
	apps, err := c.reconApps(r, s.staff)
	if err != nil {
		return err
	}
	rep, err := c.store.FindReconReportByID(r.Context(), id)
	if err != nil {
		return err
	}
	if _, ok := apps[rep.AppID]; !ok {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "report %d not found", id)
	}
	return c.render(w, r, http.StatusOK, "recon", &view{L: s.lang, Staff: s.staff, CSRF: s.sess.CSRFToken, Nav: "recon", Data: reconView{Apps: apps, Report: rep}})
}
