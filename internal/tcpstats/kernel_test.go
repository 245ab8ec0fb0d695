package tcpstats

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// kernelSnapshot is a host on release rel with the kernel's defaults (key
// set and values derived from the kernel facts table; tcp_max_tw_buckets of
// a 1 GiB VM), a Redis on loopback and one on the network both near
// exhaustion, sampled over 2 s while 1,000 connections were opened.
func kernelSnapshot(rel string) *Snapshot {
	k := catalog.FactsFor(rel)
	s := baseSnapshot()
	s.KernelRelease = rel
	s.Sysctls["tcp_tw_reuse"] = fmt.Sprint(k.ReuseDefault)
	s.Sysctls["tcp_max_tw_buckets"] = "4096"
	delete(s.Sysctls, "tcp_tw_reuse_delay")
	if k.HasReuseDelayKey {
		s.Sysctls["tcp_tw_reuse_delay"] = "1000"
	}
	if k.HasRecycleKey {
		s.Sysctls["tcp_tw_recycle"] = "0"
	}
	s.InUseByDestination = []DestinationCount{{"127.0.0.1", 6379, 27900}, {"10.0.0.5", 6379, 20000}}
	s.TimeWaitByDestination = []DestinationCount{{"127.0.0.1", 6379, 27500}, {"10.0.0.5", 6379, 19000}}
	s.Sample = &Sample{Seconds: 2, Counters: cloneCounters(s.Counters), Sockstat: s.Sockstat}
	s.Counters["Tcp"]["ActiveOpens"] += 1000
	s.Counters["TcpExt"]["TW"] += 900
	s.Counters["TcpExt"]["TWRecycled"] += 100
	return s
}

func renderReport(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kernel %s\nreuse: %s\nreuse delay: %s\nrate without reuse: %v\nport-reuse ceiling: %v\nmax_connection_rate_per_destination: %v\nassumptions: %s\n",
		r.KernelRelease, r.Reuse, r.ReuseDelay, r.RateWithoutReuse, r.PortReuseCeiling, r.MaxConnectionRatePerDestination, r.RateAssumptions)
	if rt := r.Rates; rt != nil {
		fmt.Fprintf(&b, "rates: %+v\n", *rt)
	}
	for _, rec := range r.Recommendations {
		b.WriteString("- " + rec + "\n")
	}
	return b.String()
}

// TestAnalyzeKernels: the same host on each kernel, rendered to
// testdata/kernels/<release>.golden, and the sentences that depend on the
// version asserted.
func TestAnalyzeKernels(t *testing.T) {
	for _, rel := range catalog.FleetKernels {
		t.Run(rel, func(t *testing.T) {
			k := catalog.FactsFor(rel)
			r := Analyze(kernelSnapshot(rel))
			text := renderReport(r)
			loopRec := ""
			for _, rec := range r.Recommendations {
				if strings.HasPrefix(rec, "127.0.0.1:6379 holds") {
					loopRec = rec
				}
			}
			if k.Release.AtLeast(catalog.ReuseLoopbackSince) {
				// Default 2: loopback reuse works, remote does not.
				if r.Reuse != "loopback only" || r.PortReuseCeiling != 0 || r.MaxConnectionRatePerDestination != r.RateWithoutReuse {
					t.Errorf("4.18+ default: reuse %q, ceiling %v, max %v", r.Reuse, r.PortReuseCeiling, r.MaxConnectionRatePerDestination)
				}
				if !strings.Contains(loopRec, "although TIME_WAIT reuse applies to it (tcp_tw_reuse = 2, loopback only on this kernel)") ||
					strings.Contains(loopRec, "enable tcp_tw_reuse") {
					t.Errorf("loopback recommendation on %s: %q", rel, loopRec)
				}
			} else {
				// Default 0: no reuse anywhere.
				if r.Reuse != "off" || !strings.Contains(loopRec, "sustainable rate 470 new connections/s without reuse") ||
					!strings.Contains(loopRec, "enable tcp_tw_reuse = 1") {
					t.Errorf("pre-4.18 default: reuse %q, loopback recommendation %q", r.Reuse, loopRec)
				}
			}
			if !strings.Contains(r.RateAssumptions, r.ReuseDelay) && r.Reuse != "off" {
				t.Errorf("assumptions do not state the reuse delay rule: %s", r.RateAssumptions)
			}
			want := map[bool]string{true: "(Linux 6.14+)", false: "(Linux 4.18-6.13)"}[k.HasReuseDelayKey]
			if !k.Release.AtLeast(catalog.ReuseSecondRuleSince) {
				want = "(Linux 4.17 and older)"
			}
			if !strings.HasSuffix(r.ReuseDelay, want) {
				t.Errorf("reuse delay %q, want the rule of %s", r.ReuseDelay, want)
			}
			if r.Rates == nil || r.Rates.NewOutgoing != 500 || r.Rates.TimeWaitCreated != 450 || r.Rates.TakenOver != 50 ||
				r.Rates.TWCountedAtCreation != k.Release.AtLeast(catalog.TWCountedAtCreationSince) {
				t.Errorf("rates: %+v", r.Rates)
			}

			file := filepath.Join("testdata", "kernels", rel+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if string(b) != text {
				t.Errorf("report differs from %s (run with -update and review):\n%s", file, text)
			}
		})
	}
}

func TestExhaustionSeconds(t *testing.T) {
	for _, c := range []struct {
		rate, hold    float64
		inUse, usable int64
		want          float64
	}{
		{100, 60, 0, 28232, -1},                                // 6,000 steady: fits
		{470.5, 60, 0, 28232, -1},                              // exactly at the bound
		{1000, 60, 10000, 28232, 60 * math.Log(50000.0/31768)}, // the closed form
		{1000, 60, 28232, 28232, 0},                            // already full
		{1000, 1, 0, 500, 1 * math.Log(1000.0/500)},            // reuse: hold = delay
		{10, 60, 5, 0, 0},                                      // no usable port
	} {
		if got := exhaustionSeconds(c.rate, c.hold, c.inUse, c.usable); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("exhaustionSeconds(%v, %v, %d, %d) = %v, want %v", c.rate, c.hold, c.inUse, c.usable, got, c.want)
		}
	}
}

