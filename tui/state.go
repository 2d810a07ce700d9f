package tui

import (
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/proberctl/proberctl/kube"
)

// timelineWindow is how far back the probe timeline reaches.
const timelineWindow = 5 * time.Minute

// changedFor is how long a row keeps its "just changed" marker.
const changedFor = 15 * time.Second

// podRow is one pod as the table needs it. Rows are updated in place when a
// batch brings a new version of the pod, so the table's sorted slice of
// pointers stays valid unless pods come or go.
type podRow struct {
	key  string
	pod  *corev1.Pod
	cols kube.PodColumns // computed at the batch's time; AGE is redone on render

	ready     bool      // every container ready
	changedAt time.Time // restarts or readiness changed
	changed   string    // what changed, for the marker's help

	// batch is the state's batch number when the row last changed.
	batch uint64

	// nameRank is the row's place in name order, set when the table's rows
	// are recollected, so the other orders break ties with an int compare.
	nameRank int

	// view and stripView are the row's rendered lines in the pods table
	// and in the timeline pane, kept by those panes.
	view, stripView rowView
}

func podReady(c kube.PodColumns) bool {
	return c.TotalContainers > 0 && c.ReadyContainers == c.TotalContainers
}

// clusterState is everything the watcher told us, in maps keyed
// namespace/name. Only the root model writes it, from batch messages.
type clusterState struct {
	pods     map[string]*podRow
	events   map[string]*corev1.Event
	rs       map[string]*appsv1.ReplicaSet
	deploys  map[string]*appsv1.Deployment
	slices   map[string]*discoveryv1.EndpointSlice
	services map[string]*corev1.Service
	hist     map[string]*history
	// eventCounts remembers the count last seen per event so a resync or a
	// repeated update does not draw the same probe failure twice.
	eventCounts map[string]int32
	// pending holds the timeline marks of events about pods not seen yet,
	// keyed namespace/name: events and pods come from different informers,
	// so an event can arrive batches before its pod. They are drawn when
	// the pod appears; bounded by pendingPods, maxHistory marks a pod, and
	// the timeline window.
	pending map[string][]pendingMark

	batch uint64 // counts applied batches

	readyPods     int
	totalRestarts int

	conn   kube.Conn
	synced bool

	firstService string // name of the first Service seen, for the resolve prompt
}

func newClusterState() *clusterState {
	return &clusterState{
		pods:        map[string]*podRow{},
		events:      map[string]*corev1.Event{},
		rs:          map[string]*appsv1.ReplicaSet{},
		deploys:     map[string]*appsv1.Deployment{},
		slices:      map[string]*discoveryv1.EndpointSlice{},
		services:    map[string]*corev1.Service{},
		hist:        map[string]*history{},
		eventCounts: map[string]int32{},
		pending:     map[string][]pendingMark{},
	}
}

// changes says what a batch touched, so only those views are rebuilt.
type changes struct {
	pods    bool // some pod changed
	podSet  bool // pods came or went: the table's order must be rebuilt
	events  bool
	rollout bool            // replica sets, deployments, slices or services
	podKeys map[string]bool // which pods changed, for the detail view
}

func (s *clusterState) apply(b kube.Batch, now time.Time) changes {
	var ch changes
	s.batch++
	if b.Conn != nil {
		s.conn = *b.Conn
	}
	if b.Synced {
		s.synced = true
	}
	for _, d := range b.Deltas {
		switch d.Kind {
		case kube.KindPod:
			pod, ok := d.Obj.(*corev1.Pod)
			if !ok && d.Type != kube.Deleted {
				continue
			}
			if ch.podKeys == nil {
				ch.podKeys = map[string]bool{}
			}
			ch.podKeys[d.Key] = true
			ch.pods = true
			if s.applyPod(d, pod, now) {
				ch.podSet = true
			}
		case kube.KindEvent:
			ch.events = true
		case kube.KindReplicaSet:
			ch.rollout = true
			applyObj(s.rs, d)
		case kube.KindDeployment:
			ch.rollout = true
			applyObj(s.deploys, d)
		case kube.KindEndpointSlice:
			ch.rollout = true
			applyObj(s.slices, d)
		case kube.KindService:
			ch.rollout = true
			applyObj(s.services, d)
			if svc, ok := d.Obj.(*corev1.Service); ok && d.Type == kube.Upsert && s.firstService == "" {
				s.firstService = svc.Name
			}
		}
	}
	// Events after pods: an event draws on its pod's timeline, and the
	// first batch may list an event before the pod it is about.
	for _, d := range b.Deltas {
		if d.Kind == kube.KindEvent {
			s.applyEvent(d, now)
		}
	}
	// Prune only what this batch touched; pruneAll sweeps the rest now and
	// then, so a batch costs what it changed, not what the namespace holds.
	since := now.Add(-timelineWindow)
	for k := range ch.podKeys {
		if h := s.hist[k]; h != nil {
			h.prune(since)
		}
	}
	return ch
}

