package provider

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/hostops"
	"github.com/tcptune/terraform-provider-tcp/internal/lab"
)

// These tests drive the real terraform CLI with the built provider binary
// (dev_overrides), so that a test can SIGKILL the provider process or
// terraform itself at the worst moment: right after the host changed,
// before the result reaches Terraform.

// cli runs terraform in one working directory with the built provider.
type cli struct {
	t   *testing.T
	rc  string // TF_CLI_CONFIG_FILE
	dir string
}

func newCLI(t *testing.T, rc, config string) *cli {
	t.Helper()
	c := &cli{t: t, rc: rc, dir: t.TempDir()}
	c.write(config)
	return c
}

func (c *cli) write(config string) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, "main.tf"), []byte(config), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cli) cmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, terraformPath(c.t), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+c.rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	return cmd
}

// run runs terraform to the end and returns its combined output.
func (c *cli) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := c.cmd(ctx, append(args, "-no-color")...).CombinedOutput()
	return string(out), err
}

func (c *cli) mustRun(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// holdAfterScript makes the next apply or delete script on h run to its
// end and then hold its answer until release is called: the host has
// changed, the client has not heard. changed is closed when the script is
// done.
func holdAfterScript(t *testing.T, h *lab.Host) (changed <-chan struct{}, release func()) {
	t.Helper()
	dir := t.TempDir()
	done, rel := filepath.Join(dir, "changed"), filepath.Join(dir, "release")
	hook := fmt.Sprintf(`case "$2" in
*'# apply.sh'* | *'# delete.sh'*)
  if mkdir '%[1]s/claimed' 2>/dev/null; then
    /bin/sh "$@" >'%[1]s/out' 2>'%[1]s/err'
    _rc=$?
    : >'%[2]s'
    _i=0
    while [ ! -e '%[3]s' ] && [ "$_i" -lt 1200 ]; do sleep 0.05; _i=$((_i+1)); done
    cat '%[1]s/out'
    cat '%[1]s/err' >&2
    exit "$_rc"
  fi
  ;;
esac
`, dir, done, rel)
	if err := h.SetExecHook(hook); err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		for {
			if _, err := os.Stat(done); err == nil {
				close(ch)
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(stop)
			_ = h.SetExecHook("")
			_ = os.WriteFile(rel, nil, 0o644)
		})
	}
	t.Cleanup(release)
	return ch, release
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// crashDuring runs terraform args and SIGKILLs the provider ("provider") or
// terraform ("terraform") as soon as h's script has changed the host, before
// the answer arrives. It reports whether the kill landed at that moment.
func (c *cli) crashDuring(h *lab.Host, victim string, args ...string) bool {
	c.t.Helper()
	changed, release := holdAfterScript(c.t, h)
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.cmd(ctx, append(args, "-no-color")...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	landed := false
	select {
	case <-changed:
		providers := childrenOf(cmd.Process.Pid)
		switch victim {
		case "provider":
			for _, p := range providers {
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
		default:
			_ = cmd.Process.Kill()
			for _, p := range providers { // orphaned plugins die with it
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
		}
		landed = true
	case err := <-exited:
		c.t.Logf("terraform %s ended before the host changed: %v\n%s", strings.Join(args, " "), err, out.String())
		return false
	}
	release()
	err := <-exited
	if err == nil {
		c.t.Errorf("terraform %s succeeded although its %s was killed:\n%s", strings.Join(args, " "), victim, out.String())
	}
	return landed
}

// hostClean fails unless h holds want for every key, and neither the
// record nor a persisted file remains.
func hostClean(h *lab.Host, want map[string]string, file string) error {
	var bad []string
	for k, v := range want {
		got, err := h.Sysctl(k)
		if err != nil {
			return err
		}
		if collapse(got) != collapse(v) {
			bad = append(bad, fmt.Sprintf("%s = %q, want its original %q", k, got, v))
		}
	}
	if _, ok := persisted(h, file); ok {
		bad = append(bad, file+" left behind")
	}
	if _, err := os.Stat(filepath.Join(h.SysctlDir(), filepath.Base(hostops.RecordPath))); err == nil {
		b, _ := os.ReadFile(filepath.Join(h.SysctlDir(), filepath.Base(hostops.RecordPath)))
		bad = append(bad, fmt.Sprintf("host record left behind: %q", b))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: %s", h.Name, strings.Join(bad, "; "))
	}
	return nil
}

func crashConfig(f *lab.Fleet, h *lab.Host, name string, persist bool, body string) string {
	return `terraform {
  required_providers {
    tcp = { source = "tcptune/tcp" }
  }
}
` + providerBlock(f) + `
resource "tcp_tuning" "t" {
  ` + hostAttrs(h) + `
  name    = "` + name + `"
  persist = ` + strconv.FormatBool(persist) + `
` + body + "\n}\n"
}

// TestAccCrash_killAfterHostChange kills the provider, or terraform, right
// after a host script changed the host and before the answer arrived, in
// create, in an update that adds a key, in one that removes a key, and in
// destroy, with persist true and false. One apply (or destroy) then
// converges, and after destroy every key holds its value from before the
// first apply: nothing lost.
func TestAccCrash_killAfterHostChange(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 4})
	rc := buildProvider(t)
	keys := []string{"net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_tw_reuse"}
	v1 := "  tcp_fin_timeout = 31\n  tcp_tw_reuse = 1\n"
	v2 := v1 + "  tcp_keepalive_time = 600\n"
	phases := []string{"create", "update-add", "update-remove", "destroy"}
	type trial struct {
		phase, victim string
		persist       bool
	}
	var trials []trial
	for _, p := range phases {
		for _, persist := range []bool{true, false} {
			for _, victim := range []string{"provider", "terraform"} {
				trials = append(trials, trial{p, victim, persist})
			}
		}
	}
	var mu sync.Mutex
	lost, landed := 0, 0
	var wg sync.WaitGroup
	for i, h := range f.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := i; j < len(trials); j += len(f.Hosts) {
				tr := trials[j]
				ok := t.Run(fmt.Sprintf("%s/persist=%v/kill-%s", tr.phase, tr.persist, tr.victim), func(t *testing.T) {
					orig := originals(t, &lab.Fleet{Hosts: []*lab.Host{h}}, keys...)[h.Name]
					name := fmt.Sprintf("crash-%d", j)
					file := fmt.Sprintf("90-%s.conf", name)
					c := newCLI(t, rc, crashConfig(f, h, name, tr.persist, v1))
					var hit bool
					switch tr.phase {
					case "create":
						hit = c.crashDuring(h, tr.victim, "apply", "-auto-approve")
					case "update-add", "update-remove":
						start, next := v1, v2
						if tr.phase == "update-remove" {
							start, next = v2, v1
						}
						c.write(crashConfig(f, h, name, tr.persist, start))
						c.mustRun("apply", "-auto-approve")
						c.write(crashConfig(f, h, name, tr.persist, next))
						hit = c.crashDuring(h, tr.victim, "apply", "-auto-approve")
					case "destroy":
						c.mustRun("apply", "-auto-approve")
						hit = c.crashDuring(h, tr.victim, "destroy", "-auto-approve")
					}
					if tr.phase != "destroy" {
						// Recovery: one apply converges; the next plan is empty.
						c.mustRun("apply", "-auto-approve")
						if out, err := c.run("plan", "-detailed-exitcode"); err != nil {
							t.Errorf("plan after recovery is not empty (%v):\n%s", err, out)
						}
					}
					c.mustRun("destroy", "-auto-approve")
					err := hostClean(h, orig, file)
					mu.Lock()
					if hit {
						landed++
					}
					if err != nil {
						lost++
					}
					mu.Unlock()
					if err != nil {
						t.Error(err)
					}
					if !hit {
						t.Error("the kill did not land after the host changed")
					}
				})
				_ = ok
			}
		}()
	}
	wg.Wait()
	t.Logf("%d trials, %d kills right after the host changed, %d hosts with a lost original", len(trials), landed, lost)
}

