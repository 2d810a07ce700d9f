package server

import (
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestLoadDefaults(t *testing.T) {
	c, err := Load(nil, envOf(map[string]string{"HOSTNAME": "h"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Port: 8080, CrashExitCode: 1, ShutdownTimeout: 10 * time.Second, ResolveTimeout: 5 * time.Second, Hostname: "h"}
	got := c
	got.Knobs, got.knobOrder = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("defaults = %+v\nwant       %+v", got, want)
	}
	// Every knob with a default shows in /info's knobs.
	for _, k := range Knobs() {
		if k.Flag != "" && k.Default != "" && c.Knobs[k.Env] != k.Default {
			t.Errorf("knobs[%s] = %q, want %q", k.Env, c.Knobs[k.Env], k.Default)
		}
	}
}

func TestLoadEnv(t *testing.T) {
	env := map[string]string{
		"PORT": "80", "CONTENT": `{ "team": "foo", "version": "1.0.1" }`, "START_WAIT_SECS": "15",
		"CRASH_FACTOR": "40", "CRASH_EXIT_CODE": "0", "HEALTH_STATUS_FACTOR": "40",
		"HEALTH_FAIL_AFTER_SECS": "2.5", "HEALTH_FAIL_CHECKS": "3", "READY_STATUS_FACTOR": "10",
		"RANDOM_SEED": "18446744073709551615", "DRAIN_DELAY_SECS": "5", "SHUTDOWN_TIMEOUT_SECS": "20",
		"RESOLVE_TIMEOUT_SECS": "1", "LOG_REQUESTS": "true", "HOSTNAME": "pod", "IP_ADDRESS": "10.0.0.2", "BIND_ADDRESS": "127.0.1.7",
	}
	c, err := Load(nil, envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Port: 80, Content: env["CONTENT"], ContentSet: true, StartWait: 15 * time.Second,
		CrashFactor: 40, CrashExitCode: 0, HealthStatusFactor: 40, HealthFailAfter: 2500 * time.Millisecond,
		HealthFailChecks: 3, ReadyStatusFactor: 10, RandomSeed: 1<<64 - 1, RandomSeedSet: true,
		DrainDelay: 5 * time.Second, ShutdownTimeout: 20 * time.Second, ResolveTimeout: time.Second,
		LogRequests: true, Hostname: "pod", PodIP: "10.0.0.2", BindAddress: "127.0.1.7",
	}
	got := c
	got.Knobs, got.knobOrder = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Load = %+v\nwant   %+v", got, want)
	}
	for k, v := range env {
		if k != "IP_ADDRESS" && c.Knobs[k] != v {
			t.Errorf("knobs[%s] = %q, want %q", k, c.Knobs[k], v)
		}
	}
}

func TestLoadBad(t *testing.T) {
	for _, tc := range []struct {
		env, value, want string
	}{
		{"CRASH_FACTOR", "abc", `CRASH_FACTOR="abc": want a whole percentage from 0 to 100`},
		{"CRASH_FACTOR", "150", `CRASH_FACTOR="150": want a whole percentage from 0 to 100`},
		{"CRASH_FACTOR", "-1", "want a whole percentage"},
		{"CRASH_FACTOR", "40.5", "want a whole percentage"},
		{"CRASH_FACTOR", "", "want a whole percentage"},
		{"HEALTH_STATUS_FACTOR", "101", "want a whole percentage"},
		{"READY_STATUS_FACTOR", "x", "want a whole percentage"},
		{"START_WAIT_SECS", "-1", `START_WAIT_SECS="-1": want 0 or more seconds, not a negative number`},
		{"START_WAIT_SECS", "abc", "want a number of seconds, such as 15 or 0.5"},
		{"START_WAIT_SECS", "NaN", "want a number of seconds"},
		{"START_WAIT_SECS", "Inf", "want a number of seconds"},
		{"START_WAIT_SECS", "1e9", "want at most 86400 seconds"},
		{"START_WAIT_SECS", "15s", "want a number of seconds"},
		{"PORT", "70000", "want a port number from 0 to 65535"},
		{"PORT", "http", "want a port number"},
		{"CRASH_EXIT_CODE", "256", "want an exit code from 0 to 255"},
		{"HEALTH_FAIL_CHECKS", "-2", "want a whole number of checks"},
		{"RANDOM_SEED", "-1", "want a whole number from 0 to"},
		{"RESOLVE_TIMEOUT_SECS", "0", "want a number of seconds above 0"},
		{"LOG_REQUESTS", "maybe", "want true or false"},
		{"DRAIN_DELAY_SECS", "-0.5", "not a negative number"},
		{"GOMAXPROCS", "0", "want a whole number of CPUs from 1 to 1024"},
		{"GOMAXPROCS", "all", "want a whole number of CPUs"},
		{"BIND_ADDRESS", "localhost", `BIND_ADDRESS="localhost": want an IP address such as 127.0.0.1 or ::1, or empty for every interface`},
		{"BIND_ADDRESS", "127.0.0.1:8080", "want an IP address"},
		{"BIND_ADDRESS", "127.0.1", "want an IP address"},
	} {
		_, err := Load(nil, envOf(map[string]string{tc.env: tc.value}))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Source != tc.env || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: err %v, want a ConfigError naming %s containing %q", tc.env, tc.value, err, tc.env, tc.want)
		}
	}
}