func (s *clusterState) pruneAll(now time.Time) {
	since := now.Add(-timelineWindow)
	for _, h := range s.hist {
		h.prune(since)
	}
	for k, ms := range s.pending {
		i := 0
		for i < len(ms) && ms[i].at.Before(since) {
			i++
		}
		if i == len(ms) {
			delete(s.pending, k)
		} else if i > 0 {
			s.pending[k] = slices.Delete(ms, 0, i)
		}
	}
}

// pendingPods bounds how many not-yet-seen pods keep marks: events for
// pods outside the view (another selector) must not grow memory.
const pendingPods = 1024

// pendingMark is a timeline mark waiting for its pod. uid is the involved
// object's UID, so a mark about an earlier pod of the same name (deleted
// and created again) is not drawn on the new one.
type pendingMark struct {
	uid  types.UID
	at   time.Time
	kind markKind
}

// addPending keeps a mark for a pod not seen yet, in time order.
func (s *clusterState) addPending(key string, pm pendingMark, now time.Time) {
	if pm.at.Before(now.Add(-timelineWindow)) {
		return // it could not be drawn anyway
	}
	ms, ok := s.pending[key]
	if !ok && len(s.pending) >= pendingPods {
		// Full: make room by forgetting the pod whose newest mark is the
		// oldest, the least likely to appear still.
		oldest, at := "", time.Time{}
		for k, ms := range s.pending {
			if last := ms[len(ms)-1].at; oldest == "" || last.Before(at) {
				oldest, at = k, last
			}
		}
		delete(s.pending, oldest)
	}
	i, _ := slices.BinarySearchFunc(ms, pm.at, func(m pendingMark, t time.Time) int {
		if m.at.After(t) {
			return 1
		}
		return -1
	})
	ms = slices.Insert(ms, i, pm)
	if len(ms) > maxHistory {
		ms = slices.Delete(ms, 0, len(ms)-maxHistory)
	}
	s.pending[key] = ms
}

// replayPending draws the marks that waited for this pod on its new
// timeline.
func (s *clusterState) replayPending(key string, pod *corev1.Pod, h *history) {
	for _, pm := range s.pending[key] {
		if !sameUID(pm.uid, pod.UID) {
			continue
		}
		h.add(pm.at, pm.kind)
	}
	delete(s.pending, key)
}

func applyObj[T any](m map[string]T, d kube.Delta) {
	if d.Type == kube.Deleted {
		delete(m, d.Key)
		return
	}
	if o, ok := d.Obj.(T); ok {
		m[d.Key] = o
	}
}

// applyPod records one pod delta and reports whether the set of pods changed.
func (s *clusterState) applyPod(d kube.Delta, pod *corev1.Pod, now time.Time) bool {
	old := s.pods[d.Key]
	if d.Type == kube.Deleted {
		if old == nil {
			return false
		}
		s.count(old, -1)
		delete(s.pods, d.Key)
		delete(s.hist, d.Key)
		return true
	}
	cols := kube.PodStatus(pod, now)
	row := &podRow{key: d.Key}
	added := old == nil
	if old != nil {
		s.count(old, -1)
		row = old
	}
	ready := podReady(cols)
	h := s.hist[d.Key]
	if h == nil {
		h = newHistory(pod, cols, ready)
		s.hist[d.Key] = h
		s.replayPending(d.Key, pod, h)
	} else if old != nil {
		if cols.RestartCount > old.cols.RestartCount {
			at := now
			if !cols.LastRestart.IsZero() && cols.LastRestart.After(now.Add(-changedFor)) {
				at = cols.LastRestart
			}
			h.add(at, markRestart)
			row.changedAt, row.changed = now, "restarted"
		}
		if ready != old.ready {
			h.setReady(readyTransition(pod, now), ready)
			row.changedAt, row.changed = now, "readiness"
		}
	}
	row.pod, row.cols, row.ready, row.batch = pod, cols, ready, s.batch
	s.pods[d.Key] = row
	s.count(row, +1)
	return added
}

func (s *clusterState) count(r *podRow, sign int) {
	if r.ready {
		s.readyPods += sign
	}
	s.totalRestarts += sign * r.cols.RestartCount
}

