package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// ExitError is returned by Run when the server decided to crash: the command
// exits with Code and prints nothing more (the reason is already logged).
type ExitError struct {
	Code   int
	Reason string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("crash (exit %d): %s", e.Code, e.Reason)
}

// Server is one probe server. Create it with New, then call Run, or mount
// Handler in a test.
type Server struct {
	cfg     Config
	log     *slog.Logger
	start   time.Time
	seed    uint64
	ip      string   // the Ip Address line
	addrs   []string // every interface address, for /info
	live    *liveness
	ready   *readiness
	crashes *dice
	metrics *metrics
	misses  *misses // 404 and 405 logging, see misses.go
	handler http.Handler
	client  *http.Client // /resolve's, see resolve.go
	// lookup resolves /resolve's host; tests replace it to stay off the
	// network.
	lookup func(ctx context.Context, host string) (string, error)

	crashOnce sync.Once
	crashCh   chan *ExitError // one crash decision, read by Run

	mu         sync.Mutex
	listenAddr string
}

// New builds a server from a Config made by Load or Defaults. Logs go to log
// (JSON lines on stdout in the command).
func New(cfg Config, log *slog.Logger) *Server {
	if cfg.Hostname == "" {
		cfg.Hostname = Defaults().Hostname
	}
	if cfg.ResolveTimeout <= 0 {
		cfg.ResolveTimeout = 5 * time.Second
	}
	seed := cfg.RandomSeed
	if !cfg.RandomSeedSet {
		seed = rand.Uint64()
	}
	s := &Server{
		cfg:     cfg,
		log:     log,
		start:   time.Now(),
		seed:    seed,
		crashes: newDice(seed, streamCrash),
		metrics: newMetrics(cfg.Version),
		crashCh: make(chan *ExitError, 1),
		misses:  newMisses(log),
	}
	s.live = &liveness{
		factor:     cfg.HealthStatusFactor,
		failAfter:  cfg.HealthFailAfter,
		failChecks: cfg.HealthFailChecks,
		start:      s.start,
		dice:       newDice(seed, streamHealth),
	}
	s.ready = &readiness{factor: cfg.ReadyStatusFactor, dice: newDice(seed, streamReady)}
	s.ip, s.addrs = identity(cfg.PodIP, cfg.BindAddress)
	s.client = newResolveClient()
	s.lookup = lookup
	s.handler = s.routes()
	return s
}

// identity picks the Ip Address line and lists the interface addresses.
// POD_IP (or IP_ADDRESS) wins, being set for this line; then BIND_ADDRESS,
// the one address a client can reach the server on (the lab's pod IP);
// otherwise the first non-loopback address, as a pod has exactly one;
// 127.0.0.1 is run.py's default.
func identity(podIP, bind string) (string, []string) {
	var addrs []string
	first := ""
	ifaddrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range ifaddrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			addrs = append(addrs, ipn.IP.String())
			if first == "" && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
				first = ipn.IP.String()
			}
		}
	}
	switch {
	case podIP != "":
		return podIP, addrs
	case bind != "" && !net.ParseIP(bind).IsUnspecified():
		// 0.0.0.0 or :: is every interface, as unset is.
		return bind, addrs
	case first != "":
		return first, addrs
	}
	return "127.0.0.1", addrs
}

// Handler serves every route; Run mounts it on the listener.
func (s *Server) Handler() http.Handler { return s.handler }

// Seed is the seed of every random decision (RANDOM_SEED or drawn at start).
func (s *Server) Seed() uint64 { return s.seed }

// Run waits START_WAIT_SECS, rolls CRASH_FACTOR, listens on PORT and serves
// until ctx ends (SIGTERM in the command), then drains and shuts down. It
// returns nil after a clean shutdown, or *ExitError when the server crashed
// on purpose.
func (s *Server) Run(ctx context.Context) error {
	s.log.Info("starting", s.startAttrs()...)
	if err := s.startWait(ctx); err != nil {
		return nil // a signal during the wait: nothing to drain, exit 0
	}
	if e := s.crashOnStart(); e != nil {
		return e
	}
	ln, err := s.listen()
	if err != nil {
		return err
	}
	return s.Serve(ctx, ln)
}

// listen opens PORT on BIND_ADDRESS, every interface when that is empty.
func (s *Server) listen() (net.Listener, error) {
	port := strconv.Itoa(s.cfg.Port)
	if s.cfg.BindAddress == "" {
		ln, err := net.Listen("tcp", ":"+port)
		if err != nil {
			return nil, fmt.Errorf("listen on port %s: %w", port, err)
		}
		return ln, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.cfg.BindAddress, port))
	if err != nil {
		return nil, fmt.Errorf("listen on port %s of %s (BIND_ADDRESS): %w", port, s.cfg.BindAddress, err)
	}
	return ln, nil
}

func (s *Server) startAttrs() []any {
	knobs := make([]any, 0, len(s.cfg.Knobs))
	for _, name := range s.cfg.knobNames() {
		knobs = append(knobs, slog.String(name, s.cfg.Knobs[name]))
	}
	return []any{
		slog.String("version", s.cfg.Version),
		slog.String("hostname", s.cfg.Hostname),
		slog.String("ip", s.ip),
		slog.Uint64("random_seed", s.seed),
		slog.Group("knobs", knobs...),
	}
}

