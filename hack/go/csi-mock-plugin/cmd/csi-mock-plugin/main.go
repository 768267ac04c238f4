// Command csi-mock-plugin serves the Kubernetes e2e CSI mock driver (the successor of csi-test's
// mock, maintained in k8s.io/kubernetes for testing the CSI sidecars) on a unix socket, so the
// project's tests talk to a real CSI implementation instead of one of our own.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"k8s.io/kubernetes/test/e2e/storage/drivers/csi-test/mock/service"
)

func main() {
	endpoint := flag.String("endpoint", "unix:///tmp/csi.sock", "CSI endpoint (unix://<absolute path>)")
	driverName := flag.String("drivername", service.Name, "driver name; also the node ID the plugin accepts")
	disableAttach := flag.Bool("disable-attach", false, "do not offer PUBLISH_UNPUBLISH_VOLUME")
	attachLimit := flag.Int64("attach-limit", 0, "volumes per node; ControllerPublish answers ResourceExhausted beyond it (0 = unlimited)")
	nodeExpansionRequired := flag.Bool("node-expansion-required", false, "ControllerExpandVolume answers node_expansion_required=true")
	disableControllerExpansion := flag.Bool("disable-controller-expansion", false, "do not offer EXPAND_VOLUME")
	disableOnlineExpansion := flag.Bool("disable-online-expansion", false, "offer OFFLINE instead of ONLINE volume expansion")
	enableTopology := flag.Bool("enable-topology", false, "offer VOLUME_ACCESSIBILITY_CONSTRAINTS with the key "+service.TopologyKey)
	flag.Parse()

	path, ok := strings.CutPrefix(*endpoint, "unix://")
	if !ok || !strings.HasPrefix(path, "/") {
		fmt.Fprintf(os.Stderr, "--endpoint must be unix:///absolute/path, got %q\n", *endpoint)
		os.Exit(2)
	}
	_ = os.Remove(path)
	listener, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "listen on %s: %v\n", path, err)
		os.Exit(1)
	}

	svc := service.New(service.Config{
		DriverName:                 *driverName,
		DisableAttach:              *disableAttach,
		AttachLimit:                *attachLimit,
		NodeExpansionRequired:      *nodeExpansionRequired,
		DisableControllerExpansion: *disableControllerExpansion,
		DisableOnlineExpansion:     *disableOnlineExpansion,
		EnableTopology:             *enableTopology,
	})
	server := grpc.NewServer()
	csi.RegisterIdentityServer(server, svc)
	csi.RegisterControllerServer(server, svc)
	csi.RegisterNodeServer(server, svc)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-signals
		server.Stop()
	}()
	fmt.Fprintf(os.Stderr, "csi-mock-plugin %s serving on %s\n", *driverName, *endpoint)
	if err := server.Serve(listener); err != nil {
		fmt.Fprintf(os.Stderr, "serve: %v\n", err)
		os.Exit(1)
	}
	_ = os.Remove(path)
}
