package store

import (
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// This file is the apiserver's validation of the kinds the lab stores, cut
// down to what a manifest for the demo can plausibly get wrong: names and
// labels, containers, ports, env, probes, selectors and their
// immutability, rollout strategy, Service ports. The checks, their order,
// field paths and messages follow kubernetes v1.37.2
// pkg/apis/apps/validation/validation.go (ValidateDeploymentSpec,
// ValidateReplicaSetSpec) and pkg/apis/core/validation/validation.go
// (ValidatePodSpec, validateContainers, validateProbe, validateService), so
// that a bad manifest gets the text `kubectl apply` would print. That code
// lives in k8s.io/kubernetes, which cannot be required as a module (its
// go.mod replaces the staging modules with local paths) and validates
// internal types; the building blocks come from k8s.io/apimachinery.
// TestValidationMatchesAPIServer holds the two side by side.
//
// What is left out is what the lab neither reads nor could run: volumes,
// resources, security contexts, affinity, ephemeral containers, lifecycle
// hooks, dual-stack and load-balancer fields.

var (
	metaPath = field.NewPath("metadata")
	specPath = field.NewPath("spec")

	deploymentKind = schema.GroupKind{Group: "apps", Kind: "Deployment"}
	replicaSetKind = schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}
	podKind        = schema.GroupKind{Kind: "Pod"}
	serviceKind    = schema.GroupKind{Kind: "Service"}
)

// validate is the strategies' Validate (old == nil) and ValidateUpdate for
// the kinds the lab validates; the object is defaulted and, on create, named
// already, as the apiserver has it by then (rest.BeforeCreate).
func validate(obj, old runtime.Object) error {
	var (
		gk   schema.GroupKind
		name string
		errs field.ErrorList
	)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		gk, name = deploymentKind, o.Name
		if old == nil {
			errs = apivalidation.ValidateObjectMeta(&o.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metaPath)
			errs = append(errs, validateDeploymentSpec(o, specPath)...)
		} else {
			od := old.(*appsv1.Deployment)
			errs = apivalidation.ValidateObjectMetaUpdate(&o.ObjectMeta, &od.ObjectMeta, metaPath)
			errs = append(errs, validateDeploymentSpec(o, specPath)...)
			// apps/v1 selectors are immutable (ValidateDeploymentUpdate).
			errs = append(errs, apivalidation.ValidateImmutableField(o.Spec.Selector, od.Spec.Selector, specPath.Child("selector"))...)
		}
	case *appsv1.ReplicaSet:
		gk, name = replicaSetKind, o.Name
		if old == nil {
			errs = apivalidation.ValidateObjectMeta(&o.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metaPath)
			errs = append(errs, validateReplicaSetSpec(&o.Spec, specPath)...)
		} else {
			or := old.(*appsv1.ReplicaSet)
			errs = apivalidation.ValidateObjectMetaUpdate(&o.ObjectMeta, &or.ObjectMeta, metaPath)
			errs = append(errs, validateReplicaSetSpec(&o.Spec, specPath)...)
			errs = append(errs, apivalidation.ValidateImmutableField(o.Spec.Selector, or.Spec.Selector, specPath.Child("selector"))...)
		}
	case *corev1.Pod:
		gk, name = podKind, o.Name
		if old != nil {
			// Pod updates change metadata only here (the lab's apply
			// leaves an existing pod's spec alone); ValidatePodUpdate's
			// spec rules are not reproduced.
			errs = apivalidation.ValidateObjectMetaUpdate(&o.ObjectMeta, &old.(*corev1.Pod).ObjectMeta, metaPath)
			break
		}
		// validatePodMetadataAndSpec.
		errs = apivalidation.ValidateObjectMeta(&o.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, metaPath)
		errs = append(errs, validatePodSpec(&o.Spec, specPath)...)
		if g := o.Spec.TerminationGracePeriodSeconds; g != nil {
			errs = append(errs, apivalidation.ValidateNonnegativeField(*g, specPath.Child("terminationGracePeriodSeconds"))...)
		}
		// validateContainersOnlyForPod.
		for _, l := range []struct {
			cs   []corev1.Container
			name string
		}{{o.Spec.Containers, "containers"}, {o.Spec.InitContainers, "initContainers"}} {
			for i, c := range l.cs {
				if len(c.Image) != len(strings.TrimSpace(c.Image)) {
					errs = append(errs, field.Invalid(specPath.Child(l.name).Index(i).Child("image"), c.Image, "must not have leading or trailing whitespace"))
				}
			}
		}
	case *corev1.Service:
		gk, name = serviceKind, o.Name
		if old == nil {
			// RelaxedServiceNameValidation is GA in 1.37: a Service name
			// is an RFC 1123 label (ValidateServiceCreate).
			errs = apivalidation.ValidateObjectMeta(&o.ObjectMeta, true, apivalidation.NameIsDNSLabel, metaPath)
		} else {
			errs = apivalidation.ValidateObjectMetaUpdate(&o.ObjectMeta, &old.(*corev1.Service).ObjectMeta, metaPath)
		}
		errs = append(errs, validateService(o)...)
	default:
		return nil
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(gk, name, errs)
	}
	return nil
}

