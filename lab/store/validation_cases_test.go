package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/proberctl/proberctl/demo"
	"github.com/proberctl/proberctl/lab/manifest"
)

// validationCase is one write a manifest for the demo could make, with the
// causes the apiserver answers it with: each "field: message", as kubectl
// prints them. No causes means the write is accepted. The same table runs
// against the lab's store (TestValidation) and, side by side, against a
// real kube-apiserver (TestValidationMatchesAPIServer), which is where the
// texts come from.
type validationCase struct {
	name string
	// Exactly one of these changes the demo's object of its kind.
	deployment func(*appsv1.Deployment)
	replicaSet func(*appsv1.ReplicaSet)
	pod        func(*corev1.Pod)
	service    func(*corev1.Service)
	// update creates the unchanged object first and writes the change as
	// an update.
	update bool
	want   []string
}

// containerCase is a mistake inside a pod spec, tried in a Deployment's
// template and in a bare Pod; "$S" in want stands for the pod spec's path.
type containerCase struct {
	name   string
	change func(*corev1.PodSpec)
	want   []string
}

const nonNegative = "must be greater than or equal to 0"

var containerCases = []containerCase{
	{"init container named as a container", func(s *corev1.PodSpec) {
		s.InitContainers = []corev1.Container{{Name: "prober-foo", Image: demo.Image, Command: []string{"sleep", "1"}}}
	}, []string{`$S.initContainers[0].name: Duplicate value: "prober-foo"`}},
	{"init container without a name or image", func(s *corev1.PodSpec) {
		s.InitContainers = []corev1.Container{{Command: []string{"sleep", "1"}}}
	}, []string{"$S.initContainers[0].name: Required value", "$S.initContainers[0].image: Required value"}},
	{"init container with probes", func(s *corev1.PodSpec) {
		c := s.Containers[0].DeepCopy()
		c.Name = "wait"
		s.InitContainers = []corev1.Container{*c}
	}, []string{
		"$S.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
		"$S.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
	}},
	{"sidecar with a negative probe field", func(s *corev1.PodSpec) {
		c := s.Containers[0].DeepCopy()
		c.Name = "side"
		c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		c.LivenessProbe.PeriodSeconds = -1
		s.InitContainers = []corev1.Container{*c}
	}, []string{"$S.initContainers[0].livenessProbe.periodSeconds: Invalid value: -1: " + nonNegative}},
	{"init container restartPolicy unsupported", func(s *corev1.PodSpec) {
		s.InitContainers = []corev1.Container{{Name: "wait", Image: demo.Image, RestartPolicy: ptr.To[corev1.ContainerRestartPolicy]("Sometimes")}}
	}, []string{`$S.initContainers[0].restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"`}},
	{"container restartPolicy unsupported", func(s *corev1.PodSpec) {
		s.Containers[0].RestartPolicy = ptr.To[corev1.ContainerRestartPolicy]("Sometimes")
	}, []string{`$S.containers[0].restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"`}},
	{"init container restart rules without a restartPolicy", func(s *corev1.PodSpec) {
		s.InitContainers = []corev1.Container{{Name: "wait", Image: demo.Image, RestartPolicyRules: []corev1.ContainerRestartRule{{
			Action: "Restart", ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: "In", Values: []int32{42}}}}}}
	}, []string{"$S.initContainers[0].restartPolicy: Required value: must specify restartPolicy when restart rules are used"}},
	{"container restart rule action unsupported", func(s *corev1.PodSpec) {
		s.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
		s.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{{Action: "Reboot",
			ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: "In", Values: []int32{42}}}}
	}, []string{`$S.containers[0].restartPolicyRules[0].action: Unsupported value: "Reboot": supported values: "Restart", "RestartAllContainers"`}},
	{"sidecar with restart rules is fine", func(s *corev1.PodSpec) {
		s.InitContainers = []corev1.Container{{Name: "side", Image: demo.Image, RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
			RestartPolicyRules: []corev1.ContainerRestartRule{{Action: "RestartAllContainers",
				ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: "In", Values: []int32{42}}}}}}
	}, nil},
	{"init container is fine", func(s *corev1.PodSpec) {
		s.InitContainers = []corev1.Container{{Name: "wait", Image: demo.Image, Command: []string{"sleep", "1"}}}
	}, nil},
	{"liveness periodSeconds negative", func(s *corev1.PodSpec) { s.Containers[0].LivenessProbe.PeriodSeconds = -1 },
		[]string{"$S.containers[0].livenessProbe.periodSeconds: Invalid value: -1: " + nonNegative}},
	{"readiness initialDelaySeconds negative", func(s *corev1.PodSpec) { s.Containers[0].ReadinessProbe.InitialDelaySeconds = -5 },
		[]string{"$S.containers[0].readinessProbe.initialDelaySeconds: Invalid value: -5: " + nonNegative}},
	{"liveness timeoutSeconds negative", func(s *corev1.PodSpec) { s.Containers[0].LivenessProbe.TimeoutSeconds = -1 },
		[]string{"$S.containers[0].livenessProbe.timeoutSeconds: Invalid value: -1: " + nonNegative}},
	{"readiness failureThreshold negative", func(s *corev1.PodSpec) { s.Containers[0].ReadinessProbe.FailureThreshold = -2 },
		[]string{"$S.containers[0].readinessProbe.failureThreshold: Invalid value: -2: " + nonNegative}},
	{"startup probe every field negative", func(s *corev1.PodSpec) {
		s.Containers[0].StartupProbe = &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(80)}},
			InitialDelaySeconds: -1, TimeoutSeconds: -1, PeriodSeconds: -1, SuccessThreshold: -1, FailureThreshold: -1,
			TerminationGracePeriodSeconds: ptr.To[int64](-1),
		}
	}, []string{
		"$S.containers[0].startupProbe.initialDelaySeconds: Invalid value: -1: " + nonNegative,
		"$S.containers[0].startupProbe.timeoutSeconds: Invalid value: -1: " + nonNegative,
		"$S.containers[0].startupProbe.periodSeconds: Invalid value: -1: " + nonNegative,
		"$S.containers[0].startupProbe.successThreshold: Invalid value: -1: " + nonNegative,
		"$S.containers[0].startupProbe.failureThreshold: Invalid value: -1: " + nonNegative,
		"$S.containers[0].startupProbe.terminationGracePeriodSeconds: Invalid value: -1: must be greater than 0",
		"$S.containers[0].startupProbe.successThreshold: Invalid value: -1: must be 1",
	}},
	{"liveness successThreshold 2", func(s *corev1.PodSpec) { s.Containers[0].LivenessProbe.SuccessThreshold = 2 },
		[]string{"$S.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"}},
	{"startup successThreshold 3", func(s *corev1.PodSpec) {
		p := s.Containers[0].LivenessProbe.DeepCopy()
		p.SuccessThreshold = 3
		s.Containers[0].StartupProbe = p
	}, []string{"$S.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1"}},
	{"readiness successThreshold 3 is fine", func(s *corev1.PodSpec) { s.Containers[0].ReadinessProbe.SuccessThreshold = 3 }, nil},
	{"readiness terminationGracePeriodSeconds", func(s *corev1.PodSpec) {
		s.Containers[0].ReadinessProbe.TerminationGracePeriodSeconds = ptr.To[int64](10)
	}, []string{"$S.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 10: must not be set for readinessProbes"}},
	{"liveness terminationGracePeriodSeconds 0", func(s *corev1.PodSpec) {
		s.Containers[0].LivenessProbe.TerminationGracePeriodSeconds = ptr.To[int64](0)
	}, []string{"$S.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0"}},
	{"probe without a handler", func(s *corev1.PodSpec) { s.Containers[0].LivenessProbe.HTTPGet = nil },
		[]string{"$S.containers[0].livenessProbe: Required value: must specify a handler type"}},
	{"probe with two handlers", func(s *corev1.PodSpec) {
		s.Containers[0].LivenessProbe.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}
	}, []string{"$S.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"}},
	{"exec probe without a command", func(s *corev1.PodSpec) {
		s.Containers[0].ReadinessProbe.HTTPGet = nil
		s.Containers[0].ReadinessProbe.Exec = &corev1.ExecAction{}
	}, []string{"$S.containers[0].readinessProbe.exec.command: Required value"}},
	{"httpGet port 0", func(s *corev1.PodSpec) { s.Containers[0].LivenessProbe.HTTPGet.Port = intstr.FromInt32(0) },
		[]string{"$S.containers[0].livenessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive"}},
	{"httpGet port 70000", func(s *corev1.PodSpec) { s.Containers[0].ReadinessProbe.HTTPGet.Port = intstr.FromInt32(70000) },
		[]string{"$S.containers[0].readinessProbe.httpGet.port: Invalid value: 70000: must be between 1 and 65535, inclusive"}},
	{"httpGet port name invalid", func(s *corev1.PodSpec) {
		s.Containers[0].LivenessProbe.HTTPGet.Port = intstr.FromString("health_check")
	},
		[]string{`$S.containers[0].livenessProbe.httpGet.port: Invalid value: "health_check": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`}},
	// The apiserver does not look the name up among the container's
	// ports; the kubelet fails the probe instead.
	{"httpGet port name no container port has", func(s *corev1.PodSpec) { s.Containers[0].LivenessProbe.HTTPGet.Port = intstr.FromString("health") }, nil},
	{"httpGet scheme unsupported", func(s *corev1.PodSpec) { s.Containers[0].LivenessProbe.HTTPGet.Scheme = "FTP" },
		[]string{`$S.containers[0].livenessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"`}},
	{"container name missing", func(s *corev1.PodSpec) { s.Containers[0].Name = "" },
		[]string{"$S.containers[0].name: Required value"}},
	{"container name not a DNS label", func(s *corev1.PodSpec) { s.Containers[0].Name = "Prober_Foo" },
		[]string{`$S.containers[0].name: Invalid value: "Prober_Foo": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`}},
	{"container name twice", func(s *corev1.PodSpec) { s.Containers = append(s.Containers, *s.Containers[0].DeepCopy()) },
		[]string{`$S.containers[1].name: Duplicate value: "prober-foo"`}},
	{"no containers", func(s *corev1.PodSpec) { s.Containers = nil },
		[]string{"$S.containers: Required value"}},
	{"image missing", func(s *corev1.PodSpec) { s.Containers[0].Image = "" },
		[]string{"$S.containers[0].image: Required value"}},
	{"imagePullPolicy unsupported", func(s *corev1.PodSpec) { s.Containers[0].ImagePullPolicy = "Sometimes" },
		[]string{`$S.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"`}},
	{"env name with =", func(s *corev1.PodSpec) { s.Containers[0].Env[0].Name = "START=WAIT" },
		[]string{`$S.containers[0].env[0].name: Invalid value: "START=WAIT": a valid environment variable name must consist only of printable ASCII characters other than '='`}},
	{"env name empty", func(s *corev1.PodSpec) { s.Containers[0].Env[1].Name = "" },
		[]string{"$S.containers[0].env[1].name: Required value"}},
	{"env name starting with a digit is fine", func(s *corev1.PodSpec) { s.Containers[0].Env[0].Name = "1START" }, nil},
	{"containerPort missing", func(s *corev1.PodSpec) { s.Containers[0].Ports = []corev1.ContainerPort{{Name: "http"}} },
		[]string{"$S.containers[0].ports[0].containerPort: Required value"}},
	{"containerPort 70000 and hostPort -1", func(s *corev1.PodSpec) {
		s.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 70000, HostPort: -1}}
	}, []string{
		"$S.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
		"$S.containers[0].ports[0].hostPort: Invalid value: -1: must be between 1 and 65535, inclusive",
	}},
	{"port names twice", func(s *corev1.PodSpec) {
		s.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 80}, {Name: "http", ContainerPort: 81}}
	}, []string{`$S.containers[0].ports[1].name: Duplicate value: "http"`}},
	{"port protocol unsupported", func(s *corev1.PodSpec) {
		s.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: "HTTP"}}
	}, []string{`$S.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`}},
	{"dnsPolicy unsupported", func(s *corev1.PodSpec) { s.DNSPolicy = "Google" },
		[]string{`$S.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`}},
	{"nodeSelector value invalid", func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"disk": "fast ssd"} },
		[]string{`$S.nodeSelector: Invalid value: "fast ssd": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`}},
	{"restartPolicy unsupported", func(s *corev1.PodSpec) { s.RestartPolicy = "Sometimes" },
		[]string{`$S.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`}},
}

