package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/proberctl/proberctl/internal/syncbuf"
)

// logBuffer collects the server's JSON log lines.
type logBuffer struct{ syncbuf.Buffer }

// lines returns every log record, failing the test on a line that is not JSON.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// find returns the log records with the given message.
func (b *logBuffer) find(t *testing.T, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range b.lines(t) {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// newTest builds a server from environment variables, as the command does,
// logging into a buffer the test can read.
func newTest(t *testing.T, env map[string]string) (*Server, *logBuffer) {
	t.Helper()
	if _, ok := env["HOSTNAME"]; !ok {
		env["HOSTNAME"] = "test-pod"
	}
	cfg, err := Load(nil, envOf(env))
	if err != nil {
		t.Fatalf("Load(%v): %v", env, err)
	}
	cfg.Version = "v9.9.9-test"
	logs := &logBuffer{}
	s := New(cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	// No test leaves loopback: names other than localhost do not resolve.
	s.lookup = func(ctx context.Context, host string) (string, error) {
		if host == "localhost" || net.ParseIP(host) != nil {
			return lookup(ctx, host)
		}
		return "", &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return s, logs
}

func get(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestRoot(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"content", map[string]string{"CONTENT": `{ "team": "foo", "version": "1.0.1" }`}, "{ \"team\": \"foo\", \"version\": \"1.0.1\" }\n"},
		{"empty content is an empty line", map[string]string{"CONTENT": ""}, "\n"},
		{"unset names the pod", map[string]string{"HOSTNAME": "prober-foo-67b66bdbf7-4bxjb", "POD_IP": "10.44.0.3"},
			"Hostname = prober-foo-67b66bdbf7-4bxjb\nIp Address = 10.44.0.3\n"},
		{"IP_ADDRESS as the original", map[string]string{"HOSTNAME": "h", "IP_ADDRESS": "10.0.0.9"}, "Hostname = h\nIp Address = 10.0.0.9\n"},
		{"POD_IP wins over IP_ADDRESS", map[string]string{"HOSTNAME": "h", "IP_ADDRESS": "10.0.0.9", "POD_IP": "10.0.0.1"}, "Hostname = h\nIp Address = 10.0.0.1\n"},
		// Bound to one IP, that is the address it is reached on, whatever
		// the interfaces are.
		{"BIND_ADDRESS names the server", map[string]string{"HOSTNAME": "h", "BIND_ADDRESS": "127.0.0.5"}, "Hostname = h\nIp Address = 127.0.0.5\n"},
		{"BIND_ADDRESS IPv6", map[string]string{"HOSTNAME": "h", "BIND_ADDRESS": "::1"}, "Hostname = h\nIp Address = ::1\n"},
		{"POD_IP wins over BIND_ADDRESS", map[string]string{"HOSTNAME": "h", "BIND_ADDRESS": "127.0.0.5", "POD_IP": "10.0.0.1"}, "Hostname = h\nIp Address = 10.0.0.1\n"},
		{"IP_ADDRESS wins over BIND_ADDRESS", map[string]string{"HOSTNAME": "h", "BIND_ADDRESS": "127.0.0.5", "IP_ADDRESS": "10.0.0.9"}, "Hostname = h\nIp Address = 10.0.0.9\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTest(t, tc.env)
			rec := get(t, s.Handler(), "GET", "/")
			if rec.Code != 200 || rec.Body.String() != tc.want {
				t.Fatalf("GET / = %d %q, want 200 %q", rec.Code, rec.Body.String(), tc.want)
			}
		})
	}
}

func TestRootWithoutPodIPUsesAnInterface(t *testing.T) {
	s, _ := newTest(t, map[string]string{"HOSTNAME": "h"})
	body := get(t, s.Handler(), "GET", "/").Body.String()
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if len(lines) != 2 || lines[0] != "Hostname = h" || !strings.HasPrefix(lines[1], "Ip Address = ") {
		t.Fatalf("GET / = %q, want the two identity lines", body)
	}
	if ip := strings.TrimPrefix(lines[1], "Ip Address = "); net.ParseIP(ip) == nil {
		t.Fatalf("Ip Address %q is not an IP", ip)
	}
}

func TestNotFound(t *testing.T) {
	s, _ := newTest(t, map[string]string{})
	for _, target := range []string{"/nope", "/healthz/x?y=1", "/crash/now"} {
		rec := get(t, s.Handler(), "GET", target)
		if want := "File Not Found " + target + "\n"; rec.Code != 404 || rec.Body.String() != want {
			t.Errorf("GET %s = %d %q, want 404 %q", target, rec.Code, rec.Body.String(), want)
		}
	}
}

// A route that exists under another method says which, instead of 404.
func TestWrongMethod(t *testing.T) {
	s, _ := newTest(t, map[string]string{})
	for _, tc := range []struct{ method, target, allow string }{
		{"GET", "/healthz/fail", "POST"},
		{"GET", "/readyz/disable", "POST"},
		{"POST", "/healthz", "GET"},
		{"DELETE", "/info", "GET"},
	} {
		rec := get(t, s.Handler(), tc.method, tc.target)
		if rec.Code != 405 || rec.Header().Get("Allow") != tc.allow || !strings.Contains(rec.Body.String(), "takes "+tc.allow) {
			t.Errorf("%s %s = %d Allow %q %q, want 405 Allow %s", tc.method, tc.target, rec.Code, rec.Header().Get("Allow"), rec.Body.String(), tc.allow)
		}
	}
}

func TestHealthz(t *testing.T) {
	for _, tc := range []struct {
		factor   string
		wantCode int
		wantBody string
	}{
		{"0", 200, "{ \"status\": \"ok\" }\n"},
		{"100", 500, "{ \"status\": \"error\" }\n"},
	} {
		t.Run("HEALTH_STATUS_FACTOR="+tc.factor, func(t *testing.T) {
			s, logs := newTest(t, map[string]string{"HEALTH_STATUS_FACTOR": tc.factor})
			for i := 0; i < 50; i++ {
				rec := get(t, s.Handler(), "GET", "/healthz")
				if rec.Code != tc.wantCode || rec.Body.String() != tc.wantBody {
					t.Fatalf("GET /healthz = %d %q, want %d %q", rec.Code, rec.Body.String(), tc.wantCode, tc.wantBody)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Fatalf("Content-Type = %q, want application/json", ct)
				}
				if tc.wantCode != 200 && !strings.Contains(rec.Header().Get(ReasonHeader), "HEALTH_STATUS_FACTOR=100") {
					t.Fatalf("%s = %q, want the factor named", ReasonHeader, rec.Header().Get(ReasonHeader))
				}
			}
			failed := logs.find(t, "healthz failing")
			if tc.wantCode == 200 && len(failed) != 0 || tc.wantCode != 200 && len(failed) != 50 {
				t.Fatalf("%d 'healthz failing' log lines, want one per failure", len(failed))
			}
			for _, l := range failed {
				if !strings.HasPrefix(l["reason"].(string), "HEALTH_STATUS_FACTOR=100 rolled ") {
					t.Fatalf("reason %q does not say why", l["reason"])
				}
			}
		})
	}
}

// codes fires n requests and returns their status codes.
func codes(t *testing.T, h http.Handler, method, target string, n int) []int {
	t.Helper()
	out := make([]int, n)
	for i := range out {
		out[i] = get(t, h, method, target).Code
	}
	return out
}

func TestHealthzFailAfterAndChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []int
	}{
		// 1ns is always over by the first check: the streak starts at once.
		{"three checks then recovers", map[string]string{"HEALTH_FAIL_AFTER_SECS": "0.000000001", "HEALTH_FAIL_CHECKS": "3"},
			[]int{500, 500, 500, 200, 200, 200}},
		{"until recovered", map[string]string{"HEALTH_FAIL_AFTER_SECS": "0.000000001"},
			[]int{500, 500, 500, 500, 500, 500}},
		{"not yet", map[string]string{"HEALTH_FAIL_AFTER_SECS": "3600", "HEALTH_FAIL_CHECKS": "3"},
			[]int{200, 200, 200, 200, 200, 200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, logs := newTest(t, tc.env)
			got := codes(t, s.Handler(), "GET", "/healthz", len(tc.want))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("codes = %v, want %v", got, tc.want)
			}
			for _, l := range logs.find(t, "healthz failing") {
				if !strings.Contains(l["reason"].(string), "HEALTH_FAIL_AFTER_SECS=1e-09 reached") {
					t.Fatalf("reason %q does not name the knob", l["reason"])
				}
			}
		})
	}
}

func TestLivenessClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &liveness{failAfter: 10 * time.Second, failChecks: 2, start: start, dice: newDice(1, streamHealth)}
	for i, tc := range []struct {
		at time.Duration
		ok bool
	}{
		{0, true}, {9 * time.Second, true}, {10 * time.Second, false}, {11 * time.Second, false},
		{12 * time.Second, true}, {time.Hour, true},
	} {
		if v := l.check(start.Add(tc.at)); v.ok != tc.ok {
			t.Fatalf("check %d at %v: ok=%v (%s), want %v", i, tc.at, v.ok, v.reason, tc.ok)
		}
	}
}

func post(t *testing.T, h http.Handler, target string, wantCode int) string {
	t.Helper()
	rec := get(t, h, "POST", target)
	if rec.Code != wantCode {
		t.Fatalf("POST %s = %d %q, want %d", target, rec.Code, rec.Body.String(), wantCode)
	}
	return rec.Body.String()
}

func TestHealthzControl(t *testing.T) {
	s, logs := newTest(t, map[string]string{})
	h := s.Handler()
	body := post(t, h, "/healthz/fail?checks=2", 200)
	var st controlState
	if err := json.Unmarshal([]byte(body), &st); err != nil || st.Healthz != "failing" || st.FailuresLeft != 2 {
		t.Fatalf("POST /healthz/fail answered %q (%v), want failing with 2 left", body, err)
	}
	if got := codes(t, h, "GET", "/healthz", 4); fmt.Sprint(got) != "[500 500 200 200]" {
		t.Fatalf("after fail?checks=2: %v", got)
	}
	post(t, h, "/healthz/fail", 200)
	if got := codes(t, h, "GET", "/healthz", 3); fmt.Sprint(got) != "[500 500 500]" {
		t.Fatalf("after fail: %v", got)
	}
	if got := get(t, h, "GET", "/healthz").Header().Get(ReasonHeader); !strings.HasPrefix(got, "POST /healthz/fail from ") {
		t.Fatalf("reason %q", got)
	}
	post(t, h, "/healthz/recover", 200)
	if got := codes(t, h, "GET", "/healthz", 2); fmt.Sprint(got) != "[200 200]" {
		t.Fatalf("after recover: %v", got)
	}
	if len(logs.find(t, "healthz set to fail")) != 2 || len(logs.find(t, "healthz recovered")) != 1 {
		t.Fatalf("control decisions not logged: %v", logs.lines(t))
	}
	for _, bad := range []string{"-1", "abc", "1.5", "99999999999"} {
		body := post(t, h, "/healthz/fail?checks="+bad, 400)
		if !strings.Contains(body, "want a whole number of checks") {
			t.Errorf("checks=%s: body %q does not say what is accepted", bad, body)
		}
	}
	if rec := get(t, h, "GET", "/healthz/fail"); rec.Code == 200 {
		t.Fatalf("GET /healthz/fail = 200, want it refused (POST only)")
	}
}

