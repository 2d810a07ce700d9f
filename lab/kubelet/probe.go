package kubelet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeType as pkg/kubelet/prober/prober_manager.go names them; String gives
// the word that starts the events' messages ("Liveness probe failed: ...").
type probeType int

const (
	liveness probeType = iota
	readiness
	startup
)

func (t probeType) String() string {
	switch t {
	case readiness:
		return "Readiness"
	case liveness:
		return "Liveness"
	case startup:
		return "Startup"
	}
	return "UNKNOWN"
}

// result is a probe worker's verdict (pkg/kubelet/prober/results).
type result int

const (
	unknown result = iota
	success
	failure
)

// probeOutcome is what one probe run says (pkg/probe/probe.go Result).
type probeOutcome string

const (
	outcomeSuccess probeOutcome = "success"
	outcomeWarning probeOutcome = "warning"
	outcomeFailure probeOutcome = "failure"
	outcomeUnknown probeOutcome = "unknown"
)

// The kubelet's probe defaults, applied by the apiserver
// (pkg/apis/core/v1/defaults.go SetDefaults_Probe); repeated here for
// objects that did not pass through one.
func probeDefaults(p *corev1.Probe) corev1.Probe {
	q := *p
	if q.TimeoutSeconds <= 0 {
		q.TimeoutSeconds = 1
	}
	if q.PeriodSeconds <= 0 {
		q.PeriodSeconds = 10
	}
	if q.SuccessThreshold <= 0 {
		q.SuccessThreshold = 1
	}
	if q.FailureThreshold <= 0 {
		q.FailureThreshold = 3
	}
	return q
}

// userAgent is "kube-probe/<major>.<minor>" of the Kubernetes the lab
// follows (pkg/probe/http/request.go userAgent).
const userAgent = "kube-probe/1.37"

// maxRespBodyLength bounds how much of a probe's response is read
// (pkg/probe/http/http.go).
const maxRespBodyLength = 10 << 10

// prober runs probes over real HTTP and TCP. Its dialer maps a pod's
// (IP, port the container listens on) to the container's one host port, so
// requests carry, and errors name, the address the manifest speaks of
// (`dial tcp 127.0.1.3:80: connect: connection refused`); any other port on
// the pod's IP is refused.
type prober struct {
	transport *http.Transport
	dialer    *net.Dialer
}

// portMapper maps one pod's container ports to host ports; a probe's
// context carries its pod's (ctxPortMap), since outside Linux all pods share
// one IP. ok is false for a host that is not the pod's; a port on the pod's
// IP where nothing listens maps to notListening.
type portMapper interface {
	mapPort(host string, port int) (int, bool)
}

type ctxPortMap struct{}

func newProber() *prober {
	p := &prober{}
	// pkg/probe/dialer_others.go ProbeDialer: a 1 s linger keeps probes
	// from filling the TIME-WAIT table.
	p.dialer = &net.Dialer{
		Control: func(network, address string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { setLinger(fd) })
		},
	}
	// pkg/probe/http/http.go NewWithTLSConfig: no keep-alives, no proxy,
	// no compression (so no Accept-Encoding header).
	p.transport = &http.Transport{
		// HTTPS probes do not verify the certificate (http.go New).
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: true},
		DisableKeepAlives:  true,
		Proxy:              http.ProxyURL(nil),
		DisableCompression: true,
		DialContext:        p.dial,
	}
	return p
}

func (p *prober) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(portStr)
	real := addr
	if m, ok := ctx.Value(ctxPortMap{}).(portMapper); ok {
		if hp, ok := m.mapPort(host, port); ok {
			if hp == notListening {
				return nil, refused(network, addr)
			}
			real = net.JoinHostPort(host, strconv.Itoa(hp))
		}
	}
	conn, err := p.dialer.DialContext(ctx, network, real)
	if err != nil && real != addr {
		// Name the address the kubelet would have dialled.
		var op *net.OpError
		if errors.As(err, &op) {
			cp := *op
			if ta, e := net.ResolveTCPAddr("tcp", addr); e == nil {
				cp.Addr = ta
			}
			return nil, &cp
		}
	}
	return conn, err
}

// refused is the error dialling a port where nothing listens gives on
// Linux: "dial tcp 127.0.1.2:8080: connect: connection refused". It is made
// up rather than dialled: on the real loopback address a host process bound
// to 0.0.0.0 could answer where the pod would refuse.
func refused(network, addr string) error {
	op := &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	if ta, err := net.ResolveTCPAddr("tcp", addr); err == nil {
		op.Addr = ta
	}
	return op
}