// validationCases is the whole table: every container case in a
// Deployment's template and in a Pod, then what is particular to a kind.
func validationCases() []validationCase {
	var cases []validationCase
	for _, cc := range containerCases {
		cases = append(cases,
			validationCase{name: "Deployment " + cc.name, deployment: func(d *appsv1.Deployment) { cc.change(&d.Spec.Template.Spec) },
				want: expand(cc.want, "spec.template.spec")},
			validationCase{name: "Pod " + cc.name, pod: func(p *corev1.Pod) { cc.change(&p.Spec) }, want: expand(cc.want, "spec")})
	}
	// A template's restartPolicy must be Always; a pod may say Never.
	cases[len(cases)-2].want = append(cases[len(cases)-2].want,
		`spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always"`)
	cases = append(cases, []validationCase{
		{name: "Deployment replicas negative", deployment: func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](-1) },
			want: []string{"spec.replicas: Invalid value: -1: " + nonNegative}},
		{name: "Deployment template restartPolicy Never", deployment: func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: []string{`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`}},
		{name: "Pod restartPolicy Never is fine", pod: func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever }},
		{name: "Deployment selector missing", deployment: func(d *appsv1.Deployment) { d.Spec.Selector = nil },
			want: []string{"spec.selector: Required value",
				`spec.template.metadata.labels: Invalid value: {"app":"prober-foo","deployment":"foo","env":"prod","version":"1.0.1"}: ` + "`selector` does not match template `labels`"}},
		{name: "Deployment selector empty", deployment: func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
			want: []string{"spec.selector: Invalid value: {}: empty selector is invalid for deployment"}},
		{name: "Deployment selector matches no template label", deployment: func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchLabels = map[string]string{"app": "prober-bar"}
		}, want: []string{`spec.template.metadata.labels: Invalid value: {"app":"prober-foo","deployment":"foo","env":"prod","version":"1.0.1"}: ` + "`selector` does not match template `labels`"}},
		{name: "Deployment selector label value invalid", deployment: func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchLabels = map[string]string{"app": "prober foo"}
			d.Spec.Template.Labels["app"] = "prober foo"
		}, want: []string{
			`spec.selector.matchLabels: Invalid value: "prober foo": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
			`spec.selector: Invalid value: {"matchLabels":{"app":"prober foo"}}: invalid label selector`,
		}},
		{name: "Deployment template label value invalid", deployment: func(d *appsv1.Deployment) { d.Spec.Template.Labels["version"] = "1.0.1 beta" },
			want: []string{`spec.template.labels: Invalid value: "1.0.1 beta": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`}},
		{name: "Deployment name not a DNS subdomain", deployment: func(d *appsv1.Deployment) { d.Name = "Prober_Foo" },
			want: []string{`metadata.name: Invalid value: "Prober_Foo": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{name: "Deployment without a name", deployment: func(d *appsv1.Deployment) { d.Name = "" },
			want: []string{"metadata.name: Required value: name or generateName is required"}},
		{name: "Deployment label key invalid", deployment: func(d *appsv1.Deployment) { d.Labels["team/"] = "foo" },
			want: []string{`metadata.labels: Invalid value: "team/": name part must be non-empty`,
				`metadata.labels: Invalid value: "team/": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
		{name: "Deployment maxSurge not a percentage", deployment: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromString("one"))
		}, want: []string{`spec.strategy.rollingUpdate.maxSurge: Invalid value: "one": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`}},
		{name: "Deployment maxUnavailable over 100%", deployment: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromString("150%"))
		}, want: []string{`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%`}},
		{name: "Deployment maxSurge negative", deployment: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromInt32(-1))
		}, want: []string{"spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: " + nonNegative}},
		{name: "Deployment maxSurge and maxUnavailable 0", deployment: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxSurge = ptr.To(intstr.FromInt32(0))
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromString("0%"))
		}, want: []string{`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when ` + "`maxSurge`" + ` is 0`}},
		{name: "Deployment strategy type unsupported", deployment: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "Rolling" },
			want: []string{`spec.strategy: Unsupported value: {"Type":"Rolling","RollingUpdate":{"MaxUnavailable":"30%","MaxSurge":1}}: supported values: "Recreate", "RollingUpdate"`}},
		{name: "Deployment strategy type unsupported without rollingUpdate", deployment: func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: "Rolling"}
		}, want: []string{`spec.strategy: Unsupported value: {"Type":"Rolling","RollingUpdate":null}: supported values: "Recreate", "RollingUpdate"`}},
		{name: "Deployment Recreate with rollingUpdate", deployment: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType },
			want: []string{"spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"}},
		{name: "Deployment rollback.to annotation negative", deployment: func(d *appsv1.Deployment) {
			d.Annotations = map[string]string{appsv1.DeprecatedRollbackTo: "-1"}
		}, want: []string{"spec.rollback.version: Invalid value: -1: " + nonNegative}},
		{name: "Deployment rollback.to annotation 0 is fine", deployment: func(d *appsv1.Deployment) {
			d.Annotations = map[string]string{appsv1.DeprecatedRollbackTo: "0"}
		}},
		{name: "Deployment progressDeadlineSeconds not above minReadySeconds", deployment: func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 60 },
			want: []string{"spec.progressDeadlineSeconds: Invalid value: 60: must be greater than minReadySeconds"}},
		{name: "Deployment selector changed", update: true, deployment: func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchLabels["env"] = "prod"
		}, want: []string{`spec.selector: Invalid value: {"matchLabels":{"app":"prober-foo","env":"prod"}}: field is immutable`}},
		{name: "Deployment update with a negative probe field", update: true, deployment: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].LivenessProbe.FailureThreshold = -1
		}, want: []string{"spec.template.spec.containers[0].livenessProbe.failureThreshold: Invalid value: -1: " + nonNegative}},
		{name: "Deployment update of the template is fine", update: true, deployment: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Env[0].Value = "0"
		}},
		{name: "ReplicaSet replicas negative", replicaSet: func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = ptr.To[int32](-1) },
			want: []string{"spec.replicas: Invalid value: -1: " + nonNegative}},
		{name: "ReplicaSet probe periodSeconds negative", replicaSet: func(rs *appsv1.ReplicaSet) {
			rs.Spec.Template.Spec.Containers[0].ReadinessProbe.PeriodSeconds = -3
		}, want: []string{"spec.template.spec.containers[0].readinessProbe.periodSeconds: Invalid value: -3: " + nonNegative}},
		{name: "ReplicaSet selector changed", update: true, replicaSet: func(rs *appsv1.ReplicaSet) {
			rs.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"version": "1.0.1"}}
		}, want: []string{`spec.selector: Invalid value: {"matchLabels":{"version":"1.0.1"}}: field is immutable`}},
		{name: "Pod name not a DNS subdomain", pod: func(p *corev1.Pod) { p.Name = "prober-foo-" },
			want: []string{`metadata.name: Invalid value: "prober-foo-": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{name: "Pod image with a trailing space", pod: func(p *corev1.Pod) { p.Spec.Containers[0].Image += " " },
			want: []string{`spec.containers[0].image: Invalid value: "` + demo.Image + ` ": must not have leading or trailing whitespace`}},
		{name: "Pod init container image with a trailing space", pod: func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "wait", Image: demo.Image + " ", Command: []string{"true"}}}
		}, want: []string{`spec.initContainers[0].image: Invalid value: "` + demo.Image + ` ": must not have leading or trailing whitespace`}},
		{name: "Pod negative terminationGracePeriodSeconds is taken as 1", pod: func(p *corev1.Pod) {
			p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](-5)
		}},
		{name: "Pod update with a label value invalid", update: true, pod: func(p *corev1.Pod) { p.Labels["version"] = "1.0.1 beta" },
			want: []string{`metadata.labels: Invalid value: "1.0.1 beta": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`}},
		{name: "Service update with a port 0", update: true, service: func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 },
			want: []string{"spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"}},
		{name: "Service without ports", service: func(s *corev1.Service) { s.Spec.Ports = nil },
			want: []string{"spec.ports: Required value"}},
		{name: "Service port 0", service: func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 },
			want: []string{"spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"}},
		{name: "Service targetPort 70000", service: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(70000) },
			want: []string{"spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive"}},
		{name: "Service targetPort name too long", service: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("prober-foo-https") },
			want: []string{`spec.ports[0].targetPort: Invalid value: "prober-foo-https": must be no more than 15 characters`}},
		{name: "Service second port without a name", service: func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: 8080, TargetPort: intstr.FromInt32(8080)})
		}, want: []string{"spec.ports[1].name: Required value"}},
		{name: "Service port names twice", service: func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "http", Port: 8080, TargetPort: intstr.FromInt32(8080)})
		}, want: []string{`spec.ports[1].name: Duplicate value: "http"`}},
		{name: "Service type unsupported", service: func(s *corev1.Service) { s.Spec.Type = "Nodeport" },
			want: []string{`spec.type: Unsupported value: "Nodeport": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`}},
		{name: "Service selector value invalid", service: func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "prober foo"} },
			want: []string{`spec.selector: Invalid value: "prober foo": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`}},
		{name: "Service name not a DNS label", service: func(s *corev1.Service) { s.Name = "foo.svc" },
			want: []string{`metadata.name: Invalid value: "foo.svc": must not contain dots`}},
		{name: "Service name starting with a digit is fine", service: func(s *corev1.Service) { s.Name = "1-" + s.Name }},
		{name: "Service ClusterIP with a nodePort", service: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeClusterIP
			s.Spec.Ports[0].NodePort = 30080
		}, want: []string{"spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"}},
	}...)
	return cases
}

