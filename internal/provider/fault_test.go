package provider

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"golang.org/x/crypto/ssh"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
)

// Fault injection across a fleet (issue 7 §3): hosts down, a host that
// never speaks SSH, a connection cut during an apply, a changed host key,
// a bastion with MaxStartups 3 in front of MaxSessions 1 targets, and no
// secret in TF_LOG=TRACE output. Every test asserts on the hosts' real
// /proc/sys and /etc/sysctl.d, not only on state.

// faultProvider is a provider block for fault tests: a short connect
// budget so unreachable hosts fail fast.
func faultProvider(f *lab.Fleet, timeout string, extra ...string) string {
	return fmt.Sprintf(`
provider "tcp" {
  private_key      = file(%q)
  known_hosts_file = %q
  timeout          = %q
%s
}
`, f.ClientKeyFile, f.KnownHostsFile, timeout, strings.Join(extra, "\n"))
}

// faultConfig manages body on every host of f with count (the testing
// framework's state shim cannot address for_each instances).
func faultConfig(provider string, f *lab.Fleet, body string) string {
	return provider + hostsLocal(f) + `
resource "tcp_tuning" "t" {
  count = length(local.hosts)
  host  = local.hosts[count.index].addr
  port  = local.hosts[count.index].port
` + body + "\n}\n"
}

// settingSet is a set of managed values: HCL attribute -> sysctl key -> value.
type settingSet []struct{ attr, key, value string }

func (tu settingSet) hcl() string {
	var b strings.Builder
	for _, s := range tu {
		fmt.Fprintf(&b, "  %s = %s\n", s.attr, s.value)
	}
	return b.String()
}

// liveState describes what a host holds for tu's keys: "new" when every
// live value and the persisted file match tu, "old" when every live value
// equals before and the file is absent, otherwise a description of the mix.
func liveState(h *lab.Host, tu settingSet, before map[string]string, oldFile string) (string, error) {
	liveNew, liveOld := 0, 0
	var mix []string
	for _, s := range tu {
		got, err := h.Sysctl(s.key)
		if err != nil {
			return "", err
		}
		switch collapse(got) {
		case collapse(s.value):
			liveNew++
		case collapse(before[s.key]):
			liveOld++
		}
		mix = append(mix, fmt.Sprintf("%s=%s", s.key, got))
	}
	content, exists := persisted(h, defaultFile)
	fileNew := exists
	for _, s := range tu {
		if !strings.Contains(content, s.key+" = "+s.value+"\n") {
			fileNew = false
		}
	}
	switch {
	case liveNew == len(tu) && fileNew:
		return "new", nil
	case liveOld == len(tu) && ((!exists && oldFile == "") || (exists && content == oldFile)):
		return "old", nil
	}
	return "", fmt.Errorf("%s is half-applied: live %s; file exists=%v:\n%s", h.Name, strings.Join(mix, " "), exists, content)
}

// expectLive checks every value of tu is live and persisted on h.
func expectLive(h *lab.Host, tu settingSet) error {
	for _, s := range tu {
		got, err := h.Sysctl(s.key)
		if err != nil {
			return err
		}
		if collapse(got) != collapse(s.value) {
			return fmt.Errorf("%s: %s = %q, want %q", h.Name, s.key, got, s.value)
		}
	}
	content, ok := persisted(h, defaultFile)
	if !ok {
		return fmt.Errorf("%s: %s missing", h.Name, defaultFile)
	}
	for _, s := range tu {
		if !strings.Contains(content, s.key+" = "+s.value+"\n") {
			return fmt.Errorf("%s: %s lacks %s = %s:\n%s", h.Name, defaultFile, s.key, s.value, content)
		}
	}
	return nil
}

// expectUntouched checks h still has the values of before and no file.
func expectUntouched(h *lab.Host, before map[string]string) error {
	for k, want := range before {
		got, err := h.Sysctl(k)
		if err != nil {
			return err
		}
		if collapse(got) != collapse(want) {
			return fmt.Errorf("%s: %s = %q, want it untouched (%q)", h.Name, k, got, want)
		}
	}
	if _, ok := persisted(h, defaultFile); ok {
		return fmt.Errorf("%s: %s exists on a host that must be untouched", h.Name, defaultFile)
	}
	return nil
}

