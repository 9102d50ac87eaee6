package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay/httpapi"
)

// serveConfig is the resolved configuration of `f2fpay serve`. Each field can come from
// a flag, an environment variable (F2FPAY_ + the upper-cased flag name with '-' as '_')
// or a JSON file (-config, keys are the flag names); a flag beats the environment, which
// beats the file, which beats the default.
type serveConfig struct {
	Listen        string        `json:"listen"`
	AdminListen   string        `json:"admin-listen"`
	DB            string        `json:"db"`
	MasterKey     string        `json:"master-key"`      // base64; secret
	MasterKeyFile string        `json:"master-key-file"` // a file holding it
	AdminToken    string        `json:"admin-token"`     // secret
	PublicURL     string        `json:"public-url"`
	Instance      string        `json:"instance"`
	QueryInterval time.Duration `json:"query-interval"`
	QueryCount    int           `json:"query-count"`
	CancelRetry   time.Duration `json:"cancel-interval"`
	CancelCount   int           `json:"cancel-count"`
	CancelBackoff string        `json:"cancel-backoff"` // durations, comma-separated
	SMSURL        string        `json:"sms-url"`
	SMSTemplate   string        `json:"sms-template"`
	JanitorEvery  time.Duration `json:"janitor-interval"`
	IdemRetention time.Duration `json:"idempotency-retention"`
	SignedNonces  int           `json:"signed-nonces"`
	LogFormat     string        `json:"log-format"`
	LogLevel      string        `json:"log-level"`
	ShutdownGrace time.Duration `json:"shutdown-grace"`
	DrainDelay    time.Duration `json:"drain-delay"`
	ReconAt       string        `json:"recon-at"`
	ReconRetry    time.Duration `json:"recon-retry"`
	ReconRepair   bool          `json:"recon-repair"`
	VendWindow    time.Duration `json:"vend-window"`
	// Vending devices' health (docs/vending.md §5).
	DeviceHeartbeat time.Duration `json:"device-heartbeat-interval"`
	DeviceMissed    int           `json:"device-missed-heartbeats"`
	DeviceForward   time.Duration `json:"device-forward-interval"`

	// homeLinks are extra links for the service's home page; the demo sets them (the
	// sandbox's wallet), no flag does.
	homeLinks []httpapi.HomeLink
	// mounts are extra handlers on the public listener by path prefix ("/sim/": the
	// demo's vending-machine simulator); no flag sets them.
	mounts map[string]http.Handler
	// housekeepEvery is how often member housekeeping runs; a minute when 0 (tests
	// set it shorter).
	housekeepEvery time.Duration
}

// secretFields are redacted when the configuration is printed.
var secretFields = map[string]bool{"master-key": true, "admin-token": true, "sms-url": true, "sms-template": true}

func defaultServeConfig() serveConfig {
	host, _ := os.Hostname()
	return serveConfig{
		Listen:        "127.0.0.1:8080",
		AdminListen:   "127.0.0.1:8081",
		DB:            "sqlite:f2fpay.db",
		Instance:      fmt.Sprintf("%s-%d", host, os.Getpid()),
		QueryInterval: 5 * time.Second,
		QueryCount:    5,
		CancelRetry:   2 * time.Second,
		CancelCount:   3,
		CancelBackoff: "1m,5m,30m",
		JanitorEvery:  2 * time.Second,
		IdemRetention: 24 * time.Hour,
		SignedNonces:  1 << 18,
		LogFormat:     "text",
		LogLevel:      "info",
		ShutdownGrace: 30 * time.Second,
		DrainDelay:    5 * time.Second,
		ReconAt:       "10:00",
		ReconRetry:    30 * time.Minute,
		ReconRepair:   true,
		VendWindow:    90 * time.Second,

		DeviceHeartbeat: time.Minute,
		DeviceMissed:    3,
		DeviceForward:   900 * time.Second,
	}
}