// validateDeploymentSpec is ValidateDeploymentSpec. The internal spec's
// rollbackTo is apps/v1's deprecated.deployment.rollback.to annotation
// (pkg/apis/apps/v1/conversion.go), so it is read from there.
func validateDeploymentSpec(d *appsv1.Deployment, p *field.Path) field.ErrorList {
	spec := &d.Spec
	errs := apivalidation.ValidateNonnegativeField(int64(*spec.Replicas), p.Child("replicas"))
	errs = append(errs, validateSelectorAndTemplate(spec.Selector, &spec.Template, p)...)
	errs = append(errs, validateStrategy(&spec.Strategy, p.Child("strategy"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), p.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.RevisionHistoryLimit), p.Child("revisionHistoryLimit"))...)
	}
	if v, err := strconv.ParseInt(d.Annotations[appsv1.DeprecatedRollbackTo], 10, 64); err == nil {
		// ValidateRollback: the controller would look for a revision
		// that cannot exist.
		errs = append(errs, apivalidation.ValidateNonnegativeField(v, p.Child("rollback", "version"))...)
	}
	if spec.ProgressDeadlineSeconds != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.ProgressDeadlineSeconds), p.Child("progressDeadlineSeconds"))...)
		if *spec.ProgressDeadlineSeconds <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(p.Child("progressDeadlineSeconds"), spec.ProgressDeadlineSeconds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

// validateReplicaSetSpec is ValidateReplicaSetSpec.
func validateReplicaSetSpec(spec *appsv1.ReplicaSetSpec, p *field.Path) field.ErrorList {
	errs := apivalidation.ValidateNonnegativeField(int64(*spec.Replicas), p.Child("replicas"))
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(spec.MinReadySeconds), p.Child("minReadySeconds"))...)
	return append(errs, validateSelectorAndTemplate(spec.Selector, &spec.Template, p)...)
}

// validateSelectorAndTemplate is the selector part of ValidateDeploymentSpec
// and ValidateReplicaSetSpec (both say "for deployment") followed by
// ValidatePodTemplateSpecForReplicaSet.
func validateSelectorAndTemplate(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sel == nil {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(p.Child("selector"), sel, "empty selector is invalid for deployment"))
		}
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return append(errs, field.Invalid(p.Child("selector"), sel, "invalid label selector"))
	}
	tp := p.Child("template")
	if !s.Empty() && !s.Matches(labels.Set(tmpl.Labels)) {
		errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), tmpl.Labels, "`selector` does not match template `labels`"))
	}
	// ValidatePodTemplateSpec: its labels and annotations, then the spec.
	errs = append(errs, metav1validation.ValidateLabels(tmpl.Labels, tp.Child("labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(tmpl.Annotations, tp.Child("annotations"))...)
	errs = append(errs, validatePodSpec(&tmpl.Spec, tp.Child("spec"))...)
	if tmpl.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), tmpl.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if tmpl.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicaSet is not Supported"))
	}
	return errs
}

