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
	cmd := exec.Command("sh", "-c", `trap "" TERM; sleep 300 & echo $!; wait`)
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
	if err := p.Stop(100 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !p.Exited() {
		t.Error("Stop returned before the process exited")
	}
	waitGone(t, grandchild)
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
