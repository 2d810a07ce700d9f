package kubelet

import "os"

const helperEnv = "LAB_KUBELET_TEST_HELPER"

// runHelper is the test binary run as a helper process.
func runHelper() {
	switch os.Getenv(helperEnv) {
	case "child":
		helperChild()
	}
	os.Exit(2)
}
