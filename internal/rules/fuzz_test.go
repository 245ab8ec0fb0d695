package rules

import (
	"slices"
	"strings"
	"testing"
)

// FuzzRules feeds arbitrary configurations and host facts to Static and
// Host: they must not panic, must be deterministic, and every finding must
// have a summary and a detail.
func FuzzRules(f *testing.F) {
	f.Add(int64(1), int64(0), int64(10000), int64(65001), "8003\x008001-8002\x007005", "net.core.x_y", "4000", int64(8080), "32768\t60999\n", "7005\n", int64(10050))
	f.Add(int64(3), int64(1), int64(70000), int64(0), "9-3\x00x", "vm.x", ";", int64(0), "", "bad", int64(-1))
	f.Fuzz(func(t *testing.T, reuse, ts, lo, hi int64, reserved, extraKey, extraVal string, service int64, curRange, curReserved string, listening int64) {
		c := Config{
			Ints:             map[string]int64{"tcp_tw_reuse": reuse, "tcp_timestamps": ts, "tcp_max_tw_buckets": reuse * 1000},
			PortRange:        &PortRange{Min: lo, Max: hi},
			ReservedPorts:    strings.Split(reserved, "\x00"),
			ReservedPortsSet: reserved != "",
			Extra:            map[string]string{extraKey: extraVal},
			BehindNAT:        ts%2 == 0,
			ServicePorts:     []int64{service, service + 1},
		}
		if lo%3 == 0 {
			c.PortRange = nil
		}
		facts := HostFacts{
			KernelRelease:         "6.18.0",
			Keys:                  map[string]KeyFact{extraKey: {Exists: ts%2 == 0}, "net.ipv4.tcp_timestamps": {Exists: true, Value: curReserved}},
			UnprivilegedPortStart: 1024,
			ListeningPorts:        []int64{listening, 22},
			CurrentPortRange:      curRange,
			CurrentReserved:       curReserved,
			SysctlFiles: []SysctlFile{
				{Path: "/etc/sysctl.d/99-x.conf", Values: map[string]string{extraKey: curRange, "net.ipv4.ip_local_port_range": curRange}},
				{Path: "/etc/sysctl.d/80-y.conf", Managed: listening%2 == 0, Values: map[string]string{"net.ipv4.tcp_tw_reuse": "1"}},
			},
			OwnPath: "/etc/sysctl.d/90-tcp-tuning.conf",
		}
		for _, fs := range [][]Finding{Static(c), Host(c, facts)} {
			for _, x := range fs {
				if x.Summary == "" || x.Detail == "" {
					t.Fatalf("empty finding text: %+v", x)
				}
			}
		}
		if !slices.Equal(brief(Static(c)), brief(Static(c))) || !slices.Equal(brief(Host(c, facts)), brief(Host(c, facts))) {
			t.Fatal("rules are not deterministic")
		}
		_, _ = Desired(c)
	})
}