// newHistory starts a pod's timeline from what the object itself tells:
// when it was created, when its Ready condition last flipped, and when its
// last restart was, so a dashboard opened late still draws the recent past.
func newHistory(pod *corev1.Pod, cols kube.PodColumns, ready bool) *history {
	h := &history{created: pod.CreationTimestamp.Time}
	h.setReady(pod.CreationTimestamp.Time, false)
	if c := readyCondition(pod); c != nil && !c.LastTransitionTime.IsZero() {
		h.setReady(c.LastTransitionTime.Time, c.Status == corev1.ConditionTrue)
	}
	h.setReady(h.lastChange(), ready)
	if cols.RestartCount > 0 && !cols.LastRestart.IsZero() {
		h.add(cols.LastRestart, markRestart)
	}
	return h
}

func (h *history) lastChange() time.Time {
	if n := len(h.readiness); n > 0 {
		return h.readiness[n-1].at
	}
	return h.created
}

func readyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// readyTransition is when readiness flipped: the condition's own time when
// it is recent (it has one-second resolution), else the time we saw it.
func readyTransition(pod *corev1.Pod, now time.Time) time.Time {
	if c := readyCondition(pod); c != nil && !c.LastTransitionTime.IsZero() {
		t := c.LastTransitionTime.Time
		if !t.After(now) && t.After(now.Add(-changedFor)) {
			return t
		}
	}
	return now
}

// applyEvent stores an event and draws probe failures and kills on the
// involved pod's timeline (rows know their history changed by its
// version, history.ver).
func (s *clusterState) applyEvent(d kube.Delta, now time.Time) {
	if d.Type == kube.Deleted {
		delete(s.events, d.Key)
		delete(s.eventCounts, d.Key)
		return
	}
	ev, ok := d.Obj.(*corev1.Event)
	if !ok {
		return
	}
	s.events[d.Key] = ev
	count := kube.EventCount(ev)
	prev, seen := s.eventCounts[d.Key]
	s.eventCounts[d.Key] = count
	if seen && count <= prev {
		return
	}
	if ev.InvolvedObject.Kind != "Pod" {
		return
	}
	var k markKind
	// Reasons as the kubelet records them: pkg/kubelet/events/event.go
	// (ContainerUnhealthy = "Unhealthy", KillingContainer = "Killing").
	switch ev.Reason {
	case "Unhealthy":
		k = markProbe
	case "Killing":
		k = markKilled
	default:
		return
	}
	at := kube.EventTime(ev)
	if at.IsZero() || at.After(now) {
		at = now
	}
	key := ev.InvolvedObject.Namespace + "/" + ev.InvolvedObject.Name
	h, row := s.hist[key], s.pods[key]
	if h == nil || row == nil || !sameUID(ev.InvolvedObject.UID, row.pod.UID) {
		// Its pod is not here yet, or the one here is another pod of that
		// name (an earlier or a later one): it waits for its own.
		s.addPending(key, pendingMark{uid: ev.InvolvedObject.UID, at: at, kind: k}, now)
		return
	}
	h.add(at, k)
}

// sameUID says whether two references to a pod of one name can be the same
// pod: a missing UID (an event without one, a test's pod) does not tell.
func sameUID(a, b types.UID) bool { return a == "" || b == "" || a == b }

// desired is what the header counts ready pods against: the Deployments'
// spec.replicas (nil means 1, the API default from
// pkg/apis/apps/v1/defaults.go), plus the replicas of ReplicaSets no
// Deployment controls, plus one for each pod no ReplicaSet controls (a bare
// Pod, or one of a Job). Without the last two, a bare pod that is ready
// stood in for a Deployment's pod that is not: "ready 6 of 6 desired" while
// two of the Deployments' pods were unready. False when there is no
// Deployment: the header then counts pods.
func (s *clusterState) desired() (int, bool) {
	if len(s.deploys) == 0 {
		return 0, false
	}
	n := 0
	for _, d := range s.deploys {
		if d.Spec.Replicas == nil {
			n++
		} else {
			n += int(*d.Spec.Replicas)
		}
	}
	for _, rs := range s.rs {
		if ownedBy(rs.OwnerReferences, "Deployment") {
			continue
		}
		if rs.Spec.Replicas == nil {
			n++
		} else {
			n += int(*rs.Spec.Replicas)
		}
	}
	for _, r := range s.pods {
		if !ownedBy(r.pod.OwnerReferences, "ReplicaSet") {
			n++
		}
	}
	return n, true
}

// ownedBy says whether an owner of that kind is among refs (the rollout
// pane matches replica sets to Deployments the same way).
func ownedBy(refs []metav1.OwnerReference, kind string) bool {
	return slices.ContainsFunc(refs, func(o metav1.OwnerReference) bool { return o.Kind == kind })
}