// validateStrategy is ValidateDeploymentStrategy and
// ValidateRollingUpdateDeployment.
func validateStrategy(st *appsv1.DeploymentStrategy, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch st.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if st.RollingUpdate != nil {
			errs = append(errs, field.Forbidden(p.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		// defaultDeployment has filled rollingUpdate in.
		ru := st.RollingUpdate
		var maxUnavailable, maxSurge intstr.IntOrString
		if ru.MaxUnavailable != nil {
			maxUnavailable = *ru.MaxUnavailable
		}
		if ru.MaxSurge != nil {
			maxSurge = *ru.MaxSurge
		}
		rp := p.Child("rollingUpdate")
		errs = append(errs, validateIntOrPercent(maxUnavailable, rp.Child("maxUnavailable"))...)
		errs = append(errs, validateIntOrPercent(maxSurge, rp.Child("maxSurge"))...)
		if intOrPercentValue(maxUnavailable) == 0 && intOrPercentValue(maxSurge) == 0 {
			errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), maxUnavailable, "may not be 0 when `maxSurge` is 0"))
		}
		if v, ok := percentValue(maxUnavailable); ok && v > 100 {
			errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), maxUnavailable, "must not be greater than 100%"))
		}
	default:
		errs = append(errs, field.NotSupported(p, internalStrategyOf(st), []string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)}))
	}
	return errs
}

// internalStrategy has the shape of the apiserver's internal
// apps.DeploymentStrategy (pkg/apis/apps/types.go), whose fields carry no
// json tags: the apiserver shows the bad strategy as that JSON
// ({"Type":"Rolling","RollingUpdate":{"MaxUnavailable":"30%","MaxSurge":1}}).
type internalStrategy struct {
	Type          appsv1.DeploymentStrategyType
	RollingUpdate *internalRollingUpdate
}

type internalRollingUpdate struct {
	MaxUnavailable intstr.IntOrString
	MaxSurge       intstr.IntOrString
}

func internalStrategyOf(st *appsv1.DeploymentStrategy) *internalStrategy {
	out := &internalStrategy{Type: st.Type}
	if ru := st.RollingUpdate; ru != nil {
		out.RollingUpdate = &internalRollingUpdate{}
		if ru.MaxUnavailable != nil {
			out.RollingUpdate.MaxUnavailable = *ru.MaxUnavailable
		}
		if ru.MaxSurge != nil {
			out.RollingUpdate.MaxSurge = *ru.MaxSurge
		}
	}
	return out
}

// validateIntOrPercent is ValidatePositiveIntOrPercent.
func validateIntOrPercent(v intstr.IntOrString, p *field.Path) field.ErrorList {
	if v.Type == intstr.String {
		var errs field.ErrorList
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(p, v, msg))
		}
		return errs
	}
	return apivalidation.ValidateNonnegativeField(int64(v.IntValue()), p)
}

func percentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(validation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	return n, true
}

func intOrPercentValue(v intstr.IntOrString) int {
	if n, ok := percentValue(v); ok {
		return n
	}
	return v.IntValue()
}

