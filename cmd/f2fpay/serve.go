package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/f2fpay/f2fpay/member"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/cabinet"
	"github.com/f2fpay/f2fpay/client"
	"github.com/f2fpay/f2fpay/console"
	"github.com/f2fpay/f2fpay/device"
	"github.com/f2fpay/f2fpay/httpapi"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/secret"
	"github.com/f2fpay/f2fpay/vend"
	"github.com/f2fpay/f2fpay/webhook"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := loadServeConfig(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	cfg.print(stdout)
	svc, err := startService(ctx, cfg, stdout, stderr, nil)
	if err != nil {
		return err
	}
	<-ctx.Done()
	svc.Drain(cfg.DrainDelay)
	return svc.Stop()
}

// service is a running `f2fpay serve`: the HTTP servers, the janitor and the webhook
// deliverer over one storage.
type service struct {
	// URL is the public address (terminal API, notifications); AdminURL the internal
	// one (admin API, metrics), URL too when -admin-listen is empty.
	URL      string
	AdminURL string
	Storage  f2fpay.Storage
	Engine   *payment.Engine
	Box      *secret.Box

	api       *httpapi.Server
	srvs      []*http.Server
	endPolls  func() // ends the long-polls in flight (listeners.go)
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	grace     time.Duration
	log       *slog.Logger
	stdout    io.Writer
	drainOnce sync.Once
}

