package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// view is what every page template gets.
type view struct {
	L     lang
	Staff *f2fpay.Staff
	CSRF  string
	Nav   string // the active navigation item
	Path  string // the page's own path and query, for the language switch
	Links []Link
	Data  any
}

// pageNames are the templates/*.html besides layout.html, one per page.
var pageNames = []string{"login", "overview", "orders", "order", "audit", "error", "approvals", "staff", "merchants", "merchant", "webhooks", "recon", "loginlink", "devices", "device"}

func parsePages(extra template.FuncMap) (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).Funcs(extra).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

var funcs = template.FuncMap{
	"t":        func(l lang, key string) string { return l.t(key) },
	"htmllang": func(l lang) string { return l.htmlLang() },
	"yuan":     func(a f2fpay.Amount) string { return a.String() },
	"role":     func(l lang, r f2fpay.StaffRole) string { return l.t("role." + string(r)) },
	"state": func(l lang, s f2fpay.OrderState) string {
		return l.t("state." + string(s))
	},
	"rstate": func(l lang, s f2fpay.RefundState) string { return l.t("rstate." + string(s)) },
	// dstate and machine name a device's state and kind; celsius shows a sensor's
	// temperature (docs/console.md "Devices").
	"dstate":  func(l lang, s f2fpay.DeviceState) string { return l.t("dstate." + string(s)) },
	"machine": func(l lang, k f2fpay.MachineKind) string { return l.t("machine." + string(k)) },
	"celsius": func(t *float64) string {
		if t == nil {
			return "—"
		}
		return strconv.FormatFloat(*t, 'f', 1, 64) + " °C"
	},
	"action": func(l lang, a string) string {
		if _, ok := messages["action."+a]; ok {
			return l.t("action." + a)
		}
		return a
	},
	// decideArgs is what the "decide" template (layout.html) gets: the page's view
	// and one approval.
	"decideArgs": func(v *view, a *f2fpay.RefundApproval) map[string]any {
		can := false
		switch d := v.Data.(type) {
		case approvalsView:
			can = d.CanDecide
		case orderView:
			can = d.CanDecide
		}
		return map[string]any{"L": v.L, "CSRF": v.CSRF, "Staff": v.Staff, "A": a, "CanDecide": can}
	},
	// keyArgs is what the "keyfields" template (layout.html) gets: a prefix for the
	// fields' ids and the app's key mode.
	"keyArgs": func(v *view, prefix, mode string) map[string]any {
		return map[string]any{"L": v.L, "P": prefix, "Mode": mode}
	},
	"ms":    func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) },
	"query": url.QueryEscape,
	"lower": strings.ToLower,
	"percent": func(n, d int64) string {
		if d == 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f%%", float64(n)*100/float64(d))
	},
}

// render executes a page into a buffer first, so a template error is a clean 500
// rather than half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) error {
	if v.L == "" {
		v.L = requestLang(r)
	}
	v.Links = c.links
	if v.Path == "" {
		v.Path = r.URL.RequestURI()
	}
	var b bytes.Buffer
	if err := c.pages[page].Execute(&b, v); err != nil {
		return fmt.Errorf("console: render %s: %w", page, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
	return nil
}

// when formats a time in the console's zone; the zero time is a dash.
func (c *Console) when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(c.loc).Format("2006-01-02 15:04:05")
}

// serve adapts a handler that returns an error: the error becomes a page with the
// status its code means, and internal details are logged, never shown.
func (c *Console) serve(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		l := requestLang(r)
		status, msg := http.StatusInternalServerError, l.t("error")
		switch {
		case errors.Is(err, errForbidden):
			status, msg = http.StatusForbidden, l.t("forbidden")
		case errors.Is(err, errCSRF):
			status, msg = http.StatusForbidden, l.t("csrf")
		default:
			switch f2fpay.ErrorCode(err) {
			case f2fpay.ENOTFOUND:
				status, msg = http.StatusNotFound, l.t("not.found")
			case f2fpay.EINVALID:
				status, msg = http.StatusBadRequest, f2fpay.ErrorMessage(err)
			case f2fpay.ECONFLICT:
				status, msg = http.StatusConflict, f2fpay.ErrorMessage(err)
			case f2fpay.EUNAUTHORIZED:
				status, msg = http.StatusUnauthorized, f2fpay.ErrorMessage(err)
			case f2fpay.EUNAVAILABLE:
				status, msg = http.StatusServiceUnavailable, f2fpay.ErrorMessage(err)
			default:
				c.log.Error("console: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		if rerr := c.render(w, r, status, "error", &view{L: l, Data: msg}); rerr != nil {
			http.Error(w, msg, status)
		}
	})
}
