//go:build serveonly

package main

// clusterCommands is empty in the image's build: a pod runs only
// `proberctl serve` (and `version`), so nothing else is linked in.
func clusterCommands() []command { return nil }
