package store

import (
	"fmt"
	"math/rand/v2"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The node port range of a default apiserver (--service-node-port-range,
// pkg/kubeapiserver/options/options.go DefaultServiceNodePortRange).
const (
	NodePortMin = 30000
	NodePortMax = 32767
)

// setDefaults applies the defaults the apiserver applies when it decodes a
// write (pkg/apis/apps/v1/defaults.go, pkg/apis/core/v1/defaults.go) and, to
// a new pod, what its registry and admission add. old is the stored object
// on update, nil on create.
func setDefaults(obj, old runtime.Object) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		defaultDeployment(o)
	case *appsv1.ReplicaSet:
		if o.Spec.Replicas == nil {
			o.Spec.Replicas = ptr(int32(1))
		}
		defaultPodSpec(&o.Spec.Template.Spec)
	case *corev1.Pod:
		defaultPodSpec(&o.Spec)
		// SetDefaults_Pod, not SetDefaults_PodSpec: a template keeps nil
		// here and keeps a negative grace period, which a pod turns into 1.
		if o.Spec.EnableServiceLinks == nil {
			o.Spec.EnableServiceLinks = ptr(true)
		}
		if g := o.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 {
			o.Spec.TerminationGracePeriodSeconds = ptr(int64(1))
		}
		if old == nil {
			// pkg/registry/core/pod/strategy.go PrepareForCreate.
			o.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: corev1.PodQOSBestEffort}
			admitPod(o)
		}
	case *corev1.Service:
		defaultService(o)
	}
}

func ptr[T any](v T) *T { return &v }

// defaultDeployment is SetDefaults_Deployment (pkg/apis/apps/v1/defaults.go):
// one replica, RollingUpdate with 25% surge and 25% unavailable, ten old
// replica sets kept, a 600 s progress deadline.
func defaultDeployment(d *appsv1.Deployment) {
	if d.Spec.Replicas == nil {
		d.Spec.Replicas = ptr(int32(1))
	}
	st := &d.Spec.Strategy
	if st.Type == "" {
		st.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if st.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if st.RollingUpdate == nil {
			st.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if st.RollingUpdate.MaxUnavailable == nil {
			v := intstr.FromString("25%")
			st.RollingUpdate.MaxUnavailable = &v
		}
		if st.RollingUpdate.MaxSurge == nil {
			v := intstr.FromString("25%")
			st.RollingUpdate.MaxSurge = &v
		}
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = ptr(int32(10))
	}
	if d.Spec.ProgressDeadlineSeconds == nil {
		d.Spec.ProgressDeadlineSeconds = ptr(int32(600))
	}
	defaultPodSpec(&d.Spec.Template.Spec)
}

// defaultPodSpec is the part of pkg/apis/core/v1/defaults.go the views show
// or the kubelet reads.
func defaultPodSpec(ps *corev1.PodSpec) {
	if ps.RestartPolicy == "" {
		ps.RestartPolicy = corev1.RestartPolicyAlways
	}
	if ps.DNSPolicy == "" {
		ps.DNSPolicy = corev1.DNSClusterFirst
	}
	if ps.TerminationGracePeriodSeconds == nil {
		ps.TerminationGracePeriodSeconds = ptr(int64(corev1.DefaultTerminationGracePeriodSeconds))
	}
	if ps.SchedulerName == "" {
		ps.SchedulerName = corev1.DefaultSchedulerName
	}
	if ps.SecurityContext == nil {
		ps.SecurityContext = &corev1.PodSecurityContext{}
	}
	for _, cs := range [][]corev1.Container{ps.InitContainers, ps.Containers} {
		for i := range cs {
			defaultContainer(&cs[i])
		}
	}
}

func defaultContainer(c *corev1.Container) {
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	if c.ImagePullPolicy == "" {
		// SetDefaults_Container: Always for ":latest" or no tag.
		img := c.Image
		if i := strings.LastIndex(img, "@"); i >= 0 {
			img = img[:i]
		}
		tag := ""
		if i := strings.LastIndex(img, ":"); i >= 0 && !strings.Contains(img[i:], "/") {
			tag = img[i+1:]
		}
		if tag == "" || tag == "latest" {
			c.ImagePullPolicy = corev1.PullAlways
		} else {
			c.ImagePullPolicy = corev1.PullIfNotPresent
		}
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		defaultProbe(p)
	}
}

// defaultProbe is SetDefaults_Probe and SetDefaults_HTTPGetAction.
func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	if h := p.HTTPGet; h != nil {
		if h.Path == "" {
			h.Path = "/"
		}
		if h.Scheme == "" {
			h.Scheme = corev1.URISchemeHTTP
		}
	}
}