// startService wires the service and starts it. ln, when not nil, is the public
// listener (tests and the demo pass one bound to :0); the internal one is bound to
// cfg.AdminListen unless it is empty.
func startService(ctx context.Context, cfg *serveConfig, stdout, stderr io.Writer, ln net.Listener) (*service, error) {
	log := newLogger(cfg, stderr)
	master, err := cfg.masterKey()
	if err != nil {
		return nil, err
	}
	box, err := secret.NewBox(master)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	store, _, err := openDB(ctx, cfg.DB, "", true)
	if err != nil {
		return nil, fmt.Errorf("serve: database: %w", err)
	}
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			store.Close()
			return nil, fmt.Errorf("serve: %w", err)
		}
	}
	var adminLn net.Listener
	if cfg.AdminListen != "" {
		if adminLn, err = net.Listen("tcp", cfg.AdminListen); err != nil {
			ln.Close()
			store.Close()
			return nil, fmt.Errorf("serve: -admin-listen: %w", err)
		}
	}
	closeAll := func() {
		ln.Close()
		if adminLn != nil {
			adminLn.Close()
		}
		store.Close()
	}
	publicURL := strings.TrimSuffix(cfg.PublicURL, "/")
	metrics := httpapi.NewMetrics(prometheus.NewRegistry(), store)
	clients := payment.NewAppClients(box, payment.AppClientsOptions{
		NotifyURL: func(app *f2fpay.App) string {
			if publicURL == "" {
				return ""
			}
			return publicURL + "/alipay/notify/" + app.AppID
		},
	})
	policy := payment.DefaultPolicy()
	policy.QueryInterval, policy.QueryAttempts = cfg.QueryInterval, cfg.QueryCount
	policy.CancelInterval, policy.CancelRetries = cfg.CancelRetry, cfg.CancelCount
	if policy.CancelBackoff, err = cfg.cancelBackoff(); err != nil {
		store.Close()
		return nil, err
	}
	hooks, err := webhook.New(webhook.Config{Store: store, Box: box, Owner: cfg.Instance, Logger: log})
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("serve: %w", err)
	}

	engine, err := payment.New(payment.Config{
		Storage: store, Clients: clients, Logger: log, Metrics: metrics,
		Policy: policy, Owner: cfg.Instance,
		EventsCommitted: hooks.Wake, // webhooks leave right after the commit, not at the next poll
	})
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("serve: %w", err)
	}
	// Vending devices: the device channel, heartbeats and health (docs/vending.md §10, §5).
	devices, err := device.New(device.Config{
		Store: store, Logger: log, HeartbeatInterval: cfg.DeviceHeartbeat, MissedHeartbeats: cfg.DeviceMissed,
		Forwarder: &device.AlipayForwarder{Store: store, Clients: clients}, ForwardEvery: cfg.DeviceForward,
		Metrics: httpapi.NewDeviceMetrics(metrics, store),
	})
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("serve: %w", err)
	}
	cab, err := cabinetService(cfg, store, engine, devices, log)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("serve: %w", err)
	}
	members, err := memberPages(cfg, store, box, engine, cab, log)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("serve: %w", err)
	}
	var consoleHandler http.Handler
	// The console's owners manage merchants, apps, stores and terminals through the
	// admin API, called in process (so with the admin API's checks and sealing); api
	// is set below, before the first request.
	var api *httpapi.Server
	var consoleAdmin *client.AdminClient
	if cfg.AdminToken != "" {
		consoleAdmin = client.NewAdminClient("http://console.internal", cfg.AdminToken,
			console.InProcess(func() http.Handler { return api.Handler() }))
	}
	if staff, ok := store.(f2fpay.StaffStore); ok {
		var links []console.Link
		for _, l := range cfg.homeLinks {
			links = append(links, console.Link{Label: l.Label, URL: l.URL})
		}
		con, err := console.New(console.Config{
			Storage: store, Staff: staff, Refunder: engine, Logger: log, Links: links, Admin: consoleAdmin,
			SecureCookies: strings.HasPrefix(publicURL, "https://"),
		})
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("serve: %w", err)
		}
		consoleHandler = con.Handler()
	}
	reconciler := newReconciler(store, engine, clients, metrics, log)
	vends, err := vend.New(vend.Config{Storage: store, Devices: store, Commander: devices, Engine: engine, Logger: log, Owner: cfg.Instance,
		DispenseWindow: cfg.VendWindow, Poll: min(cfg.JanitorEvery, 2*time.Second)})
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("serve: %w", err)
	}
	api, err = httpapi.New(httpapi.Config{
		Members: members, PublicURL: publicURL,
		Storage: store, Engine: engine, Box: box, AdminToken: cfg.AdminToken, Reconciler: reconciler,
		Logger: log, Metrics: metrics, IdempotencyRetention: cfg.IdemRetention, SignedNonces: cfg.SignedNonces,
		// Unique per process start even when -instance names it the same after a
		// restart: a key held by the previous process must look dead, not "running here".
		Instance: cfg.Instance + "." + startID(),
		Home:     cfg.homeLinks,
		Console:  consoleHandler,
		Vends:    vends,
		Cabinet:  cabinetAPI(cab),
		Devices:  devices,
	})
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("serve: %w", err)
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	polls := make(chan struct{})
	s := &service{
		URL: "http://" + ln.Addr().String(), Storage: store, Engine: engine, Box: box,
		api: api, endPolls: sync.OnceFunc(func() { close(polls) }),
		cancel: cancel, grace: cfg.ShutdownGrace, log: log, stdout: stdout,
	}
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           longPolls(polls, h),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
	}
	serving := map[*http.Server]net.Listener{}
	if adminLn == nil {
		serving[newServer(withMounts(cfg.mounts, api.Handler()))] = ln
		s.AdminURL = s.URL
	} else {
		serving[newServer(onlyPaths(isPublicPath, onInternal, api.Handler()))] = ln
		serving[newServer(onlyPaths(isInternalPath, onPublic, api.Handler()))] = adminLn
		s.AdminURL = "http://" + adminLn.Addr().String()
	}
	s.wg.Add(9 + len(serving)) // heartbeat, janitor, vend janitor, refresher, webhooks, two purges, daily reconciliation, the device janitor, and the listeners
	go func() {
		defer s.wg.Done()
		api.RunHeartbeat(bg)
	}()
	for srv, l := range serving {
		s.srvs = append(s.srvs, srv)
		go func() {
			defer s.wg.Done()
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server stopped", "addr", l.Addr().String(), "err", err)
			}
		}()
	}
	go func() {
		defer s.wg.Done()
		// The janitor runs a round at once: after a crash, whatever was left PAYING,
		// WAITING, UNKNOWN or CANCELLING is resolved against Alipay first thing.
		engine.RunJanitor(bg, payment.JanitorConfig{Interval: cfg.JanitorEvery})
	}()
	go func() {
		defer s.wg.Done()
		// Vend orders (docs/vending.md §11) left mid-way by a crash move on at once:
		// commands enqueued, units past their deadline refunded, sales finalized.
		vends.RunJanitor(bg, vend.JanitorConfig{Interval: min(cfg.JanitorEvery, time.Second)})
	}()
	go func() {
		defer s.wg.Done()
		// Merchants' app_auth_tokens (service provider's apps) are renewed before they
		// end, each by one instance (a lease).
		engine.RunRefresher(bg)
	}()
	go func() {
		defer s.wg.Done()
		hooks.Run(bg)
	}()
	go func() {
		defer s.wg.Done()
		api.PurgeIdempotency(bg, 10*time.Minute)
	}()
	go func() {
		defer s.wg.Done()
		// Sales past their expiry become EXPIRED; expired member sessions and old
		// SMS-send records go (whether or not this instance serves /m/).
		member.RunHousekeeping(bg, store, nil, cfg.memberHousekeeping(), log)
	}()
	go func() {
		defer s.wg.Done()
		runDailyRecon(bg, cfg, reconciler)
	}()
	if cab != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			// Cabinet charges whose answer was lost and members' debts are retried on
			// their backoff, each session by one instance (a lease); doors that never
			// opened are abandoned.
			cab.Run(bg)
		}()
	}
	go func() {
		defer s.wg.Done()
		// Device commands past their deadline expire; machines whose heartbeats
		// stopped go offline (once, with a device.offline event).
		devices.RunJanitor(bg, device.JanitorConfig{})
		devices.Wait() // heartbeat forwards in flight
	}()
	if adminLn == nil {
		fmt.Fprintf(stdout, "f2fpay serve: listening on %s (instance %s)\n", s.URL, cfg.Instance)
		if cfg.AdminToken != "" && !isLoopback(cfg.Listen) {
			log.Warn("the admin API and /metrics are served on the public address; give them an internal one with -admin-listen", "listen", cfg.Listen)
		}
	} else {
		fmt.Fprintf(stdout, "f2fpay serve: listening on %s (terminals, notifications), admin on %s (instance %s)\n", s.URL, s.AdminURL, cfg.Instance)
	}
	return s, nil
}

