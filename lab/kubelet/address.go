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
// hostPort} for the one container port each container listens on (see
// ListenPort), plus "<container>" alone for the same host port.
const PortsAnnotation = "lab.proberctl.dev/ports"

// IPAnnotation holds the loopback IP the lab gave the pod. status.podIP holds
// the same once the kubelet has written status; the annotation is there
// earlier (it is set at binding time).
const IPAnnotation = "lab.proberctl.dev/ip"

// defaultListenPort is where the probe server image listens when the
// manifest does not set PORT: the Dockerfile's ENV PORT=80.
const defaultListenPort = 80

// notListening is what mapPort answers for a port on the pod's IP where no
// container listens.
const notListening = -1

// ListenPort is the one container port the probe server in c listens on:
// the image reads PORT, 80 by default, so a literal PORT in the manifest's
// env moves it and nothing else does. containerPorts are informational
// (k8s.io/api/core/v1 types.go Container.Ports: "Not specifying a port here
// DOES NOT prevent that port from being exposed"), and a probe or Service
// naming 8080 does not make the server listen there. Later env entries win,
// as in the kubelet; a PORT from valueFrom or not a port number leaves 80.
func ListenPort(c *corev1.Container) int {
	port := defaultListenPort
	if c == nil {
		return port
	}
	for _, e := range c.Env {
		if e.Name != "PORT" {
			continue
		}
		port = defaultListenPort
		if e.ValueFrom == nil {
			if n, err := strconv.Atoi(e.Value); err == nil && n > 0 && n <= 65535 {
				port = n
			}
		}
	}
	return port
}

// PodAddress returns "ip:port" on loopback where the pod serves
// containerPort. Only the port a container listens on (ListenPort) is
// served: any other port is refused on a real pod IP, so it is an error
// here, whether or not a containerPort or probe names it.
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
	var listening []string
	for _, k := range keys {
		if strings.HasSuffix(k, suffix) {
			return net.JoinHostPort(ip, strconv.Itoa(ports[k])), nil
		}
		if strings.Contains(k, "/") {
			listening = append(listening, k)
		}
	}
	on := "none"
	if len(listening) > 0 {
		on = strings.Join(listening, ", ")
	}
	return "", fmt.Errorf("pod %s/%s serves no port %d: dial tcp %s: connect: connection refused "+
		"(no container listens on port %d; listening: %s; the probe server listens on its PORT env, %d unless the manifest sets it)",
		pod.Namespace, pod.Name, containerPort, net.JoinHostPort(ip, strconv.Itoa(containerPort)), containerPort,
		on, defaultListenPort)
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
