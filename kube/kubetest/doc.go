// Package kubetest runs proberctl's integration tests against a real
// Kubernetes control plane: etcd and kube-apiserver as child processes on
// free loopback ports, in a temporary directory, with RBAC on. No cluster,
// kubelet, controller-manager or Docker is involved.
//
// # Finding the binaries
//
// `make test` builds kube-apiserver and etcd (hack/controlplane, first run
// only) and sets PROBERCTL_CONTROLPLANE to the directory holding them, plus
// PROBERCTL_REQUIRE_INTEGRATION=1. Without PROBERCTL_CONTROLPLANE an
// integration test skips with one line saying to run `make test`; with
// PROBERCTL_REQUIRE_INTEGRATION=1 a missing binary is a failure instead.
//
// # Use
//
// Start returns a ready control plane:
//
//	env := kubetest.Start(t)
//	ns := env.Namespace(t)           // fresh namespace with its default ServiceAccount
//	pods := env.Client.CoreV1().Pods(ns)
//
// Starting one takes a few seconds, so a package with several integration
// tests should share one through TestMain; Start then returns the shared one:
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Run(m)) }
//
// Env.Config is an administrator (group system:masters). Env.RestrictedConfig
// mints a client certificate for any user and groups, who can do only what
// RBAC grants them, for Forbidden tests.
//
// # Restarting the API server
//
// StopAPIServer stops kube-apiserver, leaving etcd running, and
// StartAPIServer starts it again with the same flags: the same address and
// port, certificates and data, so Config and Client work again unchanged
// once it is ready (RestartAPIServer does both). While it is stopped its
// address refuses connections, as a real outage does. A test that ends with
// it stopped gets it started again by a cleanup; with a shared control plane
// such a test must not call t.Parallel.
//
// # What the control plane does not do
//
// Nothing runs pods: without a controller-manager no ReplicaSet follows a
// Deployment and no ServiceAccount appears in a new namespace (Namespace and
// EnsureServiceAccount create the `default` one by hand, which the
// ServiceAccount admission plugin requires before any pod is created), and
// without a kubelet a test plays the kubelet itself by patching pod status.
// kube-apiserver refuses to proxy (pods/proxy) to a loopback pod IP; give a
// pod the address of a network namespace from package netns instead.
//
// # Cleanup
//
// etcd and kube-apiserver run in their own process group with SIGKILL as
// their parent-death signal, so they die with the test binary even when
// `go test -timeout` kills it and no cleanup runs; the next Start removes a
// temporary directory left by such a run. A normal cleanup stops both and
// removes the directory.
//
// # Why not envtest
//
// controller-runtime's envtest runs these same binaries (and does, here,
// with BinaryAssetsDirectory), but it starts them in a new process group with
// no parent-death signal and keeps the process handle private
// (sigs.k8s.io/controller-runtime pkg/internal/testing/process), so a test
// binary killed by `go test -timeout` would leave etcd and kube-apiserver
// running with their ports. Starting them here takes little code: a
// throwaway CA for client-certificate identities, two command lines and a
// /readyz poll.
package kubetest
