package kubetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/proberctl/proberctl/internal/childproc"
)

// The environment variables `make test` sets.
const (
	// EnvControlPlane names the directory holding the kube-apiserver and
	// etcd binaries.
	EnvControlPlane = "PROBERCTL_CONTROLPLANE"
	// EnvRequireIntegration, set to 1, turns every integration-test skip
	// (no binaries, not root) into a failure.
	EnvRequireIntegration = "PROBERCTL_REQUIRE_INTEGRATION"
)

// AdminUser is the user name of Env.Config, a member of system:masters.
const AdminUser = "kubetest-admin"

// ServiceClusterIPRange is the apiserver's --service-cluster-ip-range. Package
// netns keeps its addresses out of it.
const ServiceClusterIPRange = "10.0.0.0/24"

const (
	// readyTimeout bounds a start: about 4.5 s when warm, more on a loaded
	// 2-core CI machine running several test binaries at once.
	readyTimeout = 90 * time.Second
	// stopGrace is how long a process may take to exit on SIGTERM before
	// SIGKILL.
	stopGrace = 10 * time.Second
	// dirPrefix names the temporary directories, followed by the owning
	// test binary's pid so a later run can remove those of a dead one.
	dirPrefix = "proberctl-kubetest-"
)

// Env is a running control plane.
type Env struct {
	// Config is an administrator's client configuration (AdminUser, group
	// system:masters). Copy it (rest.CopyConfig) before changing it.
	Config *rest.Config
	// Client is a clientset for Config.
	Client kubernetes.Interface
	// Dir is the temporary directory with certificates, etcd's data and
	// the processes' logs (etcd.log, kube-apiserver.log). It is removed
	// on Stop.
	Dir string

	ca       *authority
	stopOnce sync.Once
	stopErr  error

	// mu guards the processes and the port reservation against a Stop
	// racing a StopAPIServer or StartAPIServer (see restart.go).
	mu        sync.Mutex
	etcd      *childproc.Process
	apiserver *childproc.Process
	// apiserverBin, apiserverArgs and apiserverPort are what StartAPIServer
	// runs again.
	apiserverBin  string
	apiserverArgs []string
	apiserverPort int
	// reserved holds the apiserver's port while it is stopped (restart.go).
	reserved *os.File
	stopped  bool
}

// shared is the control plane of a package whose TestMain calls Run.
var (
	sharedMode atomic.Bool
	shared     struct {
		once sync.Once
		env  *Env
		err  error
	}
)

// Start returns a ready control plane, or skips or fails t when the
// binaries are missing (see the package documentation). Inside Run it
// returns the package's shared control plane, started on first use;
// otherwise it starts one that is stopped when t's cleanup runs.
func Start(t testing.TB) *Env {
	t.Helper()
	bin := binaries(t)
	if sharedMode.Load() {
		shared.once.Do(func() { shared.env, shared.err = start(bin) })
		if shared.err != nil {
			t.Fatalf("kubetest: %v", shared.err)
		}
		return shared.env
	}
	env, err := start(bin)
	if err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("kubetest: %v", err)
		}
	})
	return env
}

// Run runs the package's tests with one control plane shared by every Start
// and stops it afterwards. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Run(m)) }
func Run(m *testing.M) int {
	sharedMode.Store(true)
	code := m.Run()
	if shared.env != nil {
		if err := shared.env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "kubetest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// binaries returns the directory holding kube-apiserver and etcd, or skips
// or fails t.
func binaries(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvControlPlane)
	if dir == "" {
		skipOrFail(t, EnvControlPlane+" is not set; run `make test`, which builds kube-apiserver and etcd (first run only) and sets it")
	}
	for _, name := range []string{"etcd", "kube-apiserver"} {
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			skipOrFail(t, fmt.Sprintf("no executable %s in %s=%s; run `make controlplane`", name, EnvControlPlane, dir))
		}
	}
	return dir
}

func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(EnvRequireIntegration) == "1" {
		t.Fatal("kubetest: " + msg + "; " + EnvRequireIntegration + "=1 makes this a failure, not a skip")
	}
	t.Skip("kubetest: integration test skipped: " + msg)
}

