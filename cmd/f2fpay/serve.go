package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
	"github.com/f2fpay/f2fpay/console"
	"github.com/f2fpay/f2fpay/httpapi"
	"github.com/f2fpay/f2fpay/payment"
	"github.com/f2fpay/f2fpay/secret"
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
	return svc.Stop()
}

// service is a running `f2fpay serve`: the HTTP server, the janitor and the webhook
// deliverer over one storage.
type service struct {
	URL     string
	Storage f2fpay.Storage
	Engine  *payment.Engine
	Box     *secret.Box

	srv    *http.Server
	cancel context.CancelFunc
	wg     sync.WaitGroup
	grace  time.Duration
	log    *slog.Logger
	stdout io.Writer
}

// startService wires the service and starts it. ln, when not nil, is the listener to
// serve on (tests and the demo pass one bound to :0).
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
		store.Close()
		return nil, fmt.Errorf("serve: %w", err)
	}

	engine, err := payment.New(payment.Config{
		Storage: store, Clients: clients, Logger: log, Metrics: metrics,
		Policy: policy, Owner: cfg.Instance,
		EventsCommitted: hooks.Wake, // webhooks leave right after the commit, not at the next poll
	})
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("serve: %w", err)
	}
	var consoleHandler http.Handler
	if staff, ok := store.(f2fpay.StaffStore); ok {
		var links []console.Link
		for _, l := range cfg.homeLinks {
			links = append(links, console.Link{Label: l.Label, URL: l.URL})
		}
		con, err := console.New(console.Config{
			Storage: store, Staff: staff, Refunder: engine, Logger: log, Links: links,
			SecureCookies: strings.HasPrefix(publicURL, "https://"),
		})
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("serve: %w", err)
		}
		consoleHandler = con.Handler()
	}
	api, err := httpapi.New(httpapi.Config{
		Storage: store, Engine: engine, Box: box, AdminToken: cfg.AdminToken,
		Logger: log, Metrics: metrics, IdempotencyRetention: cfg.IdemRetention, SignedNonces: cfg.SignedNonces,
		// Unique per process start even when -instance names it the same after a
		// restart: a key held by the previous process must look dead, not "running here".
		Instance: cfg.Instance + "." + startID(),
		Home:     cfg.homeLinks,
		Console:  consoleHandler,
	})
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("serve: %w", err)
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &service{
		URL: "http://" + ln.Addr().String(), Storage: store, Engine: engine, Box: box,
		srv: &http.Server{
			Handler:           api.Handler(),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
		cancel: cancel, grace: cfg.ShutdownGrace, log: log, stdout: stdout,
	}
	s.wg.Add(5)
	go func() {
		defer s.wg.Done()
		api.RunHeartbeat(bg)
	}()
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		// The janitor runs a round at once: after a crash, whatever was left PAYING,
		// WAITING, UNKNOWN or CANCELLING is resolved against Alipay first thing.
		engine.RunJanitor(bg, payment.JanitorConfig{Interval: cfg.JanitorEvery})
	}()
	go func() {
		defer s.wg.Done()
		hooks.Run(bg)
	}()
	go func() {
		defer s.wg.Done()
		api.PurgeIdempotency(bg, 10*time.Minute)
	}()
	fmt.Fprintf(stdout, "f2fpay serve: listening on %s (instance %s)\n", s.URL, cfg.Instance)
	return s, nil
}

// Stop shuts down gracefully: stop accepting, let in-flight requests finish (a barcode
// payment in progress completes or hands over to the janitor of whichever instance
// runs next), stop the background workers, close the database.
func (s *service) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.grace)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	s.cancel()
	s.wg.Wait()
	if cerr := s.Storage.Close(); err == nil {
		err = cerr
	}
	fmt.Fprintln(s.stdout, "f2fpay serve: stopped")
	return err
}

func newLogger(cfg *serveConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// startID tells one start of a process from another: 8 random hex digits.
func startID() string {
	b := make([]byte, 4)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
