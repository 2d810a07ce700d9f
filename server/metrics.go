package server

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics lives in its own registry, so two servers in one test process do
// not collide and nothing registers behind our back.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	checks   *prometheus.CounterVec
	crashes  *prometheus.CounterVec
	handler  http.Handler

	// The health counters, resolved once: WithLabelValues hashes its labels
	// on every call, and these are the hot path.
	healthzOK, healthzError, readyzOK, readyzError prometheus.Counter
}

func newMetrics(version string) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proberctl_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proberctl_health_checks_total",
			Help: "Health answers served, by endpoint (healthz, readyz) and result (ok, error).",
		}, []string{"probe", "result"}),
		crashes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proberctl_crashes_scheduled_total",
			Help: "Crashes decided, by reason (start: CRASH_FACTOR roll; request: GET /crash).",
		}, []string{"reason"}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "proberctl_build_info",
		Help: "Always 1; the version label is the server's build.",
	}, []string{"version"})
	build.WithLabelValues(version).Set(1)
	// The Go and process collectors are left out on purpose: measured, they
	// add about 0.4 MB resident and 0.1-0.2 ms to start, and 1-3 ms and 8 KB
	// to every scrape, in every pod, for numbers the kubelet already reports.
	m.reg.MustRegister(m.requests, m.checks, m.crashes, build)
	// Zero series exist from the start, so rates work before the first event.
	m.healthzOK = m.checks.WithLabelValues("healthz", "ok")
	m.healthzError = m.checks.WithLabelValues("healthz", "error")
	m.readyzOK = m.checks.WithLabelValues("readyz", "ok")
	m.readyzError = m.checks.WithLabelValues("readyz", "error")
	m.crashes.WithLabelValues("start")
	m.crashes.WithLabelValues("request")
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// routeCounter caches one route's counters by status code: WithLabelValues
// hashes its labels on every call, and /healthz is the hot path.
type routeCounter struct {
	vec   *prometheus.CounterVec
	route string
	codes sync.Map // int -> prometheus.Counter
}

func (m *metrics) route(route string) *routeCounter {
	return &routeCounter{vec: m.requests, route: route}
}

func (rc *routeCounter) inc(code int) {
	if c, ok := rc.codes.Load(code); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	c := rc.vec.WithLabelValues(rc.route, strconv.Itoa(code))
	rc.codes.Store(code, c)
	c.Inc()
}
