package rules

import (
	"slices"
	"strings"
	"testing"
)

// baseFacts is a Linux 6.18 host with default ephemeral settings where
// every probed key exists and is writable.
func baseFacts() HostFacts {
	return HostFacts{
		KernelRelease:         "6.18.44",
		Keys:                  map[string]KeyFact{},
		UnprivilegedPortStart: 1024,
		CurrentPortRange:      "32768\t60999\n",
		CurrentReserved:       "\n",
		OwnPath:               "/etc/sysctl.d/90-tcp-tuning.conf",
		OwnName:               "tcp-tuning",
	}
}

func TestHost(t *testing.T) {
	type tc struct {
		name  string
		cfg   Config
		facts func(*HostFacts)
		want  []string
	}
	reuse := Config{Ints: ints("tcp_tw_reuse", 1), BehindNAT: true}
	cases := []tc{
		// Keys missing or read-only.
		{"recycle missing on 6.x", Config{Ints: ints("tcp_tw_recycle", 0)}, func(f *HostFacts) {
			f.Keys["net.ipv4.tcp_tw_recycle"] = KeyFact{Exists: false}
		}, []string{"error tcp_tw_recycle: Sysctl Key Not Available on Host"}},
		{"reuse_delay missing before 6.14", Config{Ints: ints("tcp_tw_reuse_delay", 500)}, func(f *HostFacts) {
			f.KernelRelease = "6.8.0-45-generic"
			f.Keys["net.ipv4.tcp_tw_reuse_delay"] = KeyFact{Exists: false}
		}, []string{"error tcp_tw_reuse_delay: Sysctl Key Not Available on Host"}},
		{"reuse_delay present", Config{Ints: ints("tcp_tw_reuse_delay", 500)}, func(f *HostFacts) {
			f.Keys["net.ipv4.tcp_tw_reuse_delay"] = KeyFact{Exists: true, Writable: true, Value: "1000\n"}
		}, nil},
		{"key not probed", Config{Ints: ints("tcp_tw_reuse_delay", 500)}, nil, nil},
		{"extra key missing", Config{Extra: map[string]string{"net.core.netdev_budget_usecs": "4000"}}, func(f *HostFacts) {
			f.Keys["net.core.netdev_budget_usecs"] = KeyFact{}
		}, []string{`error extra_sysctls["net.core.netdev_budget_usecs"]: Sysctl Key Not Available on Host`}},
		{"read-only key", Config{Extra: map[string]string{"net.core.rmem_max": "4000"}}, func(f *HostFacts) {
			f.Keys["net.core.rmem_max"] = KeyFact{Exists: true, Writable: false}
		}, []string{`error extra_sysctls["net.core.rmem_max"]: Sysctl Key Is Read-Only on Host`}},
		{"writable key", Config{Extra: map[string]string{"net.core.rmem_max": "4000"}}, func(f *HostFacts) {
			f.Keys["net.core.rmem_max"] = KeyFact{Exists: true, Writable: true}
		}, nil},
		{"invalid extra key is not probed", Config{Extra: map[string]string{"vm.swappiness": "1"}}, func(f *HostFacts) {
			f.Keys["vm.swappiness"] = KeyFact{}
		}, nil},

		// Timestamps off on the host.
		{"reuse with host timestamps 0", reuse, func(f *HostFacts) {
			f.Keys["net.ipv4.tcp_timestamps"] = KeyFact{Exists: true, Writable: true, Value: "0\n"}
		}, []string{"error tcp_tw_reuse: TIME_WAIT Reuse Needs TCP Timestamps"}},
		{"reuse with host timestamps 1", reuse, func(f *HostFacts) {
			f.Keys["net.ipv4.tcp_timestamps"] = KeyFact{Exists: true, Writable: true, Value: "1\n"}
		}, nil},
		{"reuse with config timestamps 1, host 0", Config{Ints: ints("tcp_tw_reuse", 1, "tcp_timestamps", 1)}, func(f *HostFacts) {
			f.Keys["net.ipv4.tcp_timestamps"] = KeyFact{Exists: true, Writable: true, Value: "0\n"}
		}, nil},

		// ip_unprivileged_port_start.
		{"min below unprivileged start", Config{PortRange: rng(1000, 65001)}, nil, []string{
			"error ip_local_port_range.min: Ephemeral Port Range Below Unprivileged Port Start"}},
		{"min at unprivileged start", Config{PortRange: rng(1024, 65001)}, nil, nil},
		{"unprivileged start 0", Config{PortRange: rng(500, 65001)}, func(f *HostFacts) { f.UnprivilegedPortStart = 0 }, nil},
		{"unprivileged start lowered by extra", Config{PortRange: rng(600, 65001), Extra: map[string]string{"net.ipv4.ip_unprivileged_port_start": "500"}}, nil, nil},

		// Listening ports newly inside the range.
		{"listening port newly in range", Config{PortRange: rng(10000, 65001)}, func(f *HostFacts) {
			f.ListeningPorts = []int64{22, 8080, 10050, 40000, 10050, 65002}
		}, []string{"error ip_local_port_range: Listening Port Inside the New Ephemeral Range"}},
		{"listening port newly in range but reserved", Config{PortRange: rng(10000, 65001), ReservedPortsSet: true, ReservedPorts: []string{"10050"}}, func(f *HostFacts) {
			f.ListeningPorts = []int64{22, 8080, 10050, 40000}
		}, nil},
		{"listening port already in the current range", Config{PortRange: rng(32768, 60999)}, func(f *HostFacts) {
			f.ListeningPorts = []int64{40000}
		}, nil},
		{"listening port unreserved by the change", Config{ReservedPortsSet: true}, func(f *HostFacts) {
			f.CurrentReserved = "40000\n"
			f.ListeningPorts = []int64{40000}
		}, []string{"error ip_local_reserved_ports: Listening Port Inside the New Ephemeral Range"}},
		{"listening port stays reserved", Config{ReservedPortsSet: true, ReservedPorts: []string{"40000"}}, func(f *HostFacts) {
			f.CurrentReserved = "40000\n"
			f.ListeningPorts = []int64{40000}
		}, nil},
		{"listening service port is reported once", Config{PortRange: rng(10000, 65001), ServicePorts: []int64{10050}}, func(f *HostFacts) {
			f.ListeningPorts = []int64{10050}
		}, []string{"error service_ports[10050]: Service Port Inside the Ephemeral Range"}},
		{"no range change, listening ports ignored", Config{Ints: ints("tcp_fin_timeout", 30)}, func(f *HostFacts) {
			f.ListeningPorts = []int64{40000}
		}, nil},

		// Capacity and service ports with host values.
		{"config reserved covers host range", Config{ReservedPortsSet: true, ReservedPorts: []string{"30000-61000"}}, nil, []string{
			"error ip_local_reserved_ports: Reserved Ports Cover the Whole Ephemeral Range"}},
		{"config reserved leaves host range", Config{ReservedPortsSet: true, ReservedPorts: []string{"30000-50000"}}, nil, nil},
		{"host reserved shrink config range", Config{PortRange: rng(10000, 10999)}, func(f *HostFacts) {
			f.CurrentReserved = "10000\n"
		}, []string{"warning ip_local_port_range: Few Usable Ephemeral Ports"}},
		{"host reserved outside config range", Config{PortRange: rng(10000, 10999)}, func(f *HostFacts) {
			f.CurrentReserved = "9999,11000\n"
		}, nil},
		{"small config range not repeated", Config{PortRange: rng(10000, 10499)}, func(f *HostFacts) {
			f.CurrentReserved = "10000\n"
		}, nil},
		{"small config range covered by host", Config{PortRange: rng(10000, 10499)}, func(f *HostFacts) {
			f.CurrentReserved = "1-65535\n"
		}, []string{"error ip_local_port_range: Reserved Ports Cover the Whole Ephemeral Range"}},
		{"service port in host range", Config{Ints: ints("tcp_fin_timeout", 30), ServicePorts: []int64{40000, 8080}}, nil, []string{
			"error service_ports[40000]: Service Port Inside the Ephemeral Range"}},
		{"service port reserved on host", Config{Ints: ints("tcp_fin_timeout", 30), ServicePorts: []int64{40000}}, func(f *HostFacts) {
			f.CurrentReserved = "39000-41000\n"
		}, nil},
		{"service port decided statically is not repeated", Config{PortRange: rng(1024, 65535), ReservedPortsSet: true, ServicePorts: []int64{40000}}, nil, nil},
		{"unknown current range skips host range rules", Config{Ints: ints("tcp_fin_timeout", 30), ServicePorts: []int64{40000}}, func(f *HostFacts) {
			f.CurrentPortRange = ""
		}, nil},

		// Other tcp_tuning resources.
		{"other managed file sets the key", reuse, func(f *HostFacts) {
			f.SysctlFiles = []SysctlFile{{Path: "/etc/sysctl.d/80-db.conf", Managed: true, Name: "db", Values: map[string]string{"net.ipv4.tcp_tw_reuse": "1"}}}
		}, []string{"error tcp_tw_reuse: Two tcp_tuning Resources Manage the Same Key"}},
		{"other managed file sets another key", reuse, func(f *HostFacts) {
			f.SysctlFiles = []SysctlFile{{Path: "/etc/sysctl.d/80-db.conf", Managed: true, Name: "db", Values: map[string]string{"net.ipv4.tcp_fin_timeout": "1"}}}
		}, nil},
		{"own file at an older priority", reuse, func(f *HostFacts) {
			f.SysctlFiles = []SysctlFile{{Path: "/etc/sysctl.d/95-tcp-tuning.conf", Managed: true, Name: "tcp-tuning", Values: map[string]string{"net.ipv4.tcp_tw_reuse": "2"}}}
		}, nil},
		{"own file itself", reuse, func(f *HostFacts) {
			f.SysctlFiles = []SysctlFile{{Path: "/etc/sysctl.d/90-tcp-tuning.conf", Managed: true, Name: "tcp-tuning", Values: map[string]string{"net.ipv4.tcp_tw_reuse": "2"}}}
		}, nil},

		// Boot order.
		{"later file overrides at boot", reuse, func(f *HostFacts) {
			f.SysctlFiles = []SysctlFile{{Path: "/etc/sysctl.d/99-sysctl.conf", Values: map[string]string{"net.ipv4.tcp_tw_reuse": "0"}}}
		}, []string{"warning tcp_tw_reuse: Sysctl Value Overridden at Boot"}},
		{"later file sets the same value", reuse, func(f *HostFacts) {
			f.SysctlFiles = []SysctlFile{{Path: "/etc/sysctl.d/99-sysctl.conf", Values: map[string]string{"net/ipv4/tcp_tw_reuse": " 1 "}}}
		}, nil},
		{"earlier file", reuse, func(f *HostFacts) {
			f.SysctlFiles = []SysctlFile{{Path: "/usr/lib/sysctl.d/50-default.conf", Values: map[string]string{"net.ipv4.tcp_tw_reuse": "0"}}}
		}, nil},
		{"sysctl.conf overrides", Config{PortRange: rng(10000, 65001)}, func(f *HostFacts) {
			f.SysctlFiles = []SysctlFile{{Path: "/etc/sysctl.conf", Values: map[string]string{"net.ipv4.ip_local_port_range": "1024 65000"}}}
		}, []string{"warning ip_local_port_range: Sysctl Value Overridden at Boot"}},
		{"sysctl.conf same range with a tab", Config{PortRange: rng(10000, 65001)}, func(f *HostFacts) {
			f.SysctlFiles = []SysctlFile{{Path: "/etc/sysctl.conf", Values: map[string]string{"net.ipv4.ip_local_port_range": "10000\t65001"}}}
		}, nil},
		{"later file with reserved ports in another order", Config{ReservedPortsSet: true, ReservedPorts: []string{"8003", "8001-8002", "7005"}}, func(f *HostFacts) {
			f.SysctlFiles = []SysctlFile{{Path: "/etc/sysctl.d/99-x.conf", Values: map[string]string{"net.ipv4.ip_local_reserved_ports": "7005,8001,8002,8003"}}}
		}, nil},
		{"persist off skips boot order", reuse, func(f *HostFacts) {
			f.OwnPath = ""
			f.SysctlFiles = []SysctlFile{{Path: "/etc/sysctl.d/99-sysctl.conf", Values: map[string]string{"net.ipv4.tcp_tw_reuse": "0"}}}
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := baseFacts()
			if c.facts != nil {
				c.facts(&f)
			}
			got := brief(Host(c.cfg, f))
			if !slices.Equal(got, c.want) {
				t.Errorf("Host findings\n got: %q\nwant: %q", got, c.want)
			}
		})
	}
}