// bindServeFlags declares the flags on fs, with cfg's current values as defaults.
func bindServeFlags(fs *flag.FlagSet, cfg *serveConfig) {
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "public `address`: the terminal API (/v1/), Alipay's notifications (/alipay/notify/), /healthz and /readyz")
	fs.StringVar(&cfg.AdminListen, "admin-listen", cfg.AdminListen, "internal `address`: the admin API (/admin/), /metrics, the home page and docs, /healthz and /readyz; empty serves everything on -listen")
	fs.StringVar(&cfg.DB, "db", cfg.DB, "database: sqlite:PATH (embedded, one process) or postgres://… (several instances)")
	fs.StringVar(&cfg.MasterKey, "master-key", cfg.MasterKey, "base64 master `key` sealing app private keys and tokens in the database (prefer -master-key-file or F2FPAY_MASTER_KEY)")
	fs.StringVar(&cfg.MasterKeyFile, "master-key-file", cfg.MasterKeyFile, "`file` holding the base64 master key")
	fs.StringVar(&cfg.AdminToken, "admin-token", cfg.AdminToken, "bearer `token` of the admin API; empty disables it")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "`URL` at which Alipay reaches this service, for notify_url (empty: no notifications requested)")
	fs.StringVar(&cfg.Instance, "instance", cfg.Instance, "`name` of this instance in leases")
	fs.DurationVar(&cfg.QueryInterval, "query-interval", cfg.QueryInterval, "wait between trade.query polls after 10003 or an unknown result")
	fs.IntVar(&cfg.QueryCount, "query-count", cfg.QueryCount, "trade.query polls before cancelling")
	fs.DurationVar(&cfg.CancelRetry, "cancel-interval", cfg.CancelRetry, "wait between trade.cancel retries (retry_flag=Y)")
	fs.IntVar(&cfg.CancelCount, "cancel-count", cfg.CancelCount, "fast cancel retries before the slower schedule")
	fs.StringVar(&cfg.SMSURL, "sms-url", cfg.SMSURL, "`URL` of the SMS provider the member pages POST verification codes to; empty: codes are written to the log (development only)")
	fs.StringVar(&cfg.SMSTemplate, "sms-template", cfg.SMSTemplate, "request `body` for -sms-url, a text/template with {{.Phone}} and {{.Code}} (JSON strings); default {\"phone\":…,\"code\":…}")
	fs.StringVar(&cfg.CancelBackoff, "cancel-backoff", cfg.CancelBackoff, "the slower schedule of trade.cancel retries after the fast ones: `durations`, comma-separated; the last repeats")
	fs.DurationVar(&cfg.JanitorEvery, "janitor-interval", cfg.JanitorEvery, "how often the janitor looks for unresolved orders")
	fs.DurationVar(&cfg.IdemRetention, "idempotency-retention", cfg.IdemRetention, "how long a terminal's Idempotency-Key and its answer are kept (a retry after that is a new request)")
	fs.IntVar(&cfg.SignedNonces, "signed-nonces", cfg.SignedNonces, "nonces of signed terminal requests this instance remembers (5 minutes each, ~100 bytes); when full, signed requests get 503 until older ones expire")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	fs.DurationVar(&cfg.DrainDelay, "drain-delay", cfg.DrainDelay, "on SIGTERM, how long /readyz answers 503 while everything else is still served, before the listeners close (load balancers notice meanwhile)")
	fs.StringVar(&cfg.ReconAt, "recon-at", cfg.ReconAt, "Beijing `time` (HH:MM) after which the daily job reconciles every app's previous day against Alipay's bill; off disables it")
	fs.DurationVar(&cfg.ReconRetry, "recon-retry", cfg.ReconRetry, "how long after a failed daily reconciliation (a bill not ready yet) its day is tried again")
	fs.BoolVar(&cfg.ReconRepair, "recon-repair", cfg.ReconRepair, "the daily job checks each difference with Alipay and applies what Alipay confirms (nothing changes without Alipay's word)")
	fs.DurationVar(&cfg.VendWindow, "vend-window", cfg.VendWindow, "how long after payment a vending machine has to report a unit of a vend order before it is refunded (docs/vending.md §11)")
	fs.DurationVar(&cfg.DeviceHeartbeat, "device-heartbeat-interval", cfg.DeviceHeartbeat, "how often vending machines send a heartbeat (the heartbeat's answer tells them)")
	fs.IntVar(&cfg.DeviceMissed, "device-missed-heartbeats", cfg.DeviceMissed, "heartbeats a vending machine may miss before it is marked offline (metric and device.offline event)")
	fs.DurationVar(&cfg.DeviceForward, "device-forward-interval", cfg.DeviceForward, "how often a vending machine's heartbeat is forwarded to Alipay (monitor.heartbeat.syn, 交易保障); Alipay's demo sends one every 900s")
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", cfg.ShutdownGrace, "after the drain delay, how long shutdown waits for in-flight requests (long-polls answer at once)")
}