// validatePodSpec is the part of ValidatePodSpec a pod or a template in a
// manifest for the lab can get wrong.
func validatePodSpec(spec *corev1.PodSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.TerminationGracePeriodSeconds == nil {
		errs = append(errs, field.Required(p.Child("terminationGracePeriodSeconds"), ""))
	}
	errs = append(errs, validateContainers(spec.Containers, spec.TerminationGracePeriodSeconds, p.Child("containers"))...)
	errs = append(errs, validateInitContainers(spec.InitContainers, spec.Containers, spec.TerminationGracePeriodSeconds, p.Child("initContainers"))...)
	switch spec.RestartPolicy {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
	case "":
		errs = append(errs, field.Required(p.Child("restartPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("restartPolicy"), spec.RestartPolicy,
			[]corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	}
	switch spec.DNSPolicy {
	case corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone:
	case "":
		errs = append(errs, field.Required(p.Child("dnsPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(p.Child("dnsPolicy"), &spec.DNSPolicy,
			[]corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone}))
	}
	errs = append(errs, metav1validation.ValidateLabels(spec.NodeSelector, p.Child("nodeSelector"))...)
	if len(spec.Hostname) > 0 {
		errs = append(errs, dns1123Label(spec.Hostname, p.Child("hostname"))...)
	}
	if len(spec.Subdomain) > 0 {
		errs = append(errs, dns1123Label(spec.Subdomain, p.Child("subdomain"))...)
	}
	return errs
}

// validateContainers is validateContainers with validateContainerCommon.
func validateContainers(cs []corev1.Container, grace *int64, p *field.Path) field.ErrorList {
	if len(cs) == 0 {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	names := sets.New[string]()
	for i := range cs {
		c := &cs[i]
		cp := p.Index(i)
		errs = append(errs, validateContainerCommon(c, cp)...)
		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		} else {
			names.Insert(c.Name)
		}
		errs = append(errs, validateProbes(c, grace, cp)...)
		errs = append(errs, validateContainerRestartPolicy(c, cp)...)
	}
	return errs
}

// validateInitContainers is validateInitContainers: the checks of every
// container, names unique among init and regular containers together, and
// probes only on a sidecar (restartPolicy Always). The lab runs init
// containers, so a manifest the apiserver refuses must not run here.
func validateInitContainers(cs, regular []corev1.Container, grace *int64, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for _, c := range regular {
		names.Insert(c.Name)
	}
	const forbidden = "may not be set for init containers without restartPolicy=Always"
	for i := range cs {
		c := &cs[i]
		cp := p.Index(i)
		errs = append(errs, validateContainerCommon(c, cp)...)
		// validateInitContainerRestartPolicy with ContainerRestartRules
		// and RestartAllContainersOnContainerExits (both beta, on in
		// 1.37): the same rules as any container, sidecars included.
		errs = append(errs, validateContainerRestartPolicy(c, cp)...)
		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		} else if len(c.Name) > 0 {
			names.Insert(c.Name)
		}
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			errs = append(errs, validateProbes(c, grace, cp)...)
			continue
		}
		for _, f := range []struct {
			set  bool
			name string
		}{{c.Lifecycle != nil, "lifecycle"}, {c.LivenessProbe != nil, "livenessProbe"},
			{c.ReadinessProbe != nil, "readinessProbe"}, {c.StartupProbe != nil, "startupProbe"}} {
			if f.set {
				errs = append(errs, field.Forbidden(cp.Child(f.name), forbidden))
			}
		}
	}
	return errs
}

// validateContainerCommon is validateContainerCommon, for the fields the
// lab checks.
func validateContainerCommon(c *corev1.Container, cp *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(c.Name) == 0 {
		errs = append(errs, field.Required(cp.Child("name"), ""))
	} else {
		errs = append(errs, dns1123Label(c.Name, cp.Child("name"))...)
	}
	if len(c.Image) == 0 {
		errs = append(errs, field.Required(cp.Child("image"), ""))
	}
	switch c.TerminationMessagePolicy {
	case corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError:
	case "":
		errs = append(errs, field.Required(cp.Child("terminationMessagePolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(cp.Child("terminationMessagePolicy"), c.TerminationMessagePolicy,
			[]corev1.TerminationMessagePolicy{corev1.TerminationMessageReadFile, corev1.TerminationMessageFallbackToLogsOnError}))
	}
	errs = append(errs, validateContainerPorts(c.Ports, cp.Child("ports"))...)
	errs = append(errs, validateEnv(c.Env, cp.Child("env"))...)
	switch c.ImagePullPolicy {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	case "":
		errs = append(errs, field.Required(cp.Child("imagePullPolicy"), ""))
	default:
		errs = append(errs, field.NotSupported(cp.Child("imagePullPolicy"), c.ImagePullPolicy,
			[]corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever}))
	}
	return errs
}

// validateContainerRestartPolicy is validateContainerRestartPolicy: a
// container's own restartPolicy and its restart rules (ContainerRestartRules),
// with the RestartAllContainers action of RestartAllContainersOnContainerExits.
func validateContainerRestartPolicy(c *corev1.Container, cp *field.Path) field.ErrorList {
	var errs field.ErrorList
	policyPath := cp.Child("restartPolicy")
	switch {
	case c.RestartPolicy == nil && len(c.RestartPolicyRules) == 0:
		return nil
	case c.RestartPolicy == nil:
		errs = append(errs, field.Required(policyPath, "must specify restartPolicy when restart rules are used"))
	default:
		switch *c.RestartPolicy {
		case corev1.ContainerRestartPolicyAlways, corev1.ContainerRestartPolicyNever, corev1.ContainerRestartPolicyOnFailure:
		default:
			errs = append(errs, field.NotSupported(policyPath, *c.RestartPolicy, []corev1.ContainerRestartPolicy{
				corev1.ContainerRestartPolicyAlways, corev1.ContainerRestartPolicyNever, corev1.ContainerRestartPolicyOnFailure}))
		}
	}
	rulesPath := cp.Child("restartPolicyRules")
	if len(c.RestartPolicyRules) > 20 {
		errs = append(errs, field.TooMany(rulesPath, len(c.RestartPolicyRules), 20))
	}
	for i, r := range c.RestartPolicyRules {
		rp := rulesPath.Index(i)
		switch r.Action {
		case corev1.ContainerRestartRuleActionRestart, corev1.ContainerRestartRuleActionRestartAllContainers:
		default:
			errs = append(errs, field.NotSupported(rp.Child("action"), r.Action, []corev1.ContainerRestartRuleAction{
				corev1.ContainerRestartRuleActionRestart, corev1.ContainerRestartRuleActionRestartAllContainers}))
		}
		if r.ExitCodes == nil {
			errs = append(errs, field.Required(rp.Child("exitCodes"), "must be specified"))
			continue
		}
		switch r.ExitCodes.Operator {
		case corev1.ContainerRestartRuleOnExitCodesOpIn, corev1.ContainerRestartRuleOnExitCodesOpNotIn:
		default:
			errs = append(errs, field.NotSupported(rp.Child("exitCodes", "operator"), r.ExitCodes.Operator, []corev1.ContainerRestartRuleOnExitCodesOperator{
				corev1.ContainerRestartRuleOnExitCodesOpIn, corev1.ContainerRestartRuleOnExitCodesOpNotIn}))
		}
		if len(r.ExitCodes.Values) > 255 {
			errs = append(errs, field.TooMany(rp.Child("exitCodes", "values"), len(r.ExitCodes.Values), 255))
		}
	}
	return errs
}

func validateProbes(c *corev1.Container, grace *int64, cp *field.Path) field.ErrorList {
	errs := validateProbe(c.LivenessProbe, grace, cp.Child("livenessProbe"), probeLiveness)
	errs = append(errs, validateProbe(c.ReadinessProbe, grace, cp.Child("readinessProbe"), probeReadiness)...)
	return append(errs, validateProbe(c.StartupProbe, grace, cp.Child("startupProbe"), probeStartup)...)
}

func dns1123Label(v string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(v) {
		errs = append(errs, field.Invalid(p, v, msg))
	}
	return errs
}

var portProtocols = []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}

