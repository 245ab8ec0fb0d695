// Package bench is the fleet benchmark harness: on one test fleet
// (internal/lab) it applies the same eight TCP settings to every host with
// this provider, with Ansible's ansible.posix.sysctl (defaults, then
// pipelining with forks equal to Terraform's parallelism) and with
// Terraform's terraform_data + remote-exec, and measures wall time, SSH
// connections and execs per host (from each host's sshd log, cross-checked
// against the provider's debug log) and the provider's peak RSS.
//
// Every phase is verified on the hosts' real /proc/sys and /etc/sysctl.d:
// a run that did not apply what it claims is an error, not a figure.
// Needs root (the fleet), terraform, and for the Ansible rows
// ansible-playbook with the ansible.posix collection.
package bench

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
)

// Tools the harness can measure, in the order they run.
const (
	ToolFloor             = "floor"
	ToolTerraformOnly     = "terraform-only"
	ToolProvider          = "provider"
	ToolAnsible           = "ansible"
	ToolAnsiblePipelining = "ansible-pipelining"
	ToolRemoteExec        = "remote-exec"
)

// AllTools is every tool, in run order.
var AllTools = []string{ToolFloor, ToolTerraformOnly, ToolProvider, ToolAnsible, ToolAnsiblePipelining, ToolRemoteExec}

// Options configures Run.
type Options struct {
	// Hosts is the fleet size.
	Hosts int
	// Latency is added each way on every SSH connection of the fleet.
	Latency time.Duration
	// Parallelism is terraform's -parallelism and the forks of the
	// pipelined Ansible run (default 10, Terraform's default).
	Parallelism int
	// Tools to measure (default AllTools).
	Tools []string
	// ProviderBinary is the built terraform-provider-tcp (required for
	// ToolProvider).
	ProviderBinary string
	// Terraform and AnsiblePlaybook are the CLIs ("" = from PATH).
	Terraform       string
	AnsiblePlaybook string
	// WorkDir holds the generated configurations and logs ("" = a
	// temporary directory, removed at the end unless Keep).
	WorkDir string
	Keep    bool
	// Log receives progress lines (nil = discard).
	Log io.Writer
}

// Phase is one measured command.
type Phase struct {
	Tool  string `json:"tool"`
	Phase string `json:"phase"`
	// Wall is the command's wall time.
	Wall time.Duration `json:"wall_ns"`
	// SSHDConns and SSHDExecs are per-host counts from the hosts' sshd
	// logs ("Connection from", "Starting session").
	SSHDConns Spread `json:"sshd_connections_per_host"`
	SSHDExecs Spread `json:"sshd_sessions_per_host"`
	// ProviderConns and ProviderExecs are per-host counts from the
	// provider's debug log ("ssh connection opened", "ssh script
	// starting"); provider only.
	ProviderConns *Spread `json:"provider_connections_per_host,omitempty"`
	ProviderExecs *Spread `json:"provider_execs_per_host,omitempty"`
	// Agree is true when, on every host, the provider's log and sshd's
	// log count the same connections and execs.
	Agree *bool `json:"logs_agree,omitempty"`
	// Scripts counts execs by host script over the fleet (provider only).
	Scripts map[string]int `json:"scripts,omitempty"`
	// ConnectingProcesses is how many provider processes opened SSH
	// connections (provider only).
	ConnectingProcesses int `json:"connecting_provider_processes,omitempty"`
	// Processes is how many provider processes ran; PeakRSS the largest
	// VmHWM among them, in bytes (provider only).
	Processes int   `json:"provider_processes,omitempty"`
	PeakRSS   int64 `json:"provider_peak_rss_bytes,omitempty"`
	// PeakConns is the largest number of SSH connections open on the
	// fleet at once during the phase (sampled every 25 ms).
	PeakConns int `json:"peak_open_connections"`
	// Load is the 1-minute load average when the phase started and ended:
	// other work on the machine skews the timings.
	Load string `json:"load,omitempty"`
	// Note says what was verified or what the tool could not do.
	Note string `json:"note,omitempty"`
}

// Report is one harness run.
type Report struct {
	Hosts       int           `json:"hosts"`
	Latency     time.Duration `json:"latency_ns"`
	Parallelism int           `json:"parallelism"`
	Started     time.Time     `json:"started"`
	Machine     Machine       `json:"machine"`
	Phases      []Phase       `json:"phases"`
}

// Find returns the phase of tool named phase, or nil.
func (r *Report) Find(tool, phase string) *Phase {
	for i := range r.Phases {
		if r.Phases[i].Tool == tool && r.Phases[i].Phase == phase {
			return &r.Phases[i]
		}
	}
	return nil
}

// Phase names.
const (
	PhaseApply = "apply (create)"
	PhasePlan  = "no-change plan"
	PhaseRerun = "no-change run"
	PhaseDrift = "drift repair"
	// PhaseDriftPlan is remote-exec's plan after the drift: it cannot
	// repair what it cannot see.
	PhaseDriftPlan = "plan after drift"
	PhaseDestroy   = "destroy"
)