func TestReadyz(t *testing.T) {
	s, logs := newTest(t, map[string]string{})
	h := s.Handler()
	if rec := get(t, h, "GET", "/readyz"); rec.Code != 200 || rec.Body.String() != bodyOK {
		t.Fatalf("GET /readyz = %d %q", rec.Code, rec.Body.String())
	}
	post(t, h, "/readyz/disable", 200)
	rec := get(t, h, "GET", "/readyz")
	if rec.Code != 503 || rec.Body.String() != bodyError || rec.Header().Get(ReasonHeader) != "disabled by POST /readyz/disable" {
		t.Fatalf("disabled: GET /readyz = %d %q %q", rec.Code, rec.Body.String(), rec.Header().Get(ReasonHeader))
	}
	if rec := get(t, h, "GET", "/healthz"); rec.Code != 200 {
		t.Fatalf("readiness off changed liveness: %d", rec.Code)
	}
	post(t, h, "/readyz/enable", 200)
	if rec := get(t, h, "GET", "/readyz"); rec.Code != 200 {
		t.Fatalf("enabled: GET /readyz = %d", rec.Code)
	}
	if len(logs.find(t, "readyz failing")) != 1 {
		t.Fatalf("readiness failure not logged once")
	}

	s, _ = newTest(t, map[string]string{"READY_STATUS_FACTOR": "100", "HEALTH_STATUS_FACTOR": "0"})
	if got := codes(t, s.Handler(), "GET", "/readyz", 3); fmt.Sprint(got) != "[503 503 503]" {
		t.Fatalf("READY_STATUS_FACTOR=100: %v", got)
	}
	if got := codes(t, s.Handler(), "GET", "/healthz", 3); fmt.Sprint(got) != "[200 200 200]" {
		t.Fatalf("READY_STATUS_FACTOR leaked into /healthz: %v", got)
	}
}

