package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// revisionAnnotation is set by the deployment controller on each replica
// set (pkg/controller/deployment/util/deployment_util.go, RevisionAnnotation).
const revisionAnnotation = "deployment.kubernetes.io/revision"

// rolloutPane shows each Deployment's replica sets and which pods each
// Service sends traffic to, from its EndpointSlices.
type rolloutPane struct {
	st     *styles
	keys   *keyMap
	scroll scroller
}

func newRolloutPane(st *styles, keys *keyMap) rolloutPane {
	return rolloutPane{st: st, keys: keys}
}

func (r *rolloutPane) SetSize(w, h int) { r.scroll.setSize(w, max(h-1, 0)) }

func (r *rolloutPane) ShortHelp() []key.Binding {
	k := r.keys
	return []key.Binding{k.Up, k.Down, k.Apply}
}

func (r *rolloutPane) Update(msg tea.KeyMsg) {
	r.scroll.handleKey(msg, r.keys)
}

func (r *rolloutPane) View() string {
	return r.scroll.titled("ROLLOUT  replica sets by revision, and where each Service sends traffic")
}

// rebuild formats everything; called when a batch touches rollout objects
// or pods (readiness moves endpoints).
func (r *rolloutPane) rebuild(s *clusterState) {
	var lines []string
	for _, d := range sortedValues(s.deploys) {
		lines = append(lines, r.deploymentLines(d, s)...)
		lines = append(lines, "")
	}
	for _, svc := range sortedValues(s.services) {
		lines = append(lines, r.serviceLines(svc, s)...)
		lines = append(lines, "")
	}
	if len(lines) == 0 {
		lines = []string{"  no Deployments or Services seen in this namespace"}
	}
	r.scroll.setLines(lines)
}

func sortedValues[T interface {
	GetNamespace() string
	GetName() string
}](m map[string]T) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b T) int {
		return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
	})
	return out
}

func (r *rolloutPane) deploymentLines(d *appsv1.Deployment, s *clusterState) []string {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	head := fmt.Sprintf("deployment/%s  want %d  updated %d  ready %d  available %d",
		d.Name, want, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas)
	if st.UnavailableReplicas > 0 {
		head += fmt.Sprintf("  unavailable %d", st.UnavailableReplicas)
	}
	lines := []string{r.st.Header.Render(head)}
	// The strategy has its own line: after the counts it was cut at 100
	// columns ("maxUnava…"), and its two numbers are what pace the rollout.
	if s := d.Spec.Strategy.RollingUpdate; s != nil && (s.MaxSurge != nil || s.MaxUnavailable != nil) {
		strategy := "  strategy RollingUpdate"
		if s.MaxSurge != nil {
			strategy += "  maxSurge " + s.MaxSurge.String()
		}
		if s.MaxUnavailable != nil {
			strategy += "  maxUnavailable " + s.MaxUnavailable.String()
		}
		lines = append(lines, strategy)
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing || (c.Type == appsv1.DeploymentAvailable && c.Status != corev1.ConditionTrue) {
			lines = append(lines, fmt.Sprintf("  %s=%s %s: %s", c.Type, c.Status, c.Reason, sanitize(c.Message)))
		}
	}
	var owned []*appsv1.ReplicaSet
	for _, rs := range s.rs {
		if rs.Namespace != d.Namespace {
			continue
		}
		for _, o := range rs.OwnerReferences {
			if o.Kind == "Deployment" && o.Name == d.Name {
				owned = append(owned, rs)
				break
			}
		}
	}
	slices.SortFunc(owned, func(a, b *appsv1.ReplicaSet) int {
		return cmp.Or(cmp.Compare(revision(b), revision(a)), cmp.Compare(a.Name, b.Name))
	})
	lines = append(lines, "  REV REPLICASET                 VERSION  DESIRED READY AVAIL")
	for i, rs := range owned {
		desired := int32(0)
		if rs.Spec.Replicas != nil {
			desired = *rs.Spec.Replicas
		}
		version := rs.Spec.Template.Labels["version"]
		if version == "" {
			version = "-"
		}
		rev := rs.Annotations[revisionAnnotation]
		if rev == "" {
			rev = "?"
		}
		line := fmt.Sprintf("  %-3s %-26s %-8s %7d %5d %5d", clip(rev, 3), fitMiddle(rs.Name, 26), clip(version, 8), desired, rs.Status.ReadyReplicas, rs.Status.AvailableReplicas)
		switch {
		case i == 0:
			line += "  newest"
		case desired == 0 && rs.Status.Replicas == 0:
			line += "  scaled down"
		case desired < rs.Status.Replicas:
			line += "  old, scaling down"
		default:
			// Not yet asked to shrink: the controller waits for new pods
			// to become available (maxUnavailable) before it scales this.
			line += "  old, waiting"
		}
		if i == 0 {
			line = r.st.OK.Render(line)
		} else if desired == 0 {
			line = r.st.Dim.Render(line)
		}
		lines = append(lines, line)
	}
	if len(owned) == 0 {
		lines = append(lines, "  (no replica sets seen)")
	}
	return lines
}

