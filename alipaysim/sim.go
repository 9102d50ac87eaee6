package alipaysim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/alipay"
)

// Config configures a sandbox. The zero value is a usable in-memory sandbox on the
// real clock.
type Config struct {
	// Store keeps the state; default a MemoryStore. Use OpenSQLiteStore for --data.
	Store Store
	// Clock drives expiry and retries; default the real clock. Tests pass a ManualClock.
	Clock Clock
	// Seed makes identifiers and probabilistic faults reproducible; 0 picks one at random.
	Seed uint64
	// AlipayKey is the sandbox's own "Alipay" private key. When nil, the key stored in
	// Store is used, or a new RSA-2048 key is generated and stored on first start.
	AlipayKey *rsa.PrivateKey
	// PublicURL is how clients reach this sandbox (for qr_code links); default taken from
	// each request's Host.
	PublicURL string
	// TimestampSkew, when positive, refuses requests whose timestamp (read as Beijing
	// time) is further than this from the sandbox clock. Zero checks only the format.
	TimestampSkew time.Duration
	// MaxRequestBytes bounds a request body (gateway and control API); default 1 MiB.
	MaxRequestBytes int64
	// HTTPClient delivers notifications; default a client with a 10 s timeout.
	HTTPClient *http.Client
	// NotifyTimeout bounds one notification attempt; default 10 s.
	NotifyTimeout time.Duration
	// Logf receives operational messages; default discards them.
	Logf func(format string, args ...any)
	// RefundWindow is how long after payment a trade can be refunded: then a
	// TRADE_SUCCESS trade becomes TRADE_FINISHED, with a notification, and refunds are
	// refused with ACQ.TRADE_HAS_FINISHED. Default DefaultRefundWindow; negative never.
	RefundWindow time.Duration
}

// DefaultRefundWindow is the sandbox's refund window: three months (90 days), what a
// face-to-face contract usually allows (a merchant can sign for twelve). Alipay's
// window is a term of the merchant's contract, not an API parameter, so the sandbox
// makes it a setting.
const DefaultRefundWindow = 90 * 24 * time.Hour

// Sim is a running sandbox: the gateway, its state, the notifier and the control API.
type Sim struct {
	cfg        Config
	e          *engine
	clock      Clock
	key        *rsa.PrivateKey
	signer     *alipay.KeySigner
	httpClient *http.Client
	traceSeq   atomic.Uint64
	handler    http.Handler
	certs      certAuthority // certificate mode (certs.go)
	rest       restReplay    // nonces seen by the REST protocol (rest.go)
}

// New opens a sandbox on cfg.Store (loading what it holds) and starts its timers.
func New(ctx context.Context, cfg Config) (*Sim, error) {
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Seed == 0 {
		var b [8]byte
		rand.Read(b[:])
		cfg.Seed = binary.LittleEndian.Uint64(b[:]) | 1
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = maxRequestSize
	}
	if cfg.NotifyTimeout <= 0 {
		cfg.NotifyTimeout = 10 * time.Second
	}
	if cfg.HTTPClient == nil {
		// Notifications go to a few merchant hosts, many at once: keep their
		// connections (http.DefaultTransport keeps two per host, so under load most
		// notifications would open a new TCP connection and leave one in TIME_WAIT).
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		cfg.HTTPClient = &http.Client{Timeout: cfg.NotifyTimeout, Transport: tr}
	}
	st, err := cfg.Store.Load(ctx)
	if err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, clock: cfg.Clock, httpClient: cfg.HTTPClient}
	s.e = newEngine(cfg.Store, cfg.Clock, cfg.Seed)
	s.e.refundWindow = cfg.RefundWindow
	if s.e.refundWindow == 0 {
		s.e.refundWindow = DefaultRefundWindow
	}
	s.e.deliver = s.deliver

	key := cfg.AlipayKey
	if key == nil && st.Meta != nil && st.Meta.AlipayKey != "" {
		if key, err = alipay.ParsePrivateKey(st.Meta.AlipayKey); err != nil {
			return nil, fmt.Errorf("sandbox: the stored Alipay key is unreadable: %w", err)
		}
	}
	if key == nil {
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
	}
	s.key = key
	s.signer = alipay.NewKeySigner(key)
	if err := s.e.load(st); err != nil {
		return nil, err
	}
	if err := s.loadCerts(); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if s.e.meta.AlipayKey != pemKey {
		if err := s.e.update(ctx, func(t *txn) error { t.meta.AlipayKey = pemKey; return nil }); err != nil {
			return nil, err
		}
	}
	s.handler = s.routes()
	return s, nil
}

// Close stops the timers. In-flight notification attempts finish on their own; the
// store is the caller's to close.
func (s *Sim) Close() error {
	s.e.shutdown()
	return nil
}

// Handler serves the gateway (/gateway.do), the control API (/sandbox/...) and the QR
// landing page (/qr/...).
func (s *Sim) Handler() http.Handler { return s.handler }

// Clock returns the sandbox's clock (a *ManualClock when the tests gave one).
func (s *Sim) Clock() Clock { return s.clock }

