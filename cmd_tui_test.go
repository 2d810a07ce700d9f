//go:build !serveonly

package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTuiCommandUsage(t *testing.T) {
	noCluster(t)
	// A kubeconfig that loads (nothing listens there): only the missing
	// terminal stops the command.
	kc := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: demo}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	checkUsage(t, []usageCase{
		{name: "help teaches", args: []string{"tui", "--help"}, code: 0,
			stdout: []string{"--log-file", "--mouse", "--resolve-host", "--selector", "NO_COLOR", "c crash"}},
		{name: "no arguments", args: []string{"tui", "pods"}, code: 2, stderr: []string{"tui takes no arguments"}},
		{name: "no cluster points at the lab", args: []string{"tui"}, code: 1, stderr: []string{"no kubeconfig found", "proberctl lab"}},
		{name: "bad selector", args: []string{"tui", "-l", "app in foo"}, code: 2, stderr: []string{`invalid --selector "app in foo"`}},
		{name: "no terminal points at watch", args: []string{"tui", "--kubeconfig", kc}, code: 2, stderr: []string{"needs a terminal", "proberctl watch"}},
	})
}
