//go:build !serveonly && linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/proberctl/proberctl/internal/termtest"
	"github.com/proberctl/proberctl/internal/testbin"
	"github.com/proberctl/proberctl/kube/kubetest"
)

// TestMain removes the binary the terminal tests build. (Under the
// serveonly tag, where this file is left out, no test here builds one.)
func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// waitLimit bounds each wait for the screen to follow a key, a resize or
// the exit. It only costs time when something is broken; CI runs four labs
// at once on two cores, so it is generous.
const waitLimit = 20 * time.Second

// TestDashboardOnRealTerminal runs "proberctl lab" as a person does: the
// real binary on a real pseudo-terminal, its output read through a
// terminal emulator into a screen grid (what a person would see, not the
// bytes), keys typed into the terminal, the window resized by the kernel's
// SIGWINCH. teatest covers the model's flows on a byte buffer; this covers
// what only a terminal shows: raw mode, the alternate screen, the cursor,
// resizes, and a terminal given back in the state it was found in.
//
// The lab listens on 127.0.0.1:30080 (the demo's node port), and the lab
// package's tests use that port at the same time under go test ./..., so
// the lab runs in a network namespace of its own.
func TestDashboardOnRealTerminal(t *testing.T) {
	needOwnNetwork(t)
	bin := testbin.Build(t, testbin.Options{})

	type size struct{ w, h int }
	cases := []struct {
		name       string
		env        []string
		colour     bool
		start, end size
		quit       string // typed to quit; "SIGTERM" or "SIGHUP" sends that signal instead
	}{
		{name: "colour, 80x24 grown to 120x40, q", colour: true, start: size{80, 24}, end: size{120, 40}, quit: "q"},
		// Shrinking leaves the old frame's right part and bottom rows on a
		// real terminal unless the program clears them.
		{name: "NO_COLOR, 160x48 shrunk to 80x24, ctrl+c", env: []string{"NO_COLOR=1"}, start: size{160, 48}, end: size{80, 24}, quit: "\x03"},
		// kill PID from another terminal: the terminal must come back too.
		{name: "colour, 120x40 grown to 160x48, SIGTERM", colour: true, start: size{120, 40}, end: size{160, 48}, quit: "SIGTERM"},
		// The terminal window closed (its emulator sends SIGHUP): the lab
		// stops its pods and leaves as on SIGTERM.
		{name: "NO_COLOR, 100x30 grown to 120x40, SIGHUP", env: []string{"NO_COLOR=1"}, start: size{100, 30}, end: size{120, 40}, quit: "SIGHUP"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runOnTerminal(t, bin, tc.env, tc.colour, tc.start.w, tc.start.h, tc.end.w, tc.end.h, tc.quit)
		})
	}
}

// runOnTerminal runs the lab's dashboard on a w x h pseudo-terminal,
// checks the first screen (in colour or not) and the keys, resizes it to
// w2 x h2, and quits with quit.
func runOnTerminal(t *testing.T, bin string, env []string, colour bool, w, h, w2, h2 int, quit string) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	logFile := filepath.Join(t.TempDir(), "lab.log")
	p := startOnPty(t, exec.CommandContext(ctx, "unshare", "--net", "--", "sh", "-c", `ip link set lo up && exec "$@"`,
		"sh", bin, "lab", "--log-file", logFile), env, w, h, logFile)
	scr := p.scr

	running := regexp.MustCompile(`prober-foo-[0-9a-z]+-[0-9a-z]{5} +\S+ +Running `)
	// Conditions are waited for, not checked once: the program's writes
	// reach the emulator in pieces, and a frame may be half drawn.
	scr.WaitFor(t, 20*time.Second, fmt.Sprintf("the %dx%d layout with 3 Running prober-foo pods", w, h), func(l []string) bool {
		return count(l, running) == 3 && layout([]string{"lab", "ns default"}, w)(l) == nil
	})
	if n := scr.Coloured(); (n > 0) != colour {
		t.Errorf("%d cells in colour, want colour %v (NO_COLOR: words and markers carry the meaning)", n, colour)
	}

	// The help line's keys do what they say: ? opens the full help and ?
	// closes it, 2 is the timeline pane, 1 the pods. Each key changes the
	// screen, and the next is typed only once it has: keys typed together
	// reach Bubble Tea v1 as one key of several runes, which no binding
	// matches.
	keys := []struct {
		key, want string
	}{
		{"?", "KEYS  (? or esc closes"},
		{"?", "[1:pods]"},
		{"2", "5m→now: █ ready"},
		{"?", "KEYS  (? or esc closes"},
		{"?", "[2:timeline]"},
		{"1", "[1:pods]"},
	}
	for _, k := range keys {
		scr.WaitFor(t, waitLimit, fmt.Sprintf("%q to leave the screen before pressing %q", k.want, k.key), func(l []string) bool {
			return !strings.Contains(strings.Join(l, "\n"), k.want)
		})
		p.send(t, k.key)
		scr.WaitFor(t, waitLimit, fmt.Sprintf("%q on the screen after pressing %q", k.want, k.key), func(l []string) bool {
			return strings.Contains(strings.Join(l, "\n"), k.want)
		})
	}

	// Another window size: the kernel tells the program (SIGWINCH), and the
	// frame follows it.
	p.resize(t, w2, h2)
	scr.WaitFor(t, waitLimit, fmt.Sprintf("the %dx%d layout", w2, h2), func(l []string) bool {
		return layout([]string{"lab", "ns default"}, w2)(l) == nil
	})

	p.quit(ctx, t, quit)
}