// anyOrder matches every one of parts, in any order (Go regexps have no
// lookahead). For a handful of parts only.
func anyOrder(prefix string, parts ...string) *regexp.Regexp {
	var alts []string
	var perm func(done []string, rest []string)
	perm = func(done, rest []string) {
		if len(rest) == 0 {
			alts = append(alts, strings.Join(done, ".*"))
			return
		}
		for i := range rest {
			next := append(append([]string{}, rest[:i]...), rest[i+1:]...)
			perm(append(append([]string{}, done...), regexp.QuoteMeta(rest[i])), next)
		}
	}
	perm(nil, parts)
	return regexp.MustCompile(`(?s)` + prefix + `.*(?:` + strings.Join(alts, "|") + `)`)
}

// endpointOf is how diagnostics name a host: user@addr:port.
func endpointOf(h *lab.Host) string { return fmt.Sprintf("root@%s:%d", h.Addr, h.Port) }

// upperBound is a correctness bound, not a performance assertion: an
// operation that fails "within the provider timeout" must not run into the
// resource's 5-minute operation timeout or hang.
const upperBound = 90 * time.Second

func TestAccFault_threeOfTwentyHostsDown(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 20})
	tu := settingSet{
		{"tcp_fin_timeout", "net.ipv4.tcp_fin_timeout", "31"},
		{"tcp_keepalive_probes", "net.ipv4.tcp_keepalive_probes", "7"},
	}
	orig := originals(t, f, "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_probes")
	down := map[int]bool{2: true, 9: true, 15: true}
	var downEPs []string
	for i := range down {
		downEPs = append(downEPs, endpointOf(f.Hosts[i]))
	}
	cfg := faultConfig(faultProvider(f, "5s"), f, tu.hcl())
	var started time.Time
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, defaultFile),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					for i := range down {
						f.Hosts[i].Down()
					}
					started = time.Now()
				},
				Config: cfg,
				// One per-host error for each of the three, each naming its host.
				ExpectError: anyOrder(`(?:Host Unreachable|Timed Out)`, downEPs...),
			},
			{
				PreConfig: func() {
					d := time.Since(started)
					t.Logf("the apply with 3 of 20 hosts down failed after %s", d.Round(time.Millisecond))
					if d > upperBound {
						t.Errorf("the apply with 3 hosts down took %s; with timeout = 5s it must fail fast", d)
					}
					// The 17 others applied; the 3 are untouched.
					for i, h := range f.Hosts {
						var err error
						if down[i] {
							err = expectUntouched(h, orig[h.Name])
						} else {
							err = expectLive(h, tu)
						}
						if err != nil {
							t.Error(err)
						}
					}
					for i := range down {
						if err := f.Hosts[i].Up(); err != nil {
							t.Fatal(err)
						}
					}
				},
				// The hosts are back: the same config converges, no manual step.
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{hostCheck{desc: "all 20 hosts converged", fn: func() error {
					for _, h := range f.Hosts {
						if err := expectLive(h, tu); err != nil {
							return err
						}
					}
					return nil
				}}},
			},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

func TestAccFault_hostNeverSpeaksSSH(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	h.Mute(true)
	before := originals(t, f, "net.ipv4.tcp_keepalive_time")
	start := time.Now()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{{
			Config:      faultConfig(faultProvider(f, "3s"), f, "  tcp_keepalive_time = 900\n"),
			ExpectError: regexp.MustCompile(`(?s)(?:Timed Out|Host Unreachable).*` + regexp.QuoteMeta(endpointOf(h))),
		}},
	})
	if d := time.Since(start); d > upperBound {
		t.Errorf("a muted host took %s to fail with timeout = 3s", d)
	}
	if h.ConnectionsAccepted() == 0 {
		t.Error("the muted host accepted no connection: the test did not exercise the silent handshake")
	}
	t.Logf("muted host accepted %d TCP connection(s) in %s", h.ConnectionsAccepted(), time.Since(start).Round(time.Millisecond))
	if err := expectUntouched(h, before[h.Name]); err != nil {
		t.Error(err)
	}
}

