// Package console is the operator console: the web pages served at / by `f2fpay serve`
// for the people who run the stores — staff accounts with roles, the day's overview
// with charts, order search and an order's timeline, refunds through the payment
// engine, and the append-only audit log of every staff action (issue 16,
// docs/console.md).
//
// Pages are rendered on the server with html/template; the only script is the
// overview's chart (Chart.js, vendored in static/vendor) and assets are embedded, so
// the console works offline. A session is a random token in an HttpOnly, SameSite=Lax
// cookie (Secure behind TLS) whose SHA-256 the store keeps; every form carries the
// session's CSRF token (the login form a double-submit cookie), checked on the server.
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/payment"
)

// Refunder refunds an order: *payment.Engine, the same engine as terminal refunds.
type Refunder interface {
	Refund(ctx context.Context, req payment.RefundRequest) (*f2fpay.Refund, error)
}

// Link is a link the console shows in its footer and on the login page, such as the
// sandbox's wallet when `f2fpay demo` runs the service.
type Link struct {
	Label string // shown as given
	URL   string
}

// Config configures the console.
type Config struct {
	// Storage holds orders and merchants; Staff the staff, sessions and audit log
	// (sqlite.DB and postgres.DB are both). Required.
	Storage f2fpay.Storage
	Staff   f2fpay.StaffStore
	// Approvals holds refunds awaiting a second person's approval and the merchants'
	// thresholds; Staff when nil and it is one (sqlite.DB and postgres.DB are).
	Approvals f2fpay.RefundApprovalStore
	// Admin is the admin API's client through which owners manage merchants, apps,
	// stores and terminals (InProcess connects it to the service's own admin API);
	// without it those pages only show.
	Admin *client.AdminClient
	// Refunder refunds orders; without it the console refunds nothing.
	Refunder Refunder
	Logger   *slog.Logger
	Clock    f2fpay.Clock
	// Location is the time zone of "today" and of the times shown; China (UTC+8) when
	// nil.
	Location *time.Location
	// SecureCookies marks cookies Secure on every request, for a console behind a
	// TLS-terminating proxy; they are Secure anyway on a TLS connection.
	SecureCookies bool
	// SessionTTL is how long a login lasts; 12 h when zero.
	SessionTTL time.Duration
	// MaxFailures wrong passwords in a row lock an account for LockFor; 5 and 15 min
	// when zero.
	MaxFailures int
	LockFor     time.Duration
	// Links are shown in the footer and on the login page.
	Links []Link
}

