package lab

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/proberctl/proberctl/server"
)

// The seed's experiments are random: CRASH_FACTOR and HEALTH_STATUS_FACTOR
// roll on every start and every /healthz. A test of them must not depend on
// luck (with CRASH_FACTOR 40, 0.6^3 = 22% of first stages see no crash at
// all), so the experiment tests run their containers through a seeded
// runtime: this test binary, started by the lab's kubelet in place of
// "proberctl serve", picks a RANDOM_SEED for this start of this pod from a
// fixed plan and then execs the real "proberctl serve" with the manifest's
// environment plus that seed.
//
// Why per start and not in the manifest: the probe server draws all its
// rolls from RANDOM_SEED alone (server/health.go newDice), and every pod of
// a Deployment has the same environment, so one RANDOM_SEED in the
// template makes every start of every pod take the same decisions: a seed
// that crashes on start crashes every pod forever, one that does not never
// crashes. What varies in a real cluster is the start, so the seed varies
// with the start: by the pod's ordinal in its replica set (the order in
// which the kubelet first started the set's pods) and its attempt (how many
// times this pod's container started before, the restart count).
//
// Everything else is the lab's own: the kubelet runs, probes, kills and
// backs off exactly as without the plan; only the dice are loaded.

// seededRuntimeArg as argv[1] makes the test binary the seeded runtime.
const seededRuntimeArg = "lab-test-seeded-serve"

// A seedPlan picks the RANDOM_SEED of one container start. env is the
// container's environment as the kubelet built it.
type seedPlan func(env func(string) string, ordinal, attempt int) uint64

// Seeds whose first CRASH_FACTOR roll (randint(0,99) from
// rand.NewPCG(seed, streamCrash)) is below 40, so CRASH_FACTOR 40 crashes,
// and seeds whose roll is not. The first-stage test checks that the
// crashes happen as planned, so a change in how the server draws shows up
// there.
const (
	seedCrash1  = 2 // rolls 5
	seedCrash2  = 3 // rolls 15
	seedCrash3  = 6 // rolls 37
	seedNoCrash = 1 // rolls 99
)

// Seeds by their first HEALTH_STATUS_FACTOR rolls (rand.NewPCG(seed,
// streamHealth)): with factor 40 a roll below 40 answers 500.
const (
	// 14 passes, then 29 18 15 31 38: five failures.
	seedHealthLong = 56354
	// 4 passes (82 65 77 57), then 8 33 30 39 2.
	seedHealthShort = 1222
)

var seedPlans = map[string]seedPlan{
	// The seed's first stage as its output shows it (RESTARTS 2, 1, 2 at
	// 70 s, one pod in CrashLoopBackOff): the first pod crashes on its
	// first two starts (restarted at once, then after 10 s of
	// CrashLoopBackOff), the second never crashes, the third crashes once
	// (restarted at once).
	"first-stage": func(env func(string) string, ordinal, attempt int) uint64 {
		crashes := [][]uint64{{seedCrash1, seedCrash2}, nil, {seedCrash3}}
		if ordinal < len(crashes) && attempt < len(crashes[ordinal]) {
			return crashes[ordinal][attempt]
		}
		return seedNoCrash
	},
	// The second stage after a first stage that starts without crashes.
	// 1.0.2's /healthz answers (HEALTH_STATUS_FACTOR 40: run.py's roll per
	// request) come from seeds whose first rolls pass and the next five
	// fail. Passing first: each new pod gets ready at its first readiness
	// check and stays ready through the rollout (the first two for 14
	// checks, about 50 s; the last, created once the others are up, for 4,
	// about 25 s, which still ends after the rollout and brings the second
	// restart sooner). Five failures in a row: the liveness probe (every
	// 3 s, failure threshold 2) cannot miss two in a row even when
	// readiness checks take some of them.
	"second-stage": func(env func(string) string, ordinal, attempt int) uint64 {
		switch {
		case env("HEALTH_STATUS_FACTOR") == "":
			return seedNoCrash
		case ordinal == 2 && attempt == 0:
			return seedHealthShort
		}
		return seedHealthLong
	},
	// No crash on start: for tests that need the first stage up quickly
	// and are about something else.
	"calm": func(func(string) string, int, int) uint64 { return seedNoCrash },
}

// seededStart is one container start the seeded runtime made.
type seededStart struct {
	Pod     string
	Ordinal int
	Attempt int
	Seed    uint64
}

// seededRuntime is the ServerArgv of a lab whose containers start through
// the plan, and the record of the starts.
type seededRuntime struct {
	Argv []string
	dir  string
}

