package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/proberctl/proberctl/server"
)

// TestServeHelp: --help documents every environment variable with its
// default, and the routes.
func TestServeHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("serve --help: exit %d, stderr %q", code, errb.String())
	}
	help := out.String()
	for _, k := range server.Knobs() {
		def := k.Default
		if def == "" {
			def = "(unset)"
		}
		var line string
		for _, l := range strings.Split(help, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), k.Env+" ") {
				line = l
			}
		}
		if line == "" || !strings.HasSuffix(line, "default "+def) {
			t.Errorf("Environment line for %s = %q, want it with default %s", k.Env, line, def)
		}
		if k.Flag != "" && !strings.Contains(help, "--"+k.Flag) {
			t.Errorf("--help lacks --%s", k.Flag)
		}
	}
	for _, route := range []string{"/healthz", "/readyz", "/crash", "/resolve?service=", "/info", "/metrics", "/delay", "/status/{code}", "/healthz/fail", "/readyz/disable"} {
		if !strings.Contains(help, route) {
			t.Errorf("--help lacks route %s", route)
		}
	}
}

// TestServeBadConfig: bad configuration exits 2 before anything listens,
// naming the setting and what it accepts.
func TestServeBadConfig(t *testing.T) {
	for _, tc := range []struct {
		env, value string
		args       []string
		want       string
	}{
		{"CRASH_FACTOR", "abc", nil, `CRASH_FACTOR="abc": want a whole percentage from 0 to 100`},
		{"CRASH_FACTOR", "150", nil, `CRASH_FACTOR="150": want a whole percentage from 0 to 100`},
		{"START_WAIT_SECS", "-1", nil, `START_WAIT_SECS="-1": want 0 or more seconds`},
		{"", "", []string{"--nope"}, "unknown flag: --nope"},
		{"", "", []string{"--health-status-factor=x"}, `invalid argument "x" for "--health-status-factor" flag`},
	} {
		if tc.env != "" {
			t.Setenv(tc.env, tc.value)
		}
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"serve"}, tc.args...), &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s=%q %v: exit %d, stderr %q; want 2 and %q", tc.env, tc.value, tc.args, code, errb.String(), tc.want)
		}
		if tc.env != "" {
			t.Setenv(tc.env, "0")
		}
	}
}