func validProtocol(pr corev1.Protocol, p *field.Path) field.ErrorList {
	switch pr {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return nil
	case "":
		return field.ErrorList{field.Required(p, "")}
	}
	return field.ErrorList{field.NotSupported(p, pr, portProtocols)}
}

// validateContainerPorts is validateContainerPorts.
func validateContainerPorts(ports []corev1.ContainerPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, port := range ports {
		ip := p.Index(i)
		if len(port.Name) > 0 {
			if msgs := validation.IsValidPortName(port.Name); len(msgs) != 0 {
				for _, msg := range msgs {
					errs = append(errs, field.Invalid(ip.Child("name"), port.Name, msg))
				}
			} else if names.Has(port.Name) {
				errs = append(errs, field.Duplicate(ip.Child("name"), port.Name))
			} else {
				names.Insert(port.Name)
			}
		}
		if port.ContainerPort == 0 {
			errs = append(errs, field.Required(ip.Child("containerPort"), ""))
		} else {
			for _, msg := range validation.IsValidPortNum(int(port.ContainerPort)) {
				errs = append(errs, field.Invalid(ip.Child("containerPort"), port.ContainerPort, msg))
			}
		}
		if port.HostPort != 0 {
			for _, msg := range validation.IsValidPortNum(int(port.HostPort)) {
				errs = append(errs, field.Invalid(ip.Child("hostPort"), port.HostPort, msg))
			}
		}
		errs = append(errs, validProtocol(port.Protocol, ip.Child("protocol"))...)
	}
	return errs
}