// cutTunings are the two configurations the connection-cut tests apply:
// A first, then B, whose apply is cut. aVals are A's values by key.
func cutTunings() (a, b settingSet, aVals map[string]string) {
	a = settingSet{
		{"tcp_fin_timeout", "net.ipv4.tcp_fin_timeout", "41"},
		{"tcp_keepalive_probes", "net.ipv4.tcp_keepalive_probes", "4"},
		{"somaxconn", "net.core.somaxconn", "1111"},
	}
	b = settingSet{
		{"tcp_fin_timeout", "net.ipv4.tcp_fin_timeout", "42"},
		{"tcp_keepalive_probes", "net.ipv4.tcp_keepalive_probes", "5"},
		{"somaxconn", "net.core.somaxconn", "2222"},
	}
	aVals = map[string]string{}
	for _, s := range a {
		aVals[s.key] = s.value
	}
	return a, b, aVals
}

// whenever polls cond every 5 ms in the background until it holds, then
// runs then once. It stops polling when the test ends.
func whenever(t *testing.T, cond func() bool, then func()) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if cond() {
				then()
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
	})
}

// applyMarker is a line of hostops' apply script: a session whose command
// contains it is an apply, not a read.
const applyMarker = "# apply.sh: all-or-nothing apply"

// cutDuringApply arms the lab's one-shot cut (lab.Host.CutOnNextExec) for
// the next apply session on h: it pauses before its script runs, the test's
// fleet cuts every connection of the host (the client sees its session die
// without an exit status) and releases the session. With thenRun the script
// then runs (stdin is what reached sshd before the cut; its output goes
// nowhere), without it the script never runs. Reads are not affected. The
// returned channel is closed after the cut.
func cutDuringApply(t *testing.T, h *lab.Host, thenRun bool) <-chan struct{} {
	t.Helper()
	done, err := h.CutOnNextExec(applyMarker, thenRun)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.SetExecHook("") })
	return done
}

// trueStatePlanned is a plan check: the plan of addr starts from the host's
// real values (the refresh read them), and its action follows from them.
type trueStatePlanned struct {
	addr string
	h    *lab.Host
	tu   settingSet
}

func (c trueStatePlanned) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != c.addr {
			continue
		}
		before, _ := rc.Change.Before.(map[string]any)
		allNew := true
		for _, s := range c.tu {
			live, err := c.h.Sysctl(s.key)
			if err != nil {
				resp.Error = err
				return
			}
			if got := fmt.Sprint(before[s.attr]); got != collapse(live) {
				resp.Error = fmt.Errorf("%s: plan starts from %s = %s, but the host has %q: the refresh did not read the true state", c.addr, s.attr, got, live)
				return
			}
			allNew = allNew && collapse(live) == s.value
		}
		noop := len(rc.Change.Actions) == 1 && rc.Change.Actions[0] == "no-op"
		if allNew && !noop {
			resp.Error = fmt.Errorf("%s: host already has every value, yet the plan is %v", c.addr, rc.Change.Actions)
		}
		if !allNew && noop {
			resp.Error = fmt.Errorf("%s: host lacks the values, yet the plan is a no-op", c.addr)
		}
		return
	}
	resp.Error = fmt.Errorf("%s: not in the plan", c.addr)
}