// Drain is the first step of a graceful shutdown: /readyz answers 503 "draining" while
// everything else is still served, for delay, so that load balancers stop sending
// terminals here before the listeners close. Stop drains too, without the delay.
func (s *service) Drain(delay time.Duration) {
	s.drainOnce.Do(func() {
		s.api.Drain()
		if delay > 0 {
			s.log.Info("draining: /readyz answers 503 until the listeners close", "drain_delay", delay.String())
			time.Sleep(delay)
		}
	})
}

// Stop shuts down gracefully: /readyz fails, the listeners close, long-polls answer
// the order as it stands, other in-flight requests finish within the grace (a barcode
// payment in progress completes or hands over to the janitor of whichever instance
// runs next), the background workers stop, the database closes. It returns an error
// only when something was cut: requests still running when the grace ended, or the
// database failing to close.
func (s *service) Stop() error {
	s.Drain(0)
	ctx, cancel := context.WithTimeout(context.Background(), s.grace)
	defer cancel()
	errs := make(chan error, len(s.srvs))
	for _, srv := range s.srvs {
		go func() { errs <- srv.Shutdown(ctx) }()
	}
	s.endPolls() // after Shutdown began: the listeners are closed, polls answer now
	var err error
	for range s.srvs {
		if serr := <-errs; serr != nil && err == nil {
			err = fmt.Errorf("serve: requests still running after the %v shutdown grace were cut (-shutdown-grace): %w", s.grace, serr)
		}
	}
	if err != nil {
		for _, srv := range s.srvs {
			srv.Close()
		}
	}
	s.cancel()
	s.wg.Wait()
	if cerr := s.Storage.Close(); err == nil {
		err = cerr
	}
	fmt.Fprintln(s.stdout, "f2fpay serve: stopped")
	return err
}

