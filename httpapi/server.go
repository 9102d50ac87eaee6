// Package httpapi is the HTTP face of the f2fpay service: the terminal API under /v1
// that cashier desks and vending machines call, Alipay's asynchronous notifications
// under /alipay/notify/{app_id}, the admin API under /admin, and the operations
// endpoints /healthz, /readyz and /metrics.
//
// It is the only place where f2fpay's error codes become HTTP status codes (errors.go),
// where money strings from terminals become f2fpay.Amount (and back), and where
// Idempotency-Key semantics are enforced (idempotency.go). The money-safety rules live
// in package payment; this package never decides an order's outcome itself.
package httpapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/secret"
	"github.com/f2fpay/f2fpay/vend"
)

// Config configures a Server.
type Config struct {
	// Storage persists merchants, orders, events and idempotency records; required.
	Storage f2fpay.Storage
	// Engine runs payments; required for the terminal API and notifications
	// (usually *payment.Engine).
	Engine Engine
	// Box seals app private keys, app_auth_tokens and webhook secrets accepted by the
	// admin API; required for the admin API's app and merchant creation.
	Box *secret.Box
	// AdminToken authenticates the admin API (Authorization: Bearer <token>). Empty
	// disables the admin API: every /admin request is refused.
	AdminToken string
	// Logger receives structured request logs; discarded when nil.
	Logger *slog.Logger
	// Clock stamps idempotency records and webhooks replays; SystemClock when nil.
	Clock f2fpay.Clock
	// Metrics are the server's Prometheus metrics; made with NewMetrics on a new
	// registry when nil. Build them first with NewMetrics and pass them both here and
	// as payment.Config.Metrics, so /metrics shows the engine's gateway calls too.
	Metrics *Metrics
	// MaxBodyBytes bounds a request body; 64 KiB when zero.
	MaxBodyBytes int64
	// MaxWait bounds a long-poll (GET /v1/payments/{id}?wait=…) and a barcode payment's
	// wait_seconds; 60 s when zero.
	MaxWait time.Duration
	// IdempotencyWait is how long a request that finds its Idempotency-Key in progress
	// waits for the first one's answer before getting 409 "in progress, retry"; 10 s
	// when zero.
	IdempotencyWait time.Duration
	// IdempotencyStale is the age after which an Idempotency-Key left in progress by
	// a request that named no instance (records written before instances did) may be
	// taken over by a retry; 5 min when zero. Keys of known instances are taken over
	// as soon as their instance stops beating (InstanceLease).
	IdempotencyStale time.Duration
	// Instance names this process among the service's instances: the owner of the
	// Idempotency-Keys its requests hold, and of its heartbeats (RunHeartbeat). It must
	// be unique per process start; serve uses the engine's owner. A random name when
	// empty.
	Instance string
	// InstanceLease is how long an instance may stay silent (no heartbeat) before the
	// Idempotency-Keys its requests hold are taken over by retries; 10 s when zero.
	// Heartbeats come every InstanceLease/5. Taking over a key whose request still runs
	// (a stalled instance) is safe: the retry meets the order the first request made,
	// by out_trade_no and request key, and answers its state; nothing is sent twice.
	InstanceLease time.Duration
	// IdempotencyRetention is how long an Idempotency-Key and its answer are kept
	// (PurgeIdempotency deletes older ones); 24 h when zero. A retry after that runs
	// as a new request, which for a payment finds the order its key named.
	IdempotencyRetention time.Duration
	// MerchantWideTerminals lets every terminal of every merchant see and act on its
	// merchant's orders, whatever the merchant's own setting. The setting is per
	// merchant (f2fpay.Merchant.TerminalsSeeAllOrders, terminals_see_all_orders in the
	// admin API): by default a terminal sees only the orders it created.
	MerchantWideTerminals bool
	// SignedNonces bounds how many nonces of signed terminal requests this instance
	// remembers (those less than SignatureWindow old; about 100 bytes each). When
	// that many arrive within the window, further signed requests are refused with
	// 503 until older nonces expire, rather than risk a replay. 1<<18 when zero.
	SignedNonces int
	// Home adds links to the home page (GET /, home.go), such as the sandbox's wallet.
	Home []HomeLink
	// Members serves the buyers' H5 pages under /m/ (usually *member.Handler); none
	// when nil. PublicURL is where buyers reach the service, for the sales' page_url.
	Members   http.Handler
	PublicURL string
	// Console, when set, is the operator console (console.Console.Handler): it takes
	// GET / in place of the home page, and everything under /console/.
	Console http.Handler
	// Reconciler runs POST /admin/reconciliations (usually *recon.Reconciler); that
	// endpoint answers 503 when nil.
	Reconciler Reconciler
	// Cabinet is the open-door cabinet service (cabinet.go); its endpoints answer 501
	// when nil.
	Cabinet Cabinet
	// Vends serves the vend orders (/v1/vends, /admin/vends); they answer 503 when nil.
	Vends *vend.Service
	// Devices serves the vending machines' device channel under /v1/device (usually
	// *device.Service); those endpoints answer 503 when nil.
	Devices Devices
}

