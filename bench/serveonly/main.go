// Command serveonly is `proberctl serve` without the rest of proberctl
// (client-go, Bubble Tea, the lab), built only by bench/serve.sh to show how
// much of the server's start time and memory is the server's own and how
// much is the package initialisation of everything else linked into the one
// binary. It ignores its arguments and reads the same environment.
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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := server.Load(nil, os.LookupEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serveonly:", err)
		os.Exit(2)
	}
	cfg.Version = "serveonly"
	if cfg.MaxProcs == 0 {
		runtime.GOMAXPROCS(1) // as proberctl serve does
	}
	err = server.New(cfg, slog.New(slog.NewJSONHandler(os.Stdout, nil))).Run(ctx)
	var crash *server.ExitError
	switch {
	case errors.As(err, &crash):
		os.Exit(crash.Code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "serveonly:", err)
		os.Exit(1)
	}
}
