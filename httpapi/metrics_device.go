package httpapi

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/f2fpay/f2fpay"
)

// DeviceMetrics are the vending devices' metrics, on the server's registry
// (docs/vending.md §5): transitions and expiries counted by this instance, devices by
// state read from the database at scrape time (the truth every instance shares). It
// implements device.Metrics.
type DeviceMetrics struct {
	transitions *prometheus.CounterVec
	expired     prometheus.Counter
	forwards    *prometheus.CounterVec
}

// NewDeviceMetrics registers the devices' metrics on m's registry; call it once.
func NewDeviceMetrics(m *Metrics, store f2fpay.DeviceHealthStore) *DeviceMetrics {
	dm := &DeviceMetrics{
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "f2fpay_device_transitions_total", Help: "Vending devices going online (a heartbeat after none or after going offline) or offline (heartbeats missed), by the state they went to.",
		}, []string{"to"}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "f2fpay_device_commands_expired_total", Help: "Device channel commands that expired unacknowledged.",
		}),
		forwards: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "f2fpay_device_heartbeat_forwards_total", Help: "Heartbeats forwarded to Alipay (monitor.heartbeat.syn), by outcome: ok or failed.",
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(dm.transitions, dm.expired, dm.forwards, &deviceCollector{store: store})
	return dm
}

// DeviceTransition implements device.Metrics.
func (m *DeviceMetrics) DeviceTransition(to f2fpay.DeviceState) {
	m.transitions.WithLabelValues(string(to)).Inc()
}

// CommandsExpired implements device.Metrics.
func (m *DeviceMetrics) CommandsExpired(n int) { m.expired.Add(float64(n)) }

// HeartbeatForwarded implements device.Metrics.
func (m *DeviceMetrics) HeartbeatForwarded(outcome string) { m.forwards.WithLabelValues(outcome).Inc() }

type deviceCollector struct{ store f2fpay.DeviceHealthStore }

var (
	devicesDesc         = prometheus.NewDesc("f2fpay_devices", "Described vending devices by state (unknown: never heard; online; offline: heartbeats missed), read from the database at scrape time.", []string{"state"}, nil)
	devicesScrapeErrDes = prometheus.NewDesc("f2fpay_devices_scrape_error", "1 when the devices' states could not be read at this scrape.", nil, nil)
)

func (c *deviceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- devicesDesc
	ch <- devicesScrapeErrDes
}

func (c *deviceCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	counts, err := c.store.CountDevicesByState(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(devicesScrapeErrDes, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(devicesScrapeErrDes, prometheus.GaugeValue, 0)
	for _, s := range []f2fpay.DeviceState{f2fpay.DeviceUnknown, f2fpay.DeviceOnline, f2fpay.DeviceOffline} {
		ch <- prometheus.MustNewConstMetric(devicesDesc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
}
