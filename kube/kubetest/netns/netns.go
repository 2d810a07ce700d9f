// Package netns gives an integration test a host of its own: a Linux network
// namespace joined to the test's namespace by a veth pair on a private /30
// from 10.0.0.0/8. A process started in it listens on an address that is not
// loopback, which is what kube-apiserver's pods/proxy requires of a pod IP.
//
// It needs root and the `ip` command (iproute2). Without them New skips the
// test with one line, or fails it when PROBERCTL_REQUIRE_INTEGRATION=1.
//
//	host := netns.New(t)
//	cmd := host.Command("/path/to/server")
//	cmd.Env = append(os.Environ(), "PORT=8080")
//	host.Start(t, cmd)
//	// reach it at host.Addr:8080, from the test or from the apiserver
//
// Everything is torn down in t's cleanup: the processes (their whole process
// group), then the namespace, whose end deletes the veth pair. Processes die
// with the test binary even when it is killed without cleanup, and the next
// New removes namespaces whose owning test binary is gone.
package netns

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/proberctl/proberctl/internal/childproc"
)

// namePrefix starts every namespace name, followed by the owning test
// binary's pid and a random id.
const namePrefix = "proberctl-"

// Host is a network namespace for one test.
type Host struct {
	// Name is the namespace's name, as `ip netns` lists it.
	Name string
	// Addr is the address inside the namespace: a pod's IP.
	Addr netip.Addr
	// HostAddr is the test's side of the veth pair, and the namespace's
	// default gateway.
	HostAddr netip.Addr
	// Prefix is the /30 holding both.
	Prefix netip.Prefix
}

// New creates a network namespace with loopback up and a veth pair to the
// test's namespace on a free /30, and removes it all in t's cleanup.
func New(t testing.TB) *Host {
	t.Helper()
	if uid := os.Geteuid(); uid != 0 {
		skipOrFail(t, fmt.Sprintf("creating network namespaces needs root (running as uid %d)", uid))
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(t, "the ip command (iproute2) is not installed")
	}
	sweepStale()

	id := make([]byte, 3)
	rand.Read(id) // never fails (crypto/rand)
	hexID := hex.EncodeToString(id)
	h := &Host{Name: namePrefix + strconv.Itoa(os.Getpid()) + "-" + hexID}
	// Interface names are limited to 15 bytes (IFNAMSIZ 16 with the NUL).
	hostLink, nsLink := "pc"+hexID+"h", "pc"+hexID+"n"

	prefix, err := freePrefix()
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	h.Prefix = prefix
	h.HostAddr = prefix.Addr().Next()
	h.Addr = h.HostAddr.Next()

	if err := ip("netns", "add", h.Name); err != nil {
		t.Fatalf("netns: %v", err)
	}
	t.Cleanup(func() {
		if err := ip("netns", "delete", h.Name); err != nil {
			t.Errorf("netns: %v", err)
		}
		if err := removeLink(hostLink); err != nil {
			t.Errorf("netns: %v", err)
		}
	})
	bits := strconv.Itoa(prefix.Bits())
	steps := [][]string{
		{"link", "add", hostLink, "type", "veth", "peer", "name", nsLink, "netns", h.Name},
		{"addr", "add", h.HostAddr.String() + "/" + bits, "dev", hostLink},
		{"link", "set", hostLink, "up"},
		{"-n", h.Name, "link", "set", "lo", "up"},
		{"-n", h.Name, "addr", "add", h.Addr.String() + "/" + bits, "dev", nsLink},
		{"-n", h.Name, "link", "set", nsLink, "up"},
		{"-n", h.Name, "route", "add", "default", "via", h.HostAddr.String()},
	}
	for _, args := range steps {
		if err := ip(args...); err != nil {
			t.Fatalf("netns %s: %v", h.Name, err)
		}
	}
	return h
}

// Command returns a command that runs name with args inside the namespace
// (`ip netns exec`, which execs in place, so the process is the command).
// Set its Env, Stdout and Stderr, then pass it to Start.
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.Name, name}, args...)...)
}