//go:embed templates/*.tmpl
var templates embed.FS

var tmpl = template.Must(template.New("").Funcs(template.FuncMap{"fields": strings.Fields}).ParseFS(templates, "templates/*.tmpl"))

// runner is one harness run's state.
type runner struct {
	o    Options
	f    *lab.Fleet
	base baseline
	work string
	rep  *Report
	logw io.Writer
}

// Run brings up a fleet of o.Hosts hosts, measures every tool of o.Tools on
// it and tears the fleet down.
func Run(ctx context.Context, o Options) (rep *Report, err error) {
	if err := o.complete(); err != nil {
		return nil, err
	}
	r := &runner{o: o, logw: o.Log}
	if r.logw == nil {
		r.logw = io.Discard
	}
	work, keep, err := workDir(o)
	if err != nil {
		return nil, err
	}
	r.work = work
	if !keep {
		defer os.RemoveAll(r.work)
	}
	r.rep = &Report{Hosts: o.Hosts, Latency: o.Latency, Parallelism: o.Parallelism, Started: time.Now().UTC(),
		Machine: describeMachine(ctx, o.Terraform, o.AnsiblePlaybook)}
	r.logf("starting a fleet of %d hosts (latency %v each way)", o.Hosts, o.Latency)
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	r.f, err = lab.Start(startCtx, lab.Options{Hosts: o.Hosts, Latency: o.Latency})
	cancel()
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := r.f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if r.base, err = readBaseline(r.f.Hosts); err != nil {
		return nil, err
	}
	for _, tool := range o.Tools {
		if err := ctx.Err(); err != nil {
			return r.rep, err
		}
		if err := reset(r.f.Hosts, r.base); err != nil {
			return r.rep, err
		}
		if err := r.runTool(ctx, tool); err != nil {
			return r.rep, fmt.Errorf("%s: %w", tool, err)
		}
	}
	return r.rep, reset(r.f.Hosts, r.base)
}

// complete checks o and fills in its defaults: parallelism 10, every tool,
// terraform and ansible-playbook from PATH, an absolute provider binary.
func (o *Options) complete() error {
	if o.Hosts < 1 {
		return errors.New("bench: Hosts must be at least 1")
	}
	if o.Parallelism == 0 {
		o.Parallelism = 10
	}
	if len(o.Tools) == 0 {
		o.Tools = AllTools
	}
	for _, t := range o.Tools {
		if !contains(AllTools, t) {
			return fmt.Errorf("bench: unknown tool %q (have %s)", t, strings.Join(AllTools, ", "))
		}
	}
	var err error
	if o.Terraform == "" {
		if o.Terraform, err = exec.LookPath("terraform"); err != nil {
			return errors.New("bench: terraform not on PATH")
		}
	}
	if (contains(o.Tools, ToolAnsible) || contains(o.Tools, ToolAnsiblePipelining)) && o.AnsiblePlaybook == "" {
		if o.AnsiblePlaybook, err = exec.LookPath("ansible-playbook"); err != nil {
			return errors.New("bench: ansible-playbook not on PATH (install the Debian package ansible)")
		}
	}
	if !contains(o.Tools, ToolProvider) {
		return nil
	}
	if o.ProviderBinary == "" {
		return errors.New("bench: ProviderBinary is required for the provider rows")
	}
	if o.ProviderBinary, err = filepath.Abs(o.ProviderBinary); err != nil {
		return err
	}
	if _, err := os.Stat(o.ProviderBinary); err != nil {
		return fmt.Errorf("bench: provider binary: %w", err)
	}
	return nil
}

// workDir is o.WorkDir (absolute, created), or a new temporary directory;
// keep is false when the caller removes it at the end (a temporary one
// without o.Keep).
func workDir(o Options) (dir string, keep bool, err error) {
	if o.WorkDir == "" {
		dir, err = os.MkdirTemp("", "fleetbench-")
		return dir, o.Keep, err
	}
	if dir, err = filepath.Abs(o.WorkDir); err != nil {
		return "", true, err
	}
	return dir, true, os.MkdirAll(dir, 0o755)
}

