package kubelet

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// closed reports whether nothing listens on addr any more.
func closed(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

func TestGracefulDeletionStopsContainersThenRemovesPod(t *testing.T) {
	e := start(t, false)
	e.create(pod("del", nil))
	p := e.listening("del")
	addr, _ := PodAddress(p, 80)
	grace := int64(5)
	if err := e.client.CoreV1().Pods("default").Delete(context.Background(), "del", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	// killContainer's message when no reason is given
	// (kuberuntime_container.go): "Stopping container %s".
	e.waitEvent("del", reasonKilling, "Stopping container c")
	e.waitFor("pod removed", func() bool {
		_, err := e.client.CoreV1().Pods("default").Get(context.Background(), "del", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if !closed(addr) {
		t.Errorf("container still serves on %s after the pod was deleted", addr)
	}
}

func TestPodRemovedOutrightStopsContainers(t *testing.T) {
	e := start(t, false)
	e.create(pod("gone", nil))
	p := e.listening("gone")
	addr, _ := PodAddress(p, 80)
	zero := int64(0)
	if err := e.client.CoreV1().Pods("default").Delete(context.Background(), "gone", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("container stopped", func() bool { return closed(addr) })
}

func TestRunStopsEveryContainerWhenItEnds(t *testing.T) {
	e := start(t, false)
	var addrs []string
	for i := range 3 {
		name := fmt.Sprintf("p%d", i)
		// One drains for 100 s after SIGTERM: Run must SIGKILL it after
		// its shutdown limit.
		env := map[string]string{}
		if i == 0 {
			env["DRAIN_DELAY_SECS"] = "100"
		}
		e.create(pod(name, env))
		p := e.listening(name)
		a, _ := PodAddress(p, 80)
		addrs = append(addrs, a)
	}
	e.stopKubelet()
	for _, a := range addrs {
		if !closed(a) {
			t.Errorf("%s still served after Run returned", a)
		}
	}
}

// helperChild is the parent-death test's helper: it starts a child through
// the kubelet's spawner, prints the child's PID and waits to be killed.
func helperChild() {
	cmd := exec.Command("sleep", "300")
	if err := defaultSpawner.start(cmd); err != nil {
		fmt.Println("error", err)
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

func TestChildrenDieWhenTheLabIsKilled(t *testing.T) {
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("parent-death signal is Linux only")
	}
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), helperEnv+"=child")
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read helper: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("helper said %q", line)
	}
	if !alive(pid) {
		t.Fatalf("child %d not running before the kill", pid)
	}
	_ = helper.Process.Signal(syscall.SIGKILL)
	_ = helper.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d survived its parent's SIGKILL", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie waiting for a reaper does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) S ...": the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

// A lab that ends while a container is being killed for a failed liveness
// probe does not wait out the pod's grace period.
func TestRunEndsDuringALivenessKill(t *testing.T) {
	e := start(t, true)
	p := pod("stuck", map[string]string{"DRAIN_DELAY_SECS": "100"})
	pr := httpProbe("/healthz", 80)
	pr.InitialDelaySeconds, pr.PeriodSeconds, pr.FailureThreshold = 1, 1, 1
	p.Spec.Containers[0].LivenessProbe = pr
	p.Spec.TerminationGracePeriodSeconds = ptr(int64(3600))
	e.create(p)
	got := e.listening("stuck")
	addr, _ := PodAddress(got, 80)
	e.settle()
	e.post(got, "/healthz/fail")
	e.fake.Step(time.Second)
	e.waitEvent("stuck", reasonKilling, "Container c failed liveness probe, will be restarted")
	e.stopKubelet() // fails the test if Run takes 30 s
	if !closed(addr) {
		t.Errorf("%s still served after Run returned", addr)
	}
}
