package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
)

// kernelFacts derives a host's facts from the kernel facts table: the key
// set (tcp_tw_reuse_delay from 6.14, tcp_tw_recycle before 4.12) and the
// defaults of a fresh namespace.
func kernelFacts(release string) HostFacts {
	k := catalog.FactsFor(release)
	f := baseFacts()
	f.KernelRelease = release
	f.Keys["net.ipv4.tcp_tw_reuse"] = KeyFact{Exists: true, Writable: true, Value: itoa(k.ReuseDefault) + "\n"}
	f.Keys["net.ipv4.tcp_timestamps"] = KeyFact{Exists: true, Writable: true, Value: "1\n"}
	f.Keys["net.ipv4.tcp_tw_reuse_delay"] = KeyFact{Exists: k.HasReuseDelayKey, Writable: k.HasReuseDelayKey, Value: "1000\n"}
	f.Keys["net.ipv4.tcp_tw_recycle"] = KeyFact{Exists: k.HasRecycleKey, Writable: k.HasRecycleKey, Value: "0\n"}
	return f
}

// TestKernelGolden renders the findings a user reads on each kernel for the
// same two configurations (tcp_tw_reuse = 2 with a delay, tcp_tw_reuse = 1;
// both with few usable ports) into testdata/kernels/<release>.golden, and
// asserts the sentences that depend on the version.
func TestKernelGolden(t *testing.T) {
	reserved := []string{"32768-60500"}
	configs := []struct {
		name string
		cfg  Config
	}{
		{"tcp_tw_reuse = 2, tcp_tw_reuse_delay = 500", Config{Ints: ints("tcp_tw_reuse", 2, "tcp_tw_reuse_delay", 500), ReservedPortsSet: true, ReservedPorts: reserved, BehindNAT: true}},
		{"tcp_tw_reuse = 1", Config{Ints: ints("tcp_tw_reuse", 1), ReservedPortsSet: true, ReservedPorts: reserved, BehindNAT: true}},
	}
	for _, rel := range catalog.FleetKernels {
		t.Run(rel, func(t *testing.T) {
			k := catalog.FactsFor(rel)
			var b strings.Builder
			all := map[string]string{}
			for _, c := range configs {
				fs := Host(c.cfg, kernelFacts(rel))
				b.WriteString("## " + c.name + "\n" + render(fs) + "\n")
				all[c.name] = render(fs)
			}
			two, one := all[configs[0].name], all[configs[1].name]

			// tcp_tw_reuse = 2 is global before 4.18, loopback only after.
			global := strings.Contains(two, "Reuses for Every Destination Before Linux 4.18")
			if global != !k.Release.AtLeast(catalog.ReuseLoopbackSince) {
				t.Errorf("tcp_tw_reuse = 2 warning present = %v on %s", global, rel)
			}
			// With 2 the ceiling appears only where 2 is global.
			if strings.Contains(two, "port-reuse ceiling") != global {
				t.Errorf("port-reuse ceiling with tcp_tw_reuse = 2 on %s:\n%s", rel, two)
			}
			// tcp_tw_reuse_delay exists from 6.14.
			missing := strings.Contains(two, "net.ipv4.tcp_tw_reuse_delay does not exist on this host") &&
				strings.Contains(two, "It needs Linux 6.14 or later.")
			if missing == k.HasReuseDelayKey {
				t.Errorf("tcp_tw_reuse_delay missing = %v on %s", missing, rel)
			}
			// The reuse delay sentence for tcp_tw_reuse = 1.
			var rule string
			switch {
			case k.HasReuseDelayKey:
				rule = "(on this kernel tcp_tw_reuse_delay (default 1000 ms) after the socket entered TIME_WAIT (Linux 6.14+)), which gives a port-reuse ceiling of about 499 per second"
			case k.Release.AtLeast(catalog.ReuseSecondRuleSince):
				rule = "(on this kernel 0-1 s after the peer's last timestamped segment (Linux 4.18-6.13)), which gives a port-reuse ceiling of about 499 per second"
			default:
				rule = "(on this kernel 1-2 s after the peer's last timestamped segment (Linux 4.17 and older)), which gives a port-reuse ceiling of about 250 per second"
			}
			if !strings.Contains(one, rule) || !strings.Contains(one, "without reuse the rate stays about 8.3") {
				t.Errorf("tcp_tw_reuse = 1 on %s: want %q and the no-reuse figure in:\n%s", rel, rule, one)
			}

			file := filepath.Join("testdata", "kernels", rel+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("findings differ from %s (run with -update and review):\n%s", file, b.String())
			}
		})
	}
}