func expand(want []string, spec string) []string {
	var out []string
	for _, w := range want {
		out = append(out, strings.ReplaceAll(w, "$S", spec))
	}
	return out
}

// demoObjects are the demo's objects a case starts from, named name:
// the first stage's Deployment, a ReplicaSet and a Pod from its template,
// and the Service with its node port left to the allocator (the cases
// share one apiserver).
type demoObjects struct {
	deployment *appsv1.Deployment
	replicaSet *appsv1.ReplicaSet
	pod        *corev1.Pod
	service    *corev1.Service
}

func loadDemo(t testing.TB, ns, name string) demoObjects {
	t.Helper()
	objs, err := manifest.LoadFS(demo.FS, demo.Stage1, demo.Service)
	if err != nil {
		t.Fatal(err)
	}
	var d demoObjects
	for _, o := range objs {
		switch x := o.Obj.(type) {
		case *appsv1.Deployment:
			d.deployment = x
		case *corev1.Service:
			d.service = x
		}
	}
	if d.deployment == nil || d.service == nil {
		t.Fatalf("the demo's %s and %s lack a Deployment or a Service", demo.Stage1, demo.Service)
	}
	meta := func(m metav1.ObjectMeta) metav1.ObjectMeta {
		m.Name, m.Namespace = name, ns
		return m
	}
	d.deployment.ObjectMeta = meta(d.deployment.ObjectMeta)
	d.service.ObjectMeta = meta(d.service.ObjectMeta)
	for i := range d.service.Spec.Ports {
		d.service.Spec.Ports[i].NodePort = 0
	}
	tmpl := d.deployment.Spec.Template
	d.replicaSet = &appsv1.ReplicaSet{
		ObjectMeta: meta(metav1.ObjectMeta{Labels: tmpl.Labels}),
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](0), Selector: d.deployment.Spec.Selector.DeepCopy(), Template: *tmpl.DeepCopy()},
	}
	d.pod = &corev1.Pod{ObjectMeta: meta(*tmpl.ObjectMeta.DeepCopy()), Spec: *tmpl.Spec.DeepCopy()}
	return d
}

