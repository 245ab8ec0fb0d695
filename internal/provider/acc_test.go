package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
	"github.com/tcptune/terraform-provider-tcp/internal/labtest"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// protoV6Factories serves the provider in-process for terraform-plugin-testing.
var protoV6Factories = map[string]func() (tfprotov6.ProviderServer, error){
	"tcp": func() (tfprotov6.ProviderServer, error) { return scoped(New("test")()), nil },
}

// poolRecorder serves the provider in-process and records every pool a
// Configure creates, so tests can read transport counters.
type poolRecorder struct {
	mu    sync.Mutex
	pools []*sshx.Pool
}

func (p *poolRecorder) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"tcp": func() (tfprotov6.ProviderServer, error) {
			prov := &tcpProvider{version: "test", poolHook: func(pool *sshx.Pool) {
				p.mu.Lock()
				p.pools = append(p.pools, pool)
				p.mu.Unlock()
			}}
			return scoped(prov), nil
		},
	}
}

// stats sums the counters of every pool created so far.
func (p *poolRecorder) stats() sshx.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	var s sshx.Stats
	for _, pool := range p.pools {
		ps := pool.Stats()
		s.Connections += ps.Connections
		s.Sessions += ps.Sessions
	}
	return s
}

// accPreCheck requires TF_ACC and a terraform binary (TF_ACC_TERRAFORM_PATH,
// which may be an OpenTofu binary: see cliProviderAddress).
func accPreCheck(t *testing.T) {
	t.Helper()
	labtest.RequireAcc(t, "acceptance test")
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		if p, err := exec.LookPath("terraform"); err == nil {
			t.Setenv("TF_ACC_TERRAFORM_PATH", p)
		} else {
			t.Fatal("no terraform binary: set TF_ACC_TERRAFORM_PATH or put terraform on PATH (make deps builds one)")
		}
	}
	cliProviderAddress(t)
}

// startFleet starts a test fleet for an acceptance test.
func startFleet(t *testing.T, o lab.Options) *lab.Fleet {
	t.Helper()
	accPreCheck(t)
	return labtest.StartT(t, o)
}

// providerBlock is the HCL provider block reaching fleet hosts.
func providerBlock(f *lab.Fleet, extra ...string) string {
	return fmt.Sprintf(`
provider "tcp" {
  private_key      = file(%q)
  known_hosts_file = %q
  timeout          = "20s"
%s
}
`, f.ClientKeyFile, f.KnownHostsFile, strings.Join(extra, "\n"))
}

// hostAttrs is how a resource addresses a fleet host: its host and port
// attributes.
func hostAttrs(h *lab.Host) string {
	return fmt.Sprintf("host = %q\n  port = %d", h.Addr, h.Port)
}

// hostCheck is a state check that asserts on a host's real state.
type hostCheck struct {
	desc string
	fn   func() error
}

func (c hostCheck) CheckState(_ context.Context, _ statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if err := c.fn(); err != nil {
		resp.Error = fmt.Errorf("%s: %w", c.desc, err)
	}
}

// expectSysctl checks a host's live value of key (compared with tabs and
// runs of spaces collapsed).
func expectSysctl(h *lab.Host, key, want string) hostCheck {
	return hostCheck{desc: fmt.Sprintf("%s on %s", key, h.Name), fn: func() error {
		got, err := h.Sysctl(key)
		if err != nil {
			return err
		}
		if collapse(got) != collapse(want) {
			return fmt.Errorf("live value %q, want %q", got, want)
		}
		return nil
	}}
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// persisted returns the content of a host's persisted file ("" and false
// when absent).
func persisted(h *lab.Host, file string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(h.SysctlDir(), file))
	if err != nil {
		return "", false
	}
	return string(b), true
}

// expectFileLine checks the persisted file holds "key = value".
func expectFileLine(h *lab.Host, file, key, value string) hostCheck {
	return hostCheck{desc: fmt.Sprintf("%s in %s on %s", key, file, h.Name), fn: func() error {
		content, ok := persisted(h, file)
		if !ok {
			return fmt.Errorf("file %s missing", file)
		}
		for _, line := range strings.Split(content, "\n") {
			k, v, found := strings.Cut(line, "=")
			if found && strings.TrimSpace(k) == key {
				if collapse(v) == collapse(value) {
					return nil
				}
				return fmt.Errorf("file has %s = %q, want %q", key, strings.TrimSpace(v), value)
			}
		}
		return fmt.Errorf("file has no line for %s:\n%s", key, content)
	}}
}

