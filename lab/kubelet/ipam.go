package kubelet

import (
	"fmt"
	"net"
	"runtime"
	"sync"
)

// NodeIP is the lab node's address: status.hostIP of every pod.
const NodeIP = "127.0.0.1"

// ipam hands out pod IPs. On Linux every address in 127.0.0.0/8 reaches lo
// without configuration, so each pod gets its own 127.0.x.y (x >= 1, keeping
// 127.0.0.0/24 for the node), like a CNI plugin's per-pod address. Elsewhere
// (macOS configures only 127.0.0.1) all pods share 127.0.0.1 and differ by
// port.
type ipam struct {
	mu    sync.Mutex
	next  int
	inUse map[string]bool
}

func newIPAM() *ipam { return &ipam{inUse: map[string]bool{}} }

func (a *ipam) allocate() (string, error) {
	if runtime.GOOS != "linux" {
		return NodeIP, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	const size = 255 * 254 // 127.0.1.1 .. 127.0.255.254
	for range size {
		n := a.next
		a.next = (a.next + 1) % size
		ip := fmt.Sprintf("127.0.%d.%d", 1+n/254, 1+n%254)
		if !a.inUse[ip] {
			a.inUse[ip] = true
			return ip, nil
		}
	}
	return "", fmt.Errorf("no free pod IP in 127.0.1.0-127.0.255.255 (%d pods running)", len(a.inUse))
}

func (a *ipam) release(ip string) {
	a.mu.Lock()
	delete(a.inUse, ip)
	a.mu.Unlock()
}

// freePort returns a TCP port free on every address: the probe server may
// listen on the wildcard address, so a port free only on the pod IP could
// still clash.
func freePort() (int, error) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
