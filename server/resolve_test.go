package server

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseService(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		host    string
		port    string
		url     string
		wantErr string
	}{
		{raw: "checkip.dyndns.org", host: "checkip.dyndns.org", port: "80", url: "http://checkip.dyndns.org"},
		{raw: "foo-nodeport-svc", host: "foo-nodeport-svc", port: "80", url: "http://foo-nodeport-svc"},
		{raw: "foo.default.svc.cluster.local:8080/healthz?x=1", host: "foo.default.svc.cluster.local", port: "8080", url: "http://foo.default.svc.cluster.local:8080/healthz?x=1"},
		{raw: "10.0.0.1:80/", host: "10.0.0.1", port: "80", url: "http://10.0.0.1:80/"},
		{raw: "[::1]:8080", host: "::1", port: "8080", url: "http://[::1]:8080"},
		{raw: "", wantErr: "empty service"},
		{raw: "http://x", wantErr: "no scheme"},
		{raw: "user:pw@x", wantErr: "user information"},
		{raw: "x:0", wantErr: `port "0"`},
		{raw: "x:70000", wantErr: `port "70000"`},
		{raw: "x:", wantErr: "empty port"},
		{raw: "x:abc", wantErr: "invalid port"},
		{raw: "/path", wantErr: "no host"},
		{raw: "a b", wantErr: "space or control"},
		{raw: "a\x00b", wantErr: "space or control"},
		{raw: "bad!host", wantErr: "neither a DNS name nor an IP"},
		{raw: "a..b", wantErr: "neither a DNS name nor an IP"},
		{raw: strings.Repeat("a", 64), wantErr: "neither a DNS name nor an IP"},
		{raw: strings.Repeat("a.", 600), wantErr: "want at most 1024"},
		{raw: "[::1", wantErr: "missing ']'"},
	} {
		got, err := ParseService(tc.raw)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseService(%q) = %+v, %v; want an error containing %q", tc.raw, got, err, tc.wantErr)
			} else if !strings.Contains(err.Error(), "want") {
				t.Errorf("ParseService(%q): %v does not say what is accepted", tc.raw, err)
			}
			continue
		}
		if err != nil || got.Host != tc.host || got.Port != tc.port || got.URL != tc.url || got.Raw != tc.raw {
			t.Errorf("ParseService(%q) = %+v, %v; want host %q port %q url %q", tc.raw, got, err, tc.host, tc.port, tc.url)
		}
	}
}

// remote is the service /resolve fetches, on loopback.
func remote(t *testing.T, h http.HandlerFunc) (hostPort string) {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

func TestResolve(t *testing.T) {
	s, _ := newTest(t, map[string]string{"HOSTNAME": "prober-foo-1", "POD_IP": "10.44.0.3"})
	hp := remote(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, "<html><head><title>Current IP Check</title></head><body>Current IP Address: 174.51.70.14</body></html>\n")
		case "/down":
			w.WriteHeader(503)
			fmt.Fprint(w, "down\n")
		case "/moved":
			http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusFound)
		case "/huge":
			chunk := strings.Repeat("x", 64<<10)
			for i := 0; i < 40; i++ { // 2.5 MiB
				fmt.Fprint(w, chunk)
			}
		}
	})
	_, port, _ := net.SplitHostPort(hp)

	// The seed's block, line for line.
	rec := get(t, s.Handler(), "GET", "/resolve?service=localhost:"+port)
	want := "----------------------------------------------------\n" +
		"Hostname = prober-foo-1\n" +
		"Ip Address = 10.44.0.3\n" +
		"Service hostname = localhost:" + port + "\n" +
		"Service IP = 127.0.0.1\n" +
		"----------------------------------------------------\n" +
		"<html><head><title>Current IP Check</title></head><body>Current IP Address: 174.51.70.14</body></html>\n"
	if rec.Code != 200 || rec.Body.String() != want {
		t.Fatalf("GET /resolve = %d\n%s\nwant 200\n%s", rec.Code, rec.Body.String(), want)
	}

	rec = get(t, s.Handler(), "GET", "/resolve?service="+hp+"/down")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Service status = 503 Service Unavailable\n----") || !strings.HasSuffix(rec.Body.String(), "down\n") {
		t.Fatalf("remote 503: %d %q", rec.Code, rec.Body.String())
	}
	rec = get(t, s.Handler(), "GET", "/resolve?service="+hp+"/moved")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Service status = 302 Found") {
		t.Fatalf("a redirect must be shown, not followed: %d %q", rec.Code, rec.Body.String())
	}
	rec = get(t, s.Handler(), "GET", "/resolve?service="+hp+"/huge")
	if rec.Code != 200 || !strings.HasSuffix(rec.Body.String(), fmt.Sprintf("[answer truncated at %d bytes]\n", ResolveBodyLimit)) || rec.Body.Len() > ResolveBodyLimit+1024 {
		t.Fatalf("huge answer: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestResolveErrors(t *testing.T) {
	s, _ := newTest(t, map[string]string{"RESOLVE_TIMEOUT_SECS": "0.2"})
	// A port with nothing listening: bind, note, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	// A listener that accepts and never answers.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hang.Close() })
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()

	for _, tc := range []struct {
		query string
		code  int
		body  string
	}{
		{"", 400, "missing service: use /resolve?service=HOST[:PORT][/PATH]"},
		{"?service=", 400, "empty service"},
		{"?other=x", 400, "missing service"},
		{"?service=http://x", 400, "no scheme"},
		{"?service=bad!host", 400, "neither a DNS name nor an IP"},
		{"?service=no-such-service.invalid", 502, `resolve "no-such-service.invalid": lookup no-such-service.invalid: no such host`},
		{"?service=" + closed, 502, "connection refused"},
		{"?service=" + hang.Addr().String(), 502, "context deadline exceeded"},
	} {
		rec := get(t, s.Handler(), "GET", "/resolve"+tc.query)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("GET /resolve%s = %d %q, want %d containing %q", tc.query, rec.Code, rec.Body.String(), tc.code, tc.body)
		}
	}
}
