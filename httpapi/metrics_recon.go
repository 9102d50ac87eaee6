package httpapi

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/f2fpay/f2fpay"
)

// ReconMetrics are the reconciliation's metrics, on the server's registry: days
// closed and run durations counted by this instance, open entries by class read from
// the database at scrape time (the truth every instance shares). It implements
// recon.Metrics.
type ReconMetrics struct {
	closed   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewReconMetrics registers the reconciliation's metrics on m's registry; call it once.
func NewReconMetrics(m *Metrics, store f2fpay.ReconStore) *ReconMetrics {
	rm := &ReconMetrics{
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "f2fpay_recon_runs_total", Help: "Reconciliation runs by outcome: balanced, open, pending (the day closed), failed, not_ready (Alipay has no bill yet).",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "f2fpay_recon_run_duration_seconds", Help: "Duration of reconciliation runs by outcome.",
			Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(rm.closed, rm.duration, &reconCollector{store: store})
	return rm
}

// ReconRun implements recon.Metrics.
func (m *ReconMetrics) ReconRun(outcome string, d time.Duration) {
	m.closed.WithLabelValues(outcome).Inc()
	m.duration.WithLabelValues(outcome).Observe(d.Seconds())
}

type reconCollector struct{ store f2fpay.ReconStore }

var (
	reconOpenDesc      = prometheus.NewDesc("f2fpay_recon_open_entries", "Open reconciliation entries (differences that need a person) by class, read from the database at scrape time.", []string{"class"}, nil)
	reconScrapeErrDesc = prometheus.NewDesc("f2fpay_recon_scrape_error", "1 when the open reconciliation entries could not be read at this scrape.", nil, nil)
)

func (c *reconCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- reconOpenDesc
	ch <- reconScrapeErrDesc
}

func (c *reconCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	counts, err := c.store.CountOpenReconEntries(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(reconScrapeErrDesc, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(reconScrapeErrDesc, prometheus.GaugeValue, 0)
	for _, class := range f2fpay.ReconClasses {
		ch <- prometheus.MustNewConstMetric(reconOpenDesc, prometheus.GaugeValue, float64(counts[class]), string(class))
	}
}
