package main

import (
	"context"
	"errors"

	"github.com/spf13/pflag"
)

// Commands whose implementation has not landed yet. Each moves to its own
// cmd_*.go file when it is built; until then it says so plainly.
var errNotBuilt = errors.New("this command is not built yet")

func notBuilt(name, summary string) command {
	return command{
		Name:    name,
		Summary: summary + " (not built yet)",
		Setup: func(fs *pflag.FlagSet) func(context.Context, []string) error {
			return func(context.Context, []string) error { return errNotBuilt }
		},
	}
}
