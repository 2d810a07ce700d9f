package store_test

import (
	"os"
	"testing"

	"github.com/proberctl/proberctl/kube/kubetest"
)

// TestMain shares one control plane between the tests that hold the store
// against a real kube-apiserver.
func TestMain(m *testing.M) { os.Exit(kubetest.Run(m)) }
