package server

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/proberctl/proberctl/internal/testbin"
)

// The process tests run the real binary, built once per test run.
const testVersion = "v0.0.0-processtest"

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// binary builds github.com/proberctl/proberctl on first use, so unit-only
// runs (-run TestRoot, fuzzing) do not pay for it.
func binary(t *testing.T) string {
	t.Helper()
	// The Dockerfile's build: static, trimmed, serve-only, version stamped.
	return testbin.Build(t, testbin.Options{
		Tags:  []string{"serveonly"},
		Flags: []string{"-trimpath", "-ldflags", "-s -w -X main.version=" + testVersion},
		Env:   []string{"CGO_ENABLED=0"},
	})
}

// proc is one running `proberctl serve`.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr bytes.Buffer

	mu    sync.Mutex
	cond  *sync.Cond
	logs  []map[string]any
	done  bool
	state *os.ProcessState
}

// startServe runs `proberctl serve args...` with exactly env (plus PORT=0
// and a HOSTNAME unless given).
func startServe(t *testing.T, env map[string]string, args ...string) *proc {
	t.Helper()
	if _, ok := env["PORT"]; !ok {
		env["PORT"] = "0"
	}
	if _, ok := env["HOSTNAME"]; !ok {
		env["HOSTNAME"] = "proc-test"
	}
	cmd := exec.Command(binary(t), append([]string{"serve"}, args...)...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{t: t, cmd: cmd}
	p.cond = sync.NewCond(&p.mu)
	cmd.Stderr = &p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"msg": "NOT JSON", "line": sc.Text()}
			}
			p.mu.Lock()
			p.logs = append(p.logs, m)
			p.cond.Broadcast()
			p.mu.Unlock()
		}
		cmd.Wait()
		p.mu.Lock()
		p.done, p.state = true, cmd.ProcessState
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
	t.Cleanup(func() {
		p.mu.Lock()
		done := p.done
		p.mu.Unlock()
		if !done {
			cmd.Process.Kill()
		}
		for _, l := range p.allLogs() {
			if l["msg"] == "NOT JSON" {
				t.Errorf("stdout line is not JSON: %q", l["line"])
			}
		}
	})
	return p
}

func (p *proc) allLogs() []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]map[string]any(nil), p.logs...)
}

// waitFor blocks until cond holds on the state, or fails after timeout.
func (p *proc) waitFor(what string, timeout time.Duration, cond func() bool) {
	p.t.Helper()
	timer := time.AfterFunc(timeout, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	p.mu.Lock()
	defer p.mu.Unlock()
	for !cond() {
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out after %v waiting for %s; stdout %v; stderr %q", timeout, what, p.logs, p.stderr.String())
		}
		p.cond.Wait()
	}
}

// waitLog returns the first log record with msg. Called with p.mu unlocked.
func (p *proc) waitLog(msg string, timeout time.Duration) map[string]any {
	p.t.Helper()
	var found map[string]any
	p.waitFor("log "+msg, timeout, func() bool {
		for _, l := range p.logs {
			if l["msg"] == msg {
				found = l
				return true
			}
		}
		return p.done
	})
	if found == nil {
		p.t.Fatalf("exited without logging %q; stdout %v; stderr %q", msg, p.logs, p.stderr.String())
	}
	return found
}

// url waits for "listening" and returns the loopback base URL.
func (p *proc) url() string {
	p.t.Helper()
	l := p.waitLog("listening", 30*time.Second)
	_, port, err := net.SplitHostPort(l["addr"].(string))
	if err != nil {
		p.t.Fatal(err)
	}
	return "http://127.0.0.1:" + port
}

// exitCode waits for the process to end and returns its exit status.
func (p *proc) exitCode(timeout time.Duration) int {
	p.t.Helper()
	p.waitFor("exit", timeout, func() bool { return p.done })
	if ws, ok := p.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		p.t.Fatalf("killed by %v, want an exit", ws.Signal())
	}
	return p.state.ExitCode()
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func TestProcessStartWait(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	begin := time.Now()
	p := startServe(t, map[string]string{"START_WAIT_SECS": "1.5", "PORT": port})
	p.waitLog("waiting before listening", 30*time.Second)
	// During the wait nothing listens: the kubelet sees connection refused,
	// as in the seed's "dial tcp 10.44.0.3:80: connect: connection refused".
	if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
		c.Close()
		if time.Since(begin) < 1500*time.Millisecond {
			t.Fatal("listening during START_WAIT_SECS")
		}
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial during the wait: %v, want connection refused", err)
	}
	resp, err := http.Get(p.url() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the wait: %v %v", resp, err)
	}
	resp.Body.Close()
	if waited := time.Since(begin); waited < 1500*time.Millisecond {
		t.Fatalf("first 200 after %v, before START_WAIT_SECS=1.5 was over", waited)
	}
	p.signal(syscall.SIGTERM)
	if code := p.exitCode(30 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
}

