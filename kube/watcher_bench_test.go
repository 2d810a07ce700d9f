package kube

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// BenchmarkWatcherPush measures what an informer handler pays per delta
// while a consumer drains batches concurrently: the handler's whole cost,
// since it never waits for the consumer.
func BenchmarkWatcherPush(b *testing.B) {
	w := NewWatcher(fake.NewClientset(), WatchOptions{Window: -1})
	w.started = true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		n := 0
		for {
			batch, err := w.Next(ctx)
			if err != nil {
				done <- n
				return
			}
			n += len(batch.Deltas)
		}
	}()
	keys := make([]string, 5000)
	for i := range keys {
		keys[i] = fmt.Sprintf("demo/foo-%d", i)
	}
	pod := &corev1.Pod{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		w.push(Delta{Kind: KindPod, Key: keys[i%len(keys)], Obj: pod})
	}
	b.StopTimer()
	cancel()
	<-done
}

// BenchmarkWatcherBatch5000 measures handing 5,000 pod deltas (a namespace's
// initial list) to the consumer as one batch.
func BenchmarkWatcherBatch5000(b *testing.B) {
	w := NewWatcher(fake.NewClientset(), WatchOptions{Window: -1})
	w.started = true
	keys := make([]string, 5000)
	for i := range keys {
		keys[i] = fmt.Sprintf("demo/foo-%d", i)
	}
	pod := &corev1.Pod{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for _, k := range keys {
			w.push(Delta{Kind: KindPod, Key: k, Obj: pod})
		}
		if batch, err := w.Next(ctx); err != nil || len(batch.Deltas) != len(keys) {
			b.Fatalf("batch of %d, err %v", len(batch.Deltas), err)
		}
	}
}
