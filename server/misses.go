package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// missEvery is how often a path that keeps missing is logged again: a
// probe aimed at the wrong path every second is one line per this, with
// the count of the requests left out meanwhile.
const missEvery = 10 * time.Second

// maxMissPaths bounds the paths remembered, so a scan of random paths
// cannot grow memory; past it, paths not seen for missEvery are forgotten,
// and if none is, the new path shares one bucket with the others.
const maxMissPaths = 256

// otherPaths is the shared bucket's key.
const otherPaths = "(other paths)"

// misses logs requests no route answers (404) or that use a method the route
// does not take (405), always, at WARN, whatever LOG_REQUESTS says: a
// liveness probe on the wrong path restarts the container over and over,
// and its log must say why. Each path is logged on its first miss, then at
// most once per missEvery with the number suppressed in between.
type misses struct {
	log *slog.Logger
	now func() time.Time // tests set a fake clock

	mu    sync.Mutex
	paths map[string]*missState
}

type missState struct {
	logged     time.Time // when the last line for this path went out
	suppressed int       // misses since then not logged
}

func newMisses(log *slog.Logger) *misses {
	return &misses{log: log, now: time.Now, paths: map[string]*missState{}}
}

// record logs r's miss (code 404 or 405; allow is what a 405's route takes)
// unless this path was logged less than missEvery ago.
func (m *misses) record(r *http.Request, code int, allow string) {
	p := trimQuery(r.URL.Path)
	now := m.now()
	m.mu.Lock()
	key := p
	st, ok := m.paths[key]
	if !ok && len(m.paths) >= maxMissPaths {
		m.forget(now)
		if len(m.paths) >= maxMissPaths {
			key = otherPaths
			st, ok = m.paths[key]
		}
	}
	if !ok {
		st = &missState{}
		m.paths[key] = st
	} else if now.Sub(st.logged) < missEvery {
		st.suppressed++
		m.mu.Unlock()
		return
	}
	suppressed := st.suppressed
	st.logged, st.suppressed = now, 0
	m.mu.Unlock()

	var msg string
	if code == http.StatusMethodNotAllowed {
		msg = fmt.Sprintf("method not allowed: %s %s takes %s", r.Method, p, allow)
	} else {
		msg = "no route " + p
		if hint := healthHint(p); hint != "" {
			msg += ": " + hint
		}
	}
	attrs := []any{"method", r.Method, "path", p, "code", code, "remote", r.RemoteAddr}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed, "suppressed_secs", missEvery.Seconds())
	}
	if key == otherPaths {
		attrs = append(attrs, "note", fmt.Sprintf("over %d paths missed recently: counted together", maxMissPaths))
	}
	m.log.Warn(msg, attrs...)
}

// forget drops the paths not logged for missEvery; their suppressed counts
// are lost, which only happens under a scan of many paths.
func (m *misses) forget(now time.Time) {
	for k, st := range m.paths {
		if now.Sub(st.logged) >= missEvery {
			delete(m.paths, k)
		}
	}
}

// Last path elements that name a health check elsewhere: Spring's /health,
// the Kubernetes API server's /livez, load balancers' /ping and so on.
var (
	liveNames  = []string{"health", "healthz", "healthy", "healthcheck", "health-check", "health_check", "_health", "hc", "livez", "live", "liveness", "alive", "ping"}
	readyNames = []string{"ready", "readyz", "readiness", "_ready"}
)

// healthHint says where this server's checks are when p looks like a health
// check that is not one of its routes ("/health", "/api/healthz",
// "/healthz/"), or "" when it does not.
func healthHint(p string) string {
	base := strings.ToLower(path.Base(strings.TrimRight(p, "/")))
	switch {
	case contains(liveNames, base):
		return "this server's health check is /healthz (readiness: /readyz)"
	case contains(readyNames, base):
		return "this server's readiness check is /readyz (health: /healthz)"
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