// start starts etcd and kube-apiserver from bin and waits until the
// apiserver's /readyz passes.
func start(bin string) (*Env, error) {
	sweepStale()
	dir, err := os.MkdirTemp("", dirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("create control plane directory: %w", err)
	}
	env := &Env{Dir: dir}
	if err := env.writePKI(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// Free ports are found by binding port 0 and closing the listener, so
	// another process can take one before etcd or the apiserver binds it;
	// such a start is retried on fresh ports.
	for attempt := 1; ; attempt++ {
		err = env.launch(bin)
		if err == nil {
			return env, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

var errPortTaken = errors.New("port taken")

func (e *Env) writePKI() error {
	ca, err := newAuthority()
	if err != nil {
		return err
	}
	e.ca = ca
	servingCert, servingKey, err := ca.issueServing()
	if err != nil {
		return err
	}
	saKey, saPub, err := newServiceAccountKey()
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"ca.crt":              ca.certPEM,
		"apiserver.crt":       servingCert,
		"apiserver.key":       servingKey,
		"service-account.key": saKey,
		"service-account.pub": saPub,
	} {
		if err := os.WriteFile(filepath.Join(e.Dir, name), data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

func (e *Env) launch(bin string) error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, securePort := ports[0], ports[1], ports[2]
	// A failed attempt's etcd data records its old peer URL: start afresh.
	if err := os.RemoveAll(filepath.Join(e.Dir, "etcd")); err != nil {
		return fmt.Errorf("remove old etcd data: %w", err)
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)

	e.etcd, err = e.startProcess(filepath.Join(bin, "etcd"), "etcd.log", false,
		"--name=kubetest",
		"--data-dir="+filepath.Join(e.Dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubetest="+peerURL,
		// The data is thrown away after the test: skip fsync for speed.
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	)
	if err != nil {
		return err
	}
	path := func(name string) string { return filepath.Join(e.Dir, name) }
	e.apiserverBin = filepath.Join(bin, "kube-apiserver")
	e.apiserverPort = securePort
	e.apiserverArgs = []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(securePort),
		// The default reconciler refuses a loopback advertise address, and
		// there is no other apiserver whose endpoints need reconciling.
		"--endpoint-reconciler-type=none",
		"--cert-dir=" + path("apiserver-certs"),
		"--tls-cert-file=" + path("apiserver.crt"),
		"--tls-private-key-file=" + path("apiserver.key"),
		"--client-ca-file=" + path("ca.crt"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + path("service-account.pub"),
		"--service-account-signing-key-file=" + path("service-account.key"),
		"--service-cluster-ip-range=" + ServiceClusterIPRange,
		"--allow-privileged=true",
		"--profiling=false",
	}
	// The apiserver retries etcd until it answers, so both start at once.
	e.apiserver, err = e.startProcess(e.apiserverBin, "kube-apiserver.log", false, e.apiserverArgs...)
	if err != nil {
		e.stopProcesses()
		return err
	}

	certPEM, keyPEM, err := e.ca.issueClient(AdminUser, []string{"system:masters"})
	if err != nil {
		e.stopProcesses()
		return err
	}
	e.Config = &rest.Config{
		Host: "https://127.0.0.1:" + strconv.Itoa(securePort),
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   e.ca.certPEM,
			CertData: certPEM,
			KeyData:  keyPEM,
		},
		// Tests create objects in bursts; client-go's default of 5 QPS
		// would only slow them down.
		QPS:   200,
		Burst: 400,
	}
	if e.Client, err = kubernetes.NewForConfig(e.Config); err != nil {
		e.stopProcesses()
		return fmt.Errorf("create clientset: %w", err)
	}
	if err := e.waitReady(); err != nil {
		e.stopProcesses()
		logs := e.logTail("etcd.log") + e.logTail("kube-apiserver.log")
		if strings.Contains(logs, "address already in use") {
			return fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return fmt.Errorf("%w\n%s", err, logs)
	}
	return nil
}

// startProcess starts path with its output in logName under Dir, appended
// to what is there when appendLog is set (a restart keeps the earlier run's
// log for the reader).
func (e *Env) startProcess(path, logName string, appendLog bool, args ...string) (*childproc.Process, error) {
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appendLog {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	log, err := os.OpenFile(filepath.Join(e.Dir, logName), flags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", logName, err)
	}
	defer log.Close() // the child holds its own descriptor
	cmd := exec.Command(path, args...)
	cmd.Dir = e.Dir
	cmd.Stdout = log
	cmd.Stderr = log
	return childproc.StartProcess(cmd)
}

// waitReady polls /readyz until it answers 200, a process exits, or
// readyTimeout passes.
func (e *Env) waitReady() error {
	cfg := rest.CopyConfig(e.Config)
	cfg.Timeout = 2 * time.Second
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create readiness client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-e.etcd.Done():
			return fmt.Errorf("etcd exited before kube-apiserver was ready: %v", e.etcd.Err())
		case <-e.apiserver.Done():
			return fmt.Errorf("kube-apiserver exited before it was ready: %v", e.apiserver.Err())
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready after %s: last /readyz: %v", readyTimeout, err)
		case <-tick.C:
		}
	}
}

// logTail returns the end of a process log for an error message.
func (e *Env) logTail(name string) string {
	data, err := os.ReadFile(filepath.Join(e.Dir, name))
	if err != nil {
		return fmt.Sprintf("--- %s: %v\n", name, err)
	}
	const max = 4000
	if len(data) > max {
		data = data[len(data)-max:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return fmt.Sprintf("--- last lines of %s:\n%s", name, data)
}

func (e *Env) stopProcesses() error {
	var errs []error
	// The apiserver first, so it does not log etcd errors while stopping.
	for _, p := range []*childproc.Process{e.apiserver, e.etcd} {
		if p != nil {
			errs = append(errs, p.Stop(stopGrace))
		}
	}
	e.apiserver, e.etcd = nil, nil
	return errors.Join(errs...)
}

// Stop stops kube-apiserver and etcd and removes Dir. Start and Run arrange
// it; call it only for an Env of your own that must go earlier, never for
// the shared one inside Run. It is safe to call twice.
func (e *Env) Stop() error {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.stopped = true
		err := e.stopProcesses()
		e.releasePort()
		if rmErr := os.RemoveAll(e.Dir); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove %s: %w", e.Dir, rmErr))
		}
		if err != nil {
			e.stopErr = fmt.Errorf("stop control plane: %w", err)
		}
	})
	return e.stopErr
}

// RestrictedConfig returns a client configuration for user in groups,
// authenticated by a client certificate from the control plane's own
// authority. The identity can do only what RBAC grants it (plus what the
// bootstrap roles give every authenticated user, such as discovery), so it
// is the identity for Forbidden tests: grant it a Role to widen it.
func (e *Env) RestrictedConfig(t testing.TB, user string, groups ...string) *rest.Config {
	t.Helper()
	certPEM, keyPEM, err := e.ca.issueClient(user, groups)
	if err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	cfg := rest.CopyConfig(e.Config)
	cfg.CertData, cfg.KeyData = certPEM, keyPEM
	return cfg
}

// Namespace creates a namespace with a unique name derived from t's name,
// and its `default` ServiceAccount, and returns its name. Shared control
// planes keep tests apart this way. The namespace is not deleted: with no
// namespace controller it would stay Terminating, and the control plane goes
// away with the test or package anyway.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := namespaceName(t.Name())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := e.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("kubetest: create namespace %s: %v", name, err)
	}
	if err := EnsureServiceAccount(ctx, e.Client, name); err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	return name
}

// namespaceName turns a test name into a DNS label (RFC 1123, at most 63
// characters) with a random suffix.
func namespaceName(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	base := strings.Trim(b.String(), "-")
	if len(base) > 50 {
		base = strings.TrimRight(base[:50], "-")
	}
	if base == "" {
		base = "test"
	}
	suffix := make([]byte, 3)
	rand.Read(suffix) // never fails (crypto/rand)
	return base + "-" + hex.EncodeToString(suffix)
}

// EnsureServiceAccount creates the `default` ServiceAccount of namespace ns
// unless it exists. A controller-manager does this on a real cluster; the
// ServiceAccount admission plugin rejects pods in a namespace without one.
func EnsureServiceAccount(ctx context.Context, client kubernetes.Interface, ns string) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
	_, err := client.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ServiceAccount %s/default: %w", ns, err)
	}
	return nil
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free loopback port: %w", err)
		}
		defer l.Close() // held until all are chosen, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// sweepStale removes what a test binary killed without cleanup left behind:
// its temporary directory and any process still running from it. Its
// processes normally died with it (parent-death signal); the directory did
// not.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*-*"))
	for _, dir := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), dirPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || alive(pid) {
			continue
		}
		killUsing(dir)
		os.RemoveAll(dir)
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// killUsing kills every process whose command line mentions dir.
func killUsing(dir string) {
	entries, _ := os.ReadDir("/proc")
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", entry.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(dir)) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