// TestSeedRepeats: the same RANDOM_SEED gives the same answers.
func TestSeedRepeats(t *testing.T) {
	run := func(seed string) string {
		s, _ := newTest(t, map[string]string{"RANDOM_SEED": seed, "HEALTH_STATUS_FACTOR": "40", "READY_STATUS_FACTOR": "50"})
		return fmt.Sprint(codes(t, s.Handler(), "GET", "/healthz", 40), codes(t, s.Handler(), "GET", "/readyz", 40))
	}
	a, b, c := run("42"), run("42"), run("43")
	if a != b {
		t.Fatalf("seed 42 gave two sequences:\n%s\n%s", a, b)
	}
	if a == c {
		t.Fatalf("seeds 42 and 43 gave the same 80 answers: %s", a)
	}
}

func TestCrashOnStart(t *testing.T) {
	for _, tc := range []struct {
		factor, code string
		crash        bool
	}{
		{"100", "1", true}, {"100", "0", true}, {"100", "42", true}, {"0", "1", false},
	} {
		for seed := 0; seed < 20; seed++ {
			s, logs := newTest(t, map[string]string{"CRASH_FACTOR": tc.factor, "CRASH_EXIT_CODE": tc.code, "RANDOM_SEED": fmt.Sprint(seed)})
			e := s.crashOnStart()
			if (e != nil) != tc.crash {
				t.Fatalf("CRASH_FACTOR=%s seed %d: crash=%v, want %v", tc.factor, seed, e != nil, tc.crash)
			}
			if e != nil {
				if fmt.Sprint(e.Code) != tc.code {
					t.Fatalf("exit code %d, want %s", e.Code, tc.code)
				}
				if l := logs.find(t, "crashing on start"); len(l) != 1 || !strings.HasPrefix(l[0]["reason"].(string), "CRASH_FACTOR=100 rolled ") {
					t.Fatalf("crash not logged with its reason: %v", logs.lines(t))
				}
			}
		}
	}
	// The roll is run.py's: crash when factor > randint(0,99). Over many
	// seeds, CRASH_FACTOR=40 crashes about 40% of the time and both outcomes
	// are logged.
	crashed := 0
	const n = 2000
	for seed := 0; seed < n; seed++ {
		s, logs := newTest(t, map[string]string{"CRASH_FACTOR": "40", "RANDOM_SEED": fmt.Sprint(seed)})
		if s.crashOnStart() != nil {
			crashed++
		} else if len(logs.find(t, "not crashing on start")) != 1 {
			t.Fatal("a roll that did not crash was not logged")
		}
	}
	// Binomial(2000, 0.4): mean 800, sd 21.9; 5 sd either side.
	if crashed < 690 || crashed > 910 {
		t.Fatalf("CRASH_FACTOR=40 crashed %d of %d starts, want about 800", crashed, n)
	}
}

// serveHTTP runs the handler on a real loopback listener (hijacking needs a
// real connection).
func serveHTTP(t *testing.T, s *Server) string {
	t.Helper()
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestCrashRoute(t *testing.T) {
	for _, tc := range []struct {
		env    map[string]string
		target string
		want   int
	}{
		{map[string]string{}, "/crash", 1},
		{map[string]string{"CRASH_EXIT_CODE": "0"}, "/crash", 0},
		{map[string]string{}, "/crash?code=7", 7},
		{map[string]string{"CRASH_EXIT_CODE": "3"}, "/crash?code=0", 0},
	} {
		t.Run(tc.target, func(t *testing.T) {
			s, logs := newTest(t, tc.env)
			url := serveHTTP(t, s)
			resp, err := http.Get(url + tc.target)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("GET %s answered %d, want the connection closed with no reply", tc.target, resp.StatusCode)
			}
			if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("GET %s: %v, want an empty reply (EOF)", tc.target, err)
			}
			select {
			case e := <-s.Crashed():
				if e.Code != tc.want {
					t.Fatalf("exit code %d, want %d", e.Code, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no crash scheduled")
			}
			if l := logs.find(t, "crashing on request"); len(l) != 1 || !strings.HasPrefix(l[0]["reason"].(string), "GET /crash") {
				t.Fatalf("crash not logged with its reason: %v", logs.lines(t))
			}
			m := get(t, s.Handler(), "GET", "/metrics").Body.String()
			if !strings.Contains(m, `proberctl_crashes_scheduled_total{reason="request"} 1`) {
				t.Fatalf("crash not counted:\n%s", m)
			}
		})
	}
}

func TestCrashBadInput(t *testing.T) {
	s, _ := newTest(t, map[string]string{})
	for _, q := range []string{"code=256", "code=-1", "code=abc", "code=", "code=1e2"} {
		rec := get(t, s.Handler(), "GET", "/crash?"+q)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "want an exit code from 0 to 255") {
			t.Errorf("GET /crash?%s = %d %q, want 400 saying what is accepted", q, rec.Code, rec.Body.String())
		}
	}
	if rec := get(t, s.Handler(), "PUT", "/crash"); rec.Code != 405 {
		t.Errorf("PUT /crash = %d, want 405", rec.Code)
	}
	select {
	case e := <-s.Crashed():
		t.Fatalf("bad input crashed the server: %v", e)
	default:
	}
}

