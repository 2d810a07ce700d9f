// Package kubelet is the lab's node agent: it plays the kubelet (and the
// scheduler's binding step) for one node, running every container as a child
// process of this binary ("proberctl serve") on a loopback port.
//
// It follows the kubelet of Kubernetes 1.37: probes as pkg/kubelet/prober
// runs them, restarts with the back-off of pkg/kubelet/kuberuntime, pod
// status as pkg/kubelet/status writes it and events with the texts of
// pkg/kubelet/events. The comments cite the file each number or text comes
// from.
//
// Addresses: each pod gets its own loopback IP (127.0.x.y on Linux, where all
// of 127/8 reaches lo; 127.0.0.1 elsewhere) and each container one free TCP
// port. Every containerPort and probe port of a container maps to that one
// port, because the probe server listens on $PORT only; so port 80 in a
// manifest works without root. The map is recorded in the pod annotation
// PortsAnnotation, and PodAddress reads it.
//
// Deletion: a pod with metadata.deletionTimestamp set has its containers
// stopped (SIGTERM, the grace period, SIGKILL) and is then deleted with grace
// period 0. A pod that disappears from the store is stopped too.
package kubelet
