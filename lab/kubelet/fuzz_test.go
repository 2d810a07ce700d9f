package kubelet

import (
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Whatever the annotations say, PodAddress answers or errs; it never panics
// and never returns an address without a port.
func FuzzPodAddress(f *testing.F) {
	f.Add("127.0.1.2", `{"c":4001,"c/80":4001}`, 80, 1)
	f.Add("", `{}`, 0, 0)
	f.Add("::1", `{"c/80":-1}`, 80, 2)
	f.Add("127.0.0.1", `[1,2]`, 65536, 1)
	f.Fuzz(func(t *testing.T, ip, ports string, port, containers int) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{IPAnnotation: ip, PortsAnnotation: ports}}}
		for i := range containers % 4 {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: strings.Repeat("c", i+1)})
		}
		addr, err := PodAddress(p, port)
		if err == nil && !strings.Contains(addr, ":") {
			t.Errorf("PodAddress = %q without a port", addr)
		}
	})
}

// expand never panics, and text without "$" passes through unchanged.
func FuzzExpand(f *testing.F) {
	f.Add("$(A)-$$-$(B")
	f.Add("plain")
	f.Fuzz(func(t *testing.T, s string) {
		got := expand(s, map[string]string{"A": "x"})
		if !strings.Contains(s, "$") && got != s {
			t.Errorf("expand(%q) = %q", s, got)
		}
	})
}

// Whatever an init container's command says, translateCommand never panics,
// and what it accepts is something the probe server accepts: a wait of 0 to
// 86400 seconds and an exit code of 0 to 255.
func FuzzTranslateCommand(f *testing.F) {
	f.Add("sleep", "5", "")
	f.Add("sh", "-c", "sleep 1.5 && exit 3")
	f.Add("sh", "-c", "sleep 2m; false")
	f.Add("sleep", "infinity", "")
	f.Add("sh", "-c", ";;&&exit 256")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		cmd := &corev1.Container{Command: []string{a}, Args: []string{b}}
		if c != "" {
			cmd.Args = append(cmd.Args, c)
		}
		prog, ok, unsupported := translateCommand(cmd)
		if ok == unsupported {
			t.Fatalf("%q: ok %v and unsupported %v", cmd.Command, ok, unsupported)
		}
		if !ok {
			return
		}
		secs, err := strconv.ParseFloat(prog.wait, 64)
		if err != nil || secs < 0 || secs > maxInitWait || prog.exit < 0 || prog.exit > 255 {
			t.Errorf("%q %q: %+v is not a wait and exit code the probe server takes", cmd.Command, cmd.Args, prog)
		}
	})
}
