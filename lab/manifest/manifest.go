// Package manifest reads the Kubernetes manifests the lab runs
// (multi-document YAML or JSON; Deployments, ReplicaSets, Pods and
// Services) and applies them to a clientset: create what is new, update the
// spec of what exists, as "kubectl apply" does for these kinds.
//
// A real app's directory holds more than these kinds (ConfigMaps, Secrets,
// ServiceAccounts, Ingresses...). Read skips such documents with a warning
// naming each one, so the rest runs; it refuses only when nothing runnable
// is left, or when a document is broken (no kind, a typo in a field, a
// kind the lab runs in an apiVersion Kubernetes does not serve).
package manifest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// Supported lists what the lab runs, for error messages.
const Supported = "apps/v1 Deployment, apps/v1 ReplicaSet, v1 Pod, v1 Service"

// Object is one document of a manifest.
type Object struct {
	Obj    runtime.Object // *appsv1.Deployment, *appsv1.ReplicaSet, *corev1.Pod or *corev1.Service
	Source string         // "file.yaml" or "file.yaml (document 2)", for messages
}

// Skipped is a document of a kind the lab does not run, left out of what
// runs. String is the warning shown for it.
type Skipped struct {
	APIVersion string
	Kind       string
	Name       string // "" when the document has no metadata.name
	Namespace  string // as the document names it, often ""
	Source     string // "file.yaml" or "file.yaml (document 2)"
}

func (s Skipped) String() string {
	return fmt.Sprintf("skipped %s %s (%s) in %s: the lab does not run this kind", s.Kind, s.name(), s.APIVersion, s.Source)
}

// name is the quoted name, or "(no name)".
func (s Skipped) name() string {
	if s.Name == "" {
		return "(no name)"
	}
	return strconv.Quote(s.Name)
}

// Manifests is what Read found: the objects the lab runs, in file and
// document order, and the documents it skipped.
type Manifests struct {
	Objects []Object
	Skipped []Skipped
}

// Warnings are the skipped documents' warnings, one a line.
func (m Manifests) Warnings() []string {
	out := make([]string, len(m.Skipped))
	for i, s := range m.Skipped {
		out[i] = s.String()
	}
	return out
}

// Decode reads every document in data. name is the file it came from, used
// in errors. Empty documents are skipped; unknown fields and unsupported
// kinds are errors naming the file, the document and what is accepted.
// (Read skips unsupported kinds with a warning instead.)
func Decode(name string, data []byte) ([]Object, error) {
	objs, skipped, err := decode(name, data)
	if err != nil {
		return nil, err
	}
	if len(skipped) > 0 {
		return nil, unsupported(skipped[0])
	}
	return objs, nil
}

func unsupported(s Skipped) error {
	return fmt.Errorf("%s: kind %s (%s) is not supported by the lab; it runs %s", s.Source, s.Kind, s.APIVersion, Supported)
}

// runs is the kinds the lab runs, by kind, with the one apiVersion each
// is served in (Kubernetes 1.37 serves no other: apps/v1beta1 and
// extensions/v1beta1 Deployments were removed in 1.16).
var runs = map[string]string{
	"Deployment": "apps/v1",
	"ReplicaSet": "apps/v1",
	"Pod":        "v1",
	"Service":    "v1",
}