func TestProcessCrashFactor(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"1", "0", "42"} {
		for i := 0; i < 3; i++ {
			p := startServe(t, map[string]string{"CRASH_FACTOR": "100", "CRASH_EXIT_CODE": code})
			if got := p.exitCode(30 * time.Second); fmt.Sprint(got) != code {
				t.Fatalf("CRASH_FACTOR=100 CRASH_EXIT_CODE=%s: exit %d", code, got)
			}
			l := p.waitLog("crashing on start", time.Second)
			if !strings.HasPrefix(l["reason"].(string), "CRASH_FACTOR=100 rolled ") || fmt.Sprint(l["exit_code"]) != code {
				t.Fatalf("crash log %v", l)
			}
			for _, l := range p.allLogs() {
				if l["msg"] == "listening" {
					t.Fatal("listened before crashing")
				}
			}
		}
	}
	for i := 0; i < 3; i++ {
		p := startServe(t, map[string]string{"CRASH_FACTOR": "0", "CRASH_EXIT_CODE": "42"})
		p.url()
		p.signal(syscall.SIGTERM)
		if code := p.exitCode(30 * time.Second); code != 0 {
			t.Fatalf("CRASH_FACTOR=0: exit %d, want 0 after SIGTERM", code)
		}
	}
}

func TestProcessCrashRoute(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env    map[string]string
		target string
		want   int
	}{
		{map[string]string{}, "/crash", 1},
		{map[string]string{"CRASH_EXIT_CODE": "0"}, "/crash", 0},
		{map[string]string{}, "/crash?code=3", 3},
	} {
		p := startServe(t, tc.env)
		resp, err := http.Get(p.url() + tc.target)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s answered %d, want an empty reply", tc.target, resp.StatusCode)
		}
		if !strings.Contains(err.Error(), "EOF") {
			t.Fatalf("GET %s: %v, want EOF (curl: Empty reply from server)", tc.target, err)
		}
		if code := p.exitCode(30 * time.Second); code != tc.want {
			t.Fatalf("GET %s: exit %d, want %d", tc.target, code, tc.want)
		}
	}
}

// TestProcessHealthFactor: HEALTH_STATUS_FACTOR=40 fails about 40% of checks
// (within 5 standard deviations of Binomial(n, 0.4)), and the same seed
// repeats the same answers.
func TestProcessHealthFactor(t *testing.T) {
	t.Parallel()
	const n = 2000
	run := func(seed string) []int {
		p := startServe(t, map[string]string{"HEALTH_STATUS_FACTOR": "40", "RANDOM_SEED": seed})
		url := p.url() + "/healthz"
		out := make([]int, n)
		for i := range out {
			resp, err := http.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := map[int]string{200: bodyOK, 500: bodyError}[resp.StatusCode]
			if want == "" || string(body) != want {
				t.Fatalf("GET /healthz = %d %q", resp.StatusCode, body)
			}
			out[i] = resp.StatusCode
		}
		p.signal(syscall.SIGTERM)
		if code := p.exitCode(30 * time.Second); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if logged := countMsg(p.allLogs(), "healthz failing"); logged != count(out, 500) {
			t.Fatalf("%d failures logged for %d served", logged, count(out, 500))
		}
		return out
	}
	a := run("1234")
	errs := count(a, 500)
	// mean 800, sd sqrt(2000*0.4*0.6) = 21.9
	if errs < 690 || errs > 910 {
		t.Fatalf("%d of %d checks failed, want about %d", errs, n, n*40/100)
	}
	if b := run("1234"); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("RANDOM_SEED=1234 gave two different sequences")
	}
}

func count(codes []int, c int) int {
	n := 0
	for _, x := range codes {
		if x == c {
			n++
		}
	}
	return n
}

func countMsg(logs []map[string]any, msg string) int {
	n := 0
	for _, l := range logs {
		if l["msg"] == msg {
			n++
		}
	}
	return n
}

