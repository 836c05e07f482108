// Command vcsim serves govmomi's vCenter simulator on loopback for the vSphere collector's
// tests and benchmark. It builds offline against Debian's golang-github-vmware-govmomi-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o vcsim tests/apis/vcsim/main.go
//
// It prints one JSON line ({"url": ..., "vms": N, "hosts": N}) once the server listens and
// stops when its standard input closes or it gets SIGTERM/SIGINT.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"io"
	"io/ioutil"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	listen := flag.String("l", "127.0.0.1:0", "address to listen on (loopback only)")
	username := flag.String("username", "ledger", "the only user that may log in")
	password := flag.String("password", "secret", "that user's password")
	clusters := flag.Int("cluster", 1, "clusters per datacenter")
	clusterHosts := flag.Int("cluster-host", 3, "hosts per cluster")
	hosts := flag.Int("standalone-host", 1, "standalone hosts per datacenter")
	vms := flag.Int("vm", 2, "virtual machines per resource pool (each cluster, each standalone host)")
	datastores := flag.Int("ds", 1, "datastores")
	plain := flag.Bool("http", false, "serve plain HTTP instead of TLS")
	flag.Parse()

	// vcsim logs every method to stderr; the tests read only stdout.
	log.SetOutput(ioutil.Discard)

	model := simulator.VPX()
	model.Cluster = *clusters
	model.ClusterHost = *clusterHosts
	model.Host = *hosts
	model.Machine = *vms
	model.Datastore = *datastores
	if err := model.Create(); err != nil {
		os.Stderr.WriteString("vcsim: " + err.Error() + "\n")
		os.Exit(1)
	}
	defer model.Remove()

	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*username, *password)}
	if !*plain {
		model.Service.TLS = new(tls.Config)
	}
	model.Service.RegisterEndpoints = true
	server := model.Service.NewServer()
	defer server.Close()

	count := model.Count()
	shown := *server.URL
	shown.User = nil
	line, _ := json.Marshal(map[string]interface{}{
		"url": shown.String(), "vms": count.Machine, "hosts": count.Host,
		"clusters": count.Cluster, "datastores": count.Datastore,
	})
	os.Stdout.Write(append(line, '\n'))

	done := make(chan struct{}, 2)
	go func() {
		io.Copy(ioutil.Discard, os.Stdin)
		done <- struct{}{}
	}()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		done <- struct{}{}
	}()
	<-done
}
