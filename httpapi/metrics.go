package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/payment"
)

// Metrics holds the service's Prometheus metrics on the server's own registry. It
// implements payment.Metrics, so the engine reports gateway calls and transitions
// into the same registry that /metrics serves.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	gwCalls      *prometheus.CounterVec
	gwLatency    *prometheus.HistogramVec
	orderTrans   *prometheus.CounterVec
	refundTrans  *prometheus.CounterVec
	notification *prometheus.CounterVec
	longPolls    *prometheus.HistogramVec
	replays      *prometheus.CounterVec
}

// NewMetrics registers the service's metrics on reg (a registry of its own, never
// the global one, so two servers in one process do not collide). store is read at
// scrape time for the orders by state and the janitor backlog.
func NewMetrics(reg *prometheus.Registry, store f2fpay.OrderStore) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "f2fpay_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "f2fpay_http_request_duration_seconds", Help: "HTTP request latency by route pattern; long-polls (wait > 0) are in f2fpay_http_long_poll_duration_seconds instead.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route"}),
		gwCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "f2fpay_gateway_calls_total", Help: "Calls to Alipay by method, answer code (empty: no answer) and outcome.",
		}, []string{"method", "code", "outcome"}),
		gwLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "f2fpay_gateway_call_duration_seconds", Help: "Latency of calls to Alipay by method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30},
		}, []string{"method"}),
		orderTrans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "f2fpay_order_transitions_total", Help: "Committed order state changes.",
		}, []string{"kind", "from", "to"}),
		refundTrans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "f2fpay_refund_transitions_total", Help: "Committed refund state changes.",
		}, []string{"from", "to"}),
		notification: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "f2fpay_notifications_total", Help: "Alipay notifications received, by answer (success or fail).",
		}, []string{"result"}),
		longPolls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "f2fpay_http_long_poll_duration_seconds", Help: "How long long-polls (GET with wait > 0) were held, by route pattern: apart from the request latency, which they would swamp.",
			Buckets: []float64{.01, .1, .5, 1, 2.5, 5, 10, 20, 30, 45, 60},
		}, []string{"route"}),
		replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "f2fpay_idempotency_replays_total", Help: "Terminal POSTs answered with the stored answer of an earlier request with the same Idempotency-Key, by route pattern.",
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.latency, m.gwCalls, m.gwLatency, m.orderTrans, m.refundTrans, m.notification,
		m.longPolls, m.replays,
		&orderCollector{store: store},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector())
	if ps, ok := store.(poolStore); ok {
		reg.MustRegister(poolCollector{ps})
	}
	return m
}

var _ payment.Metrics = (*Metrics)(nil)

// Registry returns the registry the metrics live on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// GatewayCall implements payment.Metrics.
func (m *Metrics) GatewayCall(method, code, outcome string, latency time.Duration) {
	m.gwCalls.WithLabelValues(method, code, outcome).Inc()
	m.gwLatency.WithLabelValues(method).Observe(latency.Seconds())
}

// OrderTransition implements payment.Metrics.
func (m *Metrics) OrderTransition(kind f2fpay.OrderKind, from, to f2fpay.OrderState) {
	m.orderTrans.WithLabelValues(string(kind), string(from), string(to)).Inc()
}

// RefundTransition implements payment.Metrics.
func (m *Metrics) RefundTransition(from, to f2fpay.RefundState) {
	m.refundTrans.WithLabelValues(string(from), string(to)).Inc()
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

func (m *Metrics) observe(route string, status int, d time.Duration, longPoll bool) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	if longPoll {
		m.longPolls.WithLabelValues(route).Observe(d.Seconds())
		return
	}
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// registerNonces adds the gauges of a server's nonce cache (signature.go): how many
// nonces it holds and how many it may. When it is full, signed requests get 503. A
// registry shared by two servers keeps the first one's.
func (m *Metrics) registerNonces(c *nonceCache) {
	for _, g := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "f2fpay_signed_nonces", Help: "Nonces of signed terminal requests this instance remembers; at f2fpay_signed_nonces_capacity signed requests are refused with 503.",
		}, func() float64 { return float64(c.len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "f2fpay_signed_nonces_capacity", Help: "How many nonces this instance may remember (-signed-nonces).",
		}, func() float64 { return float64(c.max) }),
	} {
		m.reg.Register(g) // an AlreadyRegistered error leaves the first server's
	}
}

// orderCollector reads the orders by state at scrape time, so the gauge is the
// database's truth (shared by every instance) rather than one process's count.
type orderCollector struct {
	store f2fpay.OrderStore
}