// TestProcessSIGTERMUnderLoad: clients hammer the server; on SIGTERM /readyz
// turns 503 (the load balancer's cue) while /healthz stays 200; clients stop
// sending when they see it, as endpoints do; requests in flight across the
// listener closing, including slow ones, all complete; the process exits 0
// within the drain delay plus the shutdown timeout.
func TestProcessSIGTERMUnderLoad(t *testing.T) {
	t.Parallel()
	// The drain is generous so a loaded CI machine still sees /readyz turn
	// 503 and stops the clients before the listener closes.
	const drain, timeout = 3 * time.Second, 5 * time.Second
	p := startServe(t, map[string]string{"DRAIN_DELAY_SECS": "3", "SHUTDOWN_TIMEOUT_SECS": "5"})
	base := p.url()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	var (
		stop     = make(chan struct{})
		mu       sync.Mutex
		served   int
		failures []string
		wg       sync.WaitGroup
	)
	record := func(path string, resp *http.Response, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", path, err))
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			failures = append(failures, fmt.Sprintf("%s: %d", path, resp.StatusCode))
			return
		}
		served++
	}
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(base + "/healthz")
				record("/healthz", resp, err)
			}
		}()
	}
	// Slow requests that are still running when the listener closes.
	slow := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-slow
			resp, err := client.Get(base + "/delay?seconds=4")
			record("/delay", resp, err)
		}()
	}
	// Let the load run until it has served a good number of requests.
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := served
		mu.Unlock()
		if n >= 500 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(slow)
	sigAt := time.Now()
	p.signal(syscall.SIGTERM)

	// The readiness probe sees 503 while liveness stays 200.
	readyDeadline := time.Now().Add(drain)
	for {
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("/readyz during the drain: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode == 503 {
			break
		}
		if time.Now().After(readyDeadline.Add(5 * time.Second)) {
			t.Fatal("/readyz did not turn 503")
		}
	}
	resp, err := client.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz during the drain: %v %v, want 200", resp, err)
	}
	resp.Body.Close()
	close(stop) // endpoints updated: no new requests
	code := p.exitCode(drain + timeout + 10*time.Second)
	took := time.Since(sigAt)
	wg.Wait()
	if code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
	if took > drain+timeout+2*time.Second {
		t.Errorf("took %v to exit, want within drain %v + timeout %v", took, drain, timeout)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests dropped, first: %v", len(failures), served+len(failures), failures[:min(5, len(failures))])
	}
	if countMsg(p.allLogs(), "shut down cleanly") != 1 {
		t.Fatalf("no clean shutdown logged: %v", p.allLogs())
	}
	t.Logf("%d requests served, none dropped, exit 0 after %v", served, took)
}

func TestProcessSecondSignal(t *testing.T) {
	t.Parallel()
	p := startServe(t, map[string]string{"DRAIN_DELAY_SECS": "600"})
	p.url()
	p.signal(syscall.SIGTERM)
	p.waitLog("signal received: readyz now answers 503, healthz unchanged", 30*time.Second)
	p.signal(syscall.SIGTERM)
	if code := p.exitCode(30 * time.Second); code != 1 {
		t.Fatalf("second signal: exit %d, want 1", code)
	}
	p.waitLog("second signal: exiting at once", time.Second)
}

