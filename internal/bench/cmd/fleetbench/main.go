// Command fleetbench runs the fleet benchmark (internal/bench) and prints
// the side-by-side table as Markdown. It needs root; `make bench` runs it
// through scripts/bench.sh.
//
//	fleetbench -hosts 50 -provider bin/terraform-provider-tcp [-latency 20ms] [-parallelism 10]
//	           [-tools provider,ansible,ansible-pipelining,remote-exec] [-json FILE] [-md FILE]
//	           [-workdir DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tcptune/terraform-provider-tcp/internal/bench"
)

func main() {
	var o bench.Options
	var tools, jsonOut, mdOut string
	flag.IntVar(&o.Hosts, "hosts", 20, "number of fleet hosts")
	flag.DurationVar(&o.Latency, "latency", 0, "latency added each way on every SSH connection (e.g. 20ms)")
	flag.IntVar(&o.Parallelism, "parallelism", 10, "terraform -parallelism, and forks of the pipelined Ansible run")
	flag.StringVar(&tools, "tools", strings.Join(bench.AllTools, ","), "comma-separated tools to measure")
	flag.StringVar(&o.ProviderBinary, "provider", "bin/terraform-provider-tcp", "the built provider binary")
	flag.StringVar(&o.Terraform, "terraform", "", "terraform CLI (default: from PATH)")
	flag.StringVar(&o.WorkDir, "workdir", "", "keep generated configurations and logs here (default: a removed temporary directory)")
	flag.StringVar(&jsonOut, "json", "", "write the report as JSON to this file")
	flag.StringVar(&mdOut, "md", "", "write the Markdown table to this file")
	flag.Parse()
	o.Tools = strings.Split(tools, ",")
	o.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	rep, err := bench.Run(ctx, o)
	if rep != nil {
		md := "## Machine\n\n" + rep.Machine.Markdown() + "\n## Results\n\n" + rep.Markdown()
		fmt.Print(md)
		if mdOut != "" {
			if werr := os.WriteFile(mdOut, []byte(md), 0o644); werr != nil {
				fmt.Fprintln(os.Stderr, "fleetbench:", werr)
			}
		}
		if jsonOut != "" {
			if b, jerr := rep.JSON(); jerr == nil {
				if werr := os.WriteFile(jsonOut, append(b, '\n'), 0o644); werr != nil {
					fmt.Fprintln(os.Stderr, "fleetbench:", werr)
				}
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleetbench:", err)
		os.Exit(1)
	}
}