// run makes the case's write through c and returns its error.
func (tc validationCase) run(ctx context.Context, c kubernetes.Interface, ns, name string, t testing.TB) error {
	t.Helper()
	d := loadDemo(t, ns, name)
	switch {
	case tc.deployment != nil:
		return write(ctx, c.AppsV1().Deployments(ns), d.deployment, tc.deployment, tc.update)
	case tc.replicaSet != nil:
		return write(ctx, c.AppsV1().ReplicaSets(ns), d.replicaSet, tc.replicaSet, tc.update)
	case tc.pod != nil:
		return write(ctx, c.CoreV1().Pods(ns), d.pod, tc.pod, tc.update)
	case tc.service != nil:
		return write(ctx, c.CoreV1().Services(ns), d.service, tc.service, tc.update)
	}
	return errors.New("the case changes nothing")
}

type writer[T any] interface {
	Create(context.Context, T, metav1.CreateOptions) (T, error)
	Update(context.Context, T, metav1.UpdateOptions) (T, error)
}

func write[T interface{ DeepCopy() T }](ctx context.Context, w writer[T], obj T, change func(T), update bool) error {
	if !update {
		change(obj)
		_, err := w.Create(ctx, obj, metav1.CreateOptions{})
		return err
	}
	cur, err := w.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create before the update: %w", err)
	}
	next := cur.DeepCopy()
	change(next)
	_, err = w.Update(ctx, next, metav1.UpdateOptions{})
	return err
}

// causes renders an Invalid error's causes as kubectl prints them, or
// reports that err is something else.
func causes(err error) ([]string, error) {
	if err == nil {
		return nil, nil
	}
	var se *apierrors.StatusError
	if !errors.As(err, &se) || se.ErrStatus.Reason != metav1.StatusReasonInvalid || se.ErrStatus.Details == nil {
		return nil, fmt.Errorf("not an Invalid StatusError: %T %v", err, err)
	}
	var out []string
	for _, c := range se.ErrStatus.Details.Causes {
		out = append(out, c.Field+": "+c.Message)
	}
	return out, nil
}

// caseName is a valid object name for the i-th case.
func caseName(i int) string { return fmt.Sprintf("case-%d", i) }