// TestMouseOnRealTerminal runs "proberctl tui --mouse" on a real
// kube-apiserver and a real pseudo-terminal, and moves the mouse as a
// person does: the terminal reports the wheel and the buttons in the SGR
// encoding the program asked for, and stops reporting once it has left.
// tui's own tests check the model's answer to a tea.MouseMsg and the
// escape sequences; this checks the whole way: the modes the terminal is
// put in, the input parser reading real sequences off a tty, the screen
// following, and the modes undone however the program ends.
func TestMouseOnRealTerminal(t *testing.T) {
	env := kubetest.Start(t) // skips, or fails under PROBERCTL_REQUIRE_INTEGRATION=1, without the binaries
	bin := testbin.Build(t, testbin.Options{})
	ns := env.Namespace(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	// More pods than the pods pane has rows for, so the wheel scrolls it.
	const pods = 14
	for i := range pods {
		name := fmt.Sprintf("web-%02d", i)
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "proberctl:test"}}}}
		created, err := env.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create pod %s: %v", name, err)
		}
		created.Status = kubeletRunning(fmt.Sprintf("10.1.0.%d", i+10))
		if _, err := env.Client.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("status of pod %s: %v", name, err)
		}
	}
	kubeconfig := kubetest.Kubeconfig(t, env.Config, ns)

	for _, quit := range []string{"q", "SIGTERM"} {
		t.Run("quit with "+quit, func(t *testing.T) {
			t.Parallel()
			mouseOnTerminal(t, bin, kubeconfig, ns, pods, quit)
		})
	}
}

