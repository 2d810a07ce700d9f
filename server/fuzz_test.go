package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzLoad: no environment value crashes Load; it is accepted within range
// or refused with a ConfigError naming the variable.
func FuzzLoad(f *testing.F) {
	knobs := Knobs()
	for _, seed := range []string{"0", "40", "abc", "-1", "1e9", "0.5", "NaN", " 7 ", "0x1p4", "18446744073709551616", ""} {
		for i := range knobs {
			f.Add(uint8(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, idx uint8, value string) {
		k := knobs[int(idx)%len(knobs)]
		c, err := Load(nil, envOf(map[string]string{k.Env: value, "HOSTNAME": "h"}))
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Source != k.Env || !strings.Contains(err.Error(), "want") {
				t.Fatalf("%s=%q: %v is not a ConfigError saying what is wanted", k.Env, value, err)
			}
			return
		}
		switch {
		case c.Port < 0 || c.Port > 65535,
			c.CrashFactor < 0 || c.CrashFactor > 100,
			c.HealthStatusFactor < 0 || c.HealthStatusFactor > 100,
			c.ReadyStatusFactor < 0 || c.ReadyStatusFactor > 100,
			c.CrashExitCode < 0 || c.CrashExitCode > 255,
			c.HealthFailChecks < 0,
			c.StartWait < 0 || c.StartWait > maxWait,
			c.HealthFailAfter < 0, c.DrainDelay < 0, c.ShutdownTimeout < 0, c.ResolveTimeout <= 0:
			t.Fatalf("%s=%q accepted out of range: %+v", k.Env, value, c)
		}
	})
}

// FuzzParseService: any service value is parsed or refused, never a panic,
// and what is accepted is a plain-HTTP URL to the host it names.
func FuzzParseService(f *testing.F) {
	for _, s := range []string{"checkip.dyndns.org", "foo:8080/healthz?x=1", "[::1]:80", "http://x", "a b", "user@x", "x:", "%zz", "[::1", "x/../../", "é.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		svc, err := ParseService(raw)
		if err != nil {
			if !strings.Contains(err.Error(), "want") {
				t.Fatalf("ParseService(%q): %v does not say what is wanted", raw, err)
			}
			return
		}
		if svc.Host == "" || svc.Port == "" || !strings.HasPrefix(svc.URL, "http://") || !validHost(svc.Host) {
			t.Fatalf("ParseService(%q) accepted %+v", raw, svc)
		}
		if _, err := http.NewRequest("GET", svc.URL, nil); err != nil {
			t.Fatalf("ParseService(%q) accepted %q, which is not a request URL: %v", raw, svc.URL, err)
		}
	})
}

// FuzzQuery sends any query string and path value to the routes that parse
// them. Nothing may crash the handler or answer 5xx for bad input; /resolve
// is kept off the network by a lookup that always fails.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"code=7", "code=abc", "seconds=0", "seconds=-1", "service=x", "service=http://x", "checks=3", "%zz", "code=1&code=2", ";", "service=1.2.3.4"} {
		f.Add(s, "418")
	}
	cfg := Defaults()
	s := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.lookup = func(context.Context, string) (string, error) { return "", errors.New("offline") }
	h := s.Handler()
	f.Fuzz(func(t *testing.T, query, code string) {
		if strings.ContainsAny(query, " #\r\n\t") || strings.ContainsAny(code, " /?#%\r\n\t") {
			return // not a request line a client can send
		}
		for _, target := range []string{
			"/crash?" + query, "/resolve?" + query, "/status/" + code + "?" + query,
			"/healthz?" + query, "/readyz?" + query, "/?" + query,
		} {
			req, err := http.NewRequest("GET", "http://x"+target, nil)
			if err != nil {
				continue
			}
			if strings.HasPrefix(target, "/delay") {
				continue
			}
			rec := httptest.NewRecorder()
			serveAllowingAbort(t, h, rec, req)
			if rec.Code >= 500 && rec.Code != 502 && !strings.HasPrefix(target, "/status/") && !strings.HasPrefix(target, "/crash") {
				t.Fatalf("GET %s = %d %q", target, rec.Code, rec.Body.String())
			}
		}
		// /delay parses but must not sleep in a fuzz run: only the parser.
		if d, err := ParseDelay(query); err == nil && (d < 0 || d > maxDelay) {
			t.Fatalf("ParseDelay(%q) = %v", query, d)
		}
	})
}

// serveAllowingAbort serves one request; a recorder cannot be hijacked, so a
// valid /crash aborts with http.ErrAbortHandler, which the real server treats
// as "close the connection". Any other panic fails.
func serveAllowingAbort(t *testing.T, h http.Handler, w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil && p != http.ErrAbortHandler {
			t.Fatalf("GET %s panicked: %v", r.URL, p)
		}
	}()
	h.ServeHTTP(w, r)
}
