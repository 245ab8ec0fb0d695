package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// provider measures terraform-provider-tcp: create, no-change plan, drift
// repair, destroy.
func (r *runner) provider(ctx context.Context) error {
	dir := filepath.Join(r.work, ToolProvider)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := render("provider.tf.tmpl", filepath.Join(dir, "main.tf"), r.data(dir, ProviderFile)); err != nil {
		return err
	}
	rc := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"tcptune/tcp\" = %q\n  }\n  direct {}\n}\n", filepath.Dir(r.o.ProviderBinary))
	rcPath := filepath.Join(dir, "terraformrc")
	if err := os.WriteFile(rcPath, []byte(rc), 0o644); err != nil {
		return err
	}
	par := "-parallelism=" + strconv.Itoa(r.o.Parallelism)
	step := func(phase string, args []string) (*Phase, error) {
		logPath := filepath.Join(dir, logName(phase)+".log")
		_ = os.Remove(logPath)
		env := r.terraformEnv(dir, "TF_CLI_CONFIG_FILE="+rcPath, "TF_LOG_PROVIDER=DEBUG", "TF_LOG_PATH="+logPath)
		p, _, err := r.measure(ctx, ToolProvider, phase, command{dir: dir, env: env, args: append([]string{r.o.Terraform}, args...)}, logPath)
		return p, err
	}
	p, err := step(PhaseApply, []string{"apply", "-auto-approve", "-no-color", par})
	if err != nil {
		return err
	}
	if err := verifyApplied(r.f.Hosts, ProviderFile); err != nil {
		return err
	}
	p.Note = "all hosts verified"
	// -detailed-exitcode: 0 = no changes, 2 = changes.
	if p, err = step(PhasePlan, []string{"plan", "-no-color", "-detailed-exitcode", par}); err != nil {
		return fmt.Errorf("%w (a plan right after the apply must be empty)", err)
	}
	p.Note = "empty plan"
	if err := drift(r.f.Hosts); err != nil {
		return err
	}
	if p, err = step(PhaseDrift, []string{"apply", "-auto-approve", "-no-color", par}); err != nil {
		return err
	}
	if err := verifyApplied(r.f.Hosts, ProviderFile); err != nil {
		return fmt.Errorf("after the drift repair: %w", err)
	}
	p.Note = fmt.Sprintf("%s changed out of band on every host; detected and repaired", DriftKey)
	if p, err = step(PhaseDestroy, []string{"destroy", "-auto-approve", "-no-color", par}); err != nil {
		return err
	}
	if err := verifyRestored(r.f.Hosts, r.base, ProviderFile); err != nil {
		return err
	}
	p.Note = "original values restored, file removed"
	return nil
}