// TestScriptSample: with sample, the script reads the counters twice in the
// same run (dash and busybox, fake root: equal readings, so zero rates) and
// Decode makes the first reading the Sample.
func TestScriptSample(t *testing.T) {
	root := testdataRoot(t)
	for _, sh := range shells(t) {
		t.Run(sh.name, func(t *testing.T) {
			r := &localRunner{sh: sh, root: root}
			res := runScript(t, r, Input{Top: 3, Endian: "le", Sample: 1})
			if r.runs != 1 {
				t.Fatalf("%d runs, want one", r.runs)
			}
			for _, rec := range []string{"uptime1 ", "uptime2 ", "netstat2 TcpExt:", "snmp2 Tcp:", "sockstat2 TCP:"} {
				if !strings.Contains(string(res.Stdout), "\n"+rec) {
					t.Errorf("no %q record in:\n%s", rec, res.Stdout)
				}
			}
			s, err := DecodeResult(res)
			if err != nil {
				t.Fatal(err)
			}
			if s.Sample == nil || s.Sample.Seconds < 1 {
				t.Fatalf("sample %+v, want one of at least 1 s", s.Sample)
			}
			a, _ := s.Sample.Counters.Get("Tcp", "ActiveOpens")
			b, ok := s.Counters.Get("Tcp", "ActiveOpens")
			if !ok || a != b {
				t.Errorf("ActiveOpens %d then %d (%v) from the same files", a, b, ok)
			}
			rt := Analyze(s).Rates
			if rt == nil || rt.NewOutgoing != 0 || rt.SecondsToExhaustion != -1 {
				t.Errorf("rates %+v", rt)
			}
			// Without sample: one reading, no clock.
			s, err = DecodeResult(runScript(t, r, Input{Top: 3, Endian: "le"}))
			if err != nil || s.Sample != nil || Analyze(s).Rates != nil {
				t.Errorf("unsampled: %v %+v", err, s)
			}
		})
	}
	for _, in := range []string{"sample 11\n", "sample x\n", "sample -1\n", "sample 100\n"} {
		sh := shells(t)[0]
		res, err := (&localRunner{sh: sh, root: root}).Run(context.Background(), sshx.Target{}, Script(), []byte(in))
		if err != nil || res.ExitStatus == 0 || !strings.HasPrefix(string(res.Stdout), "error input sample") {
			t.Errorf("%q: %v exit %d %q", in, err, res.ExitStatus, res.Stdout)
		}
	}
	if _, err := CollectInput(context.Background(), &localRunner{sh: shells(t)[0], root: root}, sshx.Target{}, Input{Top: 1, Sample: MaxSampleSeconds + 1}); err == nil {
		t.Error("CollectInput accepted sample 11")
	}
}

// TestKernelFactsOnThisMachine checks the facts table against the running
// kernel: a fresh network namespace has the default tcp_tw_reuse the table
// gives for this release, and tcp_tw_reuse_delay and tcp_tw_recycle exist
// exactly where the table says.
func TestKernelFactsOnThisMachine(t *testing.T) {
	requireNetns(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare")
	}
	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	k := catalog.FactsFor(string(rel))
	if !k.Known {
		t.Fatalf("release %q not parsed", rel)
	}
	out, err := exec.Command("unshare", "-n", "sh", "-c",
		`cat /proc/sys/net/ipv4/tcp_tw_reuse; for k in tcp_tw_reuse_delay tcp_tw_recycle; do if [ -e /proc/sys/net/ipv4/$k ]; then echo yes; else echo no; fi; done`).CombinedOutput()
	if err != nil {
		t.Fatalf("unshare: %v: %s", err, out)
	}
	got := strings.Fields(string(out))
	want := []string{fmt.Sprint(k.ReuseDefault), map[bool]string{true: "yes", false: "no"}[k.HasReuseDelayKey], map[bool]string{true: "yes", false: "no"}[k.HasRecycleKey]}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("kernel %s in a fresh netns: tcp_tw_reuse, has tcp_tw_reuse_delay, has tcp_tw_recycle = %v; the facts table says %v", strings.TrimSpace(string(rel)), got, want)
	}
}
