package rules

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current finding texts")

// goldenScenarios cover every finding text. Each renders to
// testdata/<name>.golden; run `go test ./internal/rules -run Golden -update`
// after an intended wording change and review the diff.
var goldenScenarios = []struct {
	name  string
	cfg   Config
	facts func(*HostFacts) // nil: static rules only
}{
	{"no_settings", Config{BehindNAT: true}, nil},
	{"typed_values", Config{Ints: ints("tcp_tw_reuse", 3, "tcp_tw_reuse_delay", 0, "tcp_keepalive_probes", 256, "tcp_bogus", 1)}, nil},
	{"recycle_behind_nat", Config{Ints: ints("tcp_tw_recycle", 1), BehindNAT: true}, nil},
	{"timestamps_off", Config{Ints: ints("tcp_tw_reuse", 1, "tcp_tw_recycle", 1, "tcp_timestamps", 0)}, nil},
	{"port_range_bounds", Config{PortRange: rng(0, 70000)}, nil},
	{"port_range_reversed", Config{PortRange: rng(60000, 10000)}, nil},
	{"port_range_parity", Config{PortRange: rng(10000, 65000)}, nil},
	{"port_range_small", Config{PortRange: rng(10001, 10500), Ints: ints("tcp_tw_reuse", 1)}, nil},
	{"port_range_small_reserved", Config{PortRange: rng(10000, 10999), ReservedPortsSet: true, ReservedPorts: []string{"10000-10499"}}, nil},
	{"reserved_invalid", Config{ReservedPortsSet: true, ReservedPorts: []string{"70000", "9-3", "0", "80 81", "http"}}, nil},
	{"reserved_cover", Config{PortRange: rng(10000, 10999), ReservedPortsSet: true, ReservedPorts: []string{"9000-11000"}}, nil},
	{"service_ports", Config{PortRange: rng(1024, 65535), ReservedPortsSet: true, ReservedPorts: []string{"7005"}, ServicePorts: []int64{7005, 8080, 1024, 65535, 0}}, nil},
	{"tw_buckets_low", Config{Ints: ints("tcp_max_tw_buckets", 5000)}, nil},
	{"extra_sysctls", Config{Extra: map[string]string{
		"net.ipv4.tcp_tw_reuse": "1", "vm.swappiness": "10", "net.core.a_b": "1; reboot", "net.core.c_d": strings.Repeat("1", 300)}}, nil},
	{"host_keys", Config{Ints: ints("tcp_tw_recycle", 0, "tcp_tw_reuse_delay", 100), Extra: map[string]string{
		"net.core.netdev_budget_usecs": "4000", "net.core.rmem_max": "4194304"}}, func(f *HostFacts) {
		f.KernelRelease = "6.8.0-45-generic"
		f.Keys["net.ipv4.tcp_tw_recycle"] = KeyFact{}
		f.Keys["net.ipv4.tcp_tw_reuse_delay"] = KeyFact{}
		f.Keys["net.core.netdev_budget_usecs"] = KeyFact{}
		f.Keys["net.core.rmem_max"] = KeyFact{Exists: true}
	}},
	{"host_timestamps_off", Config{Ints: ints("tcp_tw_reuse", 1)}, func(f *HostFacts) {
		f.Keys["net.ipv4.tcp_timestamps"] = KeyFact{Exists: true, Writable: true, Value: "0\n"}
	}},
	{"host_reuse_two_old_kernel", Config{Ints: ints("tcp_tw_reuse", 2)}, func(f *HostFacts) { f.KernelRelease = "4.15.0-213-generic" }},
	{"host_unprivileged_start", Config{PortRange: rng(1001, 65000)}, nil},
	{"host_listening", Config{PortRange: rng(10000, 65001)}, func(f *HostFacts) {
		f.ListeningPorts = []int64{22, 10050, 11211, 40000}
	}},
	{"host_listening_unreserved", Config{ReservedPortsSet: true}, func(f *HostFacts) {
		f.CurrentReserved = "40000\n"
		f.ListeningPorts = []int64{40000}
	}},
	{"host_capacity", Config{ReservedPortsSet: true, ReservedPorts: []string{"32768-60500"}, ServicePorts: []int64{60600}}, nil},
	{"host_cover", Config{ReservedPortsSet: true, ReservedPorts: []string{"1024-65535"}}, nil},
	{"host_service_port", Config{Ints: ints("tcp_fin_timeout", 30), ServicePorts: []int64{40000}}, nil},
	{"host_managed_conflict", Config{Ints: ints("tcp_tw_reuse", 1)}, func(f *HostFacts) {
		f.SysctlFiles = []SysctlFile{{Path: "/etc/sysctl.d/80-db.conf", Managed: true, Name: "db", Values: map[string]string{"net.ipv4.tcp_tw_reuse": "1"}}}
	}},
	{"host_boot_override", Config{Ints: ints("tcp_tw_reuse", 1), PortRange: rng(10000, 65001)}, func(f *HostFacts) {
		f.SysctlFiles = []SysctlFile{
			{Path: "/etc/sysctl.d/99-sysctl.conf", Values: map[string]string{"net.ipv4.tcp_tw_reuse": "0"}},
			{Path: "/etc/sysctl.conf", Values: map[string]string{"net.ipv4.ip_local_port_range": "1024\t65000"}},
		}
	}},
	{"host_boot_shadowed", Config{Ints: ints("tcp_tw_reuse", 1)}, func(f *HostFacts) {
		f.OwnPath = "/run/sysctl.d/90-tcp-tuning.conf"
		f.SysctlFiles = []SysctlFile{{Path: "/etc/sysctl.d/90-tcp-tuning.conf", Values: map[string]string{"net.ipv4.tcp_fin_timeout": "30"}}}
	}},
}