// TestProcessBindAddress: BIND_ADDRESS (or --bind-address) makes the
// server listen on that one address, as the lab does with each pod's own
// 127.0.x.y, so another local address's port reaches nothing of it, and
// /info shows the bound address. Unset it listens on every interface.
func TestProcessBindAddress(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("only Linux routes all of 127.0.0.0/8 to lo without configuration")
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		bind string // "" for every interface
	}{
		{name: "env", env: map[string]string{"BIND_ADDRESS": "127.0.3.9", "HOSTNAME": "bound-env"}, bind: "127.0.3.9"},
		{name: "flag wins", env: map[string]string{"BIND_ADDRESS": "127.0.3.8", "HOSTNAME": "bound-flag"}, args: []string{"--bind-address", "127.0.3.10"}, bind: "127.0.3.10"},
		{name: "unset: every interface", env: map[string]string{"HOSTNAME": "bound-all"}},
		{name: "empty: every interface", env: map[string]string{"BIND_ADDRESS": "", "HOSTNAME": "bound-empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startServe(t, tc.env, tc.args...)
			l := p.waitLog("listening", 30*time.Second)
			host, port, err := net.SplitHostPort(l["addr"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.bind; want != "" && host != want || want == "" && !net.ParseIP(host).IsUnspecified() {
				t.Fatalf("listening on %s, want %q (\"\" for every interface)", l["addr"], tc.bind)
			}
			var info Info
			at := tc.bind
			if at == "" {
				at = "127.0.0.1"
			}
			resp, err := http.Get("http://" + net.JoinHostPort(at, port) + "/info")
			if err != nil {
				t.Fatal(err)
			}
			err = json.NewDecoder(resp.Body).Decode(&info)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if info.Listen != l["addr"] || info.Hostname != tc.env["HOSTNAME"] {
				t.Errorf("/info listen %q hostname %q, want %q %q", info.Listen, info.Hostname, l["addr"], tc.env["HOSTNAME"])
			}
			// Bound to one IP, the Ip Address line and /info name it: it is
			// the one address the server is reached on.
			if tc.bind != "" {
				resp, err := http.Get("http://" + net.JoinHostPort(at, port) + "/")
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				want := "Hostname = " + tc.env["HOSTNAME"] + "\nIp Address = " + tc.bind + "\n"
				if string(body) != want || info.IP != tc.bind {
					t.Errorf("bound to %s: GET / = %q, /info ip %q; want %q and ip %s", tc.bind, body, info.IP, want, tc.bind)
				}
			}
			// Another local address: refused when bound, served when not.
			other := "127.0.0.1"
			if tc.bind == "" {
				other = "127.0.3.11"
			}
			resp, err = http.Get("http://" + net.JoinHostPort(other, port) + "/info")
			switch {
			case tc.bind != "" && err == nil:
				// Some other process may hold that address and port; it
				// must not be this server.
				var got Info
				json.NewDecoder(resp.Body).Decode(&got)
				resp.Body.Close()
				if got.Hostname == tc.env["HOSTNAME"] {
					t.Errorf("bound to %s, yet %s:%s reached it", tc.bind, other, port)
				}
			case tc.bind != "" && !errors.Is(err, syscall.ECONNREFUSED):
				t.Errorf("bound to %s: GET on %s:%s: %v, want connection refused", tc.bind, other, port, err)
			case tc.bind == "" && err != nil:
				t.Errorf("every interface: GET on %s:%s: %v", other, port, err)
			case tc.bind == "":
				resp.Body.Close()
			}
			p.signal(syscall.SIGTERM)
			if code := p.exitCode(30 * time.Second); code != 0 {
				t.Fatalf("exit %d after SIGTERM, want 0", code)
			}
		})
	}
}

func TestProcessSignalDuringStartWait(t *testing.T) {
	t.Parallel()
	p := startServe(t, map[string]string{"START_WAIT_SECS": "600"})
	p.waitLog("waiting before listening", 30*time.Second)
	p.signal(syscall.SIGTERM)
	if code := p.exitCode(30 * time.Second); code != 0 {
		t.Fatalf("SIGTERM during START_WAIT_SECS: exit %d, want 0", code)
	}
}

func TestProcessBadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"CRASH_FACTOR": "abc"}, nil, `CRASH_FACTOR="abc": want a whole percentage from 0 to 100`},
		{map[string]string{"CRASH_FACTOR": "150"}, nil, `CRASH_FACTOR="150": want a whole percentage from 0 to 100`},
		{map[string]string{"START_WAIT_SECS": "-5"}, nil, `START_WAIT_SECS="-5": want 0 or more seconds`},
		{map[string]string{"PORT": "http"}, nil, `PORT="http": want a port number`},
		{map[string]string{"BIND_ADDRESS": "pod.local"}, nil, `BIND_ADDRESS="pod.local": want an IP address`},
		{map[string]string{}, []string{"--bogus"}, "unknown flag: --bogus"},
		{map[string]string{}, []string{"--crash-factor", "abc"}, `invalid argument "abc" for "--crash-factor" flag`},
		{map[string]string{}, []string{"extra"}, "serve takes no arguments"},
	} {
		p := startServe(t, tc.env, tc.args...)
		if code := p.exitCode(30 * time.Second); code != 2 {
			t.Errorf("%v %v: exit %d, want 2", tc.env, tc.args, code)
		}
		if stderr := p.stderr.String(); !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "proberctl serve --help") {
			t.Errorf("%v %v: stderr %q, want %q and a pointer to --help", tc.env, tc.args, stderr, tc.want)
		}
	}
}

// TestProcessImageBinary checks what the image relies on: the binary is
// static (it runs on distroless/static), carries its version, and reports it
// in /info.
func TestProcessImageBinary(t *testing.T) {
	t.Parallel()
	f, err := elf.Open(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("binary is dynamically linked (%v); the image needs CGO_ENABLED=0", p.Type)
		}
	}
	out, err := exec.Command(binary(t), "version").Output()
	if err != nil || !strings.Contains(string(out), testVersion) {
		t.Fatalf("proberctl version = %q, %v; want %s", out, err, testVersion)
	}
	p := startServe(t, map[string]string{"POD_IP": "10.9.8.7", "HOSTNAME": "prober-foo-abc"})
	resp, err := http.Get(p.url() + "/info")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info Info
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if info.Version != testVersion || info.PodIP != "10.9.8.7" || info.Hostname != "prober-foo-abc" || info.GOMAXPROCS != 1 {
		t.Fatalf("/info = %+v", info)
	}
	l := p.waitLog("starting", time.Second)
	if l["version"] != testVersion || l["hostname"] != "prober-foo-abc" {
		t.Fatalf("start log %v", l)
	}

	// GOMAXPROCS set by hand wins over the server's default of 1.
	p = startServe(t, map[string]string{"GOMAXPROCS": "2"})
	resp, err = http.Get(p.url() + "/info")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.GOMAXPROCS != 2 {
		t.Fatalf("GOMAXPROCS=2: /info gomaxprocs %d, %v", info.GOMAXPROCS, err)
	}
}
