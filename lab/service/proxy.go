package service

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// listener is one Service port on loopback: a TCP proxy that sends each new
// connection to the next ready backend, round-robin. Connections already
// open stay with their backend, as with kube-proxy, so a pod that turns
// unready stops getting new connections only.
type listener struct {
	ln   net.Listener
	port int32 // the Service port it stands for
	node bool  // a node port (else the cluster-IP stand-in)
	log  *slog.Logger

	mu    sync.Mutex
	addrs []string
	next  atomic.Uint64

	conns  sync.Map // net.Conn -> struct{}
	wg     sync.WaitGroup
	closed atomic.Bool
}

func newListener(ln net.Listener, port int32, node bool, log *slog.Logger) *listener {
	return &listener{ln: ln, port: port, node: node, log: log}
}

func (l *listener) setBackends(addrs []string) {
	l.mu.Lock()
	l.addrs = append([]string(nil), addrs...)
	l.mu.Unlock()
}

func (l *listener) backends() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.addrs...)
}

func (l *listener) pick() (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.addrs) == 0 {
		return "", false
	}
	n := l.next.Add(1) - 1
	return l.addrs[n%uint64(len(l.addrs))], true
}

func (l *listener) serve() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if l.closed.Load() || errors.Is(err, net.ErrClosed) {
				l.wg.Wait()
				return
			}
			l.log.Warn("service accept", "addr", l.ln.Addr().String(), "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		l.wg.Go(func() { l.handle(c) })
	}
}

func (l *listener) handle(c net.Conn) {
	l.track(c, true)
	defer l.track(c, false)
	defer c.Close()
	addr, ok := l.pick()
	if !ok {
		// No ready endpoint: kube-proxy rejects the connection
		// (pkg/proxy/iptables "has no endpoints" REJECT rule). Reset it
		// rather than answer.
		reset(c)
		return
	}
	b, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		l.log.Info("service backend refused", "backend", addr, "err", err)
		reset(c)
		return
	}
	l.track(b, true)
	defer l.track(b, false)
	defer b.Close()
	done := make(chan struct{}, 2)
	go func() { pipe(b, c); done <- struct{}{} }()
	go func() { pipe(c, b); done <- struct{}{} }()
	<-done
	<-done
}

// pipe copies src to dst, then half-closes dst so the other side sees EOF
// while its reply still flows (curl's request, the server's answer).
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	} else {
		_ = dst.Close()
	}
}

func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}

func (l *listener) track(c net.Conn, add bool) {
	if add {
		l.conns.Store(c, struct{}{})
	} else {
		l.conns.Delete(c)
	}
}

// close stops accepting and ends every open connection.
func (l *listener) close() {
	if l.closed.Swap(true) {
		return
	}
	_ = l.ln.Close()
	l.conns.Range(func(k, _ any) bool {
		_ = k.(net.Conn).Close()
		return true
	})
}