func TestDelay(t *testing.T) {
	s, _ := newTest(t, map[string]string{})
	rec := get(t, s.Handler(), "GET", "/delay?seconds=0.01")
	if rec.Code != 200 || rec.Body.String() != "{\n  \"delayed_seconds\": 0.01\n}\n" {
		t.Fatalf("GET /delay?seconds=0.01 = %d %q", rec.Code, rec.Body.String())
	}
	for _, q := range []string{"", "?seconds=", "?seconds=abc", "?seconds=-1", "?seconds=601", "?seconds=NaN", "?seconds=Inf", "?seconds=0x10"} {
		rec := get(t, s.Handler(), "GET", "/delay"+q)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "seconds") {
			t.Errorf("GET /delay%s = %d %q, want 400", q, rec.Code, rec.Body.String())
		}
	}
	// Any value over the route's cap is told the route's cap.
	for _, q := range []string{"?seconds=601", "?seconds=1e12"} {
		if rec := get(t, s.Handler(), "GET", "/delay"+q); !strings.Contains(rec.Body.String(), "at most 600 seconds") {
			t.Errorf("GET /delay%s = %q, want it to name the 600 s cap", q, rec.Body.String())
		}
	}
	// A client that gives up ends the wait.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/delay?seconds=600", nil).WithContext(ctx))
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("/delay kept waiting after the client went away")
	}
}

func TestStatus(t *testing.T) {
	s, _ := newTest(t, map[string]string{})
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/status/200", 200, "200 OK\n"},
		{"/status/418", 418, "418 I'm a teapot\n"},
		{"/status/503", 503, "503 Service Unavailable\n"},
		{"/status/599", 599, "599 \n"},
		{"/status/199", 400, "/status/199: want a status code from 200 to 599\n"},
		{"/status/600", 400, "/status/600: want a status code from 200 to 599\n"},
		{"/status/abc", 400, "/status/abc: want a status code from 200 to 599\n"},
	} {
		rec := get(t, s.Handler(), "GET", tc.path)
		if rec.Code != tc.code || rec.Body.String() != tc.body {
			t.Errorf("GET %s = %d %q, want %d %q", tc.path, rec.Code, rec.Body.String(), tc.code, tc.body)
		}
	}
}

func TestInfo(t *testing.T) {
	s, _ := newTest(t, map[string]string{"HOSTNAME": "pod-x", "POD_IP": "10.1.2.3", "CRASH_FACTOR": "40", "RANDOM_SEED": "5"})
	rec := get(t, s.Handler(), "GET", "/info")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /info = %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var info Info
	if err := json.Unmarshal(rec.Body.Bytes(), &info); err != nil {
		t.Fatalf("GET /info is not JSON: %v\n%s", err, rec.Body.String())
	}
	switch {
	case info.Hostname != "pod-x", info.PodIP != "10.1.2.3", info.IP != "10.1.2.3":
		t.Errorf("identity = %q %q %q", info.Hostname, info.PodIP, info.IP)
	case info.Version != "v9.9.9-test":
		t.Errorf("version = %q", info.Version)
	case info.RandomSeed != 5:
		t.Errorf("random_seed = %d", info.RandomSeed)
	case info.Knobs["CRASH_FACTOR"] != "40", info.Knobs["PORT"] != "8080", info.Knobs["CRASH_EXIT_CODE"] != "1":
		t.Errorf("knobs = %v", info.Knobs)
	case info.StartTime.IsZero(), info.StartTime.After(time.Now()), info.UptimeSeconds < 0:
		t.Errorf("start %v uptime %v", info.StartTime, info.UptimeSeconds)
	case len(info.Addresses) == 0:
		t.Errorf("no interface addresses")
	case info.State.Healthz != "ok", info.State.Readyz != "enabled":
		t.Errorf("state = %+v", info.State)
	}
}