func TestAccFault_connectionCutDuringApply(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 4})
	orig := originals(t, f, "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_probes", "net.core.somaxconn")
	a, b, aVals := cutTunings()
	p := faultProvider(f, "10s")
	ran, skipped := f.Hosts[1], f.Hosts[2] // the script runs after the cut / never runs
	var aFile = map[string]string{}
	var cutRan, cutSkipped <-chan struct{}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, defaultFile),
		Steps: []resource.TestStep{
			{Config: faultConfig(p, f, a.hcl()), ConfigStateChecks: []statecheck.StateCheck{hostCheck{desc: "A applied", fn: func() error {
				for _, h := range f.Hosts {
					if err := expectLive(h, a); err != nil {
						return err
					}
					aFile[h.Name], _ = persisted(h, defaultFile)
				}
				return nil
			}}}},
			{
				PreConfig: func() {
					cutRan = cutDuringApply(t, ran, true)
					cutSkipped = cutDuringApply(t, skipped, false)
				},
				Config:      faultConfig(p, f, b.hcl()),
				ExpectError: anyOrder(`Outcome Unknown`, endpointOf(ran), endpointOf(skipped)),
			},
			{
				PreConfig: func() {
					for _, c := range []<-chan struct{}{cutRan, cutSkipped} {
						select {
						case <-c:
						default:
							t.Fatal("the connection cut never happened: no apply session reached the host")
						}
					}
					// No other host affected.
					for _, h := range []*lab.Host{f.Hosts[0], f.Hosts[3]} {
						if err := expectLive(h, b); err != nil {
							t.Error(err)
						}
					}
					// Never half-applied: all old or all new, file included.
					for _, h := range []*lab.Host{ran, skipped} {
						// A script released after the cut may still be
						// finishing: wait (bounded) for a settled state.
						var st string
						var err error
						waitFor(15*time.Second, func() bool {
							st, err = liveState(h, b, aVals, aFile[h.Name])
							return err == nil
						})
						if err != nil {
							t.Fatal(err)
						}
						t.Logf("%s after the cut: %s values", h.Name, st)
						if h == skipped && st != "old" {
							t.Errorf("%s: the script never ran, yet the host has the %s values", h.Name, st)
						}
					}
				},
				// The next plan starts from each host's true state.
				Config: faultConfig(p, f, b.hcl()),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						trueStatePlanned{addr: "tcp_tuning.t[1]", h: ran, tu: b},
						trueStatePlanned{addr: "tcp_tuning.t[2]", h: skipped, tu: b},
						plancheck.ExpectResourceAction("tcp_tuning.t[0]", plancheck.ResourceActionNoop),
						plancheck.ExpectResourceAction("tcp_tuning.t[3]", plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{hostCheck{desc: "converged after the cut", fn: func() error {
					for _, h := range f.Hosts {
						if err := expectLive(h, b); err != nil {
							return err
						}
					}
					return nil
				}}},
			},
		},
	})
}

// cutBetweenWrites arms a one-shot fault on h: the next apply script runs
// under strace with every open of tu's /proc/sys files but the first key's
// (the apply writes keys in sorted order) delayed by a second, so a second
// passes between the first write and the next; as soon as the first value
// is live the test cuts every connection of the host. The returned function
// reports, after the apply, whether the cut happened and how many values
// were live when it did.
func cutBetweenWrites(t *testing.T, h *lab.Host, tu settingSet, before map[string]string) func() (cut bool, newAtCut int) {
	t.Helper()
	var keys []string
	for _, s := range tu {
		keys = append(keys, s.key)
	}
	slices.Sort(keys)
	extra := []string{"-e", "trace=open,openat", "-e", "inject=open,openat:delay_enter=1000000"}
	for _, k := range keys[1:] {
		extra = append(extra, "-P", "/proc/sys/"+strings.ReplaceAll(k, ".", "/"))
	}
	traceHook(t, h, applyMarker, extra...)
	var mu sync.Mutex
	cut, newAtCut := false, 0
	live := 0
	whenever(t, func() bool {
		live = 0
		for _, s := range tu {
			if v, err := h.Sysctl(s.key); err == nil && collapse(v) == s.value && collapse(v) != collapse(before[s.key]) {
				live++
			}
		}
		return live > 0
	}, func() {
		h.CutConnections()
		_ = h.SetExecHook("")
		mu.Lock()
		cut, newAtCut = true, live
		mu.Unlock()
	})
	return func() (bool, int) {
		mu.Lock()
		defer mu.Unlock()
		return cut, newAtCut
	}
}

