// Package server is the probe server: a small web app that misbehaves on
// purpose (slow start, crash on launch, crash on request, flaky health) so
// people can watch Kubernetes probes and restarts act on it.
//
// The environment variable names and routes of the original probeserver image
// (github.com/trek10inc/probeserver, run.py) are kept exactly, so the seed
// blog post's manifests and curl lines work unchanged.
package server

import (
	"fmt"
	"math"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Config is the server's effective configuration. Build it with Load, which
// reads flags and the environment, or fill it in directly in tests.
type Config struct {
	Port int // 0 picks a free port (logged)
	// BindAddress is the IP the server listens on; "" is every interface,
	// which a pod needs (the kubelet, kube-proxy and other pods reach it on
	// the pod IP). The lab sets it to each pod's own loopback IP.
	BindAddress string

	// Content is the body of GET /. ContentSet distinguishes CONTENT=""
	// (an empty line) from CONTENT unset (the Hostname/Ip Address lines),
	// as run.py's 'EMPTY' default does.
	Content    string
	ContentSet bool

	StartWait     time.Duration
	CrashFactor   int // percent, 0-100
	CrashExitCode int // 0-255

	HealthStatusFactor int           // percent of /healthz answered 500
	HealthFailAfter    time.Duration // 0: never
	HealthFailChecks   int           // 0: once failing, fail until recovered
	ReadyStatusFactor  int           // percent of /readyz answered 503

	RandomSeed    uint64
	RandomSeedSet bool // false: a seed is drawn at start and logged

	DrainDelay      time.Duration
	ShutdownTimeout time.Duration
	ResolveTimeout  time.Duration
	LogRequests     bool

	// MaxProcs is GOMAXPROCS when set in the environment, else 0; the
	// command then sets 1 (see cmd_serve.go for why).
	MaxProcs int

	// Identity, shown by GET /, /resolve and /info.
	Hostname  string // HOSTNAME, else os.Hostname()
	PodIP     string // POD_IP, else IP_ADDRESS
	Version   string // filled by the command from its build stamp
	Knobs     map[string]string
	knobOrder []string
}

// Limits on what a knob or query may ask for. They keep a typo from turning
// into an hour-long hang.
const (
	maxWait    = 24 * time.Hour
	maxSeconds = 86400.0
)

// Knob documents one setting: its environment variable, its flag, its default
// and what it does. The command's --help is generated from Knobs().
type Knob struct {
	Env     string
	Flag    string // "" when the setting is environment-only
	Default string // "" shows as (unset)
	Usage   string
	Type    string // shown by --help beside the flag: int, seconds, percent...
	// apply parses a raw value into c, or says what is accepted.
	apply func(c *Config, raw string) error
}

// Knobs lists every setting in the order --help shows them.
func Knobs() []Knob {
	return []Knob{
		{Env: "PORT", Flag: "port", Default: "8080", Type: "port",
			Usage: "TCP port to listen on (0 picks a free one); the image sets 80",
			apply: number(0, 65535, "a port number from 0 to 65535", func(c *Config) *int { return &c.Port })},
		{Env: "BIND_ADDRESS", Flag: "bind-address", Type: "ip",
			Usage: "IP address to listen on; unset or empty: every interface, which a pod needs (the lab sets each pod's own 127.0.x.y)",
			apply: func(c *Config, raw string) error {
				s := strings.TrimSpace(raw)
				if s == "" {
					c.BindAddress = ""
					return nil
				}
				ip := net.ParseIP(s)
				if ip == nil {
					return fmt.Errorf("want an IP address such as 127.0.0.1 or ::1, or empty for every interface")
				}
				c.BindAddress = ip.String()
				return nil
			}},
		{Env: "CONTENT", Flag: "content", Type: "text",
			Usage: "body of GET /, followed by a newline; unset: Hostname and Ip Address lines",
			apply: func(c *Config, raw string) error {
				c.Content, c.ContentSet = raw, true
				return nil
			}},
		{Env: "START_WAIT_SECS", Flag: "start-wait-secs", Default: "0", Type: "seconds",
			Usage: "wait this long before listening; SIGTERM during the wait exits at once",
			apply: seconds(func(c *Config) *time.Duration { return &c.StartWait })},
		{Env: "CRASH_FACTOR", Flag: "crash-factor", Default: "0", Type: "percent",
			Usage: "percent chance to exit right after the start wait, before listening",
			apply: percent(func(c *Config) *int { return &c.CrashFactor })},
		{Env: "CRASH_EXIT_CODE", Flag: "crash-exit-code", Default: "1", Type: "code",
			Usage: "exit code of every crash; 0 is the original image's (Kubernetes shows Completed)",
			apply: number(0, 255, "an exit code from 0 to 255", func(c *Config) *int { return &c.CrashExitCode })},
		{Env: "HEALTH_STATUS_FACTOR", Flag: "health-status-factor", Default: "0", Type: "percent",
			Usage: "percent chance, per request, that /healthz answers 500",
			apply: percent(func(c *Config) *int { return &c.HealthStatusFactor })},
		{Env: "HEALTH_FAIL_AFTER_SECS", Flag: "health-fail-after-secs", Default: "0", Type: "seconds",
			Usage: "start failing /healthz once the server has been up this long; 0 never",
			apply: seconds(func(c *Config) *time.Duration { return &c.HealthFailAfter })},
		{Env: "HEALTH_FAIL_CHECKS", Flag: "health-fail-checks", Default: "0", Type: "count",
			Usage: "once /healthz starts failing, fail this many checks in a row, then recover; 0 fails until POST /healthz/recover",
			apply: number(0, math.MaxInt32, "a whole number of checks, 0 or more", func(c *Config) *int { return &c.HealthFailChecks })},
		{Env: "READY_STATUS_FACTOR", Flag: "ready-status-factor", Default: "0", Type: "percent",
			Usage: "percent chance, per request, that /readyz answers 503",
			apply: percent(func(c *Config) *int { return &c.ReadyStatusFactor })},
		{Env: "RANDOM_SEED", Flag: "random-seed", Type: "uint",
			Usage: "seed for every random decision, so a run can be repeated; unset: drawn at start and logged",
			apply: func(c *Config, raw string) error {
				n, err := strconv.ParseUint(strings.TrimSpace(raw), 10, 64)
				if err != nil {
					return fmt.Errorf("want a whole number from 0 to %d", uint64(math.MaxUint64))
				}
				c.RandomSeed, c.RandomSeedSet = n, true
				return nil
			}},
		{Env: "DRAIN_DELAY_SECS", Flag: "drain-delay-secs", Default: "0", Type: "seconds",
			Usage: "on SIGTERM, answer /readyz 503 and keep serving this long before shutting down",
			apply: seconds(func(c *Config) *time.Duration { return &c.DrainDelay })},
		{Env: "SHUTDOWN_TIMEOUT_SECS", Flag: "shutdown-timeout-secs", Default: "10", Type: "seconds",
			Usage: "after the drain delay, wait at most this long for requests in flight",
			apply: seconds(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
		{Env: "RESOLVE_TIMEOUT_SECS", Flag: "resolve-timeout-secs", Default: "5", Type: "seconds",
			Usage: "time limit of /resolve: lookup, connect and reading the answer",
			apply: func(c *Config, raw string) error {
				d, err := parseSeconds(raw, maxSeconds)
				if err == nil && d == 0 {
					err = fmt.Errorf("want a number of seconds above 0")
				}
				c.ResolveTimeout = d
				return err
			}},
		{Env: "LOG_REQUESTS", Flag: "log-requests", Default: "false", Type: "bool",
			Usage: "log every request as a JSON line (decisions to crash or fail, and requests to unknown paths or with a wrong method, are always logged)",
			apply: func(c *Config, raw string) error {
				b, err := strconv.ParseBool(strings.TrimSpace(raw))
				if err != nil {
					return fmt.Errorf("want true or false")
				}
				c.LogRequests = b
				return nil
			}},
		{Env: "GOMAXPROCS", Default: "1",
			Usage: "CPUs the server's Go runtime uses at once; one serves probes faster next to other busy processes",
			apply: number(1, 1024, "a whole number of CPUs from 1 to 1024", func(c *Config) *int { return &c.MaxProcs })},
		{Env: "HOSTNAME", Default: "the machine's host name",
			Usage: "name shown by GET /, /resolve and /info (Kubernetes sets it to the pod name)",
			apply: func(c *Config, raw string) error {
				c.Hostname = raw
				return nil
			}},
		{Env: "IP_ADDRESS",
			Usage: "address shown as Ip Address (the original image's variable); POD_IP wins",
			apply: func(c *Config, raw string) error {
				if c.PodIP == "" {
					c.PodIP = raw
				}
				return nil
			}},
		{Env: "POD_IP", Default: "BIND_ADDRESS if set, else the first non-loopback interface address",
			Usage: "address shown as Ip Address and in /info (set it from status.podIP)",
			apply: func(c *Config, raw string) error {
				if raw != "" {
					c.PodIP = raw
				}
				return nil
			}},
	}
}

// Flags holds the serve command's flags between registration and Load.
type Flags struct {
	fs     *pflag.FlagSet
	values map[string]*flagValue
}

// flagValue validates a flag's value as it is parsed, so a bad value is a
// usage error with the flag's name in it.
type flagValue struct {
	knob Knob
	raw  string
}

func (v *flagValue) String() string { return v.raw }
func (v *flagValue) Type() string   { return v.knob.Type }
func (v *flagValue) Set(s string) error {
	var c Config
	if err := v.knob.apply(&c, s); err != nil {
		return err
	}
	v.raw = s
	return nil
}

// RegisterFlags adds a flag for every knob that has one. Call Load after the
// flag set is parsed.
func RegisterFlags(fs *pflag.FlagSet) *Flags {
	f := &Flags{fs: fs, values: map[string]*flagValue{}}
	for _, k := range Knobs() {
		if k.Flag == "" {
			continue
		}
		v := &flagValue{knob: k, raw: k.Default}
		f.values[k.Flag] = v
		usage := k.Usage + " (env " + k.Env + ")"
		fs.Var(v, k.Flag, usage)
		if k.Type == "bool" {
			fs.Lookup(k.Flag).NoOptDefVal = "true"
		}
	}
	return f
}

// ConfigError says which setting was wrong and what it accepts.
type ConfigError struct {
	Source string // "CRASH_FACTOR" or "--crash-factor"
	Value  string
	Err    error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s=%q: %v", e.Source, e.Value, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Load builds the configuration: a flag given on the command line wins, then
// the environment variable, then the default. lookupEnv is os.LookupEnv in
// the command; f may be nil (environment only).
func Load(f *Flags, lookupEnv func(string) (string, bool)) (Config, error) {
	var c Config
	c.Knobs = map[string]string{}
	for _, k := range Knobs() {
		raw, source, set := k.Default, k.Env, false
		if f != nil && k.Flag != "" && f.fs.Changed(k.Flag) {
			raw, source, set = f.values[k.Flag].raw, "--"+k.Flag, true
		} else if v, ok := lookupEnv(k.Env); ok {
			raw, set = v, true
		}
		if !set && (k.Default == "" || k.Flag == "") {
			continue // unset, and its default is computed rather than parsed
		}
		if err := k.apply(&c, raw); err != nil {
			return Config{}, &ConfigError{Source: source, Value: raw, Err: err}
		}
		c.Knobs[k.Env] = raw
		c.knobOrder = append(c.knobOrder, k.Env)
	}
	if c.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			h = "localhost" // run.py's default
		}
		c.Hostname = h
	}
	return c, nil
}

// Defaults is the configuration with nothing set, for tests and embedding.
func Defaults() Config {
	c, err := Load(nil, func(string) (string, bool) { return "", false })
	if err != nil {
		panic("server: defaults do not parse: " + err.Error()) // a bug in Knobs, not input
	}
	return c
}

// knobNames returns the knobs in table order, for stable logs.
func (c *Config) knobNames() []string {
	if len(c.knobOrder) == len(c.Knobs) {
		return c.knobOrder
	}
	names := make([]string, 0, len(c.Knobs))
	for n := range c.Knobs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// number, percent and seconds build a knob's apply for the common kinds of
// value: each parses raw and stores it in the field that field picks out of
// c, or says what is accepted.

func number(lo, hi int, want string, field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, raw string) error {
		n, err := parseInt(raw, lo, hi, want)
		*field(c) = n
		return err
	}
}

func percent(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, raw string) error {
		n, err := parsePercent(raw)
		*field(c) = n
		return err
	}
}

func seconds(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, raw string) error {
		d, err := parseSeconds(raw, maxSeconds)
		*field(c) = d
		return err
	}
}

func parseInt(raw string, lo, hi int, want string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("want %s", want)
	}
	return n, nil
}

// parsePercent accepts whole percentages, as run.py's int() does.
func parsePercent(raw string) (int, error) {
	return parseInt(raw, 0, 100, "a whole percentage from 0 to 100")
}

// parseSeconds accepts a whole or decimal number of seconds (run.py took only
// whole ones; fractions make tests and quick experiments faster).
func parseSeconds(raw string, max float64) (time.Duration, error) {
	s := strings.TrimSpace(raw)
	f, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0) || strings.ContainsAny(s, "xXpP_"):
		return 0, fmt.Errorf("want a number of seconds, such as 15 or 0.5")
	case f < 0:
		return 0, fmt.Errorf("want 0 or more seconds, not a negative number")
	case f > max:
		return 0, fmt.Errorf("want at most %d seconds", int(max))
	}
	return time.Duration(f * float64(time.Second)), nil
}