func parseFlags(t *testing.T, args ...string) (*Flags, error) {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := RegisterFlags(fs)
	return f, fs.Parse(args)
}

func TestFlagsWinOverEnv(t *testing.T) {
	f, err := parseFlags(t, "--port", "9000", "--crash-factor=5", "--log-requests", "--content", "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(f, envOf(map[string]string{"PORT": "8000", "CRASH_FACTOR": "abc", "START_WAIT_SECS": "2", "LOG_REQUESTS": "false"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9000 || c.CrashFactor != 5 || !c.LogRequests || c.StartWait != 2*time.Second || !c.ContentSet || c.Content != "" {
		t.Fatalf("Load = %+v", c)
	}
	if c.Knobs["PORT"] != "9000" || c.Knobs["CRASH_FACTOR"] != "5" {
		t.Fatalf("knobs = %v", c.Knobs)
	}
}

func TestFlagsBad(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--crash-factor=abc"}, `invalid argument "abc" for "--crash-factor" flag: want a whole percentage from 0 to 100`},
		{[]string{"--start-wait-secs", "-3"}, "not a negative number"},
		{[]string{"--port=99999"}, "want a port number"},
		{[]string{"--bind-address=0.0.0.0.0"}, `invalid argument "0.0.0.0.0" for "--bind-address" flag: want an IP address`},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
	} {
		_, err := parseFlags(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestKnobsDocumented: every knob says what it does and has a sane name, so
// --help and the README table stay complete.
func TestKnobsDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Knobs() {
		if k.Env == "" || k.Usage == "" || k.apply == nil || seen[k.Env] {
			t.Errorf("knob %+v is incomplete or repeated", k)
		}
		seen[k.Env] = true
		if k.Flag != "" && k.Default != "" {
			var c Config
			if err := k.apply(&c, k.Default); err != nil {
				t.Errorf("%s: default %q does not parse: %v", k.Env, k.Default, err)
			}
		}
	}
	for _, name := range []string{"CONTENT", "START_WAIT_SECS", "CRASH_FACTOR", "HEALTH_STATUS_FACTOR", "PORT", "CRASH_EXIT_CODE", "RANDOM_SEED", "POD_IP", "IP_ADDRESS", "HOSTNAME"} {
		if !seen[name] {
			t.Errorf("knob %s missing", name)
		}
	}
}

// TestREADMEListsEveryKnob keeps the README's table in step with Knobs().
func TestREADMEListsEveryKnob(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, k := range Knobs() {
		if !strings.Contains(readme, "`"+k.Env+"`") {
			t.Errorf("README.md does not document %s", k.Env)
		}
		if k.Flag != "" && !strings.Contains(readme, "`--"+k.Flag+"`") {
			t.Errorf("README.md does not document --%s", k.Flag)
		}
	}
}
