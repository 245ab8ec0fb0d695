package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/labtest"
)

// TestBenchSmoke runs the harness on 3 hosts (the provider and
// remote-exec rows; Ansible takes too long for `make test`) and checks the
// figures are sane: not timings, but the counts the targets are about.
func TestBenchSmoke(t *testing.T) {
	labtest.RequireAcc(t, "fleet benchmark smoke run")
	labtest.Require(t)
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		p, err := exec.LookPath("terraform")
		if err != nil {
			t.Fatal("no terraform on PATH")
		}
		tf = p
	}
	bin := filepath.Join(t.TempDir(), "terraform-provider-tcp")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/tcptune/terraform-provider-tcp").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	const hosts = 3
	var log strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{
		Hosts:          hosts,
		Tools:          []string{ToolFloor, ToolTerraformOnly, ToolProvider, ToolRemoteExec},
		ProviderBinary: bin,
		Terraform:      tf,
		Log:            &log,
	})
	if err != nil {
		t.Fatalf("harness: %v\n%s", err, log.String())
	}
	t.Logf("\n%s", rep.Markdown())

	for _, phase := range []string{PhaseApply, PhasePlan, PhaseDrift, PhaseDestroy} {
		p := rep.Find(ToolProvider, phase)
		if p == nil {
			t.Fatalf("no provider %q row", phase)
		}
		if p.Agree == nil || !*p.Agree {
			t.Errorf("%s: the provider's log and the hosts' sshd logs disagree: provider %v / %v, sshd %v / %v",
				phase, p.ProviderConns, p.ProviderExecs, p.SSHDConns, p.SSHDExecs)
		}
		if p.ConnectingProcesses < 1 {
			t.Errorf("%s: no provider process connected", phase)
		}
		// One SSH connection per host per provider process.
		if p.SSHDConns.Min != p.ConnectingProcesses || p.SSHDConns.Max != p.ConnectingProcesses {
			t.Errorf("%s: %s SSH connections per host for %d connecting provider processes, want exactly one per host per process",
				phase, p.SSHDConns, p.ConnectingProcesses)
		}
		if p.Processes < p.ConnectingProcesses || p.PeakRSS <= 0 {
			t.Errorf("%s: %d provider processes sampled, peak RSS %d: the RSS sampler missed the provider", phase, p.Processes, p.PeakRSS)
		}
		if p.SSHDExecs.Min != p.SSHDExecs.Max {
			t.Errorf("%s: hosts saw different exec counts (%s) for identical resources", phase, p.SSHDExecs)
		}
	}
	// Bounded connections: never more open at once than Terraform's
	// parallelism plus the pool's idle cap, per connecting process.
	for _, phase := range []string{PhaseApply, PhasePlan, PhaseDrift, PhaseDestroy} {
		if p := rep.Find(ToolProvider, phase); p.PeakConns < 1 || p.PeakConns > hosts*p.ConnectingProcesses {
			t.Errorf("%s: peak %d open connections on %d hosts", phase, p.PeakConns, hosts)
		}
	}
	for _, phase := range []string{PhaseFloor1, PhaseFloor2} {
		if p := rep.Find(ToolFloor, phase); p == nil {
			t.Errorf("no floor %q row", phase)
		}
	}
	if p := rep.Find(ToolTerraformOnly, PhaseApply); p == nil || p.SSHDConns.Max != 0 {
		t.Errorf("terraform-only apply row missing or with SSH activity: %+v", p)
	}
	plan := rep.Find(ToolProvider, PhasePlan)
	if plan.ConnectingProcesses != 1 || plan.SSHDExecs.Max != 1 || plan.Scripts["tcp_tuning/read"] != hosts {
		t.Errorf("no-change plan: %d connecting processes, %s execs per host, scripts %v; want one process and one read per host",
			plan.ConnectingProcesses, plan.SSHDExecs, plan.Scripts)
	}
	for _, phase := range []string{PhaseApply, PhaseDrift} {
		if p := rep.Find(ToolProvider, phase); p.Scripts["tcp_tuning/apply"] != hosts {
			t.Errorf("%s: %d apply execs over %d hosts, want one per host", phase, p.Scripts["tcp_tuning/apply"], hosts)
		}
	}
	if p := rep.Find(ToolProvider, PhaseDestroy); p.Scripts["tcp_tuning/delete"] != hosts {
		t.Errorf("destroy: %d delete execs over %d hosts, want one per host", p.Scripts["tcp_tuning/delete"], hosts)
	}
	re := rep.Find(ToolRemoteExec, PhaseApply)
	if re == nil || re.SSHDConns.Min < 1 || re.SSHDExecs.Min < 1 {
		t.Errorf("remote-exec apply row missing or without SSH activity: %+v", re)
	}
	if p := rep.Find(ToolRemoteExec, PhaseDriftPlan); p == nil || p.SSHDExecs.Max != 0 {
		t.Errorf("remote-exec's plan after drift touched the hosts (or is missing): %+v", p)
	}
	md := rep.Markdown()
	for _, want := range []string{"| provider | apply (create) |", "| remote-exec | apply (create) |", "remote-exec apply / provider apply"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
}
