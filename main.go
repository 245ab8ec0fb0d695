// Command terraform-provider-tcp serves the tcp Terraform provider, which
// declares Linux TCP tuning (TIME_WAIT and ephemeral ports) on hosts over SSH.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/tcptune/terraform-provider-tcp/internal/provider"
)

// version is set at link time by goreleaser (-X main.version=...).
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	quietSDKLogs()
	stopProfile := profileCPU()
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	// What providerserver.Serve does, with the RPCs scoped (provider.ProtocolServer).
	err := tf6server.Serve("registry.terraform.io/tcptune/tcp", provider.ProtocolServer(version), opts...)
	stopProfile()
	if err != nil {
		log.Fatal(err.Error())
	}
}

// quietSDKLogs sets the plugin SDK's log levels, where the user did not set
// them, to the level at which Terraform keeps this provider's logs
// (TF_LOG_PROVIDER, else TF_LOG; "off" when neither is set). A plugin's
// log lines all travel to Terraform, which drops those below its level;
// the SDK formats every one first, TRACE included (a line per attribute
// read), which was about 40% of the provider's CPU in a fleet plan (see
// docs/benchmarks.md). Nothing Terraform would keep is lost.
func quietSDKLogs() {
	level := strings.ToUpper(strings.TrimSpace(os.Getenv("TF_LOG_PROVIDER")))
	if level == "" {
		level = strings.ToUpper(strings.TrimSpace(os.Getenv("TF_LOG")))
	}
	switch level {
	case "":
		level = "OFF"
	case "OFF", "ERROR", "WARN", "INFO", "DEBUG":
	default: // TRACE, JSON, or a value Terraform reads as TRACE
		return
	}
	for _, env := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"} {
		if os.Getenv(env) == "" {
			_ = os.Setenv(env, level)
		}
	}
}

// profileCPU writes a CPU profile of this process to
// $TCP_PPROF_DIR/cpu-<pid>.pprof when that variable is set (for the
// benchmarks: each provider process that Terraform starts gets its own
// file); the returned function ends it when Terraform stops the provider,
// and writes the heap profile beside it (heap-<pid>.pprof).
func profileCPU() func() {
	dir := os.Getenv("TCP_PPROF_DIR")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", os.Getpid())))
	if err != nil {
		log.Printf("[WARN] TCP_PPROF_DIR: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		log.Printf("[WARN] TCP_PPROF_DIR: %v", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
		// What the process still holds when Terraform stops it.
		if h, err := os.Create(filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", os.Getpid()))); err == nil {
			_ = pprof.Lookup("heap").WriteTo(h, 0)
			_ = h.Close()
		}
	}
}