func TestHostListsOnlyNewlyExposedPorts(t *testing.T) {
	f := baseFacts()
	f.ListeningPorts = []int64{22, 8080, 10050, 40000, 10050, 65002, 9999}
	fs := Host(Config{PortRange: rng(10000, 65001)}, f)
	if len(fs) != 1 {
		t.Fatalf("findings: %v", brief(fs))
	}
	want := "Ports: 10050\n"
	if !strings.Contains(fs[0].Detail, want) || strings.Contains(fs[0].Detail, "40000") || strings.Contains(fs[0].Detail, "8080") {
		t.Errorf("detail: %s", fs[0].Detail)
	}
	// Many ports are capped in the text.
	f.ListeningPorts = nil
	for p := int64(10000); p < 10030; p++ {
		f.ListeningPorts = append(f.ListeningPorts, p)
	}
	fs = Host(Config{PortRange: rng(10000, 65001)}, f)
	if len(fs) != 1 || !strings.Contains(fs[0].Detail, "10019 and 10 more") || strings.Contains(fs[0].Detail, "10020") {
		t.Errorf("capped detail: %v", fs)
	}
}

// A key that cannot be written is explained by why: a read-only /proc/sys,
// a user without root (sudo), or a key global to the machine.
func TestKeyReadOnlySaysWhy(t *testing.T) {
	cfg := Config{Ints: ints("tcp_fin_timeout", 30)}
	cases := []struct {
		name        string
		uid         int
		procRO      bool
		wantSummary string
		want        []string
		notWant     []string
	}{
		{"read-only /proc/sys", 0, true, "Sysctl Key Is Read-Only on Host",
			[]string{"/proc/sys is mounted read-only on this host", "net.ipv4.tcp_fin_timeout"}, []string{"sudo", "global"}},
		{"read-only /proc/sys wins over uid", 1000, true, "Sysctl Key Is Read-Only on Host",
			[]string{"/proc/sys is mounted read-only"}, []string{"sudo"}},
		{"user without sudo", 1000, false, "SSH User Cannot Write /proc/sys",
			[]string{"cannot write /proc/sys without sudo", "uid 1000", "set sudo = true", "UID: 1000"}, []string{"global to the machine"}},
		{"root and a global key", 0, false, "Sysctl Key Is Read-Only on Host",
			[]string{"global to the machine", "network namespace"}, []string{"sudo", "mounted read-only"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := baseFacts()
			f.UID, f.ProcReadOnly = c.uid, c.procRO
			f.Keys["net.ipv4.tcp_fin_timeout"] = KeyFact{Exists: true, Writable: false, Value: "60\n"}
			got := Host(cfg, f)
			if len(got) != 1 {
				t.Fatalf("findings = %v, want one", got)
			}
			if got[0].Summary != c.wantSummary || got[0].Path.String() != "tcp_fin_timeout" || got[0].Severity != SeverityError {
				t.Errorf("finding = %v, want error on tcp_fin_timeout: %s", got[0], c.wantSummary)
			}
			for _, w := range c.want {
				if !strings.Contains(got[0].Detail, w) {
					t.Errorf("detail lacks %q:\n%s", w, got[0].Detail)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(got[0].Detail, w) {
					t.Errorf("detail has %q:\n%s", w, got[0].Detail)
				}
			}
		})
	}
}
