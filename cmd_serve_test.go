package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
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
	env := envEntries(t, help)
	for _, k := range server.Knobs() {
		want := "(default " + k.Default + ")"
		if k.Default == "" {
			want = "(unset by default)"
		}
		if entry := env[k.Env]; !strings.HasSuffix(entry, want) {
			t.Errorf("Environment entry for %s = %q, want it to end with %s", k.Env, entry, want)
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

// envEntries reads the Environment section of a --help: each variable's
// usage and default, its wrapped lines joined, by name. No line may be
// wider than the help's width.
func envEntries(t *testing.T, help string) map[string]string {
	t.Helper()
	_, section, ok := strings.Cut(help, "\nEnvironment:\n")
	if !ok {
		t.Fatalf("--help has no Environment section:\n%s", help)
	}
	entries := map[string]string{}
	name := ""
	for _, l := range strings.Split(strings.TrimRight(section, "\n"), "\n") {
		if len(l) > helpWidth {
			t.Errorf("Environment line wider than %d: %q", helpWidth, l)
		}
		if strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   ") {
			fields := strings.Fields(l)
			name = fields[0]
			entries[name] = strings.Join(fields[1:], " ")
			continue
		}
		if name == "" {
			t.Fatalf("Environment section starts with a continuation line %q", l)
		}
		entries[name] += " " + strings.TrimSpace(l)
	}
	return entries
}

// TestServeBusyPort: a port in use is the first thing a second "serve" (or
// one beside the lab) meets; the error says so and how out of it.
func TestServeBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	// serve drops to one P unless GOMAXPROCS is set: keep this test
	// binary's, for the tests after this one.
	t.Setenv("GOMAXPROCS", strconv.Itoa(runtime.GOMAXPROCS(0)))
	checkUsage(t, []usageCase{
		{name: "busy port", args: []string{"serve", "--port", port, "--random-seed", "1"}, code: 1,
			stderr: []string{"listen on port " + port, "address already in use", "--port or PORT, 0 for a free one"}},
	})
}

func TestListenHint(t *testing.T) {
	wrap := func(errno syscall.Errno) error {
		return fmt.Errorf("listen on port 80: %w", &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", errno)})
	}
	for _, tc := range []struct {
		name string
		err  error
		port int
		want string // "" for the error unchanged
	}{
		{"in use", wrap(syscall.EADDRINUSE), 8080, "--port or PORT, 0 for a free one"},
		{"privileged port", wrap(syscall.EACCES), 80, "set PORT=8080"},
		{"denied on a high port", wrap(syscall.EACCES), 8080, ""},
		{"other", errors.New("boom"), 80, ""},
	} {
		got := listenHint(tc.err, tc.port)
		if !errors.Is(got, tc.err) {
			t.Errorf("%s: %v does not wrap %v", tc.name, got, tc.err)
		}
		if tc.want == "" && got.Error() != tc.err.Error() {
			t.Errorf("%s: %q, want it unchanged", tc.name, got)
		}
		if tc.want != "" && !strings.Contains(got.Error(), tc.want) {
			t.Errorf("%s: %q lacks %q", tc.name, got, tc.want)
		}
	}
}