// validateEnv is ValidateEnv's names; RelaxedEnvironmentVariableValidation
// is GA, so any printable ASCII but '=' is a name. valueFrom is not
// checked: the lab does not resolve it.
func validateEnv(env []corev1.EnvVar, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range env {
		np := p.Index(i).Child("name")
		if len(ev.Name) == 0 {
			errs = append(errs, field.Required(np, ""))
			continue
		}
		for _, msg := range validation.IsRelaxedEnvVarName(ev.Name) {
			errs = append(errs, field.Invalid(np, ev.Name, msg))
		}
	}
	return errs
}

type probeKind int

const (
	probeLiveness probeKind = iota
	probeReadiness
	probeStartup
)

// validateProbe is validateProbe plus what validateLivenessProbe,
// validateReadinessProbe and validateStartupProbe add.
func validateProbe(pr *corev1.Probe, grace *int64, p *field.Path, kind probeKind) field.ErrorList {
	if pr == nil {
		return nil
	}
	errs := validateHandler(&pr.ProbeHandler, p)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(pr.InitialDelaySeconds), p.Child("initialDelaySeconds"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(pr.TimeoutSeconds), p.Child("timeoutSeconds"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(pr.PeriodSeconds), p.Child("periodSeconds"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(pr.SuccessThreshold), p.Child("successThreshold"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(pr.FailureThreshold), p.Child("failureThreshold"))...)
	if g := pr.TerminationGracePeriodSeconds; g != nil && *g <= 0 {
		errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), *g, "must be greater than 0"))
	}
	switch kind {
	case probeLiveness, probeStartup:
		if pr.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(p.Child("successThreshold"), pr.SuccessThreshold, "must be 1"))
		}
	case probeReadiness:
		if pr.TerminationGracePeriodSeconds != nil {
			errs = append(errs, field.Invalid(p.Child("terminationGracePeriodSeconds"), pr.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
		}
	}
	return errs
}

// validateHandler is validateHandler for a probe: exactly one handler.
func validateHandler(h *corev1.ProbeHandler, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	one := func(set bool, name string, check func(*field.Path) field.ErrorList) {
		if !set {
			return
		}
		if n > 0 {
			errs = append(errs, field.Forbidden(p.Child(name), "may not specify more than 1 handler type"))
			return
		}
		n++
		errs = append(errs, check(p.Child(name))...)
	}
	one(h.Exec != nil, "exec", func(p *field.Path) field.ErrorList {
		if len(h.Exec.Command) == 0 {
			return field.ErrorList{field.Required(p.Child("command"), "")}
		}
		return nil
	})
	one(h.HTTPGet != nil, "httpGet", func(p *field.Path) field.ErrorList { return validateHTTPGet(h.HTTPGet, p) })
	one(h.TCPSocket != nil, "tcpSocket", func(p *field.Path) field.ErrorList {
		return validatePortNumOrName(h.TCPSocket.Port, p.Child("port"))
	})
	one(h.GRPC != nil, "grpc", func(p *field.Path) field.ErrorList {
		return validatePortNumOrName(intstr.FromInt32(h.GRPC.Port), p.Child("port"))
	})
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a handler type"))
	}
	return errs
}

