package server

import (
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Requests no route answers are logged at WARN without LOG_REQUESTS, with
// where the health checks are when the path looks like one; a wrong method
// says which one the route takes; a deliberate /status/404 is an answer,
// not a miss.
func TestMissesLogged(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		code           int
		msg            string // "" for no WARN at all
	}{
		{"GET", "/health", 404, "no route /health: this server's health check is /healthz (readiness: /readyz)"},
		{"GET", "/api/v1/Healthcheck?x=1", 404, "no route /api/v1/Healthcheck: this server's health check is /healthz (readiness: /readyz)"},
		{"GET", "/healthz/", 404, "no route /healthz/: this server's health check is /healthz (readiness: /readyz)"},
		{"GET", "/livez", 404, "no route /livez: this server's health check is /healthz (readiness: /readyz)"},
		{"GET", "/ready", 404, "no route /ready: this server's readiness check is /readyz (health: /healthz)"},
		{"GET", "/nope", 404, "no route /nope"},
		{"POST", "/healthz", 405, "method not allowed: POST /healthz takes GET"},
		{"GET", "/healthz/fail", 405, "method not allowed: GET /healthz/fail takes POST"},
		{"PUT", "/crash", 405, "method not allowed: PUT /crash takes GET or POST"},
		{"GET", "/status/404", 404, ""},
		{"GET", "/healthz", 200, ""},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			s, logs := newTest(t, map[string]string{}) // LOG_REQUESTS unset
			if rec := get(t, s.Handler(), tc.method, tc.target); rec.Code != tc.code {
				t.Fatalf("%s %s = %d, want %d", tc.method, tc.target, rec.Code, tc.code)
			}
			var warns []map[string]any
			for _, l := range logs.lines(t) {
				if l["level"] == "WARN" {
					warns = append(warns, l)
				}
			}
			switch {
			case tc.msg == "" && len(warns) > 0:
				t.Errorf("logged %v, want nothing", warns)
			case tc.msg == "":
			case len(warns) != 1 || warns[0]["msg"] != tc.msg:
				t.Errorf("logged %v, want one WARN %q", warns, tc.msg)
			case warns[0]["code"] != float64(tc.code) || warns[0]["method"] != tc.method || warns[0]["remote"] == "":
				t.Errorf("record %v, want code %d, method %s and the remote address", warns[0], tc.code, tc.method)
			}
		})
	}
}

// A probe on the wrong path every second is logged once, then once per
// 10 s with how many were left out; each path has its own budget.
func TestMissesRateLimited(t *testing.T) {
	s, logs := newTest(t, map[string]string{})
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	s.misses.now = func() time.Time { return now }
	const msg = "no route /health: this server's health check is /healthz (readiness: /readyz)"
	probe := func(path string) {
		t.Helper()
		if rec := get(t, s.Handler(), "GET", path); rec.Code != 404 {
			t.Fatalf("GET %s = %d, want 404", path, rec.Code)
		}
	}
	for i := 0; i < 10; i++ { // seconds 0..9
		probe("/health")
		now = now.Add(time.Second)
	}
	if got := logs.find(t, msg); len(got) != 1 || got[0]["suppressed"] != nil {
		t.Fatalf("after 10 probes in 10 s: %v, want the first alone", got)
	}
	probe("/other") // another path is not held back by /health's budget
	if got := logs.find(t, "no route /other"); len(got) != 1 {
		t.Fatalf("first miss of /other: %v, want it logged", got)
	}
	probe("/health") // second 10: the next line, with the 9 left out
	got := logs.find(t, msg)
	if len(got) != 2 || got[1]["suppressed"] != float64(9) || got[1]["suppressed_secs"] != float64(10) {
		t.Fatalf("at 10 s: %v, want a second line with suppressed 9", got)
	}
	now = now.Add(time.Minute)
	probe("/health") // quiet for a while: logged at once, nothing suppressed
	if got := logs.find(t, msg); len(got) != 3 || got[2]["suppressed"] != nil {
		t.Fatalf("after a quiet minute: %v, want a third line without suppressed", got)
	}
}

// A scan of many paths keeps a bounded memory: past maxMissPaths the new
// ones share one budget, and it is still logged.
func TestMissesBounded(t *testing.T) {
	s, logs := newTest(t, map[string]string{})
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	s.misses.now = func() time.Time { return now }
	for i := 0; i < maxMissPaths+50; i++ {
		get(t, s.Handler(), "GET", "/scan/"+strconv.Itoa(i))
	}
	s.misses.mu.Lock()
	n := len(s.misses.paths)
	s.misses.mu.Unlock()
	if n > maxMissPaths+1 {
		t.Errorf("%d paths remembered, want at most %d", n, maxMissPaths+1)
	}
	warns := 0
	for _, l := range logs.lines(t) {
		if l["level"] == "WARN" {
			warns++
		}
	}
	if warns != maxMissPaths+1 {
		t.Errorf("%d lines for %d paths, want %d (each remembered path once, then the shared bucket once)", warns, maxMissPaths+50, maxMissPaths+1)
	}
	now = now.Add(missEvery)
	get(t, s.Handler(), "GET", "/scan/new")
	if got := logs.find(t, "no route /scan/new"); len(got) != 1 {
		t.Errorf("a new path once old ones expired: %v, want it logged under its own name", got)
	}
}

// The process logs a wrong liveness path on stdout without LOG_REQUESTS,
// so the container log after a restart says why.
func TestProcessLogsMissWithoutLogRequests(t *testing.T) {
	t.Parallel()
	p := startServe(t, map[string]string{})
	resp, err := http.Get(p.url() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	l := p.waitLog("no route /health: this server's health check is /healthz (readiness: /readyz)", 30*time.Second)
	if l["level"] != "WARN" || l["code"] != float64(404) {
		t.Errorf("record %v, want WARN code 404", l)
	}
	p.signal(syscall.SIGTERM)
	if code := p.exitCode(30 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
}
