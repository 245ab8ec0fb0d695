package rules

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// brief renders findings as "severity path: summary" for comparisons.
func brief(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Severity.String() + " " + f.Path.String() + ": " + f.Summary
	}
	return out
}

func ints(kv ...any) map[string]int64 {
	m := map[string]int64{}
	for i := 0; i+1 < len(kv); i += 2 {
		k, ok1 := kv[i].(string)
		v, ok2 := kv[i+1].(int)
		if !ok1 || !ok2 {
			panic(fmt.Sprintf("ints: want string, int pairs, got %T, %T", kv[i], kv[i+1]))
		}
		m[k] = int64(v)
	}
	return m
}

func rng(lo, hi int64) *PortRange { return &PortRange{Min: lo, Max: hi} }

func TestStatic(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		// At least one setting.
		{"no settings", Config{BehindNAT: true, ServicePorts: []int64{80}}, []string{
			"error : No TCP Settings Configured"}},
		{"one int is a setting", Config{Ints: ints("tcp_fin_timeout", 30)}, nil},
		{"empty reserved set is a setting", Config{ReservedPortsSet: true}, nil},
		{"extra only is a setting", Config{Extra: map[string]string{"net.core.netdev_budget_usecs": "4000"}}, nil},
		{"range only is a setting", Config{PortRange: rng(10000, 65001)}, nil},

		// Typed ranges from the catalogue.
		{"tw_reuse 3", Config{Ints: ints("tcp_tw_reuse", 3)}, []string{
			"error tcp_tw_reuse: Invalid TCP Setting Value"}},
		{"tw_reuse 2 ok", Config{Ints: ints("tcp_tw_reuse", 2)}, nil},
		{"reuse_delay 0", Config{Ints: ints("tcp_tw_reuse_delay", 0)}, []string{
			"error tcp_tw_reuse_delay: Invalid TCP Setting Value"}},
		{"reuse_delay 60001", Config{Ints: ints("tcp_tw_reuse_delay", 60001)}, []string{
			"error tcp_tw_reuse_delay: Invalid TCP Setting Value"}},
		{"reuse_delay 60000 ok", Config{Ints: ints("tcp_tw_reuse_delay", 60000)}, nil},
		{"keepalive_probes 256", Config{Ints: ints("tcp_keepalive_probes", 256)}, []string{
			"error tcp_keepalive_probes: Invalid TCP Setting Value"}},
		{"keepalive_probes 255 ok", Config{Ints: ints("tcp_keepalive_probes", 255)}, nil},
		{"timestamps 3 and syncookies 3", Config{Ints: ints("tcp_timestamps", 3, "tcp_syncookies", 3)}, []string{
			"error tcp_timestamps: Invalid TCP Setting Value",
			"error tcp_syncookies: Invalid TCP Setting Value"}},
		{"fin_timeout 0", Config{Ints: ints("tcp_fin_timeout", 0)}, []string{
			"error tcp_fin_timeout: Invalid TCP Setting Value"}},
		{"somaxconn too large", Config{Ints: map[string]int64{"somaxconn": 1 << 31}}, []string{
			"error somaxconn: Invalid TCP Setting Value"}},
		{"unknown attribute", Config{Ints: ints("tcp_bogus", 1)}, []string{
			"error tcp_bogus: Unknown TCP Setting"}},
		{"range attribute passed as int", Config{Ints: ints("ip_local_port_range", 1)}, []string{
			"error ip_local_port_range: Unknown TCP Setting"}},

		// tcp_tw_recycle.
		{"recycle 1 behind NAT", Config{Ints: ints("tcp_tw_recycle", 1), BehindNAT: true}, []string{
			"error tcp_tw_recycle: TIME_WAIT Recycling Breaks Clients Behind NAT",
			"warning tcp_tw_recycle: TIME_WAIT Recycling Exists Only Before Linux 4.12"}},
		{"recycle 1 not behind NAT", Config{Ints: ints("tcp_tw_recycle", 1), BehindNAT: false}, []string{
			"warning tcp_tw_recycle: TIME_WAIT Recycling Exists Only Before Linux 4.12"}},
		{"recycle 0 behind NAT", Config{Ints: ints("tcp_tw_recycle", 0), BehindNAT: true}, []string{
			"warning tcp_tw_recycle: TIME_WAIT Recycling Exists Only Before Linux 4.12"}},
		{"recycle unset", Config{Ints: ints("tcp_tw_reuse", 1), BehindNAT: true}, nil},

		// Timestamps.
		{"reuse 1 timestamps 0", Config{Ints: ints("tcp_tw_reuse", 1, "tcp_timestamps", 0)}, []string{
			"error tcp_tw_reuse: TIME_WAIT Reuse Needs TCP Timestamps"}},
		{"reuse 1 timestamps 2", Config{Ints: ints("tcp_tw_reuse", 1, "tcp_timestamps", 2)}, nil},
		{"reuse 0 timestamps 0", Config{Ints: ints("tcp_tw_reuse", 0, "tcp_timestamps", 0)}, nil},
		{"recycle 1 timestamps 0", Config{Ints: ints("tcp_tw_recycle", 1, "tcp_timestamps", 0)}, []string{
			"warning tcp_tw_recycle: TIME_WAIT Recycling Exists Only Before Linux 4.12",
			"error tcp_tw_recycle: TIME_WAIT Reuse Needs TCP Timestamps"}},

		// Port range.
		{"range reversed", Config{PortRange: rng(60000, 10000)}, []string{
			"error ip_local_port_range: Invalid Ephemeral Port Range"}},
		{"range max too large", Config{PortRange: rng(10000, 65536)}, []string{
			"error ip_local_port_range.max: Invalid Ephemeral Port Range"}},
		{"range min zero", Config{PortRange: rng(0, 65535)}, []string{
			"error ip_local_port_range.min: Invalid Ephemeral Port Range"}},
		{"range single port is valid but tiny", Config{PortRange: rng(40000, 40000)}, []string{
			"warning ip_local_port_range: Ephemeral Port Range Bounds Have the Same Parity",
			"warning ip_local_port_range: Few Usable Ephemeral Ports"}},
		{"range same parity", Config{PortRange: rng(10000, 65000)}, []string{
			"warning ip_local_port_range: Ephemeral Port Range Bounds Have the Same Parity"}},
		{"range different parity", Config{PortRange: rng(10000, 65001)}, nil},
		{"range 999 ports", Config{PortRange: rng(10000, 10998)}, []string{
			"warning ip_local_port_range: Ephemeral Port Range Bounds Have the Same Parity",
			"warning ip_local_port_range: Few Usable Ephemeral Ports"}},
		{"range 998 ports", Config{PortRange: rng(10000, 10997)}, []string{
			"warning ip_local_port_range: Few Usable Ephemeral Ports"}},
		{"range 1000 ports", Config{PortRange: rng(10000, 10999)}, nil},
		{"range 1002 ports minus 3 reserved", Config{PortRange: rng(10000, 11001), ReservedPortsSet: true,
			ReservedPorts: []string{"10000", "11001", "10500"}}, []string{
			"warning ip_local_port_range: Few Usable Ephemeral Ports"}},
		{"range 1002 ports minus 2 reserved", Config{PortRange: rng(10000, 11001), ReservedPortsSet: true,
			ReservedPorts: []string{"10000", "11001", "20000"}}, nil},

		// Reserved ports.
		{"reserved malformed", Config{ReservedPortsSet: true, ReservedPorts: []string{"7005", "70000", "9-3", "x", "8001 - 8002"}}, []string{
			`error ip_local_reserved_ports["70000"]: Invalid Reserved Port`,
			`error ip_local_reserved_ports["9-3"]: Invalid Reserved Port`,
			`error ip_local_reserved_ports["x"]: Invalid Reserved Port`,
			`error ip_local_reserved_ports["8001 - 8002"]: Invalid Reserved Port`}},
		{"reserved valid", Config{ReservedPortsSet: true, ReservedPorts: []string{"8003", "8001-8002", "7005", "65535"}}, nil},
		{"reserved cover range", Config{PortRange: rng(10000, 10999), ReservedPortsSet: true, ReservedPorts: []string{"9000-10500", "10501-11000"}}, []string{
			"error ip_local_reserved_ports: Reserved Ports Cover the Whole Ephemeral Range"}},
		{"reserved leave one port", Config{PortRange: rng(10000, 10999), ReservedPortsSet: true, ReservedPorts: []string{"9000-10500", "10502-11000"}}, []string{
			"warning ip_local_port_range: Few Usable Ephemeral Ports"}},
		{"reserved cover range but one invalid element", Config{PortRange: rng(10000, 10999), ReservedPortsSet: true, ReservedPorts: []string{"1-65535", "0"}}, []string{
			`error ip_local_reserved_ports["0"]: Invalid Reserved Port`}},

		// Service ports.
		{"service port in range", Config{PortRange: rng(1024, 65535), ReservedPortsSet: true, ReservedPorts: []string{"7005"}, ServicePorts: []int64{8080, 7005, 443, 8080}}, []string{
			"error service_ports[8080]: Service Port Inside the Ephemeral Range"}},
		{"service ports reserved or outside", Config{PortRange: rng(10000, 65001), ReservedPortsSet: true, ReservedPorts: []string{"8001-8100", "10080"}, ServicePorts: []int64{8080, 10080, 9999, 65002}}, nil},
		{"service port at range edge", Config{PortRange: rng(10000, 65001), ReservedPortsSet: true, ServicePorts: []int64{10000, 65001}}, []string{
			"error service_ports[10000]: Service Port Inside the Ephemeral Range",
			"error service_ports[65001]: Service Port Inside the Ephemeral Range"}},
		{"service port reserved unknown: left to host rules", Config{PortRange: rng(1024, 65535), ServicePorts: []int64{8080}}, nil},
		{"service port invalid", Config{Ints: ints("tcp_fin_timeout", 30), ServicePorts: []int64{0, 65536, 80}}, []string{
			"error service_ports[0]: Invalid Service Port",
			"error service_ports[65536]: Invalid Service Port"}},

		// tcp_max_tw_buckets.
		{"tw buckets low", Config{Ints: ints("tcp_max_tw_buckets", 9999)}, []string{
			"warning tcp_max_tw_buckets: Low TIME_WAIT Bucket Limit"}},
		{"tw buckets zero", Config{Ints: ints("tcp_max_tw_buckets", 0)}, []string{
			"warning tcp_max_tw_buckets: Low TIME_WAIT Bucket Limit"}},
		{"tw buckets 10000", Config{Ints: ints("tcp_max_tw_buckets", 10000)}, nil},

		// extra_sysctls.
		{"extra typed key", Config{Extra: map[string]string{"net.ipv4.tcp_tw_reuse": "1"}}, []string{
			`error extra_sysctls["net.ipv4.tcp_tw_reuse"]: Extra Sysctl Duplicates a Typed Setting`}},
		{"extra bad keys", Config{Extra: map[string]string{"vm.swappiness": "10", "net.core": "1", "net.ipv4.tcp_rmem": "4096 131072 6291456"}}, []string{
			`error extra_sysctls["net.core"]: Invalid Extra Sysctl Key`,
			`error extra_sysctls["vm.swappiness"]: Invalid Extra Sysctl Key`}},
		{"extra bad values", Config{Extra: map[string]string{"net.core.a_b": "$(reboot)", "net.core.c_d": strings.Repeat("9", 257), "net.core.e_f": strings.Repeat("9", 256)}}, []string{
			`error extra_sysctls["net.core.a_b"]: Invalid Extra Sysctl Value`,
			`error extra_sysctls["net.core.c_d"]: Invalid Extra Sysctl Value`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := brief(Static(c.cfg))
			if !slices.Equal(got, c.want) {
				t.Errorf("Static findings\n got: %q\nwant: %q", got, c.want)
			}
		})
	}
}