func mouseOnTerminal(t *testing.T, bin, kubeconfig, ns string, pods int, quit string) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	const w, h = 100, 24
	logFile := filepath.Join(t.TempDir(), "tui.log")
	p := startOnPty(t, exec.CommandContext(ctx, bin, "tui", "--mouse", "--kubeconfig", kubeconfig, "--log-file", logFile),
		nil, w, h, logFile)
	scr := p.scr

	// The rows of the pods pane, as pod names, and the selected one (the
	// row the > marks).
	podRow := regexp.MustCompile(`^(>| )..(web-\d\d) +1/1 +Running `)
	visible := func(l []string) (names []string, selected string) {
		for _, line := range l {
			if m := podRow.FindStringSubmatch(line); m != nil {
				names = append(names, m[2])
				if m[1] == ">" {
					selected = m[2]
				}
			}
		}
		return names, selected
	}
	name := func(i int) string { return fmt.Sprintf("web-%02d", i) }
	var rows int // how many pod rows the pane shows at this size
	scr.WaitFor(t, 20*time.Second, fmt.Sprintf("the pods pane with %d Running pods, the first selected", pods), func(l []string) bool {
		names, sel := visible(l)
		rows = len(names)
		return layout([]string{"test ", "ns " + ns}, w)(l) == nil && strings.Contains(strings.Join(l, "\n"), fmt.Sprintf("PODS %d ", pods)) &&
			rows > 1 && sel == name(0)
	})
	if rows >= pods {
		t.Fatalf("all %d pods fit in the pane at %dx%d; the test needs more pods to scroll", pods, w, h)
	}
	// The dashboard asked for button and drag reports (1002) in the SGR
	// encoding (1006), as tea.WithMouseCellMotion does.
	if got := scr.MouseReporting(); !slices.Equal(got, []ansi.Mode{ansi.ModeMouseButtonEvent}) || !scr.Mode(ansi.ModeMouseExtSgr) {
		t.Fatalf("mouse reporting %v, SGR encoding %v; want button events (1002) in SGR (1006)", got, scr.Mode(ansi.ModeMouseExtSgr))
	}

	// What a terminal sends in SGR mode (xterm's ctlseqs, "SGR (1006)"):
	// CSI < button ; column ; row M on a press, m on a release, 1-based;
	// the wheel is buttons 64 (up) and 65 (down) and has no release.
	sgr := func(button, x, y int, final byte) string {
		return fmt.Sprintf("\x1b[<%d;%d;%d%c", button, x+1, y+1, final)
	}
	wheelDown, wheelUp := sgr(65, 10, 6, 'M'), sgr(64, 10, 6, 'M')
	// selectedAt waits for the pane to show pod i selected, with first the
	// top visible row.
	selectedAt := func(what string, i, first int) {
		t.Helper()
		scr.WaitFor(t, waitLimit, fmt.Sprintf("%s: %s selected, %s the top row", what, name(i), name(first)), func(l []string) bool {
			names, sel := visible(l)
			return sel == name(i) && len(names) == rows && names[0] == name(first)
		})
	}

	// The wheel moves the selection as the arrow keys do, and the pane
	// scrolls once it passes the last row. Each event is sent once the
	// screen shows the one before it.
	for i := 1; i < pods; i++ {
		p.send(t, wheelDown)
		selectedAt(fmt.Sprintf("wheel down %d", i), i, max(0, i-rows+1))
	}
	p.send(t, wheelDown) // at the last pod: nothing to move to
	for i := pods - 2; i >= 0; i-- {
		p.send(t, wheelUp)
		selectedAt(fmt.Sprintf("wheel up to %d", i), i, min(i, pods-rows))
	}

	// A click (press and release of the left button) on the selected row
	// leaves the dashboard as it was: it does nothing with a click yet, and
	// selecting the clicked row would keep it too. The wheel event after
	// it moving the selection by exactly one row shows the input reader
	// took the click's two sequences whole and went on with the next.
	y := rowOf(t, scr.Lines(), name(0))
	p.send(t, sgr(0, 8, y, 'M')+sgr(0, 8, y, 'm'))
	p.send(t, wheelDown)
	selectedAt("a click on the selected row, then wheel down", 1, 0)
	scr.WaitFor(t, waitLimit, "the pods pane still focused, nothing else opened", func(l []string) bool {
		return strings.Contains(strings.Join(l, "\n"), "[1:pods]") && layout([]string{"test ", "ns " + ns}, w)(l) == nil
	})

	p.quit(ctx, t, quit)
}

// rowOf is the screen row (0-based) that shows pod name.
func rowOf(t *testing.T, lines []string, name string) int {
	t.Helper()
	for y, l := range lines {
		if strings.Contains(l, " "+name+" ") {
			return y
		}
	}
	t.Fatalf("no row shows %s", name)
	return 0
}

// kubeletRunning is the status a kubelet writes for a started, ready
// one-container pod (kubelet_pods.go generateAPIPodStatus): Running, its
// IP, the four conditions true, the container running and ready.
func kubeletRunning(ip string) corev1.PodStatus {
	now := metav1.Now()
	var conds []corev1.PodCondition
	for _, c := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		conds = append(conds, corev1.PodCondition{Type: c, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	started := true
	return corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, StartTime: &now, Conditions: conds,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Image: "proberctl:test",
			ImageID: "proberctl:test@sha256:" + strings.Repeat("0", 64), ContainerID: "containerd://app-" + ip,
			Ready: true, Started: &started, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}},
	}
}