// TestAccFault_connectionCutBetweenWrites cuts the connection while an
// update's apply script is between two live writes, the worst moment: the
// host is half-applied right then. The script ignores SIGHUP and SIGPIPE and
// prints nothing before it is done, so it finishes on its own: the provider
// says Outcome Unknown, the host ends entirely new (values and file), the
// other host is unaffected, and the next plan starts from the true state.
func TestAccFault_connectionCutBetweenWrites(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 2})
	orig := originals(t, f, "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_probes", "net.core.somaxconn")
	a, b, aVals := cutTunings()
	victim := f.Hosts[1]
	p := faultProvider(f, "10s")
	var result func() (bool, int)
	var aFile string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, defaultFile),
		Steps: []resource.TestStep{
			{Config: faultConfig(p, f, a.hcl()), ConfigStateChecks: []statecheck.StateCheck{hostCheck{desc: "A applied", fn: func() error {
				aFile, _ = persisted(victim, defaultFile)
				return expectLive(victim, a)
			}}}},
			{
				PreConfig:   func() { result = cutBetweenWrites(t, victim, b, aVals) },
				Config:      faultConfig(p, f, b.hcl()),
				ExpectError: regexp.MustCompile(`(?s)Outcome Unknown.*` + regexp.QuoteMeta(endpointOf(victim))),
			},
			{
				PreConfig: func() {
					cut, n := result()
					if !cut {
						t.Fatal("the cut never happened: no value of the update became live")
					}
					if n == len(b) {
						t.Fatalf("at the cut all %d values were live: the cut was not between two writes", n)
					}
					t.Logf("cut with %d of %d values written", n, len(b))
					if err := expectLive(f.Hosts[0], b); err != nil {
						t.Error(err)
					}
					var st string
					var err error
					waitFor(15*time.Second, func() bool {
						st, err = liveState(victim, b, aVals, aFile)
						return err == nil && st == "new"
					})
					if err != nil || st != "new" {
						t.Fatalf("after a cut between writes the script must finish on its own: state %q, %v", st, err)
					}
				},
				Config: faultConfig(p, f, b.hcl()),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						trueStatePlanned{addr: "tcp_tuning.t[1]", h: victim, tu: b},
						plancheck.ExpectResourceAction("tcp_tuning.t[0]", plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{hostCheck{desc: "converged after the cut", fn: func() error {
					for _, h := range f.Hosts {
						if err := expectLive(h, b); err != nil {
							return err
						}
					}
					return nil
				}}},
			},
		},
	})
}

func TestAccFault_hostKeyChanged(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 3})
	orig := originals(t, f, "net.ipv4.tcp_keepalive_intvl")
	tu := settingSet{{"tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_intvl", "33"}}
	bad := f.Hosts[1]
	if err := bad.RotateHostKey(); err != nil {
		t.Fatal(err)
	}
	cfg := faultConfig(faultProvider(f, "10s"), f, tu.hcl())
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, defaultFile),
		Steps: []resource.TestStep{
			{Config: cfg, ExpectError: regexp.MustCompile(`(?s)Host Key Mismatch.*` + regexp.QuoteMeta(endpointOf(bad)))},
			{
				// The others are applied; the bad host stays untouched and
				// keeps failing closed on the next apply.
				PreConfig: func() {
					for _, h := range []*lab.Host{f.Hosts[0], f.Hosts[2]} {
						if err := expectLive(h, tu); err != nil {
							t.Error(err)
						}
					}
					if err := expectUntouched(bad, orig[bad.Name]); err != nil {
						t.Error(err)
					}
				},
				Config:      cfg,
				ExpectError: regexp.MustCompile(`(?s)Host Key Mismatch.*` + regexp.QuoteMeta(endpointOf(bad))),
			},
		},
	})
	st, err := bad.SSHDStats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Connections == 0 {
		t.Error("the host with a changed key saw no connection: the test did not exercise the key check")
	}
	if st.Accepted != 0 || st.Sessions != 0 {
		t.Errorf("host with a changed key: %d login(s) and %d session(s), want none (fail closed before authentication)", st.Accepted, st.Sessions)
	}
	if err := expectUntouched(bad, orig[bad.Name]); err != nil {
		t.Error(err)
	}
	t.Logf("host with a changed key: %d connection(s), no login", st.Connections)
}