// Seed returns the seed in use.
func (s *Sim) Seed() uint64 { return s.cfg.Seed }

// AlipayPublicKey is the sandbox's "Alipay public key" (支付宝公钥), base64 SPKI, which
// clients configure to verify responses and notifications.
func (s *Sim) AlipayPublicKey() string { return alipay.PublicKeyBase64(&s.key.PublicKey) }

// AlipayPrivateKey is the sandbox's signing key, for tests that forge notifications.
func (s *Sim) AlipayPrivateKey() *rsa.PrivateKey { return s.key }

// Trade returns a trade by trade_no, with its refunds.
func (s *Sim) Trade(tradeNo string) (*Trade, error) {
	var tr *Trade
	s.e.view(func(t *txn) {
		if x := t.trade(tradeNo); x != nil {
			tr = x.clone()
		}
	})
	if tr == nil {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no trade %q", tradeNo)
	}
	return tr, nil
}

// TradeByOutTradeNo returns an app's trade by out_trade_no.
func (s *Sim) TradeByOutTradeNo(appID, outTradeNo string) (*Trade, error) {
	var tr *Trade
	s.e.view(func(t *txn) {
		if x := t.tradeByOut(appID, outTradeNo); x != nil {
			tr = x.clone()
		}
	})
	if tr == nil {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "app %s has no trade with out_trade_no %q", appID, outTradeNo)
	}
	return tr, nil
}

// App returns a registered app.
func (s *Sim) App(appID string) (*App, error) {
	if a := s.app(appID); a != nil {
		return a.clone(), nil
	}
	return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no app %q; register one with POST /sandbox/apps", appID)
}

// Buyer returns a buyer by user id, open id or logon id.
func (s *Sim) Buyer(id string) (*Buyer, error) {
	var b *Buyer
	s.e.view(func(t *txn) {
		if x := t.buyerByAny(id); x != nil {
			b = x.clone()
		}
	})
	if b == nil {
		return nil, f2fpay.Errorf(f2fpay.ENOTFOUND, "no buyer %q", id)
	}
	return b, nil
}

// AddFault activates a fault and returns it with its id.
func (s *Sim) AddFault(f Fault) (*Fault, error) { return s.e.faults.add(f) }

// Faults lists the active faults.
func (s *Sim) Faults() []Fault { return s.e.faults.list() }

// RemoveFault deletes a fault by id; "" deletes all.
func (s *Sim) RemoveFault(id string) bool { return s.e.faults.remove(id) }

// Settle waits until nothing is due: every deadline up to the clock's now has been
// handled and every notification attempt under way has been recorded. With a
// ManualClock, call it after Advance to observe deliveries.
func (s *Sim) Settle(ctx context.Context) error {
	for {
		s.e.mu.Lock()
		due := s.e.deadlines.Len() > 0 && !s.e.deadlines[0].at.After(s.clock.Now())
		s.e.mu.Unlock()
		s.e.busyMu.Lock()
		busy := s.e.busy
		s.e.busyMu.Unlock()
		if !due && busy == 0 {
			return nil
		}
		if due {
			s.e.mu.Lock()
			if s.e.timer == nil || s.e.timerAt.After(s.clock.Now()) {
				s.e.timer = nil
				s.e.scheduleLocked()
			}
			s.e.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// Snapshot is the whole state as deterministic JSON (sorted records), for comparing a
// sandbox before and after a restart.
func (s *Sim) Snapshot() ([]byte, error) {
	var v struct {
		Apps          []*App
		Buyers        []*Buyer
		Codes         []*Code
		Trades        []*Trade
		Notifications []*Notification
		Records       map[string][]record // OAuth, accounts, ISV grants, bill links, heartbeats, certificate PKI, by kind
		Seq           uint64
	}
	s.e.view(func(t *txn) {
		for _, a := range t.e.apps {
			v.Apps = append(v.Apps, a)
		}
		for _, b := range t.e.buyers {
			v.Buyers = append(v.Buyers, b)
		}
		for _, c := range t.e.codes {
			v.Codes = append(v.Codes, c)
		}
		for _, tr := range t.e.trades {
			v.Trades = append(v.Trades, tr)
		}
		for _, n := range t.e.notifs {
			v.Notifications = append(v.Notifications, n)
		}
		v.Seq = t.e.meta.Seq
		v.Records = map[string][]record{}
		for kind := range t.e.recs {
			v.Records[kind] = t.e.recordsOf(kind)
		}
	})
	slices.SortFunc(v.Apps, func(a, b *App) int { return strings.Compare(a.AppID, b.AppID) })
	slices.SortFunc(v.Buyers, func(a, b *Buyer) int { return strings.Compare(a.UserID, b.UserID) })
	slices.SortFunc(v.Codes, func(a, b *Code) int { return strings.Compare(a.Code, b.Code) })
	slices.SortFunc(v.Trades, func(a, b *Trade) int { return strings.Compare(a.TradeNo, b.TradeNo) })
	slices.SortFunc(v.Notifications, func(a, b *Notification) int { return strings.Compare(a.NotifyID, b.NotifyID) })
	return json.MarshalIndent(v, "", " ")
}

func (s *Sim) log(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}