// colourEnv names the variables that decide whether a program draws in
// colour (termenv's rules, which lipgloss follows).
var colourEnv = []string{"TERM", "COLORTERM", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "CI"}

// onPty is a program running on a pseudo-terminal whose other side is a
// terminal emulator's screen.
type onPty struct {
	ptmx, tty *os.File
	scr       *termtest.Screen
	cmd       *exec.Cmd
	exited    chan error // cmd.Wait's result
	waited    bool
	// cooked is the line discipline's state before the program ran, which
	// it must give back.
	cooked *unix.Termios
}

// startOnPty starts cmd on a new w x h pseudo-terminal with env added to
// the test's environment. On a failure the test logs the screen and the
// tail of logFile; its cleanup kills the program if it is still running.
func startOnPty(t *testing.T, cmd *exec.Cmd, env []string, w, h int, logFile string) *onPty {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	p := &onPty{ptmx: ptmx, tty: tty, scr: termtest.New(w, h), cmd: cmd, exited: make(chan error, 1)}
	t.Cleanup(func() {
		if !p.waited && cmd.Process != nil {
			cmd.Process.Kill()
			<-p.exited
		}
		// Ends the copy of the screen's answers; closing the pty ends the
		// copy of the program's output.
		p.scr.Close()
		ptmx.Close()
		tty.Close()
	})
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)}); err != nil {
		t.Fatal(err)
	}
	p.cooked, err = unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if p.cooked.Lflag&(unix.ICANON|unix.ECHO) != unix.ICANON|unix.ECHO {
		t.Fatalf("a new pseudo-terminal is not in cooked mode (lflag %#x)", p.cooked.Lflag)
	}

	// The terminal the emulator is, as a person's shell would describe it.
	// None of the test run's own colour settings leak in: termenv treats a
	// set CI as "not a terminal" and CLICOLOR=0 as NO_COLOR, so a CI job
	// would otherwise see a colourless dashboard whatever the case asks.
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(colourEnv, name)
	}), append([]string{"TERM=xterm-256color"}, env...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// Its own session with the pty as controlling terminal: the kernel
	// then sends it SIGWINCH on a resize, as a shell's job gets it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	go func() { p.exited <- cmd.Wait() }()
	// The terminal's side: what the program writes goes to the screen; the
	// emulator's answers to the program's queries (the background colour,
	// the cursor position) go back as typed input.
	go io.Copy(p.scr, ptmx)
	go io.Copy(ptmx, p.scr)
	t.Cleanup(func() { // runs before the one above
		if t.Failed() {
			t.Logf("screen at the end:\n%s", strings.Join(p.scr.Lines(), "\n"))
			if b, err := os.ReadFile(logFile); err == nil {
				t.Logf("%s (tail):\n%s", filepath.Base(logFile), tail(string(b), 4000))
			}
		}
	})
	return p
}

// send types s into the terminal: keys, or the bytes a terminal sends for
// the mouse.
func (p *onPty) send(t *testing.T, s string) {
	t.Helper()
	if _, err := p.ptmx.Write([]byte(s)); err != nil {
		t.Fatalf("type %q: %v", s, err)
	}
}

// resize makes the window w x h: the screen, then the pty, whose kernel
// side sends the program SIGWINCH.
func (p *onPty) resize(t *testing.T, w, h int) {
	t.Helper()
	p.scr.Resize(w, h)
	if err := pty.Setsize(p.ptmx, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)}); err != nil {
		t.Fatal(err)
	}
}

