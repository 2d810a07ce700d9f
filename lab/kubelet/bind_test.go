package kubelet

import (
	"encoding/json"
	"errors"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// A lab pod's server listens on the pod's own IP only (BIND_ADDRESS), as a
// pod's network namespace keeps it from the rest of the network: its port
// on another local address reaches nothing of it, while the probes (on the
// pod IP) pass and /info shows the bound address. Even a manifest that sets
// BIND_ADDRESS itself does not open the pod to every interface.
func TestPodServerBindsPodIP(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("pods have their own 127.0.x.y only on Linux; elsewhere they share 127.0.0.1")
	}
	e := start(t, true)
	p := pod("bound", map[string]string{"BIND_ADDRESS": "0.0.0.0"})
	p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: httpProbe("/readyz", 80).ProbeHandler, PeriodSeconds: 1}
	e.create(p)
	got := e.listening("bound")
	e.step(2 * time.Second)
	if got = e.get("bound"); !containerStatus(got).Ready {
		t.Fatalf("readiness on the pod IP did not pass: %s", statusSummary(got))
	}
	ip := got.Annotations[IPAnnotation]
	if ip == "" || ip == NodeIP || ip != got.Status.PodIP {
		t.Fatalf("pod IP annotation %q, status %q: want one 127.0.x.y of its own", ip, got.Status.PodIP)
	}
	addr, err := PodAddress(got, 80)
	if err != nil {
		t.Fatal(err)
	}
	res, err := testHTTP.Get("http://" + addr + "/info")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Hostname string            `json:"hostname"`
		Listen   string            `json:"listen"`
		Knobs    map[string]string `json:"knobs"`
	}
	err = json.NewDecoder(res.Body).Decode(&info)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if info.Listen != addr || info.Knobs["BIND_ADDRESS"] != ip {
		t.Errorf("/info listen %q, knobs BIND_ADDRESS %q; want %q and %q", info.Listen, info.Knobs["BIND_ADDRESS"], addr, ip)
	}
	_, port, _ := net.SplitHostPort(addr)
	for _, other := range []string{NodeIP, "127.0.0.2"} {
		res, err := testHTTP.Get("http://" + net.JoinHostPort(other, port) + "/info")
		if err == nil {
			// Another process may hold that address and port: it must not
			// be this pod's server.
			var o struct {
				Hostname string `json:"hostname"`
			}
			json.NewDecoder(res.Body).Decode(&o)
			res.Body.Close()
			if o.Hostname == info.Hostname {
				t.Errorf("the pod's server (on %s) answered on %s:%s", addr, other, port)
			}
			continue
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("GET on %s:%s: %v, want connection refused", other, port, err)
		}
	}
}
