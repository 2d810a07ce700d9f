//go:build !serveonly

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestLabCommandUsage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   []string
		terminal bool // the case needs stdout and stdin not to be a terminal
	}{
		{name: "help teaches", args: []string{"lab", "--help"}, code: 0,
			stdout: []string{"no cluster", "127.0.0.1:30080", "demo/foo-1.0.2.yaml", "proberctl lab -f", "--log-file"}},
		{name: "no arguments", args: []string{"lab", "extra"}, code: 2, stderr: []string{"lab takes no arguments", "-f"}},
		{name: "unknown flag", args: []string{"lab", "--nope"}, code: 2, stderr: []string{"unknown flag: --nope"}},
		{name: "needs a terminal", args: []string{"lab"}, code: 2, stderr: []string{"needs a terminal", "proberctl watch --lab"}, terminal: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.terminal && onTerminal() {
				t.Skip("stdout is a terminal here: the lab would open its dashboard")
			}
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, errb.String())
			}
			for _, w := range tc.stdout {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb.String())
				}
			}
		})
	}
}