// defaultService is SetDefaults_Service.
func defaultService(svc *corev1.Service) {
	if svc.Spec.Type == "" {
		svc.Spec.Type = corev1.ServiceTypeClusterIP
	}
	if svc.Spec.SessionAffinity == "" {
		svc.Spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == (intstr.IntOrString{}) {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	if svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		if svc.Spec.ExternalTrafficPolicy == "" {
			svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		}
	}
	if svc.Spec.InternalTrafficPolicy == nil && svc.Spec.Type != corev1.ServiceTypeExternalName {
		p := corev1.ServiceInternalTrafficPolicyCluster
		svc.Spec.InternalTrafficPolicy = &p
	}
}

// allocate gives a Service its clusterIP and node ports, as the apiserver's
// allocators do (pkg/registry/core/service/storage/alloc.go): a node port
// asked for must be in range and free; one left at 0 is picked at random.
// old is the stored Service on update, whose allocations carry over.
func (s *Store) allocate(svc, old *corev1.Service) error {
	s.ipMu.Lock()
	defer s.ipMu.Unlock()
	gk := schema.GroupKind{Kind: "Service"}
	key := svc.Namespace + "/" + svc.Name
	if svc.Spec.Type != corev1.ServiceTypeExternalName {
		switch {
		case old != nil && old.Spec.ClusterIP != "":
			svc.Spec.ClusterIP = old.Spec.ClusterIP
		case svc.Spec.ClusterIP == "":
			// The lab has no network; the address is for display, taken
			// from the default service CIDR 10.96.0.0/12.
			s.nextIP++
			svc.Spec.ClusterIP = fmt.Sprintf("10.96.%d.%d", (100+s.nextIP)/250, (100+s.nextIP)%250+1)
		}
		if svc.Spec.ClusterIP != corev1.ClusterIPNone {
			svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
			svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
			pol := corev1.IPFamilyPolicySingleStack
			svc.Spec.IPFamilyPolicy = &pol
		}
	}
	wantsNodePort := svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	oldPorts := map[int32]bool{}
	if old != nil {
		for _, p := range old.Spec.Ports {
			if p.NodePort != 0 {
				oldPorts[p.NodePort] = true
			}
		}
	}
	var errs field.ErrorList
	taken := map[int32]bool{}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		path := field.NewPath("spec", "ports").Index(i).Child("nodePort")
		if !wantsNodePort {
			p.NodePort = 0
			continue
		}
		if p.NodePort == 0 && old != nil {
			for _, op := range old.Spec.Ports {
				if op.Port == p.Port && op.Protocol == p.Protocol && op.NodePort != 0 {
					p.NodePort = op.NodePort
				}
			}
		}
		if p.NodePort == 0 {
			for range 1000 {
				n := int32(NodePortMin + rand.IntN(NodePortMax-NodePortMin+1))
				if owner, used := s.nodePorts[n]; (!used || owner == key) && !taken[n] {
					p.NodePort = n
					break
				}
			}
		}
		if p.NodePort < NodePortMin || p.NodePort > NodePortMax {
			errs = append(errs, field.Invalid(path, p.NodePort, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", NodePortMin, NodePortMax)))
			continue
		}
		if owner, used := s.nodePorts[p.NodePort]; (used && owner != key) || taken[p.NodePort] {
			errs = append(errs, field.Invalid(path, p.NodePort, "provided port is already allocated"))
			continue
		}
		taken[p.NodePort] = true
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(gk, svc.Name, errs)
	}
	for n := range oldPorts {
		if !taken[n] && s.nodePorts[n] == key {
			delete(s.nodePorts, n)
		}
	}
	for n := range taken {
		s.nodePorts[n] = key
	}
	return nil
}

// release frees a deleted Service's node ports.
func (s *Store) release(svc *corev1.Service) {
	s.ipMu.Lock()
	defer s.ipMu.Unlock()
	key := svc.Namespace + "/" + svc.Name
	for n, owner := range s.nodePorts {
		if owner == key {
			delete(s.nodePorts, n)
		}
	}
}

// admitPod adds what a default apiserver's admission plugins add to a new
// pod, so the lab's pods read as a cluster's: the default service account
// (plugin/pkg/admission/serviceaccount; the token volume is left out, the
// lab has no tokens), the not-ready and unreachable tolerations for 300 s
// (plugin/pkg/admission/defaulttolerationseconds) and priority 0
// (plugin/pkg/admission/priority).
func admitPod(p *corev1.Pod) {
	if p.Spec.ServiceAccountName == "" {
		p.Spec.ServiceAccountName = "default"
	}
	p.Spec.DeprecatedServiceAccount = p.Spec.ServiceAccountName
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		has := false
		for _, t := range p.Spec.Tolerations {
			if t.Key == key && (t.Effect == "" || t.Effect == corev1.TaintEffectNoExecute) {
				has = true
			}
		}
		if !has {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{
				Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300)),
			})
		}
	}
	if p.Spec.Priority == nil {
		p.Spec.Priority = ptr(int32(0))
	}
	if p.Spec.PreemptionPolicy == nil {
		pol := corev1.PreemptLowerPriority
		p.Spec.PreemptionPolicy = &pol
	}
}