// validateHTTPGet is validateHTTPGetAction. A named port that no container
// port carries is accepted, as the apiserver accepts it; the kubelet fails
// the probe.
func validateHTTPGet(h *corev1.HTTPGetAction, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(h.Path) == 0 {
		errs = append(errs, field.Required(p.Child("path"), ""))
	}
	errs = append(errs, validatePortNumOrName(h.Port, p.Child("port"))...)
	switch h.Scheme {
	case corev1.URISchemeHTTP, corev1.URISchemeHTTPS:
	default:
		errs = append(errs, field.NotSupported(p.Child("scheme"), h.Scheme, []corev1.URIScheme{corev1.URISchemeHTTP, corev1.URISchemeHTTPS}))
	}
	for _, hdr := range h.HTTPHeaders {
		for _, msg := range validation.IsHTTPHeaderName(hdr.Name) {
			errs = append(errs, field.Invalid(p.Child("httpHeaders"), hdr.Name, msg))
		}
	}
	return errs
}

// validatePortNumOrName is ValidatePortNumOrName.
func validatePortNumOrName(port intstr.IntOrString, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch port.Type {
	case intstr.Int:
		for _, msg := range validation.IsValidPortNum(port.IntValue()) {
			errs = append(errs, field.Invalid(p, port.IntValue(), msg))
		}
	case intstr.String:
		for _, msg := range validation.IsValidPortName(port.StrVal) {
			errs = append(errs, field.Invalid(p, port.StrVal, msg))
		}
	default:
		errs = append(errs, field.InternalError(p, fmt.Errorf("unknown type: %v", port.Type)))
	}
	return errs
}

// validateService is the part of validateService a Service for the lab can
// get wrong: its ports, selector, session affinity and type. Node port
// ranges and collisions are the allocator's (allocate).
func validateService(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	headless := svc.Spec.ClusterIP == corev1.ClusterIPNone
	pp := specPath.Child("ports")
	if len(svc.Spec.Ports) == 0 && !headless && svc.Spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(pp, ""))
	}
	names := sets.New[string]()
	for i := range svc.Spec.Ports {
		sp := &svc.Spec.Ports[i]
		ip := pp.Index(i)
		if len(svc.Spec.Ports) > 1 && len(sp.Name) == 0 {
			errs = append(errs, field.Required(ip.Child("name"), ""))
		} else if len(sp.Name) != 0 {
			errs = append(errs, dns1123Label(sp.Name, ip.Child("name"))...)
			if names.Has(sp.Name) {
				errs = append(errs, field.Duplicate(ip.Child("name"), sp.Name))
			} else {
				names.Insert(sp.Name)
			}
		}
		for _, msg := range validation.IsValidPortNum(int(sp.Port)) {
			errs = append(errs, field.Invalid(ip.Child("port"), sp.Port, msg))
		}
		errs = append(errs, validProtocol(sp.Protocol, ip.Child("protocol"))...)
		errs = append(errs, validatePortNumOrName(sp.TargetPort, ip.Child("targetPort"))...)
	}
	if svc.Spec.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabels(svc.Spec.Selector, specPath.Child("selector"))...)
	}
	switch svc.Spec.SessionAffinity {
	case corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone:
	case "":
		errs = append(errs, field.Required(specPath.Child("sessionAffinity"), ""))
	default:
		errs = append(errs, field.NotSupported(specPath.Child("sessionAffinity"), svc.Spec.SessionAffinity,
			[]corev1.ServiceAffinity{corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone}))
	}
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeExternalName:
	case "":
		errs = append(errs, field.Required(specPath.Child("type"), ""))
	default:
		errs = append(errs, field.NotSupported(specPath.Child("type"), svc.Spec.Type,
			[]corev1.ServiceType{corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort}))
	}
	if svc.Spec.Type == corev1.ServiceTypeClusterIP {
		for i := range svc.Spec.Ports {
			if svc.Spec.Ports[i].NodePort != 0 {
				errs = append(errs, field.Forbidden(pp.Index(i).Child("nodePort"), "may not be used when `type` is 'ClusterIP'"))
			}
		}
	}
	return errs
}