func render(fs []Finding) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteString("\n----\n")
		}
		b.WriteString(f.String())
	}
	b.WriteString("\n")
	return b.String()
}

func TestGolden(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range goldenScenarios {
		t.Run(s.name, func(t *testing.T) {
			var fs []Finding
			if s.facts == nil && !strings.HasPrefix(s.name, "host_") {
				fs = Static(s.cfg)
			} else {
				f := baseFacts()
				if s.facts != nil {
					s.facts(&f)
				}
				fs = Host(s.cfg, f)
			}
			if len(fs) == 0 {
				t.Fatal("scenario produces no findings")
			}
			for _, f := range fs {
				seen[f.Summary] = true
				lines := strings.Split(f.Detail, "\n")
				if last := lines[len(lines)-1]; !strings.Contains(last, ": ") {
					t.Errorf("%q: detail does not end with a fact line: %q", f.Summary, last)
				}
			}
			got := render(fs)
			file := filepath.Join("testdata", s.name+".golden")
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("findings differ from %s (run with -update and review):\n got:\n%s\nwant:\n%s", file, got, want)
			}
		})
	}
	// Every summary the package can produce appears in some golden file.
	for _, summary := range []string{
		"No TCP Settings Configured", "Unknown TCP Setting", "Invalid TCP Setting Value",
		"TIME_WAIT Recycling Breaks Clients Behind NAT", "TIME_WAIT Recycling Exists Only Before Linux 4.12",
		"TIME_WAIT Reuse Needs TCP Timestamps", "Invalid Ephemeral Port Range",
		"Ephemeral Port Range Bounds Have the Same Parity", "Few Usable Ephemeral Ports",
		"Invalid Reserved Port", "Reserved Ports Cover the Whole Ephemeral Range", "Invalid Service Port",
		"Service Port Inside the Ephemeral Range", "Low TIME_WAIT Bucket Limit",
		"Extra Sysctl Duplicates a Typed Setting", "Invalid Extra Sysctl Key", "Invalid Extra Sysctl Value",
		"Sysctl Key Not Available on Host", "Sysctl Key Is Read-Only on Host",
		"Ephemeral Port Range Below Unprivileged Port Start", "Listening Port Inside the New Ephemeral Range",
		"Two tcp_tuning Resources Manage the Same Key", "Sysctl Value Overridden at Boot",
		"tcp_tw_reuse = 2 Reuses for Every Destination Before Linux 4.18",
	} {
		if !seen[summary] {
			t.Errorf("no golden scenario produces %q", summary)
		}
	}
}
