package kube

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
)

func TestProbePort(t *testing.T) {
	httpGet := func(p intstr.IntOrString) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: p}}}
	}
	tests := []struct {
		name string
		c    []corev1.Container
		want int
	}{
		{"declared port", []corev1.Container{{Ports: []corev1.ContainerPort{{ContainerPort: 8080}}, LivenessProbe: httpGet(intstr.FromInt32(9090))}}, 8080},
		{"first TCP port", []corev1.Container{{Ports: []corev1.ContainerPort{{ContainerPort: 53, Protocol: corev1.ProtocolUDP}, {ContainerPort: 8081, Protocol: corev1.ProtocolTCP}}}}, 8081},
		{"second container's port", []corev1.Container{{}, {Ports: []corev1.ContainerPort{{ContainerPort: 7000}}}}, 7000},
		{"liveness probe port", []corev1.Container{{LivenessProbe: httpGet(intstr.FromInt32(9090))}}, 9090},
		{"readiness probe port", []corev1.Container{{ReadinessProbe: httpGet(intstr.FromInt32(9091))}}, 9091},
		{"named probe port without ports", []corev1.Container{{LivenessProbe: httpGet(intstr.FromString("http"))}}, 80},
		{"nothing declared", []corev1.Container{{}}, 80},
	}
	for _, tt := range tests {
		pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: tt.c}}
		if got := ProbePort(pod); got != tt.want {
			t.Errorf("%s: ProbePort = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestReadManifests(t *testing.T) {
	dir := filepath.Join("testdata", "manifests")
	tests := []struct {
		path    string
		want    []string // kind/name in order
		wantErr string
	}{
		{path: "multi.yaml", want: []string{"Service/foo", "Deployment/foo"}},
		{path: "list.json", want: []string{"ConfigMap/a", "ConfigMap/b"}},
		{path: "dir", want: []string{"ConfigMap/one", "ConfigMap/two"}},
		{path: "noname.yaml", wantErr: "(document 1): metadata.name is missing"},
		{path: "noversion.yaml", wantErr: "apiVersion is missing"},
		{path: "broken.yaml", wantErr: "not valid YAML or JSON"},
		{path: "empty-dir", wantErr: "has no .yaml, .yml or .json files"},
		{path: "absent.yaml", wantErr: "no such file"},
	}
	for _, tt := range tests {
		got, err := ReadManifests(filepath.Join(dir, tt.path))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.path, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		var names []string
		for _, m := range got {
			names = append(names, m.Object.GetKind()+"/"+m.Object.GetName())
		}
		if strings.Join(names, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: objects %v, want %v", tt.path, names, tt.want)
		}
	}
}

// fakeAPI answers the two requests a proxy action makes, the way the API
// server does, so the mapping of answers to Results is checked over real
// HTTP. The integration test does the same against a real API server.
func fakeAPI(t *testing.T, proxy http.HandlerFunc) *rest.Config {
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "foo", Namespace: "demo"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}}},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/namespaces/demo/pods/foo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(pod)
	})
	mux.HandleFunc("GET /api/v1/namespaces/demo/pods/{pod}/proxy/{path...}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("pod") != "http:foo:8080" {
			t.Errorf("proxied to %q, want http:foo:8080", r.PathValue("pod"))
		}
		proxy(w, r)
	})
	mux.HandleFunc("GET /api/v1/namespaces/demo/pods/gone", func(w http.ResponseWriter, r *http.Request) {
		status(w, metav1.Status{Status: "Failure", Message: `pods "gone" not found`, Reason: metav1.StatusReasonNotFound, Code: 404,
			Details: &metav1.StatusDetails{Name: "gone", Kind: "pods"}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}
}

func status(w http.ResponseWriter, st metav1.Status) {
	st.Kind, st.APIVersion = "Status", "v1"
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	_ = json.NewEncoder(w).Encode(st)
}

func TestClusterActionsProxyResults(t *testing.T) {
	target := Target{Namespace: "demo", Pod: "foo"}
	tests := []struct {
		name     string
		action   func(Actions) Result
		upstream http.HandlerFunc
		code     int
		body     string
		note     string
		err      string
	}{
		{
			name:   "healthz ok",
			action: func(a Actions) Result { return a.Healthz(context.Background(), target) },
			upstream: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v1/namespaces/demo/pods/http:foo:8080/proxy/healthz" {
					t.Errorf("path %s", r.URL.Path)
				}
				_, _ = w.Write([]byte(`{ "status": "ok" }`))
			},
			code: 200, body: `{ "status": "ok" }`,
		},
		{
			name:   "healthz failing is an error with the body kept",
			action: func(a Actions) Result { return a.Healthz(context.Background(), target) },
			upstream: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(500)
				_, _ = w.Write([]byte(`{ "status": "error" }`))
			},
			code: 500, body: `{ "status": "error" }`, err: "GET /healthz answered HTTP 500",
		},
		{
			name:   "resolve passes the host",
			action: func(a Actions) Result { return a.Resolve(context.Background(), target, "foo-service") },
			upstream: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("service=" + r.URL.Query().Get("service")))
			},
			code: 200, body: "service=foo-service",
		},
		{
			name:   "crash whose connection closed",
			action: func(a Actions) Result { return a.Crash(context.Background(), target) },
			upstream: func(w http.ResponseWriter, r *http.Request) {
				status(w, metav1.Status{Status: "Failure", Message: "error trying to reach service: EOF", Reason: metav1.StatusReasonServiceUnavailable, Code: 503})
			},
			code: 503, note: NoteContainerExited, body: "API server: error trying to reach service: EOF",
		},
		{
			name:   "crash of an unreachable pod fails",
			action: func(a Actions) Result { return a.Crash(context.Background(), target) },
			upstream: func(w http.ResponseWriter, r *http.Request) {
				status(w, metav1.Status{Status: "Failure", Message: "error trying to reach service: dial tcp 10.0.0.7:8080: connect: connection refused", Reason: metav1.StatusReasonServiceUnavailable, Code: 503})
			},
			code: 503, err: "connection refused",
		},
		{
			name:   "forbidden names verb and resource",
			action: func(a Actions) Result { return a.Info(context.Background(), target) },
			upstream: func(w http.ResponseWriter, r *http.Request) {
				status(w, metav1.Status{Status: "Failure", Reason: metav1.StatusReasonForbidden, Code: 403,
					Message: `pods "foo" is forbidden: User "viewer" cannot get resource "pods/proxy" in API group "" in the namespace "demo"`})
			},
			code: 403, err: `forbidden by RBAC: User "viewer" cannot get resource "pods/proxy" in API group "" in the namespace "demo"`,
		},
		{
			name:   "missing pod",
			action: func(a Actions) Result { return a.Healthz(context.Background(), Target{Namespace: "demo", Pod: "gone"}) },
			code:   404, err: `healthz demo/gone: not found: pods "gone" not found`,
		},
		{
			name:   "empty resolve host",
			action: func(a Actions) Result { return a.Resolve(context.Background(), target, " ") },
			err:    "no host given",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := NewClusterActions(fakeAPI(t, tt.upstream))
			if err != nil {
				t.Fatal(err)
			}
			r := tt.action(a)
			if r.Code != tt.code || r.Body != tt.body || r.Note != tt.note {
				t.Errorf("result code %d body %q note %q, want %d %q %q", r.Code, r.Body, r.Note, tt.code, tt.body, tt.note)
			}
			if tt.err == "" && r.Err != nil {
				t.Errorf("err = %v, want none", r.Err)
			}
			if tt.err != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tt.err)) {
				t.Errorf("err = %v, want it to contain %q", r.Err, tt.err)
			}
		})
	}
}

func TestCapBody(t *testing.T) {
	big := strings.Repeat("x", MaxBody+10)
	if got := capBody([]byte(big)); !strings.HasSuffix(got, "(truncated)") || len(got) > MaxBody+40 {
		t.Errorf("capBody: len %d, tail %q", len(got), got[len(got)-20:])
	}
}

// TestClusterActionsLatency: Apply's and Logs' Results carry how long they
// took, also on an early return (a missing pod, a missing manifest); the
// output pane and the detail view print it. Both set it in a defer, which
// reaches the returned Result only through a named result.
func TestClusterActionsLatency(t *testing.T) {
	a, err := NewClusterActions(fakeAPI(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	gone := Target{Namespace: "demo", Pod: "gone"}
	for name, r := range map[string]Result{
		"logs":  a.Logs(ctx, gone, false),
		"apply": a.Apply(ctx, filepath.Join(t.TempDir(), "missing.yaml")),
	} {
		if r.Err == nil {
			t.Errorf("%s: no error, want one (missing pod or file)", name)
		}
		if r.Latency <= 0 {
			t.Errorf("%s: Latency %v, want the time the action took", name, r.Latency)
		}
	}
}
