package service

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/proberctl/proberctl/lab/store"
)

// freeNodePort finds a port in the node port range nothing listens on.
func freeNodePort(t *testing.T) int32 {
	t.Helper()
	for p := store.NodePortMin + int(time.Now().UnixNano()%2000); p <= store.NodePortMax; p++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			ln.Close()
			return int32(p)
		}
	}
	t.Fatal("no free node port")
	return 0
}

type backends struct {
	mu    sync.Mutex
	addrs map[string]string // pod name -> address
}

func (b *backends) address(p *corev1.Pod, port int) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if port != 8080 {
		return "", fmt.Errorf("pod %s: no port %d", p.Name, port)
	}
	a, ok := b.addrs[p.Name]
	if !ok {
		return "", fmt.Errorf("pod %s: no address", p.Name)
	}
	return a, nil
}

func setReady(ctx context.Context, t *testing.T, c kubernetes.Interface, name string, ready bool) {
	t.Helper()
	p, err := c.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = "127.0.0.1"
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	if _, err := c.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	// A new connection per request, as curl makes.
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last: %s", what, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sliceState(ctx context.Context, c kubernetes.Interface, svc string) (map[string]bool, error) {
	list, err := c.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range list.Items {
		for _, e := range s.Endpoints {
			out[e.TargetRef.Name] = e.Conditions.Ready != nil && *e.Conditions.Ready
		}
	}
	return out, nil
}

func TestEndpointsAndNodePort(t *testing.T) {
	s := store.New(store.Options{})
	defer s.Close()
	c := s.Client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	b := &backends{addrs: map[string]string{}}
	for _, name := range []string{"web-a", "web-b"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, name) }))
		defer srv.Close()
		b.addrs[name] = srv.Listener.Addr().String()
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{NodeName: "lab", Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
		if _, err := c.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		setReady(ctx, t, c, name, true)
	}
	nodePort := freeNodePort(t)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"},
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), NodePort: nodePort}}}}
	if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	ctl := New(c, Options{Address: b.address})
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	if err := ctl.SyncAll(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two ready endpoints", func() (bool, string) {
		st, err := sliceState(ctx, c, "web")
		return err == nil && st["web-a"] && st["web-b"], fmt.Sprint(st, err)
	})
	list, _ := c.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{})
	sl := list.Items[0]
	if !strings.HasPrefix(sl.Name, "web-") || sl.Labels[discoveryv1.LabelManagedBy] != managedBy ||
		len(sl.Ports) != 1 || *sl.Ports[0].Port != 8080 || *sl.Ports[0].Name != "http" || sl.AddressType != discoveryv1.AddressTypeIPv4 {
		t.Errorf("endpoint slice %+v", sl)
	}

	url := fmt.Sprintf("http://127.0.0.1:%d/", nodePort)
	seen := map[string]int{}
	for range 6 {
		seen[get(t, url)]++
	}
	if seen["web-a"] != 3 || seen["web-b"] != 3 {
		t.Errorf("round robin over two ready pods gave %v, want 3 each", seen)
	}
	if a, ok := ctl.ServiceAddress("default", "web", 80); !ok || get(t, "http://"+a+"/") == "" {
		t.Errorf("cluster address %q %v", a, ok)
	}

	// Readiness off: out of the slice, and no more traffic.
	setReady(ctx, t, c, "web-b", false)
	waitFor(t, "web-b not ready in the slice", func() (bool, string) {
		st, err := sliceState(ctx, c, "web")
		return err == nil && st["web-a"] && !st["web-b"], fmt.Sprint(st, err)
	})
	waitFor(t, "node port sends web-b nothing", func() (bool, string) {
		got := map[string]int{}
		for range 4 {
			got[get(t, url)]++
		}
		return got["web-a"] == 4, fmt.Sprint(got)
	})

	// No ready pod: the connection is refused rather than answered.
	setReady(ctx, t, c, "web-a", false)
	waitFor(t, "no backends", func() (bool, string) {
		tr := &http.Transport{DisableKeepAlives: true}
		_, err := (&http.Client{Transport: tr, Timeout: 2 * time.Second}).Get(url)
		return err != nil, fmt.Sprint(err)
	})

	// A node port another program holds is reported, naming the port.
	busyPort := freeNodePort(t)
	hold, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", busyPort))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	svc2 := svc.DeepCopy()
	svc2.Name = "web2"
	svc2.Spec.Ports[0].NodePort = busyPort
	if _, err := c.CoreV1().Services("default").Create(ctx, svc2, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = ctl.SyncAll(ctx)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("node port %d", busyPort)) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("busy node port: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Stopped: the node port is free again.
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", nodePort))
	if err != nil {
		t.Fatalf("node port still held after Run returned: %v", err)
	}
	ln.Close()
}
