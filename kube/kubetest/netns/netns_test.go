package netns_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/proberctl/proberctl/kube/kubetest/netns"
)

// TestMain doubles as the server run inside the namespace: the test binary
// re-executed with NETNS_TEST_SERVE set answers GET / with its own view of
// the network (its name for the namespace), so no other binary is needed.
func TestMain(m *testing.M) {
	if addr := os.Getenv("NETNS_TEST_SERVE"); addr != "" {
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s", os.Getenv("NETNS_TEST_NAME"))
		})
		fmt.Fprintln(os.Stderr, http.ListenAndServe(addr, nil))
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestHost(t *testing.T) {
	var (
		host *netns.Host
		pid  int
	)
	t.Run("serve", func(t *testing.T) {
		host = netns.New(t)
		if !host.Prefix.Contains(host.Addr) || !host.Prefix.Contains(host.HostAddr) || host.Addr == host.HostAddr {
			t.Fatalf("addresses %s and %s not two distinct hosts of %s", host.HostAddr, host.Addr, host.Prefix)
		}
		if !netip.MustParsePrefix("10.0.0.0/8").Contains(host.Addr) || host.Prefix.Bits() != 30 {
			t.Fatalf("prefix %s is not a /30 in 10.0.0.0/8", host.Prefix)
		}
		cmd := host.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "NETNS_TEST_SERVE=:8080", "NETNS_TEST_NAME="+host.Name)
		exited := host.Start(t, cmd)
		pid = cmd.Process.Pid

		body := waitGet(t, fmt.Sprintf("http://%s/", netip.AddrPortFrom(host.Addr, 8080)), exited)
		if want := "hello from " + host.Name; body != want {
			t.Errorf("GET = %q, want %q", body, want)
		}
		// The test's own loopback is another network: the server is not there.
		if resp, err := (&http.Client{Timeout: time.Second}).Get("http://127.0.0.1:8080/"); err == nil {
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(got) == body {
				t.Errorf("the namespace's server answers on the test's loopback: not isolated")
			}
		}
	})
	if host == nil {
		return // skipped
	}
	// The subtest's cleanup has run: nothing may be left.
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("server pid %d still running after cleanup", pid)
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	if strings.Contains(string(out), host.Name) {
		t.Errorf("namespace %s still listed after cleanup:\n%s", host.Name, out)
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && host.Prefix.Contains(p.Addr()) {
			t.Errorf("address %s still on this machine after cleanup", a)
		}
	}
}

// TestHostsDoNotCollide creates several namespaces at once and checks each
// got its own /30.
func TestHostsDoNotCollide(t *testing.T) {
	seen := map[netip.Prefix]string{}
	for range 4 {
		h := netns.New(t)
		if other, ok := seen[h.Prefix]; ok {
			t.Errorf("%s and %s share %s", h.Name, other, h.Prefix)
		}
		for p, name := range seen {
			if p.Overlaps(h.Prefix) {
				t.Errorf("%s (%s) overlaps %s (%s)", h.Name, h.Prefix, name, p)
			}
		}
		seen[h.Prefix] = h.Name
	}
}

func waitGet(t *testing.T, url string, exited <-chan struct{}) string {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(body)
		}
		select {
		case <-exited:
			t.Fatalf("server exited before answering %s", url)
		case <-deadline.C:
			t.Fatalf("no answer from %s within 30s: %v", url, err)
		case <-tick.C:
		}
	}
}
