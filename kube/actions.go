package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// MaxBody caps the response body kept in a Result: enough for /info and a
// /resolve page, small enough for an output pane.
const MaxBody = 64 << 10

// FieldManager is the server-side apply field manager proberctl applies as.
const FieldManager = "proberctl"

// NoteContainerExited is the Note of a crash whose connection closed: the
// probe server exits without replying, which is the crash working.
const NoteContainerExited = "connection closed: the container exited"

// ClusterActions fires actions through the API server: HTTP requests to the
// probe server go through pods/proxy, so they need only RBAC on pods/proxy
// and no network path to the pod.
type ClusterActions struct {
	http      *http.Client // the API server's, authenticated
	client    kubernetes.Interface
	dynamic   dynamic.Interface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	namespace string
}

// ActionOption configures NewClusterActions.
type ActionOption func(*ClusterActions)

// WithDefaultNamespace sets the namespace Apply puts namespaced objects in
// when their manifest names none (kubectl's -n). The default is "default".
func WithDefaultNamespace(ns string) ActionOption {
	return func(a *ClusterActions) {
		if ns != "" {
			a.namespace = ns
		}
	}
}

// NewClusterActions returns Actions for the cluster cfg points at.
func NewClusterActions(cfg *rest.Config, opts ...ActionOption) (Actions, error) {
	if cfg == nil {
		return nil, errors.New("cluster actions: no REST config")
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster actions: %w", err)
	}
	client, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("cluster actions: %w", err)
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("cluster actions: %w", err)
	}
	a := &ClusterActions{
		http:      hc,
		client:    client,
		dynamic:   dyn,
		mapper:    restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery())),
		namespace: metav1.NamespaceDefault,
	}
	for _, o := range opts {
		o(a)
	}
	return a, nil
}

// Crash asks the probe server to exit (GET /crash). The server closes the
// connection without a reply, so the API server's proxy reports the upstream
// EOF; that outcome is success, with NoteContainerExited.
func (a *ClusterActions) Crash(ctx context.Context, t Target) Result {
	return a.proxy(ctx, "crash", t, "/crash", nil)
}

// Resolve asks the probe server to resolve host and fetch it
// (GET /resolve?service=HOST), as the seed's curl does.
func (a *ClusterActions) Resolve(ctx context.Context, t Target, host string) Result {
	if strings.TrimSpace(host) == "" {
		return Result{Action: "resolve", Target: t, Err: errors.New("resolve: no host given (want a Service name, host:port or host/path)")}
	}
	return a.proxy(ctx, "resolve", t, "/resolve", map[string]string{"service": host})
}

// Healthz fetches the probe server's /healthz, as the liveness probe does.
func (a *ClusterActions) Healthz(ctx context.Context, t Target) Result {
	return a.proxy(ctx, "healthz", t, "/healthz", nil)
}

// Info fetches the probe server's /info (identity and knobs, JSON).
func (a *ClusterActions) Info(ctx context.Context, t Target) Result {
	return a.proxy(ctx, "info", t, "/info", nil)
}

// Delete deletes the pod; grace nil keeps the pod's own grace period.
func (a *ClusterActions) Delete(ctx context.Context, t Target, grace *int64) Result {
	r := Result{Action: "delete", Target: t}
	start := time.Now()
	err := a.client.CoreV1().Pods(t.Namespace).Delete(ctx, t.Pod, metav1.DeleteOptions{GracePeriodSeconds: grace})
	r.Latency = time.Since(start)
	if err != nil {
		r.Code = errorCode(err)
		r.Err = describeAPIError("delete pod "+t.String(), err)
		return r
	}
	r.Code = 200
	r.Body = fmt.Sprintf("pod %q deleted", t.Pod)
	return r
}

