package httpapi

import (
	"context"
	"net/http"
	"regexp"

	"github.com/f2fpay/f2fpay"
)

// Reconciliation reports (docs/reconciliation.md): run one app's day inside the
// service (so that `f2fpay reconcile` need not open a SQLite file the service owns),
// list the reports, read one with its entries and actions.

// Reconciler runs the reconciliation of one app's Beijing day; *recon.Reconciler
// implements it. A bill Alipay has not made yet is EUNAVAILABLE with Alipay's reason.
type Reconciler interface {
	Reconcile(ctx context.Context, appID int64, day string, repair bool) (*f2fpay.ReconReport, error)
}

var dayPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

type reconRequest struct {
	// AppID is the service's id of the app; AlipayAppID its APPID (either one).
	AppID       int64  `json:"app_id"`
	AlipayAppID string `json:"alipay_app_id"`
	Date        string `json:"date"`
	Repair      bool   `json:"repair"`
}

func (s *Server) adminRunReconciliation(w http.ResponseWriter, r *http.Request) error {
	var req reconRequest
	if err := s.decode(w, r, &req); err != nil {
		return err
	}
	if s.recon == nil {
		return f2fpay.Errorf(f2fpay.EUNAVAILABLE, "this service runs no reconciliations (it was started without an engine); run f2fpay reconcile against the database")
	}
	if !dayPattern.MatchString(req.Date) {
		return f2fpay.Errorf(f2fpay.EINVALID, "date %q is not a day: write yyyy-MM-dd, e.g. 2026-03-14 (a Beijing day)", req.Date)
	}
	var app *f2fpay.App
	var err error
	switch {
	case req.AppID != 0 && req.AlipayAppID != "":
		return f2fpay.Errorf(f2fpay.EINVALID, "name the app once: app_id (the service's id) or alipay_app_id (its APPID)")
	case req.AppID != 0:
		app, err = s.store.FindApp(r.Context(), req.AppID)
	case req.AlipayAppID != "":
		app, err = s.store.FindAppByAppID(r.Context(), req.AlipayAppID)
	default:
		return f2fpay.Errorf(f2fpay.EINVALID, "app_id or alipay_app_id is required")
	}
	if err != nil {
		return err
	}
	// The run outlives a client that gives up: it holds the day's lease and records
	// its report, which GET /admin/reconciliations/{id} reads afterwards.
	rep, err := s.recon.Reconcile(context.WithoutCancel(r.Context()), app.ID, req.Date, req.Repair)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) adminListReconciliations(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	appID, err := queryID(q, "app_id")
	if err != nil {
		return err
	}
	limit, err := queryLimit(q)
	if err != nil {
		return err
	}
	f := f2fpay.ReconFilter{Status: f2fpay.ReconReportStatus(q.Get("status")), From: q.Get("from"), To: q.Get("to"), Limit: limit}
	if appID != nil {
		f.AppID = *appID
	}
	for _, p := range [][2]string{{"from", f.From}, {"to", f.To}} {
		if p[1] != "" && !dayPattern.MatchString(p[1]) {
			return f2fpay.Errorf(f2fpay.EINVALID, "query parameter %s=%q is not a day: write yyyy-MM-dd", p[0], p[1])
		}
	}
	switch f.Status {
	case "", f2fpay.ReconRunning, f2fpay.ReconBalanced, f2fpay.ReconHasOpen, f2fpay.ReconWaiting, f2fpay.ReconFailed:
	default:
		return f2fpay.Errorf(f2fpay.EINVALID, "query parameter status=%q is not running, balanced, open, pending or failed", f.Status)
	}
	list, err := s.store.ListReconReports(r.Context(), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*f2fpay.ReconReport{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"reconciliations": list})
	return nil
}

func (s *Server) adminGetReconciliation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "reconciliation id")
	if err != nil {
		return err
	}
	rep, err := s.store.FindReconReportByID(r.Context(), id)
	if err != nil {
		return err
	}
	if rep.Entries == nil {
		rep.Entries = []*f2fpay.ReconEntry{}
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