// Server serves the f2fpay HTTP API. Create it with New; use Handler.
type Server struct {
	store     f2fpay.Storage
	engine    Engine
	box       *secret.Box
	admin     []byte
	log       *slog.Logger
	clock     f2fpay.Clock
	metrics   *Metrics
	maxBody   int64
	maxWait   time.Duration
	idemWait  time.Duration
	idemStale time.Duration
	idemKeep  time.Duration
	instance  string
	lease     time.Duration
	wide      bool
	nonces    *nonceCache
	inflight  *inflight
	handler   http.Handler
	homeLinks []HomeLink
	draining  atomic.Bool // Drain was called (ops.go)
	members   http.Handler
	publicURL string
	console   http.Handler
	recon     Reconciler
	cabinet   Cabinet
	vends     *vend.Service
	devices   Devices
}

// New checks cfg and builds the routes.
func New(cfg Config) (*Server, error) {
	if cfg.Storage == nil {
		return nil, errors.New("httpapi: Config.Storage is required")
	}
	s := &Server{
		store: cfg.Storage, engine: cfg.Engine, box: cfg.Box, admin: []byte(cfg.AdminToken),
		log: cfg.Logger, clock: cfg.Clock, maxBody: cfg.MaxBodyBytes, maxWait: cfg.MaxWait,
		idemWait: cfg.IdempotencyWait, idemStale: cfg.IdempotencyStale, idemKeep: cfg.IdempotencyRetention, wide: cfg.MerchantWideTerminals,
		inflight: newInflight(), instance: cfg.Instance, lease: cfg.InstanceLease, homeLinks: cfg.Home,
		members: cfg.Members, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), console: cfg.Console,
		recon: cfg.Reconciler, cabinet: cfg.Cabinet, vends: cfg.Vends, devices: cfg.Devices,
	}
	if s.instance == "" {
		s.instance = "http-" + randomName()
	}
	if s.lease <= 0 {
		s.lease = 10 * time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.log = slog.New(LogHandler(s.log.Handler()))
	if s.clock == nil {
		s.clock = f2fpay.SystemClock{}
	}
	if s.maxBody <= 0 {
		s.maxBody = 64 << 10
	}
	if s.maxWait <= 0 {
		s.maxWait = 60 * time.Second
	}
	if s.idemWait <= 0 {
		s.idemWait = 10 * time.Second
	}
	if s.idemKeep <= 0 {
		s.idemKeep = 24 * time.Hour
	}
	if s.idemStale <= 0 {
		s.idemStale = 5 * time.Minute
	}
	if cfg.SignedNonces <= 0 {
		cfg.SignedNonces = 1 << 18
	}
	s.nonces = newNonceCache(cfg.SignedNonces)
	s.metrics = cfg.Metrics
	if s.metrics == nil {
		s.metrics = NewMetrics(prometheus.NewRegistry(), cfg.Storage)
	}
	s.metrics.registerNonces(s.nonces)
	s.handler = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// routes registers every endpoint. Each resource has its own file; the middleware
// chain is: metrics and logging (outermost, so they see every answer), then
// authentication, then (terminal POSTs) idempotency.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.Handler) {
		mux.Handle(pattern, s.observe(pattern, h))
	}
	// Terminals' errors are answered in the cashier's language (writeError, i18n.go).
	term := func(pattern string, h handlerFunc) { handle(pattern, s.terminalAuth(s.serveErrors(h))) }
	// Errors are answered inside idempotent, so that they are stored and replayed
	// like any other answer.
	idem := func(pattern string, h handlerFunc) {
		handle(pattern, s.terminalAuth(s.idempotent(s.serveErrors(h))))
	}
	admin := func(pattern string, h handlerFunc) { handle(pattern, s.adminAuth(s.serveErrors(h))) }

	// Terminal API.
	idem("POST /v1/payments/barcode", s.postBarcode)
	idem("POST /v1/payments/qr", s.postQR)
	idem("POST /v1/payments/jsapi", s.postJSAPI)
	term("GET /v1/payments/{out_trade_no}", s.getPayment)
	term("GET /v1/payments/{out_trade_no}/qr.png", s.getPaymentQR)
	idem("POST /v1/payments/{out_trade_no}/cancel", s.postCancel)
	idem("POST /v1/payments/{out_trade_no}/close", s.postClose)
	idem("POST /v1/payments/{out_trade_no}/refunds", s.postRefund)
	term("GET /v1/payments/{out_trade_no}/refunds/{refund_id}", s.getRefund)
	idem("POST /v1/sales", s.postSale)
	term("GET /v1/sales/{id}", s.getSale)
	idem("POST /v1/sales/{id}/cancel", s.postSaleCancel)
	idem("POST /v1/payments/{out_trade_no}/final", s.postFinal)
	idem("POST /v1/vends", s.postVend)
	term("GET /v1/vends/{id}", s.getVend)
	idem("POST /v1/vends/{id}/items/{n}/report", s.postVendReport)
	idem("POST /v1/vends/{id}/cancel", s.postVendCancel)
	idem("POST /v1/vends/{id}/face", s.postVendFace)
	idem("POST /v1/vends/{id}/fallback", s.postVendFallback)
	term("POST /v1/face/initialize", s.postFaceInitialize)
	// The device channel (device.go): vending machines' long-poll and acknowledgements,
	// idempotent by command id rather than by Idempotency-Key.
	term("GET /v1/device/commands", s.getDeviceCommands)
	term("POST /v1/device/commands/{id}/ack", s.postDeviceAck)
	term("POST /v1/device/heartbeat", s.postDeviceHeartbeat)

	// Alipay's notifications: authenticated by their signature, not by us.
	handle("POST /alipay/notify/{app_id}", http.HandlerFunc(s.postNotify))

	// Admin API.
	admin("POST /admin/merchants", s.adminCreateMerchant)
	admin("GET /admin/merchants", s.adminListMerchants)
	admin("GET /admin/merchants/{id}", s.adminGetMerchant)
	admin("PATCH /admin/merchants/{id}", s.adminUpdateMerchant)
	admin("POST /admin/merchants/{id}/apps", s.adminCreateApp)
	admin("GET /admin/merchants/{id}/apps", s.adminListApps)
	admin("GET /admin/apps/{id}", s.adminGetApp)
	admin("PATCH /admin/apps/{id}", s.adminUpdateApp)
	admin("POST /admin/merchants/{id}/stores", s.adminCreateStore)
	admin("GET /admin/merchants/{id}/stores", s.adminListStores)
	admin("POST /admin/merchants/{id}/terminals", s.adminCreateTerminal)
	admin("GET /admin/merchants/{id}/terminals", s.adminListTerminals)
	admin("GET /admin/terminals/{id}", s.adminGetTerminal)
	admin("PATCH /admin/terminals/{id}", s.adminUpdateTerminal)
	admin("POST /admin/terminals/{id}/disable", s.adminDisableTerminal)
	admin("POST /admin/terminals/{id}/enable", s.adminEnableTerminal)
	admin("POST /admin/terminals/{id}/rotate-key", s.adminRotateTerminalKey)
	admin("GET /admin/stores/{id}/fund-rule", s.adminGetFundRule(false))
	admin("PUT /admin/stores/{id}/fund-rule", s.adminPutFundRule(false))
	admin("DELETE /admin/stores/{id}/fund-rule", s.adminDeleteFundRule(false))
	admin("GET /admin/terminals/{id}/fund-rule", s.adminGetFundRule(true))
	admin("PUT /admin/terminals/{id}/fund-rule", s.adminPutFundRule(true))
	admin("DELETE /admin/terminals/{id}/fund-rule", s.adminDeleteFundRule(true))
	admin("GET /admin/orders", s.adminListOrders)
	admin("GET /admin/orders/{out_trade_no}", s.adminGetOrder)
	admin("POST /admin/orders/{out_trade_no}/refunds", s.adminPostRefund)
	admin("POST /admin/apps/{id}/authorizations/link", s.adminAuthorizationLink)
	admin("POST /admin/apps/{id}/authorizations", s.adminCreateAuthorization)
	admin("GET /admin/apps/{id}/authorizations", s.adminListAuthorizations)
	handle("GET /alipay/app-auth", http.HandlerFunc(s.getAppAuth))
	admin("GET /admin/events", s.adminListEvents)
	admin("POST /admin/events/replay", s.adminReplayEvents)
	admin("GET /admin/merchants/{id}/members", s.adminListMembers)
	admin("GET /admin/members/{id}", s.adminGetMember)
	admin("DELETE /admin/members/{id}/identities/{identity}", s.adminUnlinkIdentity)
	admin("POST /admin/members/{id}/erase", s.adminEraseMember)
	admin("POST /admin/reconciliations", s.adminRunReconciliation)
	admin("GET /admin/reconciliations", s.adminListReconciliations)
	admin("GET /admin/reconciliations/{id}", s.adminGetReconciliation)
	admin("GET /admin/vends", s.adminListVends)
	admin("GET /admin/vends/{id}", s.adminGetVend)

	// The open-door cabinet (cabinet.go).
	handle("POST /alipay/agreements/notify/{app_id}", http.HandlerFunc(s.postAgreementNotify))
	idem("POST /v1/cabinet/sessions/{id}/close", s.postCabinetClose)
	term("GET /v1/cabinet/sessions/{id}", s.getCabinetSession)
	admin("GET /admin/cabinet-sessions", s.adminListCabinetSessions)
	admin("GET /admin/cabinet-sessions/{id}", s.adminGetCabinetSession)
	admin("POST /admin/cabinet-sessions/{id}/refunds", s.adminPostCabinetRefund)
	admin("PUT /admin/terminals/{id}/device", s.adminPutDevice)
	admin("GET /admin/terminals/{id}/device", s.adminGetDevice)
	admin("GET /admin/devices", s.adminListDevices)

	// Buyers' H5 pages (member linking, one-tap payment): HTML, their own errors.
	if s.members != nil {
		handle("/m/", s.members)
	}

	// Operations.
	handle("GET /healthz", s.serveErrors(s.healthz))
	handle("GET /readyz", s.serveErrors(s.readyz))
	handle("GET /metrics", s.metrics.handler())

	s.homeRoutes(handle) // GET /, /docs/api.md, /docs/openapi.yaml

	// Anything else: a JSON 404, or 405 with Allow for a known path asked with a
	// method it does not serve, rather than the mux's plain text.
	handle("/", s.serveErrors(func(w http.ResponseWriter, r *http.Request) error {
		if allow := allowedMethods(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return withStatus(http.StatusMethodNotAllowed, f2fpay.EINVALID, "%s %s: this path answers only %s; see docs/api.md for the API",
				r.Method, r.URL.Path, strings.Join(allow, ", "))
		}
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "no endpoint %s %s; see docs/api.md for the API", r.Method, r.URL.Path)
	}))
	return mux
}

// allowedMethods lists the methods that mux serves on r's path with a pattern of its
// own (not the catch-all "/"): the Allow header of a 405. Empty for an unknown path.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}