// proxy makes one GET through pods/proxy and turns the outcome into a Result.
func (a *ClusterActions) proxy(ctx context.Context, action string, t Target, path string, params map[string]string) Result {
	r := Result{Action: action, Target: t}
	pods := a.client.CoreV1().Pods(t.Namespace)
	pod, err := pods.Get(ctx, t.Pod, metav1.GetOptions{})
	if err != nil {
		r.Code = errorCode(err)
		r.Err = describeAPIError(action+" "+t.String(), err)
		return r
	}
	port := ProbePort(pod)
	// The request is built by client-go (ProxyGet) but sent here, because
	// client-go's Result drops the status code of bodies it cannot decode,
	// and the probe server answers text as well as JSON.
	req, ok := pods.ProxyGet("http", t.Pod, strconv.Itoa(port), path, params).(*rest.Request)
	if !ok {
		r.Err = fmt.Errorf("%s %s: this client cannot proxy to pods", action, t)
		return r
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, req.URL().String(), nil)
	if err != nil {
		r.Err = fmt.Errorf("%s %s: %w", action, t, err)
		return r
	}
	start := time.Now()
	resp, err := a.http.Do(hreq)
	if err != nil {
		r.Latency = time.Since(start)
		r.Err = fmt.Errorf("%s %s: %w", action, t, err)
		return r
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	resp.Body.Close()
	r.Latency = time.Since(start)
	r.Code = resp.StatusCode
	if err != nil && !(action == "crash" && connectionClosed(err.Error())) {
		r.Err = fmt.Errorf("%s %s: reading the reply: %w", action, t, err)
		return r
	}
	if st, ok := apiStatus(body); ok && r.Code >= 400 {
		// The API server answered for itself: RBAC, a missing pod, or its
		// proxy failing to reach (or losing) the container.
		if action == "crash" && r.Code >= 500 && connectionClosed(st.Message) {
			// Keep what the API server said, for anyone who wonders why a
			// success came with a 5xx.
			r.Note = NoteContainerExited
			r.Body = "API server: " + st.Message
			return r
		}
		r.Err = describeAPIError(fmt.Sprintf("%s %s (GET %s on port %d via pods/proxy)", action, t, path, port), &apierrors.StatusError{ErrStatus: st})
		return r
	}
	r.Body = capBody(body)
	switch {
	case r.Code >= 400:
		r.Err = fmt.Errorf("%s %s: GET %s answered HTTP %d", action, t, path, r.Code)
	case action == "crash":
		r.Err = fmt.Errorf("crash %s: GET /crash answered HTTP %d instead of closing the connection (is the container proberctl serve?)", t, r.Code)
	}
	return r
}

// ProbePort is the port actions reach a pod's server on: the first declared
// TCP containerPort, else the port of an httpGet probe, else 80.
func ProbePort(pod *corev1.Pod) int {
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
				return int(p.ContainerPort)
			}
		}
	}
	for _, c := range pod.Spec.Containers {
		for _, pr := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if pr == nil || pr.HTTPGet == nil {
				continue
			}
			if pr.HTTPGet.Port.Type == intstr.Int && pr.HTTPGet.Port.IntVal > 0 {
				return int(pr.HTTPGet.Port.IntVal)
			}
		}
	}
	return 80
}

// connectionClosed recognizes the proxy's report of an upstream that closed
// the connection without a reply.
func connectionClosed(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "eof") || strings.Contains(m, "connection reset") ||
		strings.Contains(m, "empty reply") || strings.Contains(m, "server closed")
}

// apiStatus decodes body as the API server's own Status object.
func apiStatus(body []byte) (metav1.Status, bool) {
	var st metav1.Status
	if len(body) == 0 || body[0] != '{' {
		return st, false
	}
	if err := json.Unmarshal(body, &st); err != nil || st.Kind != "Status" {
		return st, false
	}
	return st, true
}

func errorCode(err error) int {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return int(se.Status().Code)
	}
	return 0
}