func newSeededRuntime(t *testing.T, plan string) *seededRuntime {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the seeded runtime execs the server, which Windows cannot do")
	}
	if _, ok := seedPlans[plan]; !ok {
		t.Fatalf("no seed plan %q", plan)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	argv := append([]string{self, seededRuntimeArg, plan, dir}, serverArgv...)
	return &seededRuntime{Argv: argv, dir: dir}
}

// Starts lists the starts so far, in the order they were made.
func (r *seededRuntime) Starts(t *testing.T) []seededStart {
	t.Helper()
	f, err := os.Open(filepath.Join(r.dir, "starts"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []seededStart
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s seededStart
		if _, err := fmt.Sscanf(sc.Text(), "%s %d %d %d", &s.Pod, &s.Ordinal, &s.Attempt, &s.Seed); err != nil {
			t.Fatalf("seeded runtime's record %q: %v", sc.Text(), err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// runSeededRuntime is the seeded runtime's main: args are the plan, the
// state directory and the server's argv. It never returns.
func runSeededRuntime(args []string) {
	if err := seededExec(args); err != nil {
		fmt.Fprintln(os.Stderr, "lab test seeded runtime:", err)
		os.Exit(127)
	}
}

func seededExec(args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("want PLAN DIR SERVER [ARGS...], got %q", args)
	}
	plan, ok := seedPlans[args[0]]
	if !ok {
		return fmt.Errorf("no seed plan %q", args[0])
	}
	dir, server := args[1], args[2:]
	pod := os.Getenv("HOSTNAME") // the kubelet sets it to the pod's name
	i := strings.LastIndexByte(pod, '-')
	if i <= 0 {
		return fmt.Errorf("HOSTNAME %q is not a replica set's pod name", pod)
	}
	set := pod[:i]
	podDir := filepath.Join(dir, "pods", pod)
	if err := os.MkdirAll(podDir, 0o755); err != nil {
		return err
	}
	// The ordinal is claimed once per pod: Mkdir is atomic, so two pods
	// starting together never get the same one. A pod's own starts are
	// one after another, so its files need no lock.
	ordinal := -1
	if b, err := os.ReadFile(filepath.Join(podDir, "ordinal")); err == nil {
		if ordinal, err = strconv.Atoi(string(b)); err != nil {
			return fmt.Errorf("ordinal of %s: %w", pod, err)
		}
	} else {
		setDir := filepath.Join(dir, "sets", set)
		if err := os.MkdirAll(setDir, 0o755); err != nil {
			return err
		}
		for ordinal = 0; ; ordinal++ {
			err := os.Mkdir(filepath.Join(setDir, strconv.Itoa(ordinal)), 0o755)
			if err == nil {
				break
			}
			if !errors.Is(err, os.ErrExist) {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(podDir, "ordinal"), []byte(strconv.Itoa(ordinal)), 0o644); err != nil {
			return err
		}
	}
	prev, err := os.ReadDir(podDir)
	if err != nil {
		return err
	}
	attempt := len(prev) - 1 // every entry but "ordinal" is a start
	if err := os.Mkdir(filepath.Join(podDir, "start-"+strconv.Itoa(attempt)), 0o755); err != nil {
		return err
	}
	seed := plan(os.Getenv, ordinal, attempt)
	f, err := os.OpenFile(filepath.Join(dir, "starts"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	// One short write with O_APPEND: lines of pods starting together do
	// not interleave.
	_, err = fmt.Fprintf(f, "%s %d %d %d\n", pod, ordinal, attempt, seed)
	f.Close()
	if err != nil {
		return err
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RANDOM_SEED=") {
			env = append(env, kv)
		}
	}
	env = append(env, "RANDOM_SEED="+strconv.FormatUint(seed, 10))
	return syscall.Exec(server[0], server, env)
}

// TestHealthSeeds checks the second-stage seeds against the real server's
// /healthz: the plan's timing rests on their passes and failures.
func TestHealthSeeds(t *testing.T) {
	for _, tc := range []struct {
		seed   uint64
		passes int
	}{
		{seedHealthLong, 14},
		{seedHealthShort, 4},
	} {
		cfg := server.Defaults()
		cfg.HealthStatusFactor = 40 // demo/foo-1.0.2.yaml
		cfg.RandomSeed, cfg.RandomSeedSet = tc.seed, true
		h := server.New(cfg, slog.New(slog.DiscardHandler)).Handler()
		var got []int
		for range tc.passes + 5 {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			got = append(got, rec.Code)
		}
		want := slices.Repeat([]int{http.StatusOK}, tc.passes)
		want = append(want, slices.Repeat([]int{http.StatusInternalServerError}, 5)...)
		if !slices.Equal(got, want) {
			t.Errorf("RANDOM_SEED %d with HEALTH_STATUS_FACTOR 40: /healthz answered %v, want %v", tc.seed, got, want)
		}
	}
}