func expectNoFile(h *lab.Host, file string) hostCheck {
	return hostCheck{desc: fmt.Sprintf("%s absent on %s", file, h.Name), fn: func() error {
		if _, ok := persisted(h, file); ok {
			return fmt.Errorf("file %s still exists", file)
		}
		return nil
	}}
}

// waitFor polls cond (bounded) for conditions that settle asynchronously.
func waitFor(d time.Duration, cond func() bool) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// resourceCheck asserts on one resource's attributes in state, by full
// address (for_each and count instances included, which statecheck's
// built-in checks do not address).
type resourceCheck struct {
	address string
	fn      func(attrs map[string]any) error
}

func (c resourceCheck) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil || req.State.Values == nil || req.State.Values.RootModule == nil {
		resp.Error = fmt.Errorf("%s: no state", c.address)
		return
	}
	for _, r := range req.State.Values.RootModule.Resources {
		if r.Address == c.address {
			if err := c.fn(r.AttributeValues); err != nil {
				resp.Error = fmt.Errorf("%s: %w", c.address, err)
			}
			return
		}
	}
	resp.Error = fmt.Errorf("%s: not in state", c.address)
}

// expectAttr checks attrs[path...] == want, walking maps by key.
func expectAttr(address string, want any, path ...string) resourceCheck {
	return resourceCheck{address: address, fn: func(attrs map[string]any) error {
		var cur any = attrs
		for _, p := range path {
			m, ok := cur.(map[string]any)
			if !ok {
				return fmt.Errorf("%v: not an object at %q", path, p)
			}
			cur = m[p]
		}
		if fmt.Sprint(cur) != fmt.Sprint(want) {
			return fmt.Errorf("%v = %v, want %v", path, cur, want)
		}
		return nil
	}}
}

// traceHook makes every later SSH login on h whose command contains match
// ("" = every login) run under strace, one trace file per login in the
// returned directory. extra are strace options (filters, fault injection).
// Tracing sees what a host script really does to the host, whatever tools
// or shell builtins it uses.
func traceHook(t *testing.T, h *lab.Host, match string, extra ...string) (dir string) {
	t.Helper()
	strace := labtest.Strace(t)
	dir = t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	args := []string{sshx.ShellQuote(strace), "-f", "-qq", "-o", sshx.ShellQuote(dir) + "/trace.$$"}
	for _, a := range extra {
		args = append(args, sshx.ShellQuote(a))
	}
	cmd := "exec " + strings.Join(args, " ") + ` /bin/sh "$@"`
	hook := cmd + "\n"
	if match != "" {
		hook = fmt.Sprintf("case \"$2\" in\n*%s*) %s ;;\nesac\n", sshx.ShellQuote(match), cmd)
	}
	if err := h.SetExecHook(hook); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.SetExecHook("") })
	return dir
}

// hostWrites lists, from the traces in dir, every successful open of a
// /proc/sys file for writing and every rename, unlink or open for writing
// under /etc/sysctl.d (traceHook with writeTraceFilter).
func hostWrites(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "trace.*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "execve(") {
				continue // the scripts' own text, not what they did
			}
			writeOpen := strings.Contains(l, "open") && (strings.Contains(l, "O_WRONLY") || strings.Contains(l, "O_RDWR"))
			switch {
			case strings.Contains(l, `"/proc/sys/`) && writeOpen:
				out = append(out, l)
			case strings.Contains(l, `"/etc/sysctl.d`) && (writeOpen || strings.Contains(l, "rename") || strings.Contains(l, "unlink")):
				out = append(out, l)
			}
		}
	}
	return out
}

// writeTraceFilter is the strace filter hostWrites reads (execve too, with
// strings long enough to hold a whole script, so a trace shows which one a
// login ran).
var writeTraceFilter = []string{"-s", "65536", "-e", "trace=execve,open,openat,rename,renameat,renameat2,unlink,unlinkat", "-e", "status=successful"}

// tracedScript reports whether a login traced into dir ran a script whose
// first line contains marker.
func tracedScript(t *testing.T, dir, marker string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "trace.*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), marker) {
			return true
		}
	}
	return false
}