func TestMetrics(t *testing.T) {
	s, _ := newTest(t, map[string]string{"HEALTH_STATUS_FACTOR": "100"})
	h := s.Handler()
	codes(t, h, "GET", "/healthz", 3)
	codes(t, h, "GET", "/readyz", 2)
	codes(t, h, "GET", "/status/418", 1)
	codes(t, h, "GET", "/nope", 1)
	rec := get(t, h, "GET", "/metrics")
	if rec.Code != 200 {
		t.Fatalf("GET /metrics = %d", rec.Code)
	}
	m := rec.Body.String()
	for _, want := range []string{
		`proberctl_http_requests_total{code="500",route="/healthz"} 3`,
		`proberctl_http_requests_total{code="200",route="/readyz"} 2`,
		`proberctl_http_requests_total{code="418",route="/status/{code}"} 1`,
		`proberctl_http_requests_total{code="404",route="other"} 1`,
		`proberctl_health_checks_total{probe="healthz",result="error"} 3`,
		`proberctl_health_checks_total{probe="healthz",result="ok"} 0`,
		`proberctl_health_checks_total{probe="readyz",result="ok"} 2`,
		`proberctl_crashes_scheduled_total{reason="start"} 0`,
		`proberctl_build_info{version="v9.9.9-test"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(m)
	}
}

func TestLogRequests(t *testing.T) {
	for _, on := range []string{"true", "false"} {
		s, logs := newTest(t, map[string]string{"LOG_REQUESTS": on})
		get(t, s.Handler(), "GET", "/status/204")
		got := logs.find(t, "request")
		if on == "false" && len(got) != 0 || on == "true" && (len(got) != 1 || got[0]["code"] != 204.0 || got[0]["path"] != "/status/204") {
			t.Fatalf("LOG_REQUESTS=%s logged %v", on, got)
		}
	}
}

// TestGracefulShutdown runs Serve in-process: while draining, /readyz
// answers 503 and /healthz 200, and Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	s, logs := newTest(t, map[string]string{"DRAIN_DELAY_SECS": "600", "SHUTDOWN_TIMEOUT_SECS": "5"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	if resp, err := http.Get(url + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("before SIGTERM: /readyz %v %v", resp, err)
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz never turned 503 after the signal")
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("while draining: /healthz %v %v, want 200", resp, err)
	}
	resp.Body.Close()
	if len(logs.find(t, "signal received: readyz now answers 503, healthz unchanged")) != 1 {
		t.Fatal("drain not logged")
	}
	// A crash while draining still crashes at once.
	if resp, err := http.Get(url + "/crash?code=9"); err == nil {
		resp.Body.Close()
		t.Fatal("/crash answered while draining")
	}
	select {
	case err := <-done:
		var e *ExitError
		if !errors.As(err, &e) || e.Code != 9 {
			t.Fatalf("Serve returned %v, want the crash", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func TestStartWaitInterrupted(t *testing.T) {
	s, logs := newTest(t, map[string]string{"START_WAIT_SECS": "3600", "PORT": "0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(logs.find(t, "waiting before listening")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no wait logged")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil (exit 0)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a signal during START_WAIT_SECS did not end Run")
	}
	if len(logs.find(t, "listening")) != 0 {
		t.Fatal("listened after the signal")
	}
}

// TestShutdownTimeout: a request that outlives SHUTDOWN_TIMEOUT_SECS is cut,
// the cut is logged, and Serve still returns nil (exit 0).
func TestShutdownTimeout(t *testing.T) {
	s, logs := newTest(t, map[string]string{"SHUTDOWN_TIMEOUT_SECS": "0.2"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	// The slow request on a raw connection, so the test knows it was sent.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /delay?seconds=600 HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// An answer on a second connection proves the first was accepted: the
	// server accepts in order.
	if resp, err := http.Get("http://" + ln.Addr().String() + "/status/200"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	slow := make(chan error, 1)
	go func() {
		_, err := http.ReadResponse(bufio.NewReader(c), nil)
		slow <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve = %v, want nil after the timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not give up on the slow request")
	}
	if err := <-slow; err == nil {
		t.Fatal("the slow request completed; it should have been cut")
	}
	if len(logs.find(t, "shutdown timeout reached: closing connections still open")) != 1 {
		t.Fatalf("the cut was not logged: %v", logs.lines(t))
	}
}
