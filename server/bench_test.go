package server

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

// nopWriter is the cheapest ResponseWriter, so the benchmark measures the
// handler and its instrumentation, not a recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// WriteString as http.response has it, so the benchmark sees what the server
// allocates and not a conversion the real writer avoids.
func (w *nopWriter) WriteString(s string) (int, error) { return len(s), nil }

func benchServer(b *testing.B) *Server {
	cfg := Defaults()
	return New(cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
}

// BenchmarkHealthzHandler: the /healthz hot path through the mux, the
// request counter and the liveness decision.
func BenchmarkHealthzHandler(b *testing.B) {
	h := benchServer(b).Handler()
	req, _ := http.NewRequest("GET", "/healthz", nil)
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkHealthzLoopback: real HTTP/1.1 keep-alive requests over loopback,
// in parallel, as a kubelet and a load balancer would send them.
func BenchmarkHealthzLoopback(b *testing.B) {
	s := benchServer(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: s.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/healthz"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var sb strings.Builder
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			sb.Reset()
			io.Copy(&sb, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
