package server

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The exact bodies of run.py, newline included: the seed's
// `while true; do curl .../healthz; sleep 1; done` prints one per line.
const (
	bodyOK    = "{ \"status\": \"ok\" }\n"
	bodyError = "{ \"status\": \"error\" }\n"
)

// ReasonHeader carries why a health answer failed, for people and dashboards;
// the body stays the original's exact text.
const ReasonHeader = "X-Proberctl-Reason"

// maxDelay caps /delay so a typo cannot hold a connection for a day.
const maxDelay = 10 * time.Minute

// methodOnly lists the routes that answer a single method, for notFound's 405.
var methodOnly = map[string]string{
	"/healthz":         http.MethodGet,
	"/readyz":          http.MethodGet,
	"/resolve":         http.MethodGet,
	"/info":            http.MethodGet,
	"/metrics":         http.MethodGet,
	"/healthz/fail":    http.MethodPost,
	"/healthz/recover": http.MethodPost,
	"/readyz/disable":  http.MethodPost,
	"/readyz/enable":   http.MethodPost,
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern, route string, h http.HandlerFunc) {
		mux.Handle(pattern, s.instrument(route, h))
	}
	handle("GET /{$}", "/", s.root)
	handle("/", "other", s.notFound)
	handle("GET /healthz", "/healthz", s.healthz)
	handle("GET /readyz", "/readyz", s.readyz)
	handle("/crash", "/crash", s.crash)
	handle("GET /resolve", "/resolve", s.resolve)
	handle("GET /info", "/info", s.info)
	handle("GET /metrics", "/metrics", s.metrics.handler.ServeHTTP)
	handle("/delay", "/delay", s.delay)
	handle("/status/{code}", "/status/{code}", s.status)
	handle("POST /healthz/fail", "/healthz/fail", s.healthzFail)
	handle("POST /healthz/recover", "/healthz/recover", s.healthzRecover)
	handle("POST /readyz/disable", "/readyz/disable", s.readyzDisable)
	handle("POST /readyz/enable", "/readyz/enable", s.readyzEnable)
	return mux
}

// statusWriter records the status code for the request counter. Unwrap lets
// http.ResponseController reach the connection (for /crash's hijack).
type statusWriter struct {
	http.ResponseWriter
	code     int
	hijacked bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// WriteString keeps io.WriteString from copying constant bodies to []byte.
func (w *statusWriter) WriteString(s string) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return io.WriteString(w.ResponseWriter, s)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writers recycles statusWriters: one per request is the hot path's only
// allocation otherwise. Handlers never keep w after returning.
var writers = sync.Pool{New: func() any { return new(statusWriter) }}

// instrument counts each request by route and code, and logs it when
// LOG_REQUESTS is on. A hijacked /crash has no code and is not counted here:
// crashes have their own counter.
func (s *Server) instrument(route string, h http.HandlerFunc) http.Handler {
	rc := s.metrics.route(route)
	logRequests := s.cfg.LogRequests
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var start time.Time
		if logRequests {
			start = time.Now()
		}
		sw := writers.Get().(*statusWriter)
		*sw = statusWriter{ResponseWriter: w}
		h(sw, r)
		code, hijacked := sw.code, sw.hijacked
		*sw = statusWriter{}
		writers.Put(sw)
		if hijacked {
			return
		}
		if code == 0 {
			code = http.StatusOK
		}
		rc.inc(code)
		if logRequests {
			s.log.Info("request", "method", r.Method, "path", r.URL.Path, "code", code,
				"remote", r.RemoteAddr, "duration_ms", float64(time.Since(start).Microseconds())/1000)
		}
	})
}

// Header values shared by every response: net/http never modifies them,
// and not allocating them per request keeps /healthz cheap.
var (
	textType  = []string{"text/plain; charset=utf-8"}
	jsonType  = []string{"application/json"}
	okLength  = []string{strconv.Itoa(len(bodyOK))}
	errLength = []string{strconv.Itoa(len(bodyError))}
)

