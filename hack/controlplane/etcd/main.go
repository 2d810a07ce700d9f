// Command etcd is the upstream etcd server, built from the published
// go.etcd.io/etcd/server/v3 module for proberctl's integration tests.
//
// It mirrors go.etcd.io/etcd/server/v3/main.go.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
