package kubelet

import (
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// PortsAnnotation holds the pod's port map as JSON: {"<container>/<port>":
// hostPort}, one entry per containerPort and probe port, plus "<container>"
// alone for the container's one listening port.
const PortsAnnotation = "lab.proberctl.dev/ports"

// IPAnnotation holds the loopback IP the lab gave the pod. status.podIP holds
// the same once the kubelet has written status; the annotation is there
// earlier (it is set at binding time).
const IPAnnotation = "lab.proberctl.dev/ip"

// PodAddress returns "ip:port" on loopback where the pod's containerPort is
// served. Any port of a pod with a single container maps to that container,
// as on a real pod IP where the Service's targetPort need not be declared
// (the seed's manifests declare none). With several containers the port must
// appear in the map.
func PodAddress(pod *corev1.Pod, containerPort int) (string, error) {
	if pod == nil {
		return "", fmt.Errorf("pod address: no pod")
	}
	ip := pod.Annotations[IPAnnotation]
	if ip == "" {
		ip = pod.Status.PodIP
	}
	if ip == "" {
		return "", fmt.Errorf("pod %s/%s has no IP yet (not scheduled by the lab kubelet)", pod.Namespace, pod.Name)
	}
	ports, err := parsePorts(pod)
	if err != nil {
		return "", err
	}
	suffix := "/" + strconv.Itoa(containerPort)
	keys := make([]string, 0, len(ports))
	for k := range ports {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.HasSuffix(k, suffix) {
			return net.JoinHostPort(ip, strconv.Itoa(ports[k])), nil
		}
	}
	if len(pod.Spec.Containers) == 1 {
		if p, ok := ports[pod.Spec.Containers[0].Name]; ok {
			return net.JoinHostPort(ip, strconv.Itoa(p)), nil
		}
	}
	return "", fmt.Errorf("pod %s/%s serves no port %d (ports: %v)", pod.Namespace, pod.Name, containerPort, keys)
}

func parsePorts(pod *corev1.Pod) (map[string]int, error) {
	raw, ok := pod.Annotations[PortsAnnotation]
	if !ok {
		return nil, fmt.Errorf("pod %s/%s has no port map yet (annotation %s)", pod.Namespace, pod.Name, PortsAnnotation)
	}
	ports := map[string]int{}
	if err := json.Unmarshal([]byte(raw), &ports); err != nil {
		return nil, fmt.Errorf("pod %s/%s: annotation %s: %w", pod.Namespace, pod.Name, PortsAnnotation, err)
	}
	return ports, nil
}
