// Package testbin builds the proberctl binary for tests that run it as a
// real process: the probe server's process tests, the kubelet's containers,
// the CLI against a real API server.
//
// Each build happens once per test process and set of options, from the
// module root of the working tree whatever the package's directory, into a
// temporary directory that the package's TestMain removes with Cleanup. The
// go command's build cache makes a rebuild of an unchanged tree a link step.
package testbin

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// module is the path the module root's go.mod declares.
const module = "github.com/proberctl/proberctl"

// Options say how to build. The zero value is a plain `go build`.
type Options struct {
	// Tags are the build tags, e.g. "serveonly" for the image's build.
	Tags []string
	// Flags are further go build flags, e.g. "-trimpath" or an -ldflags
	// pair.
	Flags []string
	// Env is added to the go command's environment, e.g. "CGO_ENABLED=0".
	Env []string
}

// key tells option sets apart; NUL separates, as no flag contains it.
func (o Options) key() string {
	return strings.Join(o.Tags, ",") + "\x00" + strings.Join(o.Flags, "\x00") + "\x00\x00" + strings.Join(o.Env, "\x00")
}

type build struct {
	n    int // the build's directory under dir, one per option set
	once sync.Once
	path string
	err  error
}

var (
	// root is found when the package is initialised, before any test can
	// change the working directory.
	root, rootErr = moduleRoot()

	mu     sync.Mutex
	dir    string
	builds = map[string]*build{}
)

// Build returns the path of proberctl built with opts, building it on first
// use so that runs without a process test (-run, fuzzing) do not wait for
// it. A failed build fails tb with the go command's output.
func Build(tb testing.TB, opts Options) string {
	tb.Helper()
	path, err := Path(opts)
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// Path is Build for TestMain, where there is no testing.TB: it returns the
// build's error instead.
func Path(opts Options) (string, error) {
	mu.Lock()
	b, ok := builds[opts.key()]
	if !ok {
		b = &build{n: len(builds)}
		builds[opts.key()] = b
	}
	mu.Unlock()
	b.once.Do(func() { b.path, b.err = run(opts, b.n) })
	return b.path, b.err
}

// Cleanup removes every binary built so far. Call it from TestMain after
// m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
		dir = ""
	}
	clear(builds)
}

// run builds one option set into directory n under dir.
func run(opts Options, n int) (string, error) {
	if rootErr != nil {
		return "", rootErr
	}
	mu.Lock()
	if dir == "" {
		d, err := os.MkdirTemp("", "proberctl-testbin-")
		if err != nil {
			mu.Unlock()
			return "", fmt.Errorf("build proberctl: %w", err)
		}
		dir = d
	}
	out := filepath.Join(dir, fmt.Sprint(n), "proberctl")
	mu.Unlock()

	args := []string{"build"}
	if len(opts.Tags) > 0 {
		args = append(args, "-tags", strings.Join(opts.Tags, ","))
	}
	args = append(args, opts.Flags...)
	args = append(args, "-o", out, ".")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), opts.Env...)
	if output, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s (in %s): %v\n%s", strings.Join(args, " "), root, err, output)
	}
	return out, nil
}

// moduleRoot walks up from the working directory (a test runs in its
// package's directory) to the go.mod that declares the module.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the %s module root: %w", module, err)
	}
	for d := wd; ; {
		if declares(filepath.Join(d, "go.mod")) {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("no go.mod declaring " + module + " in " + wd + " or above it")
		}
		d = parent
	}
}

// declares reports whether the go.mod at path declares the module; nested
// modules (hack/controlplane) declare their own.
func declares(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return slices.Contains([]string{module, `"` + module + `"`}, fields[1])
		}
	}
	return false
}
