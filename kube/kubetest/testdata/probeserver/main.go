// Command probeserver is a stand-in for `proberctl serve` in kubetest's own
// tests: it answers GET / with $CONTENT on port $PORT, like the probe
// server's apex route. It exists so the control-plane harness can be tested
// without depending on the server package.
package main

import (
	"log"
	"net/http"
	"os"
)

func main() {
	content, port := os.Getenv("CONTENT"), os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(content))
	})
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