// startWait sleeps START_WAIT_SECS, or returns ctx's error at once.
func (s *Server) startWait(ctx context.Context) error {
	if s.cfg.StartWait <= 0 {
		return ctx.Err()
	}
	s.log.Info("waiting before listening", "start_wait_secs", s.cfg.StartWait.Seconds())
	t := time.NewTimer(s.cfg.StartWait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		s.log.Info("signal during the start wait: exiting at once", "exit_code", 0)
		return ctx.Err()
	}
}

// crashOnStart rolls CRASH_FACTOR as run.py does (crash when the factor is
// above randint(0,99)) and logs the roll either way.
func (s *Server) crashOnStart() *ExitError {
	if s.cfg.CrashFactor <= 0 {
		return nil
	}
	n := s.crashes.roll()
	reason := fmt.Sprintf("CRASH_FACTOR=%d rolled %d (crashes below %d)", s.cfg.CrashFactor, n, s.cfg.CrashFactor)
	if s.cfg.CrashFactor <= n {
		s.log.Info("not crashing on start", "reason", reason)
		return nil
	}
	s.metrics.crashes.WithLabelValues("start").Inc()
	s.log.Error("crashing on start", "reason", reason, "exit_code", s.cfg.CrashExitCode)
	return &ExitError{Code: s.cfg.CrashExitCode, Reason: reason}
}

// Serve serves on ln until ctx ends or a crash is requested.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	conns := &newConns{m: map[net.Conn]struct{}{}}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnState:         conns.track,
	}
	s.mu.Lock()
	s.listenAddr = ln.Addr().String()
	s.mu.Unlock()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.log.Info("listening", "addr", ln.Addr().String(), "startup_ms", time.Since(s.start).Milliseconds())

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case e := <-s.crashCh:
		// A crash does not drain: connections die with the process.
		return e
	case <-ctx.Done():
	}
	return s.shutdown(srv, ln, conns, serveErr)
}

// newConns tracks connections that have not sent a request yet.
// http.Server.Shutdown treats such a connection as busy for its first 5
// seconds (net/http server.go, closeIdleConns), so a client's spare pooled
// connection would hold shutdown to its timeout. See shutdown.
type newConns struct {
	mu sync.Mutex
	m  map[net.Conn]struct{}
}

func (n *newConns) track(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateIdle:
		return // the hot path: nothing to do
	case http.StateNew:
		n.mu.Lock()
		n.m[c] = struct{}{}
		n.mu.Unlock()
	default:
		n.mu.Lock()
		delete(n.m, c)
		n.mu.Unlock()
	}
}

// newConnGrace is how long a connection that has sent nothing yet gets, once
// shutdown starts, to send its request before it is closed.
const newConnGrace = 250 * time.Millisecond

// expire gives every connection still without a request newConnGrace to send
// one: the pending read then fails and the server closes the connection. A
// request that arrives in time is served.
func (n *newConns) expire() {
	n.mu.Lock()
	defer n.mu.Unlock()
	at := time.Now().Add(newConnGrace)
	for c := range n.m {
		c.SetReadDeadline(at)
	}
}

// shutdown is the graceful path. Readiness turns 503 while liveness keeps its
// answers, so Kubernetes takes the pod out of its Services without restarting
// it; after the drain delay the listener closes and requests in flight get up
// to the shutdown timeout to finish.
func (s *Server) shutdown(srv *http.Server, ln net.Listener, conns *newConns, serveErr <-chan error) error {
	s.ready.setShutdown()
	s.log.Info("signal received: readyz now answers 503, healthz unchanged",
		"drain_delay_secs", s.cfg.DrainDelay.Seconds(), "shutdown_timeout_secs", s.cfg.ShutdownTimeout.Seconds())
	if s.cfg.DrainDelay > 0 {
		select {
		case <-time.After(s.cfg.DrainDelay):
		case e := <-s.crashCh:
			return e
		}
	}
	s.log.Info("drain delay over: closing the listener, finishing requests in flight")
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	// Close the listener first so no connection is accepted after expire.
	ln.Close()
	conns.expire()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	select {
	case err := <-done:
		if errors.Is(err, context.DeadlineExceeded) {
			s.log.Warn("shutdown timeout reached: closing connections still open")
			srv.Close()
		} else if err != nil && !errors.Is(err, net.ErrClosed) {
			// net.ErrClosed: the listener closed above, seen again.
			return fmt.Errorf("shutdown: %w", err)
		}
	case e := <-s.crashCh:
		return e
	}
	<-serveErr // the listener is closed
	s.log.Info("shut down cleanly", "exit_code", 0)
	return nil
}

// scheduleCrash hands the crash decision to Run. Only the first one counts.
func (s *Server) scheduleCrash(e *ExitError) {
	s.crashOnce.Do(func() { s.crashCh <- e })
}

// Crashed delivers the crash decision when Run is not used (tests).
func (s *Server) Crashed() <-chan *ExitError { return s.crashCh }
