package kubelet

import (
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
