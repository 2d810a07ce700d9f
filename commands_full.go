//go:build !serveonly

package main

// clusterCommands are the dashboard, the lab and the one-shot actions. They
// link client-go, Bubble Tea and the lab, which the probe server never uses:
// the container image builds with -tags serveonly to leave them out, so each
// pod's server starts with a third of the memory (BENCHMARKS.md, serve).
func clusterCommands() []command {
	return []command{
		labCommand(),
		tuiCommand(),
		watchCommand(),
		crashCommand(),
		resolveCommand(),
		healthzCommand(),
	}
}