// Start starts cmd (from Command) and stops it, with its process group, in
// t's cleanup, before the namespace goes. It returns a channel closed when
// the process exits, so a test waiting for it to listen can notice that it
// died instead.
func (h *Host) Start(t testing.TB, cmd *exec.Cmd) <-chan struct{} {
	t.Helper()
	p, err := childproc.StartProcess(cmd)
	if err != nil {
		t.Fatalf("netns %s: %v", h.Name, err)
	}
	t.Cleanup(func() {
		if err := p.Stop(5 * time.Second); err != nil {
			t.Errorf("netns %s: %v", h.Name, err)
		}
	})
	return p.Done()
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// removeLink makes sure the host end of the veth pair is gone when cleanup
// returns. Deleting the namespace deletes its end and with it the peer, but
// the kernel does that after `ip netns delete` returns; if setup failed
// before the pair was moved into the namespace, the link must be deleted
// here.
func removeLink(name string) error {
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for linkExists(name) && time.Now().Before(deadline) {
		<-tick.C
	}
	if !linkExists(name) {
		return nil
	}
	if err := ip("link", "delete", name); err != nil && linkExists(name) {
		return err
	}
	return nil
}

func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	// The same variable and rule as package kubetest.
	if os.Getenv("PROBERCTL_REQUIRE_INTEGRATION") == "1" {
		t.Fatal("netns: " + msg + "; PROBERCTL_REQUIRE_INTEGRATION=1 makes this a failure, not a skip")
	}
	t.Skip("netns: test skipped: " + msg)
}

// Where the /30s come from: 10.0.0.0/8 minus 10.0.0.0/16, which holds the
// test apiserver's service range (kubetest.ServiceClusterIPRange).
var (
	pool     = netip.MustParsePrefix("10.0.0.0/8")
	reserved = netip.MustParsePrefix("10.0.0.0/16")
)

// freePrefix picks a random /30 that overlaps no address on this machine and
// no route narrower than /16 (a broad route, such as a VPN's 10.0.0.0/8, is
// left alone: the /30 is more specific and only this test uses it).
func freePrefix() (netip.Prefix, error) {
	taken, err := takenPrefixes()
	if err != nil {
		return netip.Prefix{}, err
	}
	base := binary.BigEndian.Uint32(pool.Addr().AsSlice())
	for range 100 {
		var b [4]byte
		rand.Read(b[:])
		offset := binary.BigEndian.Uint32(b[:]) & 0x00fffffc // within the /8, aligned to 4
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], base|offset)
		candidate := netip.PrefixFrom(netip.AddrFrom4(a), 30)
		if candidate.Overlaps(reserved) {
			continue
		}
		free := true
		for _, p := range taken {
			if p.Overlaps(candidate) {
				free = false
				break
			}
		}
		if free {
			return candidate, nil
		}
	}
	return netip.Prefix{}, errors.New("no free /30 in 10.0.0.0/8 after 100 tries: this machine's addresses and routes cover it")
}

// takenPrefixes lists the IPv4 prefixes of this machine's addresses and of
// its routes narrower than /16, in every routing table.
func takenPrefixes() ([]netip.Prefix, error) {
	var taken []netip.Prefix
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if p, err := netip.ParsePrefix(n.String()); err == nil && p.Addr().Is4() {
				taken = append(taken, p.Masked())
			}
		}
	}
	out, err := exec.Command("ip", "-4", "-o", "route", "show", "table", "all").Output()
	if err != nil {
		return nil, fmt.Errorf("ip route show: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if p, ok := routePrefix(line); ok && p.Bits() >= 16 {
			taken = append(taken, p)
		}
	}
	return taken, nil
}

// routePrefix parses the destination of one line of `ip -4 -o route`: an
// optional route type, then a prefix or a bare address (a /32).
func routePrefix(line string) (netip.Prefix, bool) {
	fields := strings.Fields(line)
	if len(fields) > 0 {
		switch fields[0] {
		case "unicast", "local", "broadcast", "multicast", "anycast", "unreachable", "blackhole", "prohibit", "throw", "nat":
			fields = fields[1:]
		}
	}
	if len(fields) == 0 || fields[0] == "default" {
		return netip.Prefix{}, false
	}
	if p, err := netip.ParsePrefix(fields[0]); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(fields[0]); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// sweepStale deletes namespaces left by test binaries that died without
// cleanup, after killing whatever still runs in them.
func sweepStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], namePrefix) {
			continue
		}
		name := fields[0]
		pidText, _, _ := strings.Cut(strings.TrimPrefix(name, namePrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || alive(pid) {
			continue
		}
		if pids, err := exec.Command("ip", "netns", "pids", name).Output(); err == nil {
			for _, f := range strings.Fields(string(pids)) {
				if p, err := strconv.Atoi(f); err == nil {
					syscall.Kill(p, syscall.SIGKILL)
				}
			}
		}
		ip("netns", "delete", name)
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
