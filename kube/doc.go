// Package kube holds everything that talks to a Kubernetes API through
// client-go: config loading, informers turned into batched deltas for the
// dashboard, kubectl-exact pod status columns, and the actions a person fires
// at a pod (crash, resolve, healthz, info, delete, apply).
//
// The dashboard (package tui) sees only the types in this package: a Source
// of batches and an Actions value. A real cluster and the lab both provide
// them, which is what lets one dashboard serve both unchanged.
package kube