func writeText(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	h["Content-Type"] = textType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// writeJSONText writes a JSON body given as text; setting the header map
// directly skips canonicalisation on the hot path.
func writeJSONText(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	h["Content-Type"] = jsonType
	switch body {
	case bodyOK:
		h["Content-Length"] = okLength
	case bodyError:
		h["Content-Length"] = errLength
	default:
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	w.WriteHeader(code)
	io.WriteString(w, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeText(w, http.StatusInternalServerError, "encode JSON: "+err.Error()+"\n")
		return
	}
	writeJSONText(w, code, string(b)+"\n")
}

// badRequest answers 400 with what was wrong and what is accepted.
func badRequest(w http.ResponseWriter, format string, a ...any) {
	writeText(w, http.StatusBadRequest, fmt.Sprintf(format, a...)+"\n")
}

// root is GET /: CONTENT and a newline, or run.py's two identity lines.
func (s *Server) root(w http.ResponseWriter, r *http.Request) {
	if s.cfg.ContentSet {
		writeText(w, http.StatusOK, s.cfg.Content+"\n")
		return
	}
	writeText(w, http.StatusOK, s.identityLines())
}

func (s *Server) identityLines() string {
	return "Hostname = " + s.cfg.Hostname + "\nIp Address = " + s.ip + "\n"
}

// notFound keeps run.py's text for unknown paths and logs the miss (see
// misses.go). It answers what no route matches. A path that exists under another
// method gets 405 with Allow, so a forgotten "curl -X POST" is told what to
// do rather than that the route does not exist. (The "/" catch-all would
// otherwise hide the 405 the mux gives for method-only mismatches.)
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if allow, ok := methodOnly[r.URL.Path]; ok && r.Method != allow {
		w.Header().Set("Allow", allow)
		writeText(w, http.StatusMethodNotAllowed, "Method Not Allowed: "+r.URL.Path+" takes "+allow+"\n")
		s.misses.record(r, http.StatusMethodNotAllowed, allow)
		return
	}
	writeText(w, http.StatusNotFound, "File Not Found "+r.URL.RequestURI()+"\n")
	s.misses.record(r, http.StatusNotFound, "")
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.answerCheck(w, r, s.live.check(time.Now()), "healthz failing", http.StatusInternalServerError,
		s.metrics.healthzOK, s.metrics.healthzError)
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	s.answerCheck(w, r, s.ready.check(), "readyz failing", http.StatusServiceUnavailable,
		s.metrics.readyzOK, s.metrics.readyzError)
}

// answerCheck gives a liveness or readiness verdict the original's bodies,
// counts it, and for a failure logs the reason and puts it in ReasonHeader.
func (s *Server) answerCheck(w http.ResponseWriter, r *http.Request, v verdict, failMsg string, failCode int, ok, failed prometheus.Counter) {
	if v.ok {
		ok.Inc()
		writeJSONText(w, http.StatusOK, bodyOK)
		return
	}
	failed.Inc()
	s.log.Warn(failMsg, "code", failCode, "reason", v.reason, "remote", r.RemoteAddr)
	w.Header().Set(ReasonHeader, v.reason)
	writeJSONText(w, failCode, bodyError)
}

// crash closes the connection without a reply (curl: "Empty reply from
// server", as with the original) and makes Run return the exit code.
func (s *Server) crash(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		writeText(w, http.StatusMethodNotAllowed, "use GET /crash or POST /crash\n")
		s.misses.record(r, http.StatusMethodNotAllowed, "GET or POST")
		return
	}
	code := s.cfg.CrashExitCode
	if raw, ok := queryValue(r, "code"); ok {
		n, err := ParseExitCode(raw)
		if err != nil {
			badRequest(w, "code=%q: %v", raw, err)
			return
		}
		code = n
	}
	reason := fmt.Sprintf("%s %s from %s", r.Method, trimQuery(r.URL.RequestURI()), r.RemoteAddr)
	s.metrics.crashes.WithLabelValues("request").Inc()
	s.log.Error("crashing on request", "reason", reason, "exit_code", code)

	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		if sw, ok := w.(*statusWriter); ok {
			sw.hijacked = true
		}
		// Close, not a reply: the client sees the connection end, which is
		// what a crashing process does to it.
		conn.Close()
	}
	s.scheduleCrash(&ExitError{Code: code, Reason: reason})
	if err != nil {
		// No hijack (HTTP/2): abort the stream without a response.
		panic(http.ErrAbortHandler)
	}
}

