package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ResolveBodyLimit caps how much of the remote answer /resolve reads, so a
// huge or endless answer cannot fill the pod's memory.
const ResolveBodyLimit = 1 << 20

// maxServiceLen bounds the service parameter: a host name is at most 253
// bytes, and a path beyond a kilobyte is not an experiment.
const maxServiceLen = 1024

// dashes is run.py's separator line.
const dashes = "----------------------------------------------------\n"

// Service is a parsed /resolve?service= value: HOST[:PORT][/PATH][?QUERY].
type Service struct {
	// Raw is the value as given, shown as "Service hostname" with its port
	// and path: run.py printed current_request["service"] verbatim, and
	// never the host part alone (given a port or path it failed in
	// gethostbyname and answered 404), so there is no original behaviour
	// to cut it to; the verbatim value says what was fetched, and
	// "Service IP" gives the address of Host.
	Raw  string
	Host string // name or IP literal to resolve
	Port string // "80" unless given
	URL  string // the plain-HTTP URL fetched
}

// ParseService checks a /resolve?service= value. run.py prefixed it with
// http:// and fetched it, so a port and a path are allowed; a scheme, user
// information or a malformed host are refused with what is accepted.
func ParseService(raw string) (Service, error) {
	const want = "want HOST[:PORT][/PATH], such as foo-nodeport-svc or checkip.dyndns.org:80/"
	switch {
	case raw == "":
		return Service{}, fmt.Errorf("empty service: %s", want)
	case len(raw) > maxServiceLen:
		return Service{}, fmt.Errorf("service is %d bytes long, want at most %d", len(raw), maxServiceLen)
	case strings.Contains(raw, "://"):
		return Service{}, fmt.Errorf("no scheme please, /resolve always uses plain http: %s", want)
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f {
			return Service{}, fmt.Errorf("service contains a space or control character: %s", want)
		}
	}
	u, err := url.Parse("http://" + raw)
	if err != nil {
		return Service{}, fmt.Errorf("%s: %s", unwrapURLError(err), want)
	}
	if u.User != nil {
		return Service{}, fmt.Errorf("user information is not accepted: %s", want)
	}
	host := u.Hostname()
	if host == "" {
		return Service{}, fmt.Errorf("no host: %s", want)
	}
	if !validHost(host) {
		return Service{}, fmt.Errorf("host %q is neither a DNS name nor an IP address: %s", host, want)
	}
	port := u.Port()
	if port == "" {
		if strings.HasSuffix(u.Host, ":") {
			return Service{}, fmt.Errorf("empty port: %s", want)
		}
		port = "80"
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return Service{}, fmt.Errorf("port %q: want 1 to 65535", port)
	}
	u.Fragment, u.RawFragment = "", ""
	return Service{Raw: raw, Host: host, Port: port, URL: u.String()}, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// validHost accepts IP literals and DNS names (letters, digits, '-', '_' and
// dots, labels of at most 63 bytes).
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

type dialIPKey struct{}

// newResolveClient fetches without keep-alives (each /resolve is one
// experiment, and pooled connections would hide the proxy's balancing), without
// following redirects, without environment proxies, and dials the address the
// handler resolved, so "Service IP" is the address actually used.
func newResolveClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if ip, ok := ctx.Value(dialIPKey{}).(string); ok {
					_, port, err := net.SplitHostPort(addr)
					if err != nil {
						return nil, err
					}
					addr = net.JoinHostPort(ip, port)
				}
				return d.DialContext(ctx, network, addr)
			},
			DisableKeepAlives:  true,
			DisableCompression: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// resolve is GET /resolve?service=HOST: resolve, fetch over plain HTTP, and
// answer with run.py's block followed by the remote body.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request) {
	raw, ok := queryValue(r, "service")
	if !ok {
		badRequest(w, "missing service: use /resolve?service=HOST[:PORT][/PATH]")
		return
	}
	svc, err := ParseService(raw)
	if err != nil {
		badRequest(w, "service=%q: %v", trimQuery(raw), err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ResolveTimeout)
	defer cancel()

	ip, err := s.lookup(ctx, svc.Host)
	if err != nil {
		writeText(w, http.StatusBadGateway, fmt.Sprintf("resolve %q: %v\n", svc.Host, err))
		return
	}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, dialIPKey{}, ip), http.MethodGet, svc.URL, nil)
	if err != nil {
		badRequest(w, "service=%q: %v", trimQuery(raw), err)
		return
	}
	req.Header.Set("User-Agent", "proberctl/"+s.cfg.Version)
	resp, err := s.client.Do(req)
	if err != nil {
		writeText(w, http.StatusBadGateway, fmt.Sprintf("GET %s (%s): %v\n", svc.URL, ip, unwrapURLError(err)))
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, ResolveBodyLimit+1))
	if err != nil {
		writeText(w, http.StatusBadGateway, fmt.Sprintf("GET %s (%s): reading the answer: %v\n", svc.URL, ip, err))
		return
	}
	truncated := len(body) > ResolveBodyLimit
	if truncated {
		body = body[:ResolveBodyLimit]
	}

	var b strings.Builder
	b.WriteString(dashes)
	b.WriteString(s.identityLines())
	b.WriteString("Service hostname = " + svc.Raw + "\n")
	b.WriteString("Service IP = " + ip + "\n")
	if resp.StatusCode != http.StatusOK {
		// run.py failed outright on a non-200; saying it is more useful.
		b.WriteString("Service status = " + resp.Status + "\n")
	}
	b.WriteString(dashes)
	b.Write(body)
	if truncated {
		fmt.Fprintf(&b, "\n[answer truncated at %d bytes]\n", ResolveBodyLimit)
	}
	writeText(w, http.StatusOK, b.String())
}

// lookup resolves host to one address, IPv4 first as gethostbyname does.
func lookup(ctx context.Context, host string) (string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if a.IP.To4() != nil {
			return a.IP.String(), nil
		}
	}
	if len(addrs) == 0 {
		return "", fmt.Errorf("no addresses for %s", host)
	}
	return addrs[0].IP.String(), nil
}