// quit ends the program with quit, typed, or the signal "SIGTERM" or
// "SIGHUP" names, and checks it exits with status 0 and gives the
// terminal back as it found it: the main screen, the cursor shown, mouse
// reporting off, and the line discipline's settings (cooked mode, echo).
func (p *onPty) quit(ctx context.Context, t *testing.T, quit string) {
	t.Helper()
	var err error
	switch quit {
	case "SIGTERM":
		err = p.cmd.Process.Signal(syscall.SIGTERM)
	case "SIGHUP":
		err = p.cmd.Process.Signal(syscall.SIGHUP)
	default:
		_, err = p.ptmx.Write([]byte(quit))
	}
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		p.waited = true
		// Exit status 0 on a signal too: the dashboard takes SIGTERM and
		// SIGHUP as a way to leave, it does not die of them.
		if err != nil {
			t.Fatalf("%s after %q: %v (want exit status 0)", p.cmd.Args[0], quit, err)
		}
	case <-ctx.Done():
		t.Fatalf("%s did not exit after %q", p.cmd.Args[0], quit)
	}
	// The last bytes the program wrote may still be on their way from the
	// pty to the emulator: wait for the main screen.
	p.scr.WaitFor(t, waitLimit, "the main screen back", func([]string) bool { return !p.scr.AltScreen() })
	if p.scr.CursorHidden() {
		t.Errorf("the cursor is still hidden after %q", quit)
	}
	// Left on, the terminal would go on sending the mouse to the shell as
	// text, and its own selection would not work.
	if m := p.scr.MouseReporting(); len(m) > 0 || p.scr.Mode(ansi.ModeMouseExtSgr) {
		t.Errorf("mouse reporting still on after %q: %v, SGR encoding %v", quit, m, p.scr.Mode(ansi.ModeMouseExtSgr))
	}
	after, err := unix.IoctlGetTermios(int(p.tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	c := p.cooked
	if after.Lflag != c.Lflag || after.Iflag != c.Iflag || after.Oflag != c.Oflag {
		t.Errorf("terminal not restored after %q: lflag %#x iflag %#x oflag %#x, was %#x %#x %#x",
			quit, after.Lflag, after.Iflag, after.Oflag, c.Lflag, c.Iflag, c.Oflag)
	}
}

// layout checks the pods pane's frame on a w-cell wide screen: the header
// (with each of the strings header names) on the first row, the pods table's header on the fourth with the columns
// that width gets (IP and NODE from 120 cells, a TIMELINE from 160), the
// key help on the last row. A line wider than the screen would wrap onto
// the next row and push the rows below down, and a stale row of a bigger
// frame would stay below the key help.
func layout(header []string, w int) func(l []string) error {
	return func(l []string) error {
		if len(l) < 5 {
			return fmt.Errorf("%d rows", len(l))
		}
		for _, s := range header {
			if !strings.Contains(l[0], s) {
				return fmt.Errorf("the header (%q) is not on the first row: %q", s, l[0])
			}
		}
		if !strings.Contains(l[3], "NAME") {
			return fmt.Errorf("the pods table's header is not on row 4: %q", l[3])
		}
		for col, from := range map[string]int{"NODE": 120, "TIMELINE": 160} {
			if strings.Contains(l[3], col) != (w >= from) {
				return fmt.Errorf("at %d columns, %s shown is %v: %q", w, col, !(w >= from), l[3])
			}
		}
		last := l[len(l)-1]
		if !strings.Contains(last, " • ") {
			return fmt.Errorf("the key help is not on the last row: %q", last)
		}
		if strings.Contains(strings.Join(l[:len(l)-1], "\n"), " • ") {
			return errors.New("a key help line above the last row")
		}
		return nil
	}
}

// needOwnNetwork skips (fails with PROBERCTL_REQUIRE_INTEGRATION=1) unless
// the test can run the lab in a network namespace of its own: root, and
// unshare and ip (Debian's util-linux and iproute2).
func needOwnNetwork(t *testing.T) {
	t.Helper()
	skip := func(msg string) {
		t.Helper()
		if os.Getenv("PROBERCTL_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("real-terminal test: " + msg + "; PROBERCTL_REQUIRE_INTEGRATION=1 makes this a failure, not a skip")
		}
		t.Skip("real-terminal test skipped: " + msg)
	}
	if uid := os.Geteuid(); uid != 0 {
		skip(fmt.Sprintf("the lab runs in its own network namespace (its node port 30080 is shared with the lab tests), which needs root (running as uid %d)", uid))
	}
	for _, tool := range []string{"unshare", "ip", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			skip(fmt.Sprintf("no %s command (Debian packages util-linux and iproute2)", tool))
		}
	}
}

func count(lines []string, re *regexp.Regexp) int {
	n := 0
	for _, l := range lines {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