// loadServeConfig resolves the configuration from defaults, the -config file, the
// environment and the flags, in that order of increasing precedence.
func loadServeConfig(args []string, getenv func(string) string, stderr io.Writer) (*serveConfig, error) {
	// First pass: find -config (and -h) without applying anything else.
	pre := flag.NewFlagSet("serve", flag.ContinueOnError)
	pre.SetOutput(io.Discard)
	var file string
	pre.StringVar(&file, "config", "", "")
	probe := defaultServeConfig()
	bindServeFlags(pre, &probe)
	if err := pre.Parse(args); err != nil && !errors.Is(err, flag.ErrHelp) {
		return nil, &usageError{"serve: " + err.Error()}
	}

	cfg := defaultServeConfig()
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("serve: config file: %w", err)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("serve: config file %s is not a JSON object: %w", file, err)
		}
		if err := applyConfigFile(&cfg, raw); err != nil {
			return nil, fmt.Errorf("serve: config file %s: %w", file, err)
		}
	}
	// Environment: every flag name as F2FPAY_NAME.
	envFS := flag.NewFlagSet("env", flag.ContinueOnError)
	envFS.SetOutput(io.Discard)
	bindServeFlags(envFS, &cfg)
	var envErr error
	envFS.VisitAll(func(f *flag.Flag) {
		name := "F2FPAY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("serve: %s=%q: %v", name, v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String("config", "", "JSON `file` with settings (keys are the flag names)")
	bindServeFlags(fs, &cfg)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: f2fpay serve [flags]\n\nRun the merchant payment service. Every flag can also be set as F2FPAY_<NAME> in the\nenvironment or in the -config file.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, &usageError{fmt.Sprintf("serve: unexpected argument %q", fs.Arg(0))}
	}
	return &cfg, cfg.check()
}