func TestFindingTextsFollowTheStyle(t *testing.T) {
	cfgs := []Config{
		{},
		{Ints: ints("tcp_tw_recycle", 1, "tcp_timestamps", 0, "tcp_max_tw_buckets", 5, "tcp_tw_reuse", 9), BehindNAT: true},
		{PortRange: rng(0, 70000)},
		{PortRange: rng(9, 10), ReservedPortsSet: true, ReservedPorts: []string{"9-10", "x"}, ServicePorts: []int64{0}},
		{PortRange: rng(10, 20), ReservedPortsSet: true, ServicePorts: []int64{15}},
		{Extra: map[string]string{"kernel.panic": "1", "net.core.x_y": ";", "net.ipv4.tcp_tw_reuse": "1"}},
	}
	for _, c := range cfgs {
		for _, f := range Static(c) {
			for _, w := range strings.Fields(f.Summary) {
				if r := w[0]; r >= 'a' && r <= 'z' && !slices.Contains([]string{"the", "a", "of", "tcp_tuning"}, w) {
					t.Errorf("summary %q is not Title Case (%q)", f.Summary, w)
				}
			}
			if f.Path.IsZero() && f.Summary != "No TCP Settings Configured" {
				t.Errorf("%q has no path", f.Summary)
			}
			if len(f.Detail) < 60 {
				t.Errorf("%q: detail too short: %q", f.Summary, f.Detail)
			}
		}
	}
}

