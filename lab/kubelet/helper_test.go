package kubelet

import "os"

const helperEnv = "LAB_KUBELET_TEST_HELPER"

// runHelper is the test binary run as a helper process (see the
// parent-death test).
func runHelper() {
	os.Exit(0)
}