// runTool measures one tool on the fleet.
func (r *runner) runTool(ctx context.Context, tool string) error {
	switch tool {
	case ToolFloor:
		return r.floor(ctx)
	case ToolTerraformOnly:
		return r.terraformOnly(ctx)
	case ToolProvider:
		return r.provider(ctx)
	case ToolAnsible:
		return r.ansible(ctx, false)
	case ToolAnsiblePipelining:
		return r.ansible(ctx, true)
	case ToolRemoteExec:
		return r.remoteExec(ctx)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.logw, "%s fleetbench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// tmplData is what the templates see.
type tmplData struct {
	Hosts          []tmplHost
	Settings       []Setting
	KeyFile        string
	KnownHostsFile string
	File           string
	Dir            string
	ControlPathDir string
}

type tmplHost struct {
	Name, Addr, HostKey string
	Port                int
}

func (r *runner) data(dir, file string) tmplData {
	d := tmplData{Settings: Settings, KeyFile: r.f.ClientKeyFile, KnownHostsFile: r.f.KnownHostsFile, File: file, Dir: dir}
	for _, h := range r.f.Hosts {
		d.Hosts = append(d.Hosts, tmplHost{Name: h.Name, Addr: h.Addr, Port: h.Port, HostKey: h.HostKey})
	}
	return d
}

func render(name, path string, d tmplData) error {
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, name, d); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// command runs one measured command and returns its combined output.
type command struct {
	dir  string
	env  []string
	args []string
}

func (r *runner) run(ctx context.Context, c command) ([]byte, error) {
	cmd := exec.CommandContext(ctx, c.args[0], c.args[1:]...)
	cmd.Dir = c.dir
	cmd.Env = c.env
	cmd.WaitDelay = 10 * time.Second
	return cmd.CombinedOutput()
}

// measure runs c (which must exit 0) with sshd (and, for the provider, log and RSS)
// accounting and appends the phase to the report.
func (r *runner) measure(ctx context.Context, tool, phase string, c command, logPath string) (*Phase, []byte, error) {
	p, out, err := r.measureFunc(ctx, tool, phase, func(ctx context.Context) ([]byte, error) {
		out, err := r.run(ctx, c)
		_ = os.WriteFile(filepath.Join(c.dir, logName(phase)+".out"), out, 0o644)
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out, fmt.Errorf("%s %s: exit status %d:\n%s", tool, phase, ee.ExitCode(), lastLines(out, 40))
		}
		return out, err
	}, logPath)
	return p, out, err
}

// measureFunc runs fn with sshd, open-connection (and, for the provider,
// log and RSS) accounting and appends the phase to the report.
func (r *runner) measureFunc(ctx context.Context, tool, phase string, fn func(context.Context) ([]byte, error), logPath string) (*Phase, []byte, error) {
	before, err := snapshot(r.f.Hosts)
	if err != nil {
		return nil, nil, err
	}
	var rss *rssSampler
	if tool == ToolProvider {
		rss = startRSS(r.o.ProviderBinary, 25*time.Millisecond)
	}
	r.logf("%s: %s ...", tool, phase)
	conns := startConns(r.f.Hosts, 25*time.Millisecond)
	load0 := loadavg1()
	start := time.Now()
	out, runErr := fn(ctx)
	wall := time.Since(start)
	p := Phase{Tool: tool, Phase: phase, Wall: wall, Load: load0 + "→" + loadavg1()}
	p.PeakConns = conns.Stop()
	if rss != nil {
		p.Processes, p.PeakRSS = rss.Stop()
	}
	if runErr != nil {
		return nil, out, runErr
	}
	// sshd writes its log lines as sessions close: let the last settle.
	time.Sleep(300 * time.Millisecond)
	after, err := snapshot(r.f.Hosts)
	if err != nil {
		return nil, out, err
	}
	delta := sshdDelta(before, after)
	var hostConns, execs []int
	for _, h := range r.f.Hosts {
		hostConns = append(hostConns, delta[h.Name].Connections)
		execs = append(execs, delta[h.Name].Sessions)
	}
	p.SSHDConns, p.SSHDExecs = spread(hostConns), spread(execs)
	if logPath != "" {
		fh, err := os.Open(logPath)
		if err != nil {
			return nil, out, err
		}
		pl, err := parseProviderLog(fh)
		fh.Close()
		if err != nil {
			return nil, out, err
		}
		var pc, pe []int
		agree := true
		for _, h := range r.f.Hosts {
			key := fmt.Sprintf("root@%s:%d", h.Addr, h.Port)
			pc = append(pc, pl.Connections[key])
			pe = append(pe, pl.Execs[key])
			if pl.Connections[key] != delta[h.Name].Connections || pl.Execs[key] != delta[h.Name].Sessions {
				agree = false
			}
		}
		sc, se := spread(pc), spread(pe)
		p.ProviderConns, p.ProviderExecs, p.Agree, p.Scripts = &sc, &se, &agree, pl.Scripts
		p.ConnectingProcesses = pl.Pools
	}
	r.rep.Phases = append(r.rep.Phases, p)
	r.logf("%s: %s took %s", tool, phase, wall.Round(time.Millisecond))
	return &r.rep.Phases[len(r.rep.Phases)-1], out, nil
}

func logName(phase string) string {
	return strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(phase)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// terraformEnv is the environment of every terraform command.
func (r *runner) terraformEnv(dir string, extra ...string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TF_") || strings.HasPrefix(kv, "CHECKPOINT_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_INPUT=0",
		"TF_DATA_DIR="+filepath.Join(dir, ".terraform"))
	return append(env, extra...)
}

// loadavg1 is the 1-minute load average ("" when unknown).
func loadavg1() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