// destroyAsTold destroys c's state as an operator would: terraform destroy,
// and when that is stopped by the plan of a resource another state owns
// (its apply was refused after terraform had written an empty entry for
// it), the -refresh=false the error tells them to use.
func (c *cli) destroyAsTold() {
	c.t.Helper()
	out, err := c.run("destroy", "-auto-approve")
	if err == nil {
		return
	}
	if !strings.Contains(out, "terraform destroy -refresh=false") {
		c.t.Fatalf("terraform destroy: %v\n%s", err, out)
	}
	c.mustRun("destroy", "-auto-approve", "-refresh=false")
}

// TestAccCrash_twoStatesOneHost applies two states that want the same key on
// one host at the same time, round after round: never do both win, and
// after both are destroyed the original is back. One state has persist =
// false (no file to warn about).
func TestAccCrash_twoStatesOneHost(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	rc := buildProvider(t)
	key := "net.ipv4.tcp_fin_timeout"
	orig := originals(t, f, key)[h.Name]
	const rounds = 4
	for r := range rounds {
		a := newCLI(t, rc, crashConfig(f, h, "state-a", false, "  tcp_fin_timeout = 21\n"))
		b := newCLI(t, rc, crashConfig(f, h, "state-b", true, "  tcp_fin_timeout = 22\n"))
		var wg sync.WaitGroup
		outs := make([]string, 2)
		errs := make([]error, 2)
		for i, c := range []*cli{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], errs[i] = c.run("apply", "-auto-approve")
			}()
		}
		wg.Wait()
		wins := 0
		for i := range errs {
			if errs[i] == nil {
				wins++
			} else if !strings.Contains(outs[i], "Owned by Another tcp_tuning Resource") && !strings.Contains(outs[i], "Host Busy") {
				t.Errorf("round %d: state %d failed for another reason:\n%s", r, i, outs[i])
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d states won the key, want exactly 1\n--- a:\n%s\n--- b:\n%s", r, wins, outs[0], outs[1])
		}
		live, err := h.Sysctl(key)
		if err != nil {
			t.Fatal(err)
		}
		winner := map[bool]string{true: "21", false: "22"}[errs[0] == nil]
		if wins == 1 && live != winner {
			t.Errorf("round %d: live %s = %s, want the winner's %s", r, key, live, winner)
		}
		for _, c := range []*cli{a, b} {
			c.destroyAsTold()
		}
		if err := hostClean(h, orig, "90-state-b.conf"); err != nil {
			t.Errorf("round %d: %v", r, err)
		}
	}
}
