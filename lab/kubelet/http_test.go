package kubelet

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// noMap maps nothing: requests go where their URL says.
type noMap struct{}

func (noMap) mapPort(string, int) (int, bool) { return 0, false }

// The rules of pkg/probe/http/http.go DoHTTPProbe and RedirectChecker(false).
func TestHTTPProbeOutcomes(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/code/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		w.WriteHeader(n)
		fmt.Fprint(w, "body")
	})
	mux.HandleFunc("/same-host", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/code/200", http.StatusFound)
	})
	mux.HandleFunc("/other-host", func(w http.ResponseWriter, r *http.Request) {
		// Same server, another host name: 127.0.0.1 vs localhost.
		_, port, _ := net.SplitHostPort(r.Host)
		http.Redirect(w, r, "http://localhost:"+port+"/code/200", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		path    string
		want    probeOutcome
		message string // prefix
	}{
		{"/code/200", outcomeSuccess, "body"},
		{"/code/204", outcomeSuccess, ""},
		{"/code/399", outcomeWarning, "Probe terminated redirects, Response body: body"}, // 3xx not followed
		{"/code/400", outcomeFailure, "HTTP probe failed with statuscode: 400"},
		{"/code/500", outcomeFailure, "HTTP probe failed with statuscode: 500"},
		{"/same-host", outcomeSuccess, "body"},
		{"/other-host", outcomeWarning, "Probe terminated redirects, Response body: "},
		{"/loop", outcomeFailure, `Get "/loop": stopped after 10 redirects`},
		{"/slow", outcomeFailure, "Get \"" + srv.URL + "/slow\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"},
	}
	p := newProber()
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req, err := http.NewRequest("GET", srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, msg, err := p.httpProbe(noMap{}, req, 200*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || !strings.HasPrefix(msg, tt.message) {
				t.Errorf("probe %s = %s %q, want %s %q...", tt.path, got, msg, tt.want, tt.message)
			}
		})
	}
}

// pkg/probe/http/request.go: the kubelet's headers, a manifest's headers
// overriding them, an empty Accept removing it, Host from the headers.
func TestHTTPProbeRequestHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	var gotHost string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost = r.Host
		got <- r.Header.Clone()
	}))
	defer srv.Close()
	_, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)
	c := &corev1.Container{Name: "c"}

	tests := []struct {
		name    string
		headers []corev1.HTTPHeader
		want    map[string]string // "" = absent
		host    string
	}{
		{"defaults", nil, map[string]string{"User-Agent": "kube-probe/1.37", "Accept": "*/*", "Accept-Encoding": ""}, "127.0.0.1:" + portStr},
		{"overridden", []corev1.HTTPHeader{{Name: "User-Agent", Value: "mine"}, {Name: "Accept", Value: "application/json"}, {Name: "Host", Value: "example.test"}},
			map[string]string{"User-Agent": "mine", "Accept": "application/json"}, "example.test"},
		{"empty accept removed", []corev1.HTTPHeader{{Name: "Accept", Value: ""}}, map[string]string{"Accept": ""}, "127.0.0.1:" + portStr},
	}
	p := newProber()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &corev1.HTTPGetAction{Path: "/x", Port: intstr.FromInt(port), HTTPHeaders: tt.headers}
			req, err := httpRequest(g, c, "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			if out, msg, _ := p.httpProbe(noMap{}, req, time.Second); out != outcomeSuccess {
				t.Fatalf("probe: %s %s", out, msg)
			}
			h := <-got
			for k, v := range tt.want {
				if h.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, h.Get(k), v)
				}
			}
			if gotHost != tt.host {
				t.Errorf("Host = %q, want %q", gotHost, tt.host)
			}
		})
	}
}

// pkg/probe/util.go ResolveContainerPort.
func TestResolvePort(t *testing.T) {
	c := &corev1.Container{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}}
	tests := []struct {
		port    intstr.IntOrString
		want    int
		wantErr string
	}{
		{intstr.FromInt(8080), 8080, ""},
		{intstr.FromString("http"), 80, ""},
		{intstr.FromString("metrics"), 0, `port "metrics" not found`},
		{intstr.FromInt(0), 0, "invalid port number: 0"},
		{intstr.FromInt(70000), 0, "invalid port number: 70000"},
	}
	for _, tt := range tests {
		got, err := resolvePort(tt.port, c)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("resolvePort(%v) error %v, want %q", tt.port.String(), err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("resolvePort(%v) = %d, %v; want %d", tt.port.String(), got, err, tt.want)
		}
	}
}

// HTTPS probes skip certificate verification, as the kubelet's do.
func TestHTTPSProbeSkipsVerification(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)
	g := &corev1.HTTPGetAction{Scheme: corev1.URISchemeHTTPS, Path: "/", Port: intstr.FromInt(port)}
	req, err := httpRequest(g, &corev1.Container{}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if out, msg, _ := newProber().httpProbe(noMap{}, req, time.Second); out != outcomeSuccess {
		t.Errorf("HTTPS probe of a self-signed server: %s %s", out, msg)
	}
}
