package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"
)

// usageCase is one command line and what it must exit with and print: the
// shape of every command's usage test.
type usageCase struct {
	name      string
	args      []string
	code      int
	stdout    []string // substrings each must contain
	stderr    []string
	notStdout []string
	notStderr []string
	// before runs first in the case's subtest, to skip it where it cannot
	// run.
	before func(t *testing.T)
}

// checkUsage runs each case through run, as its own subtest.
func checkUsage(t *testing.T, cases []usageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before(t)
			}
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errOut)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errOut.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, out.String())
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(errOut.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut.String())
				}
			}
			for _, s := range tc.notStdout {
				if strings.Contains(out.String(), s) {
					t.Errorf("stdout has %q:\n%s", s, out.String())
				}
			}
			for _, s := range tc.notStderr {
				if strings.Contains(errOut.String(), s) {
					t.Errorf("stderr has %q:\n%s", s, errOut.String())
				}
			}
		})
	}
}

// TestDispatch checks the command table's contract with the person typing:
// what is accepted is printed when something is not, and usage errors exit 2.
func TestDispatch(t *testing.T) {
	checkUsage(t, []usageCase{
		{name: "no args", args: nil, code: 2, stderr: []string{"Commands:", "serve", "version"}},
		{name: "help", args: []string{"--help"}, code: 0, stdout: []string{"Commands:", "serve", "Run 'proberctl <command> --help'"}},
		{name: "help command", args: []string{"help", "serve"}, code: 0, stdout: []string{"Usage:\n  proberctl serve [flags]", "Environment:", "CRASH_FACTOR"}},
		{name: "command help", args: []string{"serve", "--help"}, code: 0, stdout: []string{"Flags:", "--crash-factor", "START_WAIT_SECS"}},
		{name: "flagless command help", args: []string{"version", "--help"}, code: 0,
			stdout: []string{"Usage:\n  proberctl version\n"}},
		{name: "unknown command", args: []string{"bogus"}, code: 2, stderr: []string{`unknown command "bogus"`, "Commands:", "serve"}},
		{name: "unknown flag lists accepted flags", args: []string{"serve", "--bogus"}, code: 2,
			stderr: []string{"unknown flag: --bogus", "Accepted flags:", "--port", "Run 'proberctl serve --help'"}},
		{name: "unknown flag on a flagless command", args: []string{"version", "-x"}, code: 2,
			stderr: []string{"unknown shorthand flag: 'x'"}, notStderr: []string{"Accepted flags:"}},
		{name: "usage error exits 2", args: []string{"version", "extra"}, code: 2,
			stderr: []string{"version takes no arguments", "Run 'proberctl version --help'"}},
		{name: "help on an unknown command", args: []string{"help", "bogus"}, code: 2,
			stderr: []string{`unknown command "bogus"`, "Commands:", "serve"}},
		{name: "help on two commands", args: []string{"help", "serve", "version"}, code: 2,
			stderr: []string{"takes one command", "Commands:"}},
		// The error names the flag and what it accepts; the other flags
		// would push that line off the screen.
		{name: "bad flag value lists no flags", args: []string{"serve", "--port", "x"}, code: 2,
			stderr: []string{`invalid argument "x" for "--port" flag`, "Run 'proberctl serve --help'"}, notStderr: []string{"Accepted flags:", "--crash-factor"}},
		// A bad flag ends as a bad environment value does (CRASH_FACTOR=150
		// in the README): the error, then the same one line, no gap.
		{name: "bad flag value reads as a bad variable", args: []string{"serve", "--crash-factor", "150"}, code: 2,
			stderr: []string{"want a whole percentage from 0 to 100\nRun 'proberctl serve --help' for usage.\n"}},
		{name: "missing flag value lists no flags", args: []string{"serve", "--content"}, code: 2,
			stderr: []string{"flag needs an argument: --content"}, notStderr: []string{"Accepted flags:"}},
	})
}

func TestWrapWords(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		want  []string
	}{
		{"", 10, []string{""}},
		{"one two three", 20, []string{"one two three"}},
		{"one two three", 7, []string{"one two", "three"}},
		{"one  two\tthree", 3, []string{"one", "two", "three"}},
		{"a verylongword b", 4, []string{"a", "verylongword", "b"}},
	} {
		got := wrapWords(tc.in, tc.width)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrapWords(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}

// TestServeOnlyNamesTheFullBuild: in the image's serve-only build a
// dashboard command says where it lives instead of "unknown command".
func TestServeOnlyNamesTheFullBuild(t *testing.T) {
	serveOnly := []command{serveCommand(), versionCommand()}
	for _, tc := range []struct {
		table []command
		name  string
		want  string
	}{
		{serveOnly, "lab", `"lab" is not in this build`},
		{serveOnly, "watch", "go install github.com/proberctl/proberctl@latest"},
		{serveOnly, "bogus", `unknown command "bogus"`},
		{commands(), "bogus", `unknown command "bogus"`},
	} {
		if got := unknownCommand(tc.table, tc.name); !strings.Contains(got, tc.want) {
			t.Errorf("unknownCommand(%s) = %q, want it to contain %q", tc.name, got, tc.want)
		}
	}
}

func TestStamped(t *testing.T) {
	vcs := func(rev, at, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: at}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		name         string
		bi           debug.BuildInfo
		v, c, d      string // what -ldflags set
		wantV, wantC string
		wantD        string
	}{
		{name: "go install @version", bi: debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}},
			v: "dev", c: "unknown", d: "unknown", wantV: "v1.2.3", wantC: "unknown", wantD: "unknown"},
		{name: "go build in a checkout", bi: debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("0123456789abcdef0123", "2026-11-24T00:00:00Z", "true")},
			v: "dev", c: "unknown", d: "unknown", wantV: "dev", wantC: "0123456789ab-dirty", wantD: "2026-11-24T00:00:00Z"},
		{name: "ldflags win", bi: debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: vcs("0123456789abcdef", "2026-11-24T00:00:00Z", "false")},
			v: "v9", c: "abc", d: "today", wantV: "v9", wantC: "abc", wantD: "today"},
		{name: "nothing recorded", v: "dev", c: "unknown", d: "unknown", wantV: "dev", wantC: "unknown", wantD: "unknown"},
	} {
		v, c, d := stamped(&tc.bi, tc.v, tc.c, tc.d)
		if v != tc.wantV || c != tc.wantC || d != tc.wantD {
			t.Errorf("%s: stamped = %q %q %q, want %q %q %q", tc.name, v, c, d, tc.wantV, tc.wantC, tc.wantD)
		}
	}
}