func applyConfigFile(cfg *serveConfig, raw map[string]json.RawMessage) error {
	fs := flag.NewFlagSet("file", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bindServeFlags(fs, cfg)
	for k, v := range raw {
		f := fs.Lookup(k)
		if f == nil {
			return fmt.Errorf("unknown setting %q", k)
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			s = string(v) // numbers and booleans as written
		}
		if err := f.Value.Set(s); err != nil {
			return fmt.Errorf("%s: %v", k, err)
		}
	}
	return nil
}

func (c *serveConfig) check() error {
	if c.MasterKey == "" && c.MasterKeyFile == "" {
		return &usageError{"serve: no master key: set F2FPAY_MASTER_KEY (or -master-key-file) to 32 random bytes in base64, e.g. `head -c32 /dev/urandom | base64`; it seals app private keys in the database"}
	}
	if c.QueryCount < 0 || c.CancelCount < 0 || c.QueryInterval <= 0 || c.CancelRetry <= 0 {
		return &usageError{"serve: query/cancel counts must be ≥ 0 and intervals > 0"}
	}
	if c.SMSURL != "" {
		if u, err := url.Parse(c.SMSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &usageError{fmt.Sprintf("serve: -sms-url %q is not an http(s) URL; give your SMS provider's endpoint, e.g. https://sms.example.com/send", c.SMSURL)}
		}
	}
	if _, err := c.cancelBackoff(); err != nil {
		return err
	}
	if c.SignedNonces < 1 {
		return &usageError{fmt.Sprintf("serve: -signed-nonces must be at least 1 (it is %d): without room for nonces no signed request could pass", c.SignedNonces)}
	}
	if _, _, err := parseDB(c.DB); err != nil {
		return &usageError{"serve: " + err.Error()}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return &usageError{"serve: -log-format must be text or json"}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return &usageError{fmt.Sprintf("serve: -log-level %q is not a level: use debug, info, warn or error", c.LogLevel)}
	}
	if _, _, err := c.reconAt(); err != nil {
		return err
	}
	if c.DrainDelay < 0 || c.ShutdownGrace <= 0 {
		return &usageError{"serve: -drain-delay must be ≥ 0 and -shutdown-grace > 0"}
	}
	if c.DeviceHeartbeat < time.Second || c.DeviceMissed < 1 || c.DeviceForward < time.Second {
		return &usageError{"serve: -device-heartbeat-interval and -device-forward-interval must be at least 1s, -device-missed-heartbeats at least 1"}
	}
	if c.AdminListen != "" && c.AdminListen == c.Listen {
		return &usageError{fmt.Sprintf("serve: -admin-listen and -listen are both %s; give the admin API another address, or an empty -admin-listen to serve everything on -listen", c.Listen)}
	}
	return c.checkAdminToken()
}

// checkAdminToken refuses a guessable admin token on an address other machines can
// reach: the admin API creates apps and terminals and reads every order.
func (c *serveConfig) checkAdminToken() error {
	addr, flagName := c.AdminListen, "-admin-listen"
	if addr == "" {
		addr, flagName = c.Listen, "-listen (which serves the admin API while -admin-listen is empty)"
	}
	if c.AdminToken == "" || isLoopback(addr) {
		return nil
	}
	if why := weakToken(c.AdminToken); why != "" {
		return &usageError{fmt.Sprintf("serve: the admin token is too weak for %s on %s: %s; make one with `head -c24 /dev/urandom | base64` (or keep the admin API on a loopback address)", flagName, addr, why)}
	}
	return nil
}

// masterKey returns the decoded master key.
func (c *serveConfig) masterKey() ([]byte, error) {
	v := c.MasterKey
	if v == "" {
		data, err := os.ReadFile(c.MasterKeyFile)
		if err != nil {
			return nil, fmt.Errorf("serve: master key file: %w", err)
		}
		v = strings.TrimSpace(string(data))
	}
	k, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, errors.New("serve: the master key is not base64")
	}
	return k, nil
}

// print writes the resolved configuration, one setting a line, secrets redacted. A
// password inside a postgres:// URL is redacted too.
func (c *serveConfig) print(w io.Writer) {
	fs := flag.NewFlagSet("print", flag.ContinueOnError)
	cp := *c
	bindServeFlags(fs, &cp)
	var lines []string
	fs.VisitAll(func(f *flag.Flag) {
		v := f.Value.String()
		switch {
		case secretFields[f.Name] && v != "":
			v = "[redacted]"
		case f.Name == "db":
			v = redactDB(v)
		}
		lines = append(lines, fmt.Sprintf("  %-17s %s", f.Name, v))
	})
	sort.Strings(lines)
	fmt.Fprintln(w, "f2fpay serve: configuration")
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}

// cancelBackoff parses -cancel-backoff ("1m,5m,30m").
func (c *serveConfig) cancelBackoff() ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(c.CancelBackoff, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d <= 0 {
			return nil, &usageError{fmt.Sprintf("serve: -cancel-backoff %q: %q is not a positive duration; write it like 1m,5m,30m", c.CancelBackoff, f)}
		}
		out = append(out, d)
	}
	return out, nil
}