// queryValue returns the first value of key and whether it was present.
func queryValue(r *http.Request, key string) (string, bool) {
	vs, ok := r.URL.Query()[key]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// ParseExitCode parses /crash?code=N.
func ParseExitCode(raw string) (int, error) {
	return parseInt(raw, 0, 255, "an exit code from 0 to 255")
}

// ParseDelay parses /delay?seconds=N.
func ParseDelay(raw string) (time.Duration, error) {
	// The route's own cap goes to the parser, so a huge value is told the
	// limit that applies here, not the knobs' day-long one.
	return parseSeconds(raw, maxDelay.Seconds())
}

// ParseStatus parses /status/{code}: final status codes only, since 1xx are
// not answers a handler can give.
func ParseStatus(raw string) (int, error) {
	return parseInt(raw, 200, 599, "a status code from 200 to 599")
}

// ParseChecks parses POST /healthz/fail?checks=N.
func ParseChecks(raw string) (int, error) {
	return parseInt(raw, 0, math.MaxInt32, "a whole number of checks, 0 (until recovered) or more")
}

// delay answers after the given time, to trip a probe's timeoutSeconds. A
// client that gives up ends the wait.
func (s *Server) delay(w http.ResponseWriter, r *http.Request) {
	raw, ok := queryValue(r, "seconds")
	if !ok {
		badRequest(w, "missing seconds: use /delay?seconds=N (0 to %d, decimals allowed)", int(maxDelay.Seconds()))
		return
	}
	d, err := ParseDelay(raw)
	if err != nil {
		badRequest(w, "seconds=%q: %v", raw, err)
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		writeJSON(w, http.StatusOK, map[string]any{"delayed_seconds": d.Seconds()})
	case <-r.Context().Done():
	}
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("code")
	code, err := ParseStatus(raw)
	if err != nil {
		badRequest(w, "/status/%s: %v", raw, err)
		return
	}
	writeText(w, code, fmt.Sprintf("%d %s\n", code, http.StatusText(code)))
}

func (s *Server) healthzFail(w http.ResponseWriter, r *http.Request) {
	n := 0
	if raw, ok := queryValue(r, "checks"); ok {
		var err error
		if n, err = ParseChecks(raw); err != nil {
			badRequest(w, "checks=%q: %v", raw, err)
			return
		}
	}
	cause := "POST /healthz/fail from " + r.RemoteAddr
	s.live.fail(n, cause)
	s.log.Warn("healthz set to fail", "reason", cause, "checks", n)
	s.controlAnswer(w)
}

func (s *Server) healthzRecover(w http.ResponseWriter, r *http.Request) {
	s.live.recover()
	s.log.Info("healthz recovered", "reason", "POST /healthz/recover from "+r.RemoteAddr)
	s.controlAnswer(w)
}

func (s *Server) readyzDisable(w http.ResponseWriter, r *http.Request) {
	s.ready.setDisabled(true)
	s.log.Warn("readyz disabled", "reason", "POST /readyz/disable from "+r.RemoteAddr)
	s.controlAnswer(w)
}

func (s *Server) readyzEnable(w http.ResponseWriter, r *http.Request) {
	s.ready.setDisabled(false)
	s.log.Info("readyz enabled", "reason", "POST /readyz/enable from "+r.RemoteAddr)
	s.controlAnswer(w)
}

// controlState is what the control routes answer and /info shows.
type controlState struct {
	Healthz       string `json:"healthz"`                  // "ok" or "failing"
	HealthzReason string `json:"healthz_reason,omitempty"` // what made it fail
	// FailuresLeft counts the failures left in the streak; -1 until
	// POST /healthz/recover.
	FailuresLeft int    `json:"failures_left,omitempty"`
	Readyz       string `json:"readyz"` // "enabled", "disabled" or "shutting down"
}

func (s *Server) control() controlState {
	failing, left, cause := s.live.state()
	c := controlState{Healthz: "ok", Readyz: s.ready.state()}
	if failing {
		c.Healthz, c.HealthzReason, c.FailuresLeft = "failing", cause, left
	}
	return c
}

func (s *Server) controlAnswer(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, s.control())
}

// Info is the body of GET /info.
type Info struct {
	Hostname      string            `json:"hostname"`
	IP            string            `json:"ip"`
	PodIP         string            `json:"pod_ip,omitempty"`
	Addresses     []string          `json:"addresses"`
	Listen        string            `json:"listen"`
	Version       string            `json:"version"`
	StartTime     time.Time         `json:"start_time"`
	UptimeSeconds float64           `json:"uptime_seconds"`
	RandomSeed    uint64            `json:"random_seed"`
	GOMAXPROCS    int               `json:"gomaxprocs"`
	Knobs         map[string]string `json:"knobs"`
	State         controlState      `json:"state"`
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	listen := s.listenAddr
	s.mu.Unlock()
	addrs := s.addrs
	if addrs == nil {
		addrs = []string{}
	}
	writeJSON(w, http.StatusOK, Info{
		Hostname:      s.cfg.Hostname,
		IP:            s.ip,
		PodIP:         s.cfg.PodIP,
		Addresses:     addrs,
		Listen:        listen,
		Version:       s.cfg.Version,
		StartTime:     s.start.UTC(),
		UptimeSeconds: math.Round(time.Since(s.start).Seconds()*1000) / 1000,
		RandomSeed:    s.seed,
		GOMAXPROCS:    runtime.GOMAXPROCS(0),
		Knobs:         s.cfg.Knobs,
		State:         s.control(),
	})
}

// trimQuery keeps logs readable when a query is huge.
func trimQuery(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
