package store

import (
	"sync"

	"k8s.io/apimachinery/pkg/watch"
)

// buffered re-delivers a watch's events through an unbounded queue, so a
// slow reader delays its own events instead of crashing the writer: the
// tracker's RaceFreeFakeWatcher panics with "channel full" when 100 events
// are unread (k8s.io/apimachinery/pkg/watch/watch.go).
type buffered struct {
	inner  watch.Interface
	filter *filter // the watch's selectors; nil passes everything
	out    chan watch.Event
	stop   chan struct{}
	once   sync.Once
}

func newBuffered(inner watch.Interface, f *filter) *buffered {
	b := &buffered{inner: inner, filter: f, out: make(chan watch.Event), stop: make(chan struct{})}
	go b.run()
	return b
}

func (b *buffered) run() {
	defer close(b.out)
	in := b.inner.ResultChan()
	var queue []watch.Event
	for {
		var send chan watch.Event
		var next watch.Event
		if len(queue) > 0 {
			send, next = b.out, queue[0]
		} else if in == nil {
			return
		}
		select {
		case ev, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			if ev, ok = b.filter.apply(ev); ok {
				queue = append(queue, ev)
			}
		case send <- next:
			queue[0] = watch.Event{}
			queue = queue[1:]
		case <-b.stop:
			return
		}
	}
}

func (b *buffered) Stop() {
	b.once.Do(func() {
		close(b.stop)
		b.inner.Stop()
	})
}

func (b *buffered) ResultChan() <-chan watch.Event { return b.out }