var recapRE = regexp.MustCompile(`(?m)^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// recap sums ansible's PLAY RECAP: hosts seen, hosts changed, failures.
func recap(out []byte) (hosts, changed, failed int) {
	for _, m := range recapRE.FindAllSubmatch(out, -1) {
		hosts++
		if c, _ := strconv.Atoi(string(m[3])); c > 0 {
			changed++
		}
		u, _ := strconv.Atoi(string(m[4]))
		f, _ := strconv.Atoi(string(m[5]))
		if u+f > 0 {
			failed++
		}
	}
	return
}

// ansible measures ansible.posix.sysctl: first run, no-change run, drift
// repair. Without pipelining it runs with Ansible's defaults (forks 5).
func (r *runner) ansible(ctx context.Context, pipelining bool) error {
	tool := ToolAnsible
	forks := 5
	if pipelining {
		tool, forks = ToolAnsiblePipelining, r.o.Parallelism
	}
	dir := filepath.Join(r.work, tool)
	for _, d := range []string{dir, filepath.Join(dir, "local-tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	// ssh's ControlPath is a unix socket path (at most 107 bytes): keep it
	// short, whatever the work directory.
	cp, err := os.MkdirTemp("", "fbcp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cp)
	d := r.data(dir, AnsibleFile)
	d.ControlPathDir = cp
	for name, file := range map[string]string{"inventory.ini.tmpl": "inventory.ini", "playbook.yml.tmpl": "playbook.yml", "ansible.cfg.tmpl": "ansible.cfg"} {
		if err := render(name, filepath.Join(dir, file), d); err != nil {
			return err
		}
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ANSIBLE_") {
			env = append(env, kv)
		}
	}
	env = append(env, "ANSIBLE_CONFIG="+filepath.Join(dir, "ansible.cfg"), "ANSIBLE_FORKS="+strconv.Itoa(forks),
		"ANSIBLE_PIPELINING="+strconv.FormatBool(pipelining), "ANSIBLE_STDOUT_CALLBACK=default", "ANSIBLE_NOCOLOR=1")
	c := command{dir: dir, env: env, args: []string{r.o.AnsiblePlaybook, "playbook.yml"}}
	settings := fmt.Sprintf("forks %d, pipelining %v", forks, pipelining)
	step := func(phase string) (*Phase, []byte, error) {
		defer r.closeControlMasters(cp)
		p, out, err := r.measure(ctx, tool, phase, c, "")
		if err != nil {
			return nil, out, err
		}
		hosts, _, failed := recap(out)
		if hosts != len(r.f.Hosts) || failed != 0 {
			return nil, out, fmt.Errorf("%s: PLAY RECAP shows %d hosts, %d failed:\n%s", phase, hosts, failed, lastLines(out, 30))
		}
		return p, out, nil
	}
	p, _, err := step(PhaseApply)
	if err != nil {
		return err
	}
	if err := verifyApplied(r.f.Hosts, AnsibleFile); err != nil {
		return err
	}
	p.Note = settings + "; all hosts verified"
	p, out, err := step(PhaseRerun)
	if err != nil {
		return err
	}
	if _, changed, _ := recap(out); changed != 0 {
		return fmt.Errorf("the second run changed %d hosts, want 0", changed)
	}
	p.Note = "idempotent re-run: changed=0 (Ansible has no plan; `--check` would cost the same round trips)"
	if err := drift(r.f.Hosts); err != nil {
		return err
	}
	if p, _, err = step(PhaseDrift); err != nil {
		return err
	}
	if err := verifyApplied(r.f.Hosts, AnsibleFile); err != nil {
		return fmt.Errorf("after the drift repair: %w", err)
	}
	p.Note = "repaired (reload: true compares the live value); no restore of original values exists"
	return nil
}

// closeControlMasters ends the ControlPersist masters of one run, so the
// next run pays for its own connections as a fresh ansible-playbook would
// after ControlPersist expires.
func (r *runner) closeControlMasters(cpDir string) {
	ents, err := os.ReadDir(cpDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		sock := filepath.Join(cpDir, e.Name())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = exec.CommandContext(ctx, "ssh", "-o", "ControlPath="+sock, "-O", "exit", "fleetbench").Run()
		cancel()
		_ = os.Remove(sock)
	}
}

// remoteExec measures terraform_data + remote-exec: create, a no-change
// plan, a plan after drift (which cannot see it), destroy.
func (r *runner) remoteExec(ctx context.Context) error {
	dir := filepath.Join(r.work, ToolRemoteExec)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := render("remote_exec.tf.tmpl", filepath.Join(dir, "main.tf"), r.data(dir, RemoteExecFile)); err != nil {
		return err
	}
	env := r.terraformEnv(dir)
	if out, err := r.run(ctx, command{dir: dir, env: env, args: []string{r.o.Terraform, "init", "-no-color"}}); err != nil {
		return fmt.Errorf("terraform init: %v\n%s", err, lastLines(out, 20))
	}
	par := "-parallelism=" + strconv.Itoa(r.o.Parallelism)
	step := func(phase string, args []string) (*Phase, error) {
		p, _, err := r.measure(ctx, ToolRemoteExec, phase, command{dir: dir, env: env, args: append([]string{r.o.Terraform}, args...)}, "")
		return p, err
	}
	p, err := step(PhaseApply, []string{"apply", "-auto-approve", "-no-color", par})
	if err != nil {
		return err
	}
	if err := verifyApplied(r.f.Hosts, RemoteExecFile); err != nil {
		return err
	}
	p.Note = "all hosts verified"
	if p, err = step(PhasePlan, []string{"plan", "-no-color", "-detailed-exitcode", par}); err != nil {
		return err
	}
	p.Note = "empty plan: nothing is read from the hosts"
	if err := drift(r.f.Hosts); err != nil {
		return err
	}
	// -detailed-exitcode 0: the plan sees no change although every host drifted.
	if p, err = step(PhaseDriftPlan, []string{"plan", "-no-color", "-detailed-exitcode", par}); err != nil {
		return err
	}
	p.Note = "drift NOT detected (plan empty); repairing needs -replace of every host"
	if p, err = step(PhaseDestroy, []string{"destroy", "-auto-approve", "-no-color", par}); err != nil {
		return err
	}
	p.Note = "removes state only: values and file stay on the hosts"
	return nil
}

// terraformOnly measures Terraform alone on as many resources as the fleet
// has hosts (terraform_data, no SSH): create, a no-change plan, destroy.
// The provider's rows less these are what the provider and the hosts add.
func (r *runner) terraformOnly(ctx context.Context) error {
	dir := filepath.Join(r.work, ToolTerraformOnly)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := render("terraform_only.tf.tmpl", filepath.Join(dir, "main.tf"), r.data(dir, "")); err != nil {
		return err
	}
	env := r.terraformEnv(dir)
	if out, err := r.run(ctx, command{dir: dir, env: env, args: []string{r.o.Terraform, "init", "-no-color"}}); err != nil {
		return fmt.Errorf("terraform init: %v\n%s", err, lastLines(out, 20))
	}
	par := "-parallelism=" + strconv.Itoa(r.o.Parallelism)
	for _, s := range []struct {
		phase string
		args  []string
		note  string
	}{
		{PhaseApply, []string{"apply", "-auto-approve", "-no-color", par}, "terraform_data, no SSH: Terraform's own cost"},
		{PhasePlan, []string{"plan", "-no-color", "-detailed-exitcode", par}, "empty plan"},
		{PhaseDestroy, []string{"destroy", "-auto-approve", "-no-color", par}, ""},
	} {
		p, _, err := r.measure(ctx, ToolTerraformOnly, s.phase, command{dir: dir, env: env, args: append([]string{r.o.Terraform}, s.args...)}, "")
		if err != nil {
			return err
		}
		if p.SSHDConns.Max != 0 {
			return fmt.Errorf("terraform-only %s: %s SSH connections per host, want none", s.phase, p.SSHDConns)
		}
		p.Note = s.note
	}
	return nil
}
