// Package kubelet is the lab's node agent: it plays the kubelet (and the
// scheduler's binding step) for one node, running every container as a child
// process of this binary ("proberctl serve") on a loopback port.
//
// It follows the kubelet of Kubernetes 1.37: probes as pkg/kubelet/prober
// runs them, restarts with the back-off of pkg/kubelet/kuberuntime, pod
// status as pkg/kubelet/kubelet_pods.go generates it and
// pkg/kubelet/status writes it, and events with the texts of the kubelet
// (kuberuntime_container.go, images/image_manager.go, prober/prober.go). The
// comments cite the file each number or text comes from.
//
// # Scheduling
//
// A pod with no spec.nodeName (and the default scheduler) is bound to
// Options.NodeName through the pods/binding subresource, with the
// scheduler's "Scheduled" event; a pod already bound to that node is run as
// it is.
//
// # Addresses
//
// Each pod gets its own loopback IP (127.0.x.y on Linux, where all of 127/8
// reaches lo; 127.0.0.1 elsewhere) and each container one free TCP port,
// passed to the child as PORT. The probe server listens on one container
// port, the manifest's PORT or else the image's 80 (ListenPort), and only
// that port maps to the child's, so port 80 works without root; any other
// port is refused as it would be on a cluster, so a probe or Service aimed
// at the wrong port teaches what it would there. The map is
// recorded in the pod annotation PortsAnnotation and the IP in IPAnnotation
// before binding, and PodAddress reads them. Probes are sent to the pod IP
// and the manifest's port, as the kubelet sends them, and dialled on the
// mapped port, so their events name the manifest's address.
//
// # Deletion and shutdown
//
// A pod with metadata.deletionTimestamp has its containers stopped
// (SIGTERM, the deletion's grace period, SIGKILL; a Killing event), its
// terminal status written, and is then deleted with grace period 0. A pod
// that disappears from the store is stopped too. When Run's context ends,
// every container gets SIGTERM and, after Options.ShutdownGracePeriod,
// SIGKILL; Run returns once every child is reaped. On Linux children also
// die with the lab process itself, even on SIGKILL (a parent-death signal,
// see internal/childproc).
//
// # Status timing
//
// A container's start is reported at the next relist, a second later
// (pkg/kubelet/kubelet.go genericPlegRelistPeriod), so the status shows
// ContainerCreating, or the last run's Error or Completed, for that second
// as on a real node; an exit is reported at once. Probe workers see a new
// container at once (the kubelet's see it through the status manager); the
// readiness probe the status manager triggers for a started, unready
// container runs at the relist, as on a real node.
//
// # Restarts
//
// An exited container is run again as Kubernetes 1.37 decides it, with
// ContainerRestartRules on by default (beta since 1.35): its
// restartPolicyRules first (the first rule whose exit codes match, In or
// NotIn; action Restart), then its own restartPolicy, then the pod's; see
// restart.go. A container killed by a failed liveness or startup probe is
// restarted at once only if its own restartPolicy (else the pod's) is not
// Never, as computePodActions decides; once exited it is judged again like
// any other. Every restart goes through the crash-loop back-off. A stopped
// container that will not restart leaves the pod Succeeded (all exited 0)
// or Failed once nothing else runs, whatever the pod's restartPolicy, as
// getPhase says. The RestartAllContainers action (beta, on since 1.36) is
// not modelled: the container alone is restarted and a Warning event
// (RestartAllContainersNotModelled) says so.
//
// # Init containers
//
// Init containers run as pkg/kubelet/kuberuntime/kuberuntime_container.go
// computeInitContainerActions runs them: one at a time in spec order, each
// to completion before the next, and the app containers only once all
// completed with exit 0. A failed one is run again with the crash-loop
// back-off when its rules, its own restartPolicy or else the pod's say so
// (see Restarts); otherwise the pod fails. Their statuses, the Initialized
// condition and the phase are those of kubelet_pods.go and status/generate.go,
// so kubectl shows Init:0/1, Init:Error, Init:CrashLoopBackOff and
// PodInitializing as on a node; their events are the app containers' (Pulled,
// Created, Started, BackOff) under spec.initContainers{name}.
//
// An init container is the probe server too, made to end: CRASH_FACTOR 100
// and CRASH_EXIT_CODE 0 unless its env sets them, so it waits
// START_WAIT_SECS and exits CRASH_EXIT_CODE. Its command is never executed
// (the lab runs no images and no shell); sleep N, true, false, exit N and
// "sleep N; exit M" (as argv or sh -c) are translated to those knobs, and any
// other command is reported by a Warning event (CommandNotRun) and run as if
// absent. See init.go.
//
// Sidecar containers (restartPolicy Always on an init container) are not
// run: at their turn the pod stops initializing, with the kubelet's
// CreateContainerConfigError waiting reason and a Failed event naming the
// feature. As on a node, each sync attempt fails again and records Pulled
// and Failed again, every 10 s (the pod worker's backOffPeriod after a
// failed sync), folded into one event each with a growing count. The
// correlator's spam filter, which would slow the count after 25 of the
// pod's events of one type, is not modelled (see lab/internal/record).
//
// # Not modelled
//
// Sidecar containers (refused, see above), exec and gRPC probes
// (counted as passing, with a ProbeWarning event), the probe workers' random
// start delay after a kubelet restart, the pod workers' jitter on back-off
// requeues, images and commands (every container runs the probe server;
// imageID is "lab://<image>"), resources, volumes and a container's
// termination message.
package kubelet
