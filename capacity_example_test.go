package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
	"github.com/tcptune/terraform-provider-tcp/internal/labtest"
)

// TestCapacityExample applies examples/capacity (the provider functions
// feeding tcp_tuning and a precondition) to a fleet host with the real
// terraform: the canonical reserved list and the range reach the host, a
// target rate the range cannot carry stops the plan with the computed
// figures, and destroy restores the host.
func TestCapacityExample(t *testing.T) {
	tf := terraformBin(t)
	skipBelowRequiredVersion(t, "examples/capacity")
	f := labtest.StartT(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	work := copyExample(t, "examples/capacity")
	keys := []string{"net.ipv4.tcp_tw_reuse", "net.ipv4.ip_local_port_range", "net.ipv4.ip_local_reserved_ports"}
	orig := map[string]string{}
	for _, k := range keys {
		v, err := h.Sysctl(k)
		if err != nil {
			t.Fatal(err)
		}
		orig[k] = v
	}
	writeVars := func(targetRate int) {
		t.Helper()
		vars, _ := json.Marshal(map[string]any{
			"hosts": []string{h.Addr}, "private_key_file": f.ClientKeyFile, "known_hosts_file": f.KnownHostsFile,
			"port_range":    map[string]int{"min": 20000, "max": 50999},
			"service_ports": map[string][]int{"cache": {30001}, "api": {30000, 30002}, "other": {8080}},
			"target_rate":   targetRate,
		})
		if err := os.WriteFile(filepath.Join(work, "terraform.tfvars.json"), vars, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The example's provider block has no port: the fleet host's sshd
	// listens on 22 of its own loopback address.
	if h.Port != 22 {
		t.Skipf("fleet host listens on port %d; the example assumes 22", h.Port)
	}

	// 31000 ports minus 30000-30002: 30997 usable, 516/s without reuse.
	writeVars(600)
	cmd := exec.Command(tf, "plan", "-no-color", "-input=false")
	cmd.Dir, cmd.Env = work, devEnv(t)
	out, err := cmd.CombinedOutput()
	if err == nil || !regexp.MustCompile(`leaves\s+30997\s+ports:\s+516\s+new\s+connections/s`).Match(out) {
		t.Fatalf("a target of 600/s must fail the precondition with the computed figures, err=%v:\n%s", err, out)
	}

	writeVars(500)
	runTerraform(t, work, "apply", "-auto-approve", "-no-color", "-input=false")
	for k, want := range map[string]string{
		"net.ipv4.tcp_tw_reuse":            "1",
		"net.ipv4.ip_local_port_range":     "20000\t50999",
		"net.ipv4.ip_local_reserved_ports": "8080,30000-30002",
	} {
		if got, _ := h.Sysctl(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	out2 := runTerraform(t, work, "output", "-json", "capacity")
	var c struct {
		Usable int     `json:"usable_ports"`
		Rate   float64 `json:"connections_per_second_no_reuse"`
	}
	if err := json.Unmarshal([]byte(out2[strings.Index(out2, "{"):]), &c); err != nil || c.Usable != 30997 || c.Rate != 516 {
		t.Errorf("capacity output %+v (%v), want 30997 usable ports and 516/s:\n%s", c, err, out2)
	}
	runTerraform(t, work, "destroy", "-auto-approve", "-no-color", "-input=false")
	for k, want := range orig {
		if got, _ := h.Sysctl(k); got != want {
			t.Errorf("after destroy %s = %q, want original %q", k, got, want)
		}
	}
}