var (
	ordersDesc  = prometheus.NewDesc("f2fpay_orders", "Orders by state, read from the database at scrape time.", []string{"state"}, nil)
	backlogDesc = prometheus.NewDesc("f2fpay_janitor_backlog", "Orders not in a final state (PAYING, WAITING, UNKNOWN, PENDING, CANCELLING): what the janitor still has to resolve.", nil, nil)
	scrapeErr   = prometheus.NewDesc("f2fpay_orders_scrape_error", "1 when the orders by state could not be read at this scrape.", nil, nil)

	outboxUndelivered = prometheus.NewDesc("f2fpay_outbox_undelivered", "Webhook events not yet delivered (retrying or due), read from the database at scrape time.", nil, nil)
	outboxLag         = prometheus.NewDesc("f2fpay_outbox_oldest_undelivered_seconds", "Age of the oldest undelivered webhook event: how far behind the merchants' systems are (0 when none waits).", nil, nil)
	outboxDead        = prometheus.NewDesc("f2fpay_outbox_dead", "Webhook events given up after their retries; replay them with POST /admin/events/replay once the endpoint works.", nil, nil)
)

// poolStore is a store that reports its connection pools.
type poolStore interface{ PoolStats() []f2fpay.PoolStat }

var (
	dbConns    = prometheus.NewDesc("f2fpay_db_connections", "Connections of the store's pools by state (in_use, idle).", []string{"pool", "state"}, nil)
	dbConnsMax = prometheus.NewDesc("f2fpay_db_connections_max", "The size limit of each of the store's pools.", []string{"pool"}, nil)
	dbWaits    = prometheus.NewDesc("f2fpay_db_connection_waits_total", "Acquisitions that had to wait for a free connection.", []string{"pool"}, nil)
	dbWaitSecs = prometheus.NewDesc("f2fpay_db_connection_wait_seconds_total", "Time spent waiting for a free connection.", []string{"pool"}, nil)
)

// poolCollector exports the store's pool statistics (this instance's pools: they are
// per instance by nature, unlike the database-wide gauges above).
type poolCollector struct{ store poolStore }

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dbConns
	ch <- dbConnsMax
	ch <- dbWaits
	ch <- dbWaitSecs
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.store.PoolStats() {
		ch <- prometheus.MustNewConstMetric(dbConns, prometheus.GaugeValue, float64(p.InUse), p.Pool, "in_use")
		ch <- prometheus.MustNewConstMetric(dbConns, prometheus.GaugeValue, float64(p.Idle), p.Pool, "idle")
		ch <- prometheus.MustNewConstMetric(dbConnsMax, prometheus.GaugeValue, float64(p.Max), p.Pool)
		ch <- prometheus.MustNewConstMetric(dbWaits, prometheus.CounterValue, float64(p.Waits), p.Pool)
		ch <- prometheus.MustNewConstMetric(dbWaitSecs, prometheus.CounterValue, p.WaitSeconds, p.Pool)
	}
}

// backlogStore is the part of the store the outbox gauges read (f2fpay.EventStore).
type backlogStore interface {
	EventBacklog(ctx context.Context) (*f2fpay.EventBacklog, error)
}

func (c *orderCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- ordersDesc
	ch <- backlogDesc
	ch <- scrapeErr
	ch <- outboxUndelivered
	ch <- outboxLag
	ch <- outboxDead
}

func (c *orderCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	counts, err := c.store.CountOrdersByState(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(scrapeErr, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(scrapeErr, prometheus.GaugeValue, 0)
	var backlog int64
	for _, st := range []f2fpay.OrderState{f2fpay.OrderPaying, f2fpay.OrderWaiting, f2fpay.OrderUnknown, f2fpay.OrderPending,
		f2fpay.OrderCancelling, f2fpay.OrderPaid, f2fpay.OrderFailed, f2fpay.OrderCancelled, f2fpay.OrderClosed} {
		n := counts[st]
		ch <- prometheus.MustNewConstMetric(ordersDesc, prometheus.GaugeValue, float64(n), string(st))
		if !st.Final() {
			backlog += n
		}
	}
	ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(backlog))
	if bs, ok := c.store.(backlogStore); ok {
		if b, err := bs.EventBacklog(ctx); err == nil {
			lag := 0.0
			if !b.OldestUndelivered.IsZero() {
				lag = max(0, time.Since(b.OldestUndelivered).Seconds())
			}
			ch <- prometheus.MustNewConstMetric(outboxUndelivered, prometheus.GaugeValue, float64(b.Undelivered))
			ch <- prometheus.MustNewConstMetric(outboxLag, prometheus.GaugeValue, lag)
			ch <- prometheus.MustNewConstMetric(outboxDead, prometheus.GaugeValue, float64(b.Dead))
		}
	}
}
