// Command terraform-provider-tcp serves the tcp Terraform provider, which
// declares Linux TCP tuning (TIME_WAIT and ephemeral ports) on hosts over SSH.
package main

import (
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/tcptune/terraform-provider-tcp/internal/provider"
)

// version is set at link time by goreleaser (-X main.version=...).
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	// provider.NewProtocol6 is the framework's server with one addition
	// (see its doc): a create knows which resource it replaces.
	server, err := provider.NewProtocol6(provider.New(version)())()
	if err != nil {
		log.Fatal(err.Error())
	}
	if err := tf6server.Serve("registry.terraform.io/tcptune/tcp", func() tfprotov6.ProviderServer { return server }, opts...); err != nil {
		log.Fatal(err.Error())
	}
}