// decode reads every document in data into objects the lab runs and
// documents of kinds it does not run.
func decode(name string, data []byte) ([]Object, []Skipped, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []Object
	var skipped []Skipped
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		src := name
		if doc > 1 {
			src = fmt.Sprintf("%s (document %d)", name, doc)
		}
		if len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(raw, &tm); err != nil {
			return nil, nil, fmt.Errorf("%s: not a Kubernetes object: %w", src, err)
		}
		var obj runtime.Object
		switch gvk := tm.APIVersion + " " + tm.Kind; gvk {
		case "apps/v1 Deployment":
			obj = &appsv1.Deployment{}
		case "apps/v1 ReplicaSet":
			obj = &appsv1.ReplicaSet{}
		case "v1 Pod":
			obj = &corev1.Pod{}
		case "v1 Service":
			obj = &corev1.Service{}
		default:
			if tm.Kind == "" || tm.APIVersion == "" {
				return nil, nil, fmt.Errorf("%s: apiVersion and kind are required; the lab runs %s", src, Supported)
			}
			if v, ok := runs[tm.Kind]; ok {
				// A kind the lab runs, in a version no cluster serves:
				// the cluster refuses it, so does the lab.
				return nil, nil, fmt.Errorf("%s: kind %s (%s) is not served by Kubernetes; write apiVersion: %s (the lab runs %s)", src, tm.Kind, tm.APIVersion, v, Supported)
			}
			var meta struct {
				Metadata struct {
					Name      string `json:"name"`
					Namespace string `json:"namespace"`
				} `json:"metadata"`
			}
			_ = yaml.Unmarshal(raw, &meta) // the name is for the warning only
			skipped = append(skipped, Skipped{
				APIVersion: tm.APIVersion, Kind: tm.Kind, Source: src,
				Name: meta.Metadata.Name, Namespace: meta.Metadata.Namespace,
			})
			continue
		}
		if err := yaml.UnmarshalStrict(raw, obj); err != nil {
			return nil, nil, fmt.Errorf("%s: %s: %w", src, tm.Kind, err)
		}
		if name := metaOf(obj).GetName(); name == "" {
			return nil, nil, fmt.Errorf("%s: %s has no metadata.name", src, tm.Kind)
		}
		out = append(out, Object{Obj: obj, Source: src})
	}
	return out, skipped, nil
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// IsManifest reports whether a file in a directory is read: .yaml, .yml
// and .json, as kubectl apply -f DIR does.
func IsManifest(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Load reads files and directories (their manifest files, not recursing,
// in name order) from the operating system. A kind the lab does not run is
// an error; Read skips it with a warning.
func Load(paths ...string) ([]Object, error) {
	return LoadFS(osFS{}, paths...)
}

// LoadFS is Load from fsys (the embedded demo, or the disk).
func LoadFS(fsys fs.FS, paths ...string) ([]Object, error) {
	m, err := read(fsys, paths)
	if err != nil {
		return nil, err
	}
	if len(m.Skipped) > 0 {
		return nil, unsupported(m.Skipped[0])
	}
	return m.Objects, nil
}

// Read reads files and directories from the operating system as Load
// does, but leaves out documents of kinds the lab does not run (a
// ConfigMap beside the Deployment that would mount it), each with a
// warning, and runs the rest. It refuses only when nothing runnable is
// left: a file holding only such kinds, given alone, is an error naming
// them.
func Read(paths ...string) (Manifests, error) {
	return ReadFS(osFS{}, paths...)
}

// ReadFS is Read from fsys.
func ReadFS(fsys fs.FS, paths ...string) (Manifests, error) {
	m, err := read(fsys, paths)
	if err != nil {
		return Manifests{}, err
	}
	if len(m.Objects) > 0 {
		return m, nil
	}
	what := strings.Join(paths, ", ")
	if len(m.Skipped) == 0 {
		return Manifests{}, fmt.Errorf("nothing to run in %s: no objects; the lab runs %s", what, Supported)
	}
	kinds := make([]string, len(m.Skipped))
	for i, s := range m.Skipped {
		kinds[i] = fmt.Sprintf("kind %s %s in %s", s.Kind, s.name(), s.Source)
	}
	return Manifests{}, fmt.Errorf("nothing to run in %s: it holds only kinds the lab does not run (%s); the lab runs %s",
		what, strings.Join(kinds, "; "), Supported)
}

func read(fsys fs.FS, paths []string) (Manifests, error) {
	var out Manifests
	for _, p := range paths {
		st, err := fs.Stat(fsys, p)
		if err != nil {
			return Manifests{}, fmt.Errorf("manifest %s: %w", p, unwrapPathError(err))
		}
		files := []string{p}
		if st.IsDir() {
			entries, err := fs.ReadDir(fsys, p)
			if err != nil {
				return Manifests{}, fmt.Errorf("manifest directory %s: %w", p, err)
			}
			files = files[:0]
			for _, e := range entries {
				if !e.IsDir() && IsManifest(e.Name()) {
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
			slices.Sort(files)
			if len(files) == 0 {
				return Manifests{}, fmt.Errorf("manifest directory %s has no .yaml, .yml or .json files", p)
			}
		}
		for _, f := range files {
			data, err := fs.ReadFile(fsys, f)
			if err != nil {
				return Manifests{}, fmt.Errorf("manifest %s: %w", f, unwrapPathError(err))
			}
			objs, skipped, err := decode(f, data)
			if err != nil {
				return Manifests{}, err
			}
			out.Objects = append(out.Objects, objs...)
			out.Skipped = append(out.Skipped, skipped...)
		}
	}
	return out, nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// osFS is the disk with paths taken as the user typed them (absolute or
// relative to the working directory), which os.DirFS cannot do.
type osFS struct{}

func (osFS) Open(name string) (fs.File, error) { return os.Open(name) }

// Apply creates each object, or updates the one with its name: metadata
// labels and annotations, and the spec. namespace is used where a manifest
// names none. It returns one kubectl-style line per object
// ("deployment.apps/prober-foo configured") and stops at the first error.
func Apply(ctx context.Context, c kubernetes.Interface, namespace string, objs []Object) ([]string, error) {
	var lines []string
	for _, o := range objs {
		line, err := applyOne(ctx, c, namespace, o.Obj)
		if err != nil {
			return lines, fmt.Errorf("%s: %w", o.Source, err)
		}
		lines = append(lines, line)
	}
	return lines, nil
}

func metaOf(obj runtime.Object) metav1.Object {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return o
	case *appsv1.ReplicaSet:
		return o
	case *corev1.Pod:
		return o
	case *corev1.Service:
		return o
	}
	return &metav1.ObjectMeta{}
}

// typed is the create/get/update triple of one kind.
type typed[T any] struct {
	get    func(ctx context.Context, name string, o metav1.GetOptions) (T, error)
	create func(ctx context.Context, obj T, o metav1.CreateOptions) (T, error)
	update func(ctx context.Context, obj T, o metav1.UpdateOptions) (T, error)
}

func applyOne(ctx context.Context, c kubernetes.Interface, namespace string, obj runtime.Object) (string, error) {
	m := metaOf(obj)
	ns := m.GetNamespace()
	if ns == "" {
		ns = namespace
	}
	m.SetNamespace(ns)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		d := c.AppsV1().Deployments(ns)
		return apply(ctx, "deployment.apps", o, typed[*appsv1.Deployment]{d.Get, d.Create, d.Update},
			func(cur, want *appsv1.Deployment) { cur.Spec = want.Spec }, func(x *appsv1.Deployment) any { return x.Spec })
	case *appsv1.ReplicaSet:
		r := c.AppsV1().ReplicaSets(ns)
		return apply(ctx, "replicaset.apps", o, typed[*appsv1.ReplicaSet]{r.Get, r.Create, r.Update},
			func(cur, want *appsv1.ReplicaSet) { cur.Spec = want.Spec }, func(x *appsv1.ReplicaSet) any { return x.Spec })
	case *corev1.Service:
		s := c.CoreV1().Services(ns)
		return apply(ctx, "service", o, typed[*corev1.Service]{s.Get, s.Create, s.Update},
			func(cur, want *corev1.Service) {
				// Allocated addresses carry over unless the manifest names them.
				ip := cur.Spec.ClusterIP
				cur.Spec = want.Spec
				if cur.Spec.ClusterIP == "" {
					cur.Spec.ClusterIP = ip
				}
			}, func(x *corev1.Service) any { return x.Spec })
	case *corev1.Pod:
		p := c.CoreV1().Pods(ns)
		return apply(ctx, "pod", o, typed[*corev1.Pod]{p.Get, p.Create, p.Update},
			func(cur, want *corev1.Pod) {
				// A pod's spec is immutable but for images; the lab
				// applies only metadata to an existing pod.
			}, func(x *corev1.Pod) any { return nil })
	}
	return "", fmt.Errorf("%T is not supported by the lab; it runs %s", obj, Supported)
}

type object interface {
	runtime.Object
	metav1.Object
}

func apply[T object](ctx context.Context, resource string, want T, api typed[T], setSpec func(cur, want T), spec func(T) any) (string, error) {
	ref := resource + "/" + want.GetName()
	cur, err := api.get(ctx, want.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if _, err := api.create(ctx, want, metav1.CreateOptions{}); err != nil {
			return "", fmt.Errorf("create %s: %w", ref, err)
		}
		return ref + " created", nil
	}
	if err != nil {
		return "", fmt.Errorf("get %s: %w", ref, err)
	}
	next := cur.DeepCopyObject().(T)
	next.SetLabels(want.GetLabels())
	next.SetAnnotations(keepControllerAnnotations(cur.GetAnnotations(), want.GetAnnotations()))
	setSpec(next, want)
	got, err := api.update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		return "", fmt.Errorf("update %s: %w", ref, err)
	}
	if equality.Semantic.DeepEqual(spec(got), spec(cur)) &&
		equality.Semantic.DeepEqual(got.GetLabels(), cur.GetLabels()) &&
		equality.Semantic.DeepEqual(got.GetAnnotations(), cur.GetAnnotations()) {
		return ref + " unchanged", nil
	}
	return ref + " configured", nil
}

// systemAnnotations are the prefixes of annotations the lab's own parts
// write: the Deployment controller (deployment.kubernetes.io/revision and
// friends) and the lab kubelet (lab.proberctl.dev/ip and ports, which the
// Service proxy and the actions read).
var systemAnnotations = []string{"deployment.kubernetes.io/", "lab.proberctl.dev/"}

// keepControllerAnnotations is the manifest's annotations plus the ones the
// lab's controllers wrote (systemAnnotations): a server-side apply removes
// only fields its own manager set, so on a cluster the revision survives an
// apply; replacing the whole map would drop it until the controller's next
// sync, and a re-applied Pod would lose its address.
func keepControllerAnnotations(cur, want map[string]string) map[string]string {
	var out map[string]string
	for k, v := range cur {
		if _, mine := want[k]; !mine && slices.ContainsFunc(systemAnnotations, func(p string) bool { return strings.HasPrefix(k, p) }) {
			if out == nil {
				out = make(map[string]string, len(want)+1)
			}
			out[k] = v
		}
	}
	if out == nil {
		return want
	}
	maps.Copy(out, want)
	return out
}