func revision(rs *appsv1.ReplicaSet) int {
	n, _ := strconv.Atoi(rs.Annotations[revisionAnnotation])
	return n
}

func (r *rolloutPane) serviceLines(svc *corev1.Service, s *clusterState) []string {
	var ports []string
	for _, p := range svc.Spec.Ports {
		ps := fmt.Sprintf("%d", p.Port)
		if p.NodePort != 0 {
			ps += fmt.Sprintf(":%d", p.NodePort)
		}
		ports = append(ports, ps+"/"+string(p.Protocol))
	}
	type ep struct {
		pod, addr, state string
		serving          bool
	}
	var eps []ep
	for _, sl := range s.slices {
		if sl.Namespace != svc.Namespace || sl.Labels[discoveryv1.LabelServiceName] != svc.Name {
			continue
		}
		for _, e := range sl.Endpoints {
			name := "?"
			if e.TargetRef != nil {
				name = e.TargetRef.Name
			}
			// EndpointConditions: a nil Ready means ready (k8s.io/api/discovery/v1 types.go).
			ready := e.Conditions.Ready == nil || *e.Conditions.Ready
			serving := e.Conditions.Serving == nil || *e.Conditions.Serving
			terminating := e.Conditions.Terminating != nil && *e.Conditions.Terminating
			state := "receives traffic"
			switch {
			case terminating && serving:
				state = "terminating, still serving"
			case terminating:
				state = "terminating"
			case !ready:
				state = "not ready: no traffic"
			}
			eps = append(eps, ep{name, strings.Join(e.Addresses, ","), state, ready && !terminating})
		}
	}
	slices.SortFunc(eps, func(a, b ep) int { return cmp.Compare(a.pod, b.pod) })
	n := 0
	for _, e := range eps {
		if e.serving {
			n++
		}
	}
	parts := []string{"service/" + svc.Name}
	if svc.Spec.Type != "" {
		parts = append(parts, string(svc.Spec.Type))
	}
	if len(ports) > 0 {
		parts = append(parts, strings.Join(ports, ","))
	}
	head := strings.Join(parts, "  ") + fmt.Sprintf("  → traffic to %d of %d endpoints", n, len(eps))
	lines := []string{r.st.Header.Render(head)}
	for _, e := range eps {
		mark := "+"
		st := r.st.OK
		if !e.serving {
			mark, st = "-", r.st.Bad
		}
		lines = append(lines, st.Render(fmt.Sprintf("  %s %s %-15s %s", mark, fitMiddle(e.pod, 30), clip(e.addr, 15), e.state)))
	}
	if len(eps) == 0 {
		lines = append(lines, "  (no endpoints: no ready pod matches the selector)")
	}
	return lines
}
