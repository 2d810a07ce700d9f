package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/proberctl/proberctl/server"
	"github.com/spf13/pflag"
)

// serveCommand runs the probe server: the image's entrypoint, and what the
// lab runs as each container.
func serveCommand() command {
	var env []envVar
	for _, k := range server.Knobs() {
		env = append(env, envVar{Name: k.Env, Default: k.Default, Usage: k.Usage})
	}
	return command{
		Name:    "serve",
		Summary: "Run the probe server (the image's entrypoint)",
		Long: `A web server that misbehaves on purpose, so Kubernetes probes and restarts
have something to act on. It keeps the original probeserver image's variables
and routes, so the seed's manifests and curl lines work unchanged. A flag wins
over its environment variable; logs are JSON lines on stdout.

Routes:
  GET  /                        CONTENT and a newline, or "Hostname = ..." and "Ip Address = ..."
  GET  /healthz                 200 { "status": "ok" }, or 500 { "status": "error" } (liveness)
  GET  /readyz                  200, or 503 when failing, disabled or shutting down (readiness)
  GET  /crash[?code=N]          close the connection with no reply, exit with N (default CRASH_EXIT_CODE)
  GET  /resolve?service=HOST    resolve HOST[:PORT][/PATH], GET it over http, show both ends
  GET  /info                    JSON: hostname, addresses, pod IP, version, uptime, knobs, state
  GET  /metrics                 Prometheus metrics
  GET  /delay?seconds=N         answer after N seconds (to trip a probe's timeoutSeconds)
  GET  /status/{code}           answer with that status code (200-599)
  POST /healthz/fail[?checks=N] fail /healthz for N checks (0 or absent: until recovered)
  POST /healthz/recover         end a forced /healthz failure
  POST /readyz/disable          answer /readyz 503 until enabled
  POST /readyz/enable           undo /readyz/disable

On SIGTERM or SIGINT, /readyz answers 503 while /healthz is unchanged; after
DRAIN_DELAY_SECS the listener closes, requests in flight get up to
SHUTDOWN_TIMEOUT_SECS, and the process exits 0. A second signal exits 1 at
once. A crash (CRASH_FACTOR on start, or /crash) exits CRASH_EXIT_CODE; bad
configuration exits 2.`,
		Env: env,
		Setup: func(fs *pflag.FlagSet) func(context.Context, []string) error {
			flags := server.RegisterFlags(fs)
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usagef("serve takes no arguments, got %q", args)
				}
				cfg, err := server.Load(flags, os.LookupEnv)
				if err != nil {
					return usagef("%v", err)
				}
				cfg.Version = version
				return serve(ctx, cfg)
			}
		},
	}
}

func serve(ctx context.Context, cfg server.Config) error {
	if cfg.MaxProcs == 0 {
		// One P unless GOMAXPROCS says otherwise (the runtime has read it
		// already). The server answers probes, not load: on the 2-core
		// bench machine, next to wrk, one P served /healthz at about 62k
		// req/s with p99 about 4 ms against 43-58k and 5-9 ms with two (see
		// BENCHMARKS.md), and the lab runs a hundred of these side by side.
		runtime.GOMAXPROCS(1)
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	// main cancels ctx on the first SIGINT/SIGTERM and the server drains; a
	// second one means "now", as controller-runtime's signal handler does
	// (pkg/manager/signals/signal.go).
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		first := true
		for sig := range sigs {
			if first {
				first = false
				continue
			}
			log.Warn("second signal: exiting at once", "signal", sig.String(), "exit_code", 1)
			os.Exit(1)
		}
	}()

	err := server.New(cfg, log).Run(ctx)
	var crash *server.ExitError
	if errors.As(err, &crash) {
		return exitError{code: crash.Code} // the reason is logged already
	}
	return listenHint(err, cfg.Port)
}

// listenHint adds the way out to the two errors a listen meets first: a
// second server (or the lab) on the same port, and a port below 1024 where
// the runtime does not let a non-root user bind it (the image runs as
// 65532 on port 80).
func listenHint(err error, port int) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("%w (another process listens there: choose another port with --port or PORT, 0 for a free one)", err)
	case errors.Is(err, syscall.EACCES) && port > 0 && port < 1024:
		return fmt.Errorf("%w (port %d needs root, CAP_NET_BIND_SERVICE or net.ipv4.ip_unprivileged_port_start=0: set PORT=8080 and point the probes there)", err, port)
	}
	return err
}
