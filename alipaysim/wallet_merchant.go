package alipaysim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/f2fpay/f2fpay"
)

// The merchant page (/sandbox/ui) shows what the control API returns as JSON — apps,
// trades with their refunds, every notification attempt, the active faults — for a
// person watching a test or a demo, and adds or removes faults with a form.

const (
	merchantTrades        = 200
	merchantNotifications = 100
)

type merchantPage struct {
	pageBase
	AppID         string // the filter, "" for all apps
	Apps          []*App
	Trades        []*Trade
	Notifications []Notification
	Agreements    []Agreement
	Faults        []Fault
	FaultKinds    []string
	Form          map[string]string
}

func (s *Sim) apps() []*App {
	var out []*App
	s.e.view(func(t *txn) {
		for _, a := range t.e.apps {
			out = append(out, a.clone())
		}
	})
	slices.SortFunc(out, func(a, b *App) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.AppID, b.AppID))
	})
	return out
}

func (s *Sim) merchantData(r *http.Request) merchantPage {
	appID := r.URL.Query().Get("app_id")
	p := merchantPage{pageBase: s.base("Sandbox merchant console"), AppID: appID, Apps: s.apps(),
		Faults: s.Faults(), FaultKinds: faultKinds, Form: map[string]string{}}
	p.Wide = true
	p.Trades = s.tradesWhere(merchantTrades, func(tr *Trade) bool { return appID == "" || tr.AppID == appID })
	ns := s.Notifications(NotificationFilter{AppID: appID})
	slices.Reverse(ns)
	if len(ns) > merchantNotifications {
		ns = ns[:merchantNotifications]
	}
	p.Notifications = ns
	p.Agreements = s.Agreements(AgreementFilter{AppID: appID})
	return p
}

func (s *Sim) merchantPage(w http.ResponseWriter, r *http.Request) {
	p := s.merchantData(r)
	switch r.URL.Query().Get("notice") {
	case "fault_added":
		p.Message = "Fault added."
	case "fault_removed":
		p.Message = "Fault removed."
	}
	s.render(w, http.StatusOK, "merchant", p)
}

// merchantAddFault builds a Fault from the form through the same JSON decoding as POST
// /sandbox/faults, so durations and checks behave identically.
func (s *Sim) merchantAddFault(w http.ResponseWriter, r *http.Request) {
	err := s.parseForm(w, r)
	var f Fault
	if err == nil {
		f, err = faultFromForm(r.PostForm)
	}
	if err == nil {
		_, err = s.AddFault(f)
	}
	if err != nil {
		p := s.merchantData(r)
		p.Error = f2fpay.ErrorMessage(err)
		for k := range r.PostForm {
			p.Form[k] = r.PostForm.Get(k)
		}
		s.render(w, http.StatusBadRequest, "merchant", p)
		return
	}
	seeOther(w, r, "/sandbox/ui?notice=fault_added#faults")
}

func faultFromForm(form map[string][]string) (Fault, error) {
	m := map[string]any{}
	get := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	for _, k := range []string{"kind", "method", "app_id", "out_trade_no", "latency", "delay", "resolve_to", "sub_code"} {
		if v := get(k); v != "" {
			m[k] = v
		}
	}
	if v := get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return Fault{}, f2fpay.Errorf(f2fpay.EINVALID, "count %q is not a whole number", v)
		}
		m["count"] = n
	}
	if v := get("probability"); v != "" {
		p, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return Fault{}, f2fpay.Errorf(f2fpay.EINVALID, "probability %q is not a number between 0 and 1", v)
		}
		m["probability"] = p
	}
	raw, _ := json.Marshal(m)
	var f Fault
	if err := json.Unmarshal(raw, &f); err != nil {
		return Fault{}, f2fpay.Errorf(f2fpay.EINVALID, "%v", err)
	}
	return f, nil
}

func (s *Sim) merchantDeleteFault(w http.ResponseWriter, r *http.Request) {
	if !s.RemoveFault(r.PathValue("id")) {
		s.renderError(w, "Faults", f2fpay.Errorf(f2fpay.ENOTFOUND, "no fault %q; it may have been used up or removed", r.PathValue("id")))
		return
	}
	seeOther(w, r, "/sandbox/ui?notice=fault_removed#faults")
}