// Console serves the operator console. Create it with New; use Handler.
type Console struct {
	store    f2fpay.Storage
	staff    f2fpay.StaffStore
	approval f2fpay.RefundApprovalStore
	refunder Refunder
	admin    *client.AdminClient
	log      *slog.Logger
	clock    f2fpay.Clock
	loc      *time.Location
	secure   bool
	ttl      time.Duration
	maxFail  int
	lockFor  time.Duration
	links    []Link
	pages    map[string]*template.Template
	static   http.Handler
	hashing  chan struct{} // bounds concurrent password checks (64 MiB each)
	handler  http.Handler
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns the console.
func New(cfg Config) (*Console, error) {
	if cfg.Storage == nil || cfg.Staff == nil {
		return nil, errors.New("console: Config.Storage and Config.Staff are required")
	}
	c := &Console{
		store: cfg.Storage, staff: cfg.Staff, refunder: cfg.Refunder, admin: cfg.Admin, log: cfg.Logger, clock: cfg.Clock,
		loc: cfg.Location, secure: cfg.SecureCookies, ttl: cfg.SessionTTL, maxFail: cfg.MaxFailures,
		lockFor: cfg.LockFor, links: cfg.Links, hashing: make(chan struct{}, 2),
	}
	if c.approval = cfg.Approvals; c.approval == nil {
		as, ok := cfg.Staff.(f2fpay.RefundApprovalStore)
		if !ok {
			return nil, errors.New("console: Config.Approvals is required (Config.Staff is not a RefundApprovalStore)")
		}
		c.approval = as
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.clock == nil {
		c.clock = f2fpay.SystemClock{}
	}
	if c.loc == nil {
		c.loc = time.FixedZone("UTC+8", 8*3600) // China keeps no daylight saving time
	}
	if c.ttl <= 0 {
		c.ttl = 12 * time.Hour
	}
	if c.maxFail <= 0 {
		c.maxFail = 5
	}
	if c.lockFor <= 0 {
		c.lockFor = 15 * time.Minute
	}
	pages, err := parsePages(template.FuncMap{"when": c.when})
	if err != nil {
		return nil, err
	}
	c.pages = pages
	sub, _ := fs.Sub(staticFS, "static")
	c.static = http.StripPrefix("/console/static/", http.FileServerFS(sub))
	c.handler = c.routes()
	return c, nil
}

// Handler serves GET / (a redirect to the console) and everything under /console/.
func (c *Console) Handler() http.Handler { return c.handler }

func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	mux.Handle("GET /console/static/", c.staticHandler())
	mux.Handle("GET /console/login", c.serve(c.getLogin))
	mux.Handle("POST /console/login", c.serve(c.postLogin))
	mux.Handle("GET /console/login/link/{token}", c.serve(c.getLoginLink))
	mux.Handle("POST /console/login/link", c.serve(c.postLoginLink))
	mux.Handle("GET /console/lang/{lang}", c.serve(c.setLang))
	mux.Handle("POST /console/logout", c.serve(c.authed(c.postLogout)))
	mux.Handle("GET /console/{$}", c.serve(c.authed(c.overview)))
	mux.Handle("GET /console/orders", c.serve(c.authed(c.orders)))
	mux.Handle("GET /console/orders.csv", c.serve(c.authed(c.exportOrders)))
	mux.Handle("GET /console/orders/{id}", c.serve(c.authed(c.order)))
	mux.Handle("POST /console/orders/{id}/refund", c.serve(c.authed(c.refund)))
	mux.Handle("GET /console/audit", c.serve(c.authed(c.audit)))
	mux.Handle("GET /console/approvals", c.serve(c.authed(c.approvals)))
	mux.Handle("POST /console/approvals/{id}/{decision}", c.serve(c.authed(c.decide)))
	mux.Handle("GET /console/merchants", c.serve(c.authed(c.merchants)))
	mux.Handle("POST /console/merchants", c.serve(c.authed(c.createMerchant)))
	mux.Handle("GET /console/merchants/{id}", c.serve(c.authed(c.merchant)))
	mux.Handle("POST /console/merchants/{id}", c.serve(c.authed(c.updateMerchant)))
	mux.Handle("POST /console/merchants/{id}/apps", c.serve(c.authed(c.createApp)))
	mux.Handle("POST /console/merchants/{id}/stores", c.serve(c.authed(c.createStore)))
	mux.Handle("POST /console/merchants/{id}/terminals", c.serve(c.authed(c.createTerminal)))
	mux.Handle("POST /console/apps/{id}/keys", c.serve(c.authed(c.updateAppKeys)))
	mux.Handle("POST /console/terminals/{id}/{action}", c.serve(c.authed(c.terminalAction)))
	mux.Handle("GET /console/webhooks", c.serve(c.authed(c.webhooks)))
	mux.Handle("POST /console/webhooks/replay", c.serve(c.authed(c.replayWebhooks)))
	mux.Handle("GET /console/reconciliations", c.serve(c.authed(c.reconciliations)))
	mux.Handle("GET /console/reconciliations/{id}", c.serve(c.authed(c.reconciliation)))
	mux.Handle("GET /console/staff", c.serve(c.authed(c.staffPage)))
	mux.Handle("GET /console/devices", c.serve(c.authed(c.devices)))
	mux.Handle("GET /console/devices/{id}", c.serve(c.authed(c.device)))
	mux.Handle("POST /console/staff", c.serve(c.authed(c.createStaff)))
	mux.Handle("/console/", c.serve(func(w http.ResponseWriter, r *http.Request) error {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "no console page %s", r.URL.Path)
	}))
	return securityHeaders(mux)
}

// staticHandler serves the embedded assets; they change only with the binary.
func (c *Console) staticHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		c.static.ServeHTTP(w, r)
	})
}

// securityHeaders: no framing (clickjacking a refund button), no script or style from
// anywhere but the console itself, no sniffing, no referrer with order numbers.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}
