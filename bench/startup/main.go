// Command startup measures the probe server's start: the time from exec to
// the first 200 on /healthz, and its resident memory once idle. bench/serve.sh
// runs it; it is a program rather than shell so the clock is not dominated
// by spawning curl.
//
//	go run ./bench/startup -bin /path/to/proberctl -runs 20
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

func main() {
	bin := flag.String("bin", "", "proberctl binary to measure")
	runs := flag.Int("runs", 20, "starts to measure")
	idle := flag.Duration("idle", time.Second, "idle time before reading resident memory")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "startup: -bin is required")
		os.Exit(2)
	}
	var starts []time.Duration
	var rss, anon, file []int
	for i := 0; i < *runs; i++ {
		d, r, a, f, err := once(*bin, *idle)
		if err != nil {
			fmt.Fprintln(os.Stderr, "startup:", err)
			os.Exit(1)
		}
		starts = append(starts, d)
		rss, anon, file = append(rss, r), append(anon, a), append(file, f)
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	sort.Ints(rss)
	sort.Ints(anon)
	sort.Ints(file)
	p := func(q float64) time.Duration { return starts[int(q*float64(len(starts)-1))] }
	fmt.Printf("exec to first 200 on /healthz over %d starts: median %.1f ms, p90 %.1f ms, max %.1f ms\n",
		len(starts), ms(p(0.5)), ms(p(0.9)), ms(starts[len(starts)-1]))
	fmt.Printf("idle resident memory after %v (median): VmRSS %.1f MB (RssAnon %.1f MB, RssFile %.1f MB shared with every process of the binary)\n",
		*idle, mb(rss[len(rss)/2]), mb(anon[len(anon)/2]), mb(file[len(file)/2]))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mb(kb int) float64          { return float64(kb) / 1024 }

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// once starts the server, polls /healthz until it answers 200, then reads
// its memory after the idle time and stops it.
func once(bin string, idle time.Duration) (time.Duration, int, int, int, error) {
	port, err := freePort()
	if err != nil {
		return 0, 0, 0, 0, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{"PORT=" + port, "HOSTNAME=bench", "START_WAIT_SECS=0"}
	cmd.Stdout = io.Discard
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	url := "http://127.0.0.1:" + port + "/healthz"
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, 0, err
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	var took time.Duration
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				took = time.Since(begin)
				break
			}
		}
		if time.Since(begin) > 10*time.Second {
			return 0, 0, 0, 0, fmt.Errorf("no 200 on %s within 10s: %v", url, err)
		}
		time.Sleep(200 * time.Microsecond)
	}
	time.Sleep(idle)
	rss, anon, file, err := memory(cmd.Process.Pid)
	return took, rss, anon, file, err
}

// memory reads VmRSS, RssAnon and RssFile (kB) from /proc.
func memory(pid int) (rss, anon, file int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb int
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		fmt.Sscan(f[1], &kb)
		switch f[0] {
		case "VmRSS:":
			rss = kb
		case "RssAnon:":
			anon = kb
		case "RssFile:":
			file = kb
		}
	}
	return rss, anon, file, nil
}