// describeAPIError says what the API server refused, naming the verb and
// resource for RBAC refusals (the Status message carries both:
// `User "x" cannot get resource "pods/proxy" in API group "" in the
// namespace "demo"`).
func describeAPIError(what string, err error) error {
	switch {
	case apierrors.IsForbidden(err):
		return &wrapped{msg: fmt.Sprintf("%s: forbidden by RBAC: %s", what, forbiddenMessage(err)), err: err}
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s: not found: %w", what, err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s: unauthorized (check the kubeconfig's credentials): %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// wrapped is an error whose text is rewritten but which still matches the
// API error it came from (apierrors.IsForbidden, errorCode).
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// forbiddenMessage is the part of a Forbidden Status that names the identity,
// verb and resource.
func forbiddenMessage(err error) string {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		return err.Error()
	}
	msg := se.Status().Message
	if _, rest, ok := strings.Cut(msg, "is forbidden: "); ok {
		return rest
	}
	return msg
}

func capBody(b []byte) string {
	if len(b) > MaxBody {
		return string(b[:MaxBody]) + "\n... (truncated)"
	}
	return string(b)
}

// Apply server-side applies every object in path (a YAML or JSON file with
// any number of documents, or a directory of .yaml, .yml and .json files) as
// field manager "proberctl", forcing ownership like "kubectl apply
// --server-side --force-conflicts". Objects are applied in file order and
// the first failure stops the run; the body lists what was applied.
func (a *ClusterActions) Apply(ctx context.Context, path string) (r Result) {
	// r is the named result: the deferred Latency lands in what is
	// returned (a plain local's would be set after the copy was made).
	r = Result{Action: "apply"}
	start := time.Now()
	defer func() { r.Latency = time.Since(start) }()
	objs, err := ReadManifests(path)
	if err != nil {
		r.Err = err
		return r
	}
	var out []string
	for _, o := range objs {
		line, err := a.applyOne(ctx, o.Object)
		if err != nil {
			r.Code = errorCode(err)
			r.Body = strings.Join(out, "\n")
			r.Err = fmt.Errorf("apply %s: %w", o.Source, err)
			return r
		}
		out = append(out, line)
	}
	r.Code = 200
	r.Body = strings.Join(out, "\n")
	return r
}

func (a *ClusterActions) applyOne(ctx context.Context, obj *unstructured.Unstructured) (string, error) {
	gvk := obj.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		a.mapper.Reset() // a CRD may have been added since discovery ran
		mapping, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return "", fmt.Errorf("%s %q: the API server does not serve this kind: %w", gvk.Kind, obj.GetName(), err)
	}
	var ri dynamic.ResourceInterface = a.dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if obj.GetNamespace() == "" {
			obj.SetNamespace(a.namespace)
		}
		ri = a.dynamic.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	}
	_, err = ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	name := strings.ToLower(gvk.Kind)
	if g := mapping.Resource.Group; g != "" {
		name += "." + g
	}
	name += "/" + obj.GetName()
	if err != nil {
		return "", describeAPIError(name, err)
	}
	return name + " serverside-applied", nil
}

// Manifest is one object read from a manifest file.
type Manifest struct {
	Source string // file and document number, for error messages
	Object *unstructured.Unstructured
}

// ReadManifests reads path, a YAML/JSON file or a directory of them (not
// recursive), into objects. Empty documents are skipped; a document without
// apiVersion, kind or metadata.name is an error naming the file and document.
func ReadManifests(path string) ([]Manifest, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	files := []string{path}
	if info.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("manifest directory: %w", err)
		}
		files = files[:0]
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if !e.IsDir() && slices.Contains([]string{".yaml", ".yml", ".json"}, ext) {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("manifest directory %s has no .yaml, .yml or .json files", path)
		}
	}
	var out []Manifest
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("manifest: %w", err)
		}
		objs, err := decodeManifests(f, data)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("manifest %s holds no objects", path)
	}
	return out, nil
}

func decodeManifests(file string, data []byte) ([]Manifest, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []Manifest
	for doc := 1; ; doc++ {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		src := fmt.Sprintf("%s (document %d)", file, doc)
		if err != nil {
			return nil, fmt.Errorf("%s: not valid YAML or JSON: %w", src, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		switch {
		case u.GetAPIVersion() == "":
			return nil, fmt.Errorf("%s: apiVersion is missing (e.g. apps/v1)", src)
		case u.GetKind() == "":
			return nil, fmt.Errorf("%s: kind is missing (e.g. Deployment)", src)
		case u.IsList():
			items, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", src, err)
			}
			for i := range items.Items {
				item := &items.Items[i]
				isrc := fmt.Sprintf("%s item %d", src, i+1)
				if item.GetAPIVersion() == "" || item.GetKind() == "" || item.GetName() == "" {
					return nil, fmt.Errorf("%s: apiVersion, kind and metadata.name are required", isrc)
				}
				out = append(out, Manifest{Source: isrc, Object: item})
			}
			continue
		case u.GetName() == "":
			return nil, fmt.Errorf("%s: metadata.name is missing", src)
		}
		out = append(out, Manifest{Source: src, Object: u})
	}
}