func TestAccFault_bastionMaxStartups(t *testing.T) {
	const hosts = 20
	f := startFleet(t, lab.Options{Hosts: hosts, Bastion: true, BastionMaxStartups: "3", MaxSessions: 1})
	orig := originals(t, f, "net.ipv4.tcp_fin_timeout", "net.core.somaxconn")
	tu := settingSet{
		{"tcp_fin_timeout", "net.ipv4.tcp_fin_timeout", "37"},
		{"somaxconn", "net.core.somaxconn", "3333"},
	}
	// terraform-plugin-testing has no parallelism option; terraform reads
	// extra arguments from TF_CLI_ARGS_<command>.
	t.Setenv("TF_CLI_ARGS_plan", "-parallelism=20")
	t.Setenv("TF_CLI_ARGS_apply", "-parallelism=20")
	t.Setenv("TF_CLI_ARGS_destroy", "-parallelism=20")
	b := f.Bastion
	p := faultProvider(f, "30s",
		fmt.Sprintf("  bastion_host     = %q", b.Addr),
		fmt.Sprintf("  bastion_port     = %d", b.Port),
		fmt.Sprintf("  bastion_host_key = %q", b.HostKey))
	rec := &poolRecorder{}
	// A tcp_stats beside each tcp_tuning: two operations at once on every
	// host (the provider allows max_sessions_per_host = 2 by default) against
	// sshd's MaxSessions 1, so refused sessions are retried, not failures.
	cfg := faultConfig(p, f, tu.hcl()) + `
data "tcp_stats" "s" {
  count = length(local.hosts)
  host  = local.hosts[count.index].addr
  port  = local.hosts[count.index].port
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: rec.factories(),
		CheckDestroy:             restoredAndRemoved(f, orig, defaultFile),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{hostCheck{desc: "all hosts applied through the bastion", fn: func() error {
				for _, h := range f.Hosts {
					if err := expectLive(h, tu); err != nil {
						return err
					}
				}
				return nil
			}}}},
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
	// One bastion connection per provider instance, one connection per host.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	used := 0
	for i, pool := range rec.pools {
		s := pool.Stats()
		switch s.Connections {
		case 0:
		case hosts + 1:
			used++
		default:
			t.Errorf("provider instance %d opened %d SSH connections, want %d (one per host plus one bastion connection)", i, s.Connections, hosts+1)
		}
	}
	if used == 0 {
		t.Fatal("no provider instance connected to the hosts")
	}
	bs, err := b.SSHDStats()
	if err != nil {
		t.Fatal(err)
	}
	if bs.Connections != used {
		t.Errorf("bastion sshd saw %d connections, want %d (one per provider instance that connected)", bs.Connections, used)
	}
	refusals := 0
	for _, h := range f.Hosts {
		s, err := h.SSHDStats()
		if err != nil {
			t.Fatal(err)
		}
		if s.Connections != used {
			t.Errorf("%s: sshd saw %d connections, want %d (one per provider instance)", h.Name, s.Connections, used)
		}
		b, _ := os.ReadFile(h.LogFile)
		refusals += strings.Count(string(b), "no more sessions")
	}
	t.Logf("sessions refused by MaxSessions 1 and retried: %d", refusals)
	t.Logf("%d provider instances connected; bastion connections %d", used, bs.Connections)
}

// buildProvider builds the provider binary and returns a terraform CLI
// configuration (dev_overrides) that uses it.
func buildProvider(t *testing.T) (cliConfig string) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "terraform-provider-tcp"), "github.com/tcptune/terraform-provider-tcp")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rc := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"tcptune/tcp\" = %q\n  }\n  direct {}\n}\n", dir)
	cliConfig = filepath.Join(dir, "terraformrc")
	if err := os.WriteFile(cliConfig, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	return cliConfig
}

// encryptedKeyPair writes an encrypted ed25519 key and returns its path,
// its PEM text and its authorized_keys line.
func encryptedKeyPair(t *testing.T, passphrase string) (path, pemText, pub string) {
	t.Helper()
	pk, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "fault-test", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	pemText = string(pem.EncodeToMemory(block))
	path = filepath.Join(t.TempDir(), "id_encrypted")
	if err := os.WriteFile(path, []byte(pemText), 0o600); err != nil {
		t.Fatal(err)
	}
	spk, err := ssh.NewPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	return path, pemText, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spk)))
}

func randomSecret(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

func TestAccFault_traceLogHasNoSecrets(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 2})
	passphrase := randomSecret(t, "pp-")
	password := randomSecret(t, "pw-")
	bastionPassword := randomSecret(t, "bpw-")
	keyPath, keyPEM, pub := encryptedKeyPair(t, passphrase)
	if err := f.AuthorizeKey(pub); err != nil {
		t.Fatal(err)
	}
	orig := originals(t, f, "net.ipv4.tcp_fin_timeout")
	rc := buildProvider(t)
	dir := t.TempDir()
	cfg := `
terraform {
  required_providers {
    tcp = { source = "tcptune/tcp" }
  }
}
variable "passphrase" {
  type      = string
  sensitive = true
}
variable "password" {
  type      = string
  sensitive = true
}
variable "bastion_password" {
  type      = string
  sensitive = true
}
provider "tcp" {
  private_key            = file(` + fmt.Sprintf("%q", keyPath) + `)
  private_key_passphrase = var.passphrase
  password               = var.password
  bastion_password       = var.bastion_password
  known_hosts_file       = ` + fmt.Sprintf("%q", f.KnownHostsFile) + `
  timeout                = "20s"
}
` + hostsLocal(f) + `
resource "tcp_tuning" "t" {
  count           = length(local.hosts)
  host            = local.hosts[count.index].addr
  port            = local.hosts[count.index].port
  tcp_fin_timeout = 39
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_LOG=TRACE",
		"TF_VAR_passphrase="+passphrase, "TF_VAR_password="+password, "TF_VAR_bastion_password="+bastionPassword)
	var all bytes.Buffer
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(terraformPath(t), args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		all.Write(out)
		if err != nil {
			// The output may hold a leaked secret: do not print it whole.
			t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, redact(tail(out, 4000), passphrase, password, bastionPassword))
		}
	}
	run("apply", "-auto-approve", "-input=false", "-no-color")
	for _, h := range f.Hosts {
		if err := expectLive(h, settingSet{{"tcp_fin_timeout", "net.ipv4.tcp_fin_timeout", "39"}}); err != nil {
			t.Error(err)
		}
	}
	run("plan", "-input=false", "-no-color", "-detailed-exitcode")
	run("destroy", "-auto-approve", "-input=false", "-no-color")
	if err := restoredAndRemoved(f, orig, defaultFile)(nil); err != nil {
		t.Error(err)
	}

	log := all.String()
	// The provider's own logs are in the output: otherwise the test proves nothing.
	for _, want := range []string{"ssh connection opened", "tcp provider configured", "[TRACE]"} {
		if !strings.Contains(log, want) {
			t.Errorf("TF_LOG=TRACE output lacks %q: the provider's logs were not captured", want)
		}
	}
	secrets := map[string]string{"passphrase": passphrase, "password": password, "bastion password": bastionPassword}
	for _, line := range strings.Split(keyPEM, "\n") {
		if line == "" || strings.HasPrefix(line, "-----") {
			continue
		}
		secrets["private key line "+line[:8]+"…"] = line
	}
	for name, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("TF_LOG=TRACE output (%d bytes) contains the %s", len(log), name)
		}
	}
	t.Logf("TF_LOG=TRACE output: %d bytes, %d secrets checked", len(log), len(secrets))
}

func terraformPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p
	}
	p, err := exec.LookPath("terraform")
	if err != nil {
		t.Fatal("no terraform on PATH")
	}
	return p
}

func redact(s string, secrets ...string) string {
	for _, x := range secrets {
		s = strings.ReplaceAll(s, x, "<redacted>")
	}
	return s
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
