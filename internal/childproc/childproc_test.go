//go:build linux

package childproc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const parentEnv = "CHILDPROC_TEST_PARENT"

// The tests read /proc and rely on the parent-death signal: Linux only.

// TestMain doubles as a parent that dies without cleanup: with parentEnv
// set, the test binary starts `sleep` through Start, prints its pid and
// waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv(parentEnv) == "1" {
		cmd := exec.Command("sleep", "300")
		if err := Start(cmd); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		// Give the Go runtime reasons to retire threads: the child must not
		// die with any thread but the process.
		for range 50 {
			go func() { time.Sleep(time.Millisecond) }()
		}
		fmt.Println(cmd.Process.Pid)
		select {}
	}
	os.Exit(m.Run())
}

// TestChildDiesWithParent kills the parent with SIGKILL, so no cleanup can
// run, and checks that the child goes too.
func TestChildDiesWithParent(t *testing.T) {
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), parentEnv+"=1")
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		parent.Process.Kill()
		t.Fatalf("read child pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		parent.Process.Kill()
		t.Fatalf("parent printed %q, want a pid", line)
	}
	if !running(pid) {
		t.Fatalf("child %d not running while its parent is", pid)
	}
	parent.Process.Kill()
	parent.Wait()
	waitGone(t, pid)
}

// TestStopKillsTheGroup checks that Stop takes the child's own children
// with it: a shell that ignores SIGTERM and its background sleep.
func TestStopKillsTheGroup(t *testing.T) {
	p, grandchild := startWithGrandchild(t, `trap "" TERM; sleep 300 & echo $!; wait`)
	if err := p.Stop(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !p.Exited() {
		t.Error("Stop returned before the process exited")
	}
	waitGone(t, grandchild)
}

// startWithGrandchild starts a shell running script, which must start a
// background process and print its pid first, and returns both.
func startWithGrandchild(t *testing.T, script string) (*Process, int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	p, err := StartProcess(cmd)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil {
		p.Stop(0)
		t.Fatalf("read grandchild pid: %v", err)
	}
	grandchild, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		p.Stop(0)
		t.Fatalf("shell printed %q, want a pid", line)
	}
	return p, grandchild
}

// running reports whether pid exists and is not a zombie (one waiting for a
// reaper does not run).
func running(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name (proc(5)).
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for running(pid) {
		select {
		case <-deadline.C:
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("pid %d still running 10s after its parent died", pid)
		case <-tick.C:
		}
	}
}

// TestLeaderExitTakesTheGroup: a child that exits on its own leaves nothing
// of its group behind, as a container's processes end with its main
// process; the group is killed before the leader is reaped.
func TestLeaderExitTakesTheGroup(t *testing.T) {
	p, grandchild := startWithGrandchild(t, `sleep 300 & echo $!`)
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		p.Stop(0)
		t.Fatal("the shell did not exit")
	}
	waitGone(t, grandchild)
}

// ownedBy reports whether pid is still a child of this process, running or
// an unreaped zombie: then its number, and the group id it leads, cannot
// belong to anyone else.
func ownedBy(pid, parent int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return false
	}
	// ") S ppid ...", proc(5).
	f := strings.Fields(string(stat[i+1:]))
	return len(f) > 1 && f[1] == strconv.Itoa(parent)
}

// TestNoGroupSignalAfterReap checks every signal Stop and the waiter send to
// the group: each must go while the leader's pid is still this process's
// child, never after the reap, when the number may already be another
// process's (group). Stop races the child's own exit, and comes after it.
func TestNoGroupSignalAfterReap(t *testing.T) {
	var mu sync.Mutex
	var bad []string
	sent := 0
	signalHook = func(pgid int, sig syscall.Signal) {
		mu.Lock()
		defer mu.Unlock()
		sent++
		if !ownedBy(pgid, os.Getpid()) {
			bad = append(bad, fmt.Sprintf("%v to group %d", sig, pgid))
		}
	}
	t.Cleanup(func() { signalHook = nil })

	// Stop after the exit: the group went with the leader, so Stop has
	// nothing to signal.
	p, err := StartProcess(exec.Command("true"))
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	mu.Lock()
	before := sent
	mu.Unlock()
	if err := p.Stop(0); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if sent != before {
		t.Errorf("Stop after the reap sent %d signals, want none", sent-before)
	}
	mu.Unlock()

	// Stop racing the exit, many times.
	for range 50 {
		p, err := StartProcess(exec.Command("true"))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Stop(0); err != nil {
			t.Fatal(err)
		}
		if !p.Exited() {
			t.Fatal("Stop returned before the process was reaped")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("group signalled after its leader was reaped: %v", bad)
	}
	if sent == 0 {
		t.Error("no group signal seen at all: the hook is not called")
	}
}
