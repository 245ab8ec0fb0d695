package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Machine describes where a report was measured.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	MemoryGiB int    `json:"memory_gib"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	Terraform string `json:"terraform"`
	Ansible   string `json:"ansible,omitempty"`
	OpenSSH   string `json:"openssh"`
	LoadAvg   string `json:"loadavg_at_start"`
}

func describeMachine(ctx context.Context, terraform, ansiblePlaybook string) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryGiB = (kb + 1<<19) >> 20
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	first := func(args ...string) string {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	m.Terraform = terraformVersion(ctx, terraform)
	if ansiblePlaybook != "" {
		m.Ansible = first(ansiblePlaybook, "--version")
		if p, err := exec.LookPath("dpkg-query"); err == nil {
			if v := first(p, "-W", "-f=${Version}", "ansible"); v != "" && !strings.Contains(v, "no packages") {
				m.Ansible += " (Debian ansible " + v + ")"
			}
		}
	}
	m.OpenSSH = first("ssh", "-V")
	return m
}

// JSON is the report as indented JSON.
func (r *Report) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

func mib(b int64) string {
	if b == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f", float64(b)/(1<<20))
}

// Markdown renders the report's side-by-side table.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d hosts, latency %v each way, terraform -parallelism=%d, started %s, load average at start %s.\n\n",
		r.Hosts, r.Latency, r.Parallelism, r.Started.Format(time.RFC3339), r.Machine.LoadAvg)
	b.WriteString("| tool | phase | wall s | SSH conns/host (sshd) | execs/host (sshd) | provider log: conns / execs per host | logs agree | provider procs (connecting) | execs/host by script | provider peak RSS MiB | peak open conns | load 1m | note |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---|---:|---|---:|---:|---|---|\n")
	for _, p := range r.Phases {
		plog, agree, procs := "", "", ""
		if p.ProviderConns != nil {
			plog = p.ProviderConns.String() + " / " + p.ProviderExecs.String()
			agree = "yes"
			if !*p.Agree {
				agree = "**no**"
			}
		}
		if p.Processes > 0 {
			procs = fmt.Sprintf("%d (%d)", p.Processes, p.ConnectingProcesses)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %s | %s |\n",
			p.Tool, p.Phase, secs(p.Wall), p.SSHDConns, p.SSHDExecs, plog, agree, procs, p.scriptsPerHost(r.Hosts), mib(p.PeakRSS), p.PeakConns, p.Load, p.Note)
	}
	if s := r.Ratios(); s != "" {
		b.WriteString("\n" + s)
	}
	return b.String()
}

// scriptsPerHost renders the provider's execs by script, per host
// ("read 3, apply 1").
func (p Phase) scriptsPerHost(hosts int) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(p.Scripts)) {
		n := float64(p.Scripts[name]) / float64(hosts)
		short := strings.TrimPrefix(name, "tcp_tuning/")
		if n == float64(int(n)) {
			parts = append(parts, fmt.Sprintf("%s %d", short, int(n)))
		} else {
			parts = append(parts, fmt.Sprintf("%s %.2f", short, n))
		}
	}
	return strings.Join(parts, ", ")
}

// Ratios compares the first apply of each tool with the provider's.
func (r *Report) Ratios() string {
	var b strings.Builder
	for _, c := range []struct{ phase, floor, label string }{
		{PhaseApply, PhaseFloor2, "provider apply / 2-login floor"},
		{PhasePlan, PhaseFloor1, "provider no-change plan / 1-login floor"},
		{PhaseDrift, PhaseFloor2, "provider drift repair / 2-login floor"},
		{PhaseDestroy, PhaseFloor2, "provider destroy / 2-login floor"},
	} {
		if p, f := r.Find(ToolProvider, c.phase), r.Find(ToolFloor, c.floor); p != nil && f != nil {
			fmt.Fprintf(&b, "- %s: %.2f× (%s s vs %s s)\n", c.label, p.Wall.Seconds()/f.Wall.Seconds(), secs(p.Wall), secs(f.Wall))
		}
	}
	for _, c := range []struct{ phase, floor string }{{PhaseApply, PhaseFloor2}, {PhasePlan, PhaseFloor1}} {
		p, tf, f := r.Find(ToolProvider, c.phase), r.Find(ToolTerraformOnly, c.phase), r.Find(ToolFloor, c.floor)
		if p != nil && tf != nil {
			fmt.Fprintf(&b, "- %s: Terraform alone (terraform_data, no SSH) %s s; the provider and the hosts add %s s", c.phase, secs(tf.Wall), secs(p.Wall-tf.Wall))
			if f != nil {
				fmt.Fprintf(&b, ", %.2f× the floor (%s s)", (p.Wall-tf.Wall).Seconds()/f.Wall.Seconds(), secs(f.Wall))
			}
			b.WriteString("\n")
		}
	}
	prov := r.Find(ToolProvider, PhaseApply)
	if prov == nil {
		return b.String()
	}
	for _, t := range []string{ToolAnsible, ToolAnsiblePipelining, ToolRemoteExec} {
		if p := r.Find(t, PhaseApply); p != nil {
			fmt.Fprintf(&b, "- %s apply / provider apply: %.1f× (%s s vs %s s)\n", t, p.Wall.Seconds()/prov.Wall.Seconds(), secs(p.Wall), secs(prov.Wall))
		}
	}
	if pd, ad := r.Find(ToolProvider, PhaseDrift), r.Find(ToolAnsiblePipelining, PhaseDrift); pd != nil && ad != nil {
		fmt.Fprintf(&b, "- ansible-pipelining drift repair / provider drift repair: %.1f×\n", ad.Wall.Seconds()/pd.Wall.Seconds())
	}
	return b.String()
}

// Markdown describes the machine.
func (m Machine) Markdown() string {
	return fmt.Sprintf("- CPU: %s, %d cores, %d GiB RAM\n- Kernel: %s\n- Go: %s\n- Terraform: %s\n- Ansible: %s\n- OpenSSH: %s\n",
		m.CPU, m.Cores, m.MemoryGiB, m.Kernel, m.Go, m.Terraform, orNone(m.Ansible), m.OpenSSH)
}

func orNone(s string) string {
	if s == "" {
		return "(not measured)"
	}
	return s
}

// terraformVersion asks terraform for its version (without reading any CLI
// configuration, whose warnings would come first).
func terraformVersion(ctx context.Context, terraform string) string {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, terraform, "version", "-json")
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null", "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	var v struct {
		Version  string `json:"terraform_version"`
		Platform string `json:"platform"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return "unknown"
	}
	return v.Version + " " + v.Platform
}