// resolvePort is pkg/probe/util.go ResolveContainerPort.
func resolvePort(param intstr.IntOrString, c *corev1.Container) (int, error) {
	port := -1
	switch param.Type {
	case intstr.Int:
		port = param.IntValue()
	case intstr.String:
		found := false
		for _, cp := range c.Ports {
			if cp.Name == param.StrVal {
				port, found = int(cp.ContainerPort), true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("port %q not found", param.StrVal)
		}
	default:
		return port, fmt.Errorf("intOrString had no kind: %+v", param)
	}
	if port > 0 && port < 65536 {
		return port, nil
	}
	return port, fmt.Errorf("invalid port number: %v", port)
}

// httpRequest builds the probe's request as pkg/probe/http/request.go
// NewRequestForHTTPGetAction does.
func httpRequest(g *corev1.HTTPGetAction, c *corev1.Container, podIP string) (*http.Request, error) {
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	host := g.Host
	if host == "" {
		host = podIP
	}
	port, err := resolvePort(g.Port, c)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(g.Path)
	if err != nil {
		// "Something is busted with the path, but it's too late to
		// reject it. Pass it along as is." (formatURL)
		u = &url.URL{Path: g.Path}
	}
	u.Scheme = scheme
	u.Host = net.JoinHostPort(host, strconv.Itoa(port))
	req, err := http.NewRequest("GET", u.String(), nil)
	if err != nil {
		return nil, err
	}
	headers := http.Header{}
	for _, h := range g.HTTPHeaders {
		headers.Add(h.Name, h.Value)
	}
	if _, ok := headers["User-Agent"]; !ok {
		headers.Set("User-Agent", userAgent)
	}
	if _, ok := headers["Accept"]; !ok {
		headers.Set("Accept", "*/*")
	} else if headers.Get("Accept") == "" {
		headers.Del("Accept")
	}
	req.Header = headers
	req.Host = headers.Get("Host")
	return req, nil
}

// httpProbe is pkg/probe/http/http.go Probe and DoHTTPProbe: 200 <= code <
// 400 succeeds, a redirect it did not follow is a warning, anything else and
// any transport error (timeouts included) fails.
func (p *prober) httpProbe(m portMapper, req *http.Request, timeout time.Duration) (probeOutcome, string, error) {
	req = req.WithContext(context.WithValue(req.Context(), ctxPortMap{}, m))
	client := &http.Client{
		Timeout:       timeout,
		Transport:     p.transport,
		CheckRedirect: redirectChecker,
	}
	res, err := client.Do(req)
	if err != nil {
		return outcomeFailure, err.Error(), nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxRespBodyLength))
	if err != nil {
		return outcomeFailure, "", err
	}
	if res.StatusCode >= http.StatusOK && res.StatusCode < http.StatusBadRequest {
		if res.StatusCode >= http.StatusMultipleChoices {
			return outcomeWarning, fmt.Sprintf("Probe terminated redirects, Response body: %v", string(b)), nil
		}
		return outcomeSuccess, string(b), nil
	}
	// The message must not contain the body (issue 99425).
	return outcomeFailure, fmt.Sprintf("HTTP probe failed with statuscode: %d", res.StatusCode), nil
}

// redirectChecker is pkg/probe/http/http.go RedirectChecker(false): follow
// redirects on the same host (up to 10), stop at one to another host.
func redirectChecker(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// tcpProbe is pkg/probe/tcp/tcp.go: success when a connection opens.
func (p *prober) tcpProbe(m portMapper, host string, port int, timeout time.Duration) (probeOutcome, string, error) {
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxPortMap{}, m), timeout)
	defer cancel()
	conn, err := p.dial(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return outcomeFailure, err.Error(), nil
	}
	conn.Close()
	return outcomeSuccess, "", nil
}

// warnUnservedPort emits, once per container instance, a Warning event when
// the probe names a port on the pod's IP that the probe server does not
// listen on: every such probe is refused, and the kubelet's own events
// ("connection refused") do not say why. The lab knows why (the server
// listens on its PORT env only, see ListenPort), so it says so, worded as
// the kubelet words probe warnings ("Readiness probe warning: ...",
// pkg/kubelet/prober/prober.go).
func (w *probeWorker) warnUnservedPort(host, portStr string) {
	if w.portWarned == w.containerID {
		return
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return
	}
	if hp, ok := w.pw.mapPort(host, port); !ok || hp != notListening {
		return // another host, or a port some container of the pod serves
	}
	w.portWarned = w.containerID
	w.pw.containerEvent(w.container.Name, corev1.EventTypeWarning, reasonProbeWarning, unservedPortMessage(w.typ, port, &w.container))
}

// unservedPortMessage says that port is not the one the probe server in c
// listens on, and the two ways to fix it.
func unservedPortMessage(typ probeType, port int, c *corev1.Container) string {
	listen := ListenPort(c)
	set := fmt.Sprintf("PORT=%d", listen)
	if !hasLiteralPort(c) {
		set = fmt.Sprintf("PORT unset: %d, the image's default", listen)
	}
	return fmt.Sprintf("%s probe warning: port %d is not the port the probe server listens on (%s), so every probe is refused; "+
		"set env PORT to \"%d\" in container %s, or point the probe at port %d", typ, port, set, port, c.Name, listen)
}

// hasLiteralPort reports whether c's env gives PORT the value ListenPort
// uses (its last PORT entry, a literal port number).
func hasLiteralPort(c *corev1.Container) bool {
	literal := false
	for _, e := range c.Env {
		if e.Name == "PORT" {
			n, err := strconv.Atoi(e.Value)
			literal = e.ValueFrom == nil && err == nil && n > 0 && n <= 65535
		}
	}
	return literal
}