// The texts must never repeat the two myths.
func TestNoMyths(t *testing.T) {
	fs := Static(Config{Ints: ints("tcp_max_tw_buckets", 100, "tcp_fin_timeout", 5)})
	all := ""
	for _, f := range fs {
		all += f.Detail
	}
	if !strings.Contains(all, "Existing TIME_WAIT sockets are not cleared") {
		t.Errorf("tw buckets detail lacks the true fact: %q", all)
	}
	for _, myth := range []string{"clears all", "cleared.", "shortens TIME_WAIT", "fin_timeout shortens", "reduces TIME_WAIT"} {
		if strings.Contains(all, myth) {
			t.Errorf("detail repeats a myth (%q): %q", myth, all)
		}
	}
}

func TestDesired(t *testing.T) {
	got, err := Desired(Config{
		Ints:             ints("tcp_tw_reuse", 1, "somaxconn", 4096),
		PortRange:        rng(10000, 65001),
		ReservedPortsSet: true,
		ReservedPorts:    []string{"8003", "8001-8002", "7005"},
		Extra:            map[string]string{"net.ipv4.tcp_rmem": " 4096  131072 6291456 "},
	})
	want := map[string]string{
		"net.ipv4.tcp_tw_reuse":            "1",
		"net.core.somaxconn":               "4096",
		"net.ipv4.ip_local_port_range":     "10000 65001",
		"net.ipv4.ip_local_reserved_ports": "7005,8001-8003",
		"net.ipv4.tcp_rmem":                "4096 131072 6291456",
	}
	if err != nil || len(got) != len(want) {
		t.Fatalf("Desired = %v, %v", got, err)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Desired[%s] = %q, want %q", k, got[k], v)
		}
	}
	got, err = Desired(Config{ReservedPortsSet: true})
	if err != nil || got["net.ipv4.ip_local_reserved_ports"] != "" || len(got) != 1 {
		t.Errorf("empty reserved set: %v, %v", got, err)
	}
	got, err = Desired(Config{
		Ints:             ints("nope", 1, "tcp_fin_timeout", 30),
		ReservedPortsSet: true, ReservedPorts: []string{"70000"},
		Extra: map[string]string{"vm.x": "1", "net.core.a_b": "a;b", "net.core.ok_key": "1"},
	})
	if err == nil || !strings.Contains(err.Error(), "nope") || !strings.Contains(err.Error(), "70000") ||
		!strings.Contains(err.Error(), "vm.x") || !strings.Contains(err.Error(), "net.core.a_b") {
		t.Errorf("Desired error = %v", err)
	}
	if len(got) != 2 || got["net.ipv4.tcp_fin_timeout"] != "30" || got["net.core.ok_key"] != "1" {
		t.Errorf("Desired with errors kept %v", got)
	}
}

func TestPathString(t *testing.T) {
	p := int64(8080)
	cases := map[string]Path{
		"":                                 {},
		"ip_local_port_range.min":          {Attribute: "ip_local_port_range", Field: "min"},
		`ip_local_reserved_ports["70000"]`: {Attribute: "ip_local_reserved_ports", SetElement: "70000"},
		"service_ports[8080]":              {Attribute: "service_ports", SetElementInt: &p},
		`extra_sysctls["net.x.y"]`:         {Attribute: "extra_sysctls", MapKey: "net.x.y"},
		"tcp_tw_reuse":                     {Attribute: "tcp_tw_reuse"},
	}
	for want, path := range cases {
		if got := path.String(); got != want {
			t.Errorf("Path.String() = %q, want %q", got, want)
		}
		if path.IsZero() != (want == "") {
			t.Errorf("%q IsZero = %v", want, path.IsZero())
		}
	}
	if !HasErrors([]Finding{{Severity: SeverityWarning}, {Severity: SeverityError}}) || HasErrors([]Finding{{Severity: SeverityWarning}}) {
		t.Error("HasErrors")
	}
}