// newLogger makes the process's logger at cfg's level (checked by validate): JSON
// lines carry the instance's name, so the lines of several instances can be told
// apart once collected; every line logged with a request's context carries its
// request_id (httpapi.LogHandler).
func newLogger(cfg *serveConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(httpapi.LogHandler(slog.NewJSONHandler(w, opts).WithAttrs([]slog.Attr{slog.String("instance", cfg.Instance)})))
	}
	return slog.New(httpapi.LogHandler(slog.NewTextHandler(w, opts)))
}

// startID tells one start of a process from another: 8 random hex digits.
func startID() string {
	b := make([]byte, 4)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// memberHousekeeping is how often sales are expired and member sessions and SMS
// sends purged: a minute, so that a machine long-polling a sale nobody paid learns
// EXPIRED soon after its expiry.
func (c *serveConfig) memberHousekeeping() time.Duration {
	if c.housekeepEvery > 0 {
		return c.housekeepEvery
	}
	return time.Minute
}

// memberPages builds the buyers' account-linking and one-tap pages (/m/, docs/vending.md
// §8) when the service has a public URL for Alipay's redirect; none without one. Codes
// go to the SMS provider of -sms-url, or — for development and the demo only — to the log.
func memberPages(cfg *serveConfig, store f2fpay.Storage, box *secret.Box, engine *payment.Engine, cab *cabinet.Service, log *slog.Logger) (http.Handler, error) {
	if cfg.PublicURL == "" {
		return nil, nil
	}
	var sms member.Sender = member.LogSender{Log: log}
	if cfg.SMSURL != "" {
		hs, err := member.NewHTTPSender(cfg.SMSURL, cfg.SMSTemplate)
		if err != nil {
			return nil, err
		}
		sms = hs
	} else {
		log.Warn("member pages: no -sms-url, so SMS codes are written to this log (development only)")
	}
	var cabinetPages member.Cabinet
	if cab != nil {
		cabinetPages = cab
	}
	h, err := member.New(member.Config{Store: store, Box: box, OAuth: engine, Payer: engine, SMS: sms,
		PublicURL: cfg.PublicURL, Logger: log, Cabinet: cabinetPages})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// cabinetService is the open-door cabinet (docs/vending.md §12) when the service has a
// public URL, where Alipay sends agreement notifications and the signing page returns
// the member; none without one.
// The open_door command goes through the device channel's service, which wakes the
// cabinet's long-poll at once.
func cabinetService(cfg *serveConfig, store f2fpay.Storage, engine *payment.Engine, devices *device.Service, log *slog.Logger) (*cabinet.Service, error) {
	if cfg.PublicURL == "" {
		return nil, nil
	}
	return cabinet.New(cabinet.Config{Store: store, Devices: store, Commands: devices, Alipay: engine, PublicURL: cfg.PublicURL,
		Owner: cfg.Instance, Logger: log})
}

// cabinetAPI is cab as the API's dependency: nil (its endpoints answer 501) when there
// is none, never a typed nil.
func cabinetAPI(cab *cabinet.Service) httpapi.Cabinet {
	if cab == nil {
		return nil
	}
	return cab
}

// withMounts serves the paths under each of mounts' prefixes with its handler, the
// rest with h.
func withMounts(mounts map[string]http.Handler, h http.Handler) http.Handler {
	if len(mounts) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for prefix, m := range mounts {
			if strings.HasPrefix(r.URL.Path, prefix) {
				m.ServeHTTP(w, r)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
