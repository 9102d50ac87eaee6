package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/f2fpay/f2fpay"
)

// ReconcileRequest asks the service to reconcile one app's Beijing day against
// Alipay's bill (docs/reconciliation.md). Name the app by AppID (the service's id) or
// AlipayAppID (its APPID).
type ReconcileRequest struct {
	AppID       int64  `json:"app_id,omitempty"`
	AlipayAppID string `json:"alipay_app_id,omitempty"`
	Date        string `json:"date"` // yyyy-MM-dd
	// Repair checks each difference with Alipay and applies what Alipay confirms.
	Repair bool `json:"repair,omitempty"`
}

// Reconcile runs a reconciliation inside the service and returns the day's report with
// its entries. A run takes as long as the bill is big: give the AdminClient an
// http.Client with a timeout to match. Alipay having no bill yet is an *Error with
// code EUNAVAILABLE and Alipay's reason; another run holding the day is ECONFLICT.
func (a *AdminClient) Reconcile(ctx context.Context, req ReconcileRequest) (*f2fpay.ReconReport, error) {
	var rep f2fpay.ReconReport
	return &rep, a.call(ctx, http.MethodPost, "/admin/reconciliations", req, &rep)
}

// ReconFilter selects reports; zero fields do not filter.
type ReconFilter struct {
	AppID    int64
	Status   f2fpay.ReconReportStatus
	From, To string // days, yyyy-MM-dd, both included
	Limit    int
}

// Reconciliations lists reports, the latest day first, without their entries.
func (a *AdminClient) Reconciliations(ctx context.Context, f ReconFilter) ([]*f2fpay.ReconReport, error) {
	q := url.Values{}
	if f.AppID != 0 {
		q.Set("app_id", strconv.FormatInt(f.AppID, 10))
	}
	for k, v := range map[string]string{"status": string(f.Status), "from": f.From, "to": f.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	path := "/admin/reconciliations"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Reconciliations []*f2fpay.ReconReport `json:"reconciliations"`
	}
	return out.Reconciliations, a.call(ctx, http.MethodGet, path, nil, &out)
}

// Reconciliation returns a report with its entries and the actions taken on each.
func (a *AdminClient) Reconciliation(ctx context.Context, id int64) (*f2fpay.ReconReport, error) {
	var rep f2fpay.ReconReport
	return &rep, a.call(ctx, http.MethodGet, "/admin/reconciliations/"+strconv.FormatInt(id, 10), nil, &rep)
}
