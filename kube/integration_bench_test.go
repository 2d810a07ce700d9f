package kube

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/proberctl/proberctl/kube/kubetest"
)

// BenchmarkFirstSyncedBatch5000Pods measures, on a real kube-apiserver, the
// time from Start to the first batch with Synced for a namespace of 5,000
// running pods: the wait before a dashboard can draw its first screen.
//
//	PROBERCTL_CONTROLPLANE=... go test -run '^$' -bench FirstSyncedBatch -benchtime 5x ./kube
func BenchmarkFirstSyncedBatch5000Pods(b *testing.B) {
	const pods = 5000
	env := kubetest.Start(b)
	ns := env.Namespace(b)
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0 // no client-side throttling while filling
	client := clientset(b, cfg)
	ctx := context.Background()

	start := time.Now()
	work := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range work {
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("foo-%05d", i), Labels: map[string]string{"app": "foo", "version": "1.0.1"}},
					Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: "proberctl:test",
						Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}},
				}
				created, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
				if err == nil {
					created.Status = kubeletStatus(fmt.Sprintf("10.%d.%d.%d", 1+i/65536, i/256%256, i%256), true, 0,
						corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}, nil)
					_, err = client.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range pods {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatalf("create pods: %v", err)
	default:
	}
	b.Logf("created %d running pods in %v", pods, time.Since(start).Round(time.Millisecond))

	var heap uint64
	b.ResetTimer()
	for b.Loop() {
		wctx, cancel := context.WithCancel(ctx)
		w := NewWatcher(clientset(b, env.Config), WatchOptions{Namespace: ns})
		if err := w.Start(wctx); err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			batch, err := w.Next(wctx)
			if err != nil {
				b.Fatal(err)
			}
			n += len(batch.Deltas)
			if batch.Synced {
				break
			}
		}
		if n < pods {
			b.Fatalf("synced with %d deltas, want at least %d pods", n, pods)
		}
		if heap == 0 {
			// What a synced watcher keeps alive (informer caches of 5,000
			// pods, managed fields stripped), for the dashboard's memory
			// budget. Measured once, outside the timing.
			b.StopTimer()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap = ms.HeapAlloc
			runtime.KeepAlive(w)
			b.StartTimer()
		}
		cancel()
	}
	b.ReportMetric(float64(heap)/(1<<20), "MB-heap-synced")
}
