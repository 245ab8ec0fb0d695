package tcpstats

import (
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
	"github.com/tcptune/terraform-provider-tcp/internal/procnet"
)

// baseSnapshot is a quiet host with kernel defaults and tcp_tw_reuse = 0.
func baseSnapshot() *Snapshot {
	return &Snapshot{
		Source:        "ss",
		KernelRelease: "6.18.0",
		Sockstat:      &procnet.Sockstat{InUse: 5, Orphan: 1, TW: 10, Alloc: 6, Mem: 2},
		Counters: procnet.Counters{
			"TcpExt": {"TW": 100, "TWRecycled": 0, "TWKilled": 0, "TCPTimeWaitOverflow": 0, "PAWSTimewait": 2,
				"TCPACKSkippedTimeWait": 3, "DelayedACKs": 50, "TWFuture": 4},
			"Tcp": {"ActiveOpens": 10, "PassiveOpens": 20, "CurrEstab": 3, "RtoMin": 200},
		},
		Sysctls: map[string]string{
			"ip_local_port_range": "32768 60999", "ip_local_reserved_ports": "",
			"tcp_tw_reuse": "0", "tcp_tw_reuse_delay": "1000", "tcp_timestamps": "1",
			"tcp_max_tw_buckets": "131072", "tcp_fin_timeout": "60",
		},
		States:   map[string]int64{"ESTABLISHED": 3, "TIME_WAIT": 10, "LISTEN": 2},
		TimeWait: 10,
	}
}

const redisSentence = "127.0.0.1:6379 holds 27,900 of 28,232 usable ephemeral ports (99%, 27,500 in TIME_WAIT; sustainable rate 470 new connections/s without reuse): enable tcp_tw_reuse = 1, widen ip_local_port_range, or pool connections to it"

func cloneCounters(c procnet.Counters) procnet.Counters {
	out := procnet.Counters{}
	for sec, m := range c {
		out[sec] = maps.Clone(m)
	}
	return out
}

func TestAnalyzeRecommendations(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *Snapshot)
		want   []string // each must appear in exactly one recommendation
		none   bool     // no recommendation at all
		count  int      // expected number of recommendations (when want is set)
	}{
		{name: "quiet host", mutate: func(s *Snapshot) {}, none: true},
		{name: "destination near exhaustion", mutate: func(s *Snapshot) {
			s.InUseByDestination = []DestinationCount{{"127.0.0.1", 6379, 27900}, {"10.0.0.9", 5432, 100}}
			s.TimeWaitByDestination = []DestinationCount{{"127.0.0.1", 6379, 27500}}
		}, want: []string{redisSentence}, count: 1},
		{name: "destination exactly at threshold", mutate: func(s *Snapshot) {
			s.InUseByDestination = []DestinationCount{{"10.0.0.5", 6379, 14116}}
		}, want: []string{"10.0.0.5:6379 holds 14,116 of 28,232 usable ephemeral ports (50%; sustainable rate 470 new connections/s without reuse): enable tcp_tw_reuse = 1, widen ip_local_port_range, or pool connections to it"}, count: 1},
		{name: "destination just below threshold", mutate: func(s *Snapshot) {
			s.InUseByDestination = []DestinationCount{{"10.0.0.5", 6379, 14115}}
			s.TimeWaitByDestination = []DestinationCount{{"10.0.0.5", 6379, 14000}}
		}, none: true},
		{name: "several destinations, capped", mutate: func(s *Snapshot) {
			for i := range 5 {
				s.InUseByDestination = append(s.InUseByDestination, DestinationCount{"10.0.0.5", int64(6000 + i), int64(20000 - i)})
			}
		}, want: []string{"10.0.0.5:6000 holds 20,000", "10.0.0.5:6001 holds", "10.0.0.5:6002 holds"}, count: MaxNamedPerKind},
		{name: "IPv6 destination in brackets", mutate: func(s *Snapshot) {
			s.InUseByDestination = []DestinationCount{{"2001:db8::5", 443, 20000}}
		}, want: []string{"[2001:db8::5]:443 holds 20,000"}, count: 1},
		{name: "loopback destination with tcp_tw_reuse = 2", mutate: func(s *Snapshot) {
			s.Sysctls["tcp_tw_reuse"] = "2"
			s.InUseByDestination = []DestinationCount{{"127.0.0.1", 6379, 27900}}
		}, want: []string{"127.0.0.1:6379 holds 27,900 of 28,232 usable ephemeral ports (99%; port-reuse ceiling 28,232 new connections/s, a theoretical figure; 470 without reuse) although TIME_WAIT reuse applies to it (tcp_tw_reuse = 2, loopback only on this kernel), so its TIME_WAIT ports can be taken over and the count alone does not mean connect() fails: widen ip_local_port_range or pool connections to it"}, count: 1},
		{name: "remote destination with tcp_tw_reuse = 2", mutate: func(s *Snapshot) {
			s.Sysctls["tcp_tw_reuse"] = "2"
			s.InUseByDestination = []DestinationCount{{"10.0.0.5", 6379, 27900}}
		}, want: []string{"(99%; sustainable rate 470 new connections/s without reuse): enable tcp_tw_reuse = 1, widen"}, count: 1},
		{name: "reuse on but timestamps off", mutate: func(s *Snapshot) {
			s.Sysctls["tcp_tw_reuse"] = "1"
			s.Sysctls["tcp_timestamps"] = "0"
			s.InUseByDestination = []DestinationCount{{"10.0.0.5", 6379, 27900}}
		}, want: []string{
			"10.0.0.5:6379 holds 27,900 of 28,232 usable ephemeral ports (99%; sustainable rate 470 new connections/s without reuse): enable tcp_timestamps and tcp_tw_reuse = 1, widen ip_local_port_range, or pool connections to it",
			"tcp_tw_reuse = 1 has no effect because tcp_timestamps = 0: set tcp_timestamps = 1 for TIME_WAIT reuse to work",
		}, count: 2},
		{name: "reuse 1 with timestamps off, no traffic", mutate: func(s *Snapshot) {
			s.Sysctls["tcp_tw_reuse"] = "1"
			s.Sysctls["tcp_timestamps"] = "0"
		}, want: []string{"tcp_tw_reuse = 1 has no effect because tcp_timestamps = 0"}, count: 1},
		{name: "reuse 2 with timestamps off and loopback TIME_WAIT", mutate: func(s *Snapshot) {
			s.Sysctls["tcp_tw_reuse"] = "2"
			s.Sysctls["tcp_timestamps"] = "0"
			s.TimeWaitByDestination = []DestinationCount{{"::1", 8080, 50}}
		}, want: []string{"tcp_tw_reuse = 2 (loopback only) has no effect on the loopback TIME_WAIT here because tcp_timestamps = 0"}, count: 1},
		{name: "reuse 2 with timestamps off, remote TIME_WAIT only", mutate: func(s *Snapshot) {
			s.Sysctls["tcp_tw_reuse"] = "2"
			s.Sysctls["tcp_timestamps"] = "0"
			s.TimeWaitByDestination = []DestinationCount{{"10.0.0.5", 8080, 50}}
		}, none: true},
		{name: "widest range: no widen lever", mutate: func(s *Snapshot) {
			s.Sysctls["ip_local_port_range"] = "1024 65535"
			s.InUseByDestination = []DestinationCount{{"10.0.0.5", 6379, 60000}}
		}, want: []string{"10.0.0.5:6379 holds 60,000 of 64,512 usable ephemeral ports (93%; sustainable rate 1,075 new connections/s without reuse): enable tcp_tw_reuse = 1 or pool connections to it"}, count: 1},
		{name: "server-side TIME_WAIT", mutate: func(s *Snapshot) {
			s.Listening = []catalog.PortSpan{{Min: 80, Max: 80}, {Min: 8080, Max: 8080}}
			s.TimeWaitByLocalPort = []PortCount{{8080, 5000}, {1500, 1200}, {80, 999}}
		}, want: []string{
			"Local port 8080 (a listening port) has 5,000 TIME_WAIT sockets from connections this host closed first (server side): they cost memory, not ephemeral ports; let clients close first or use keep-alive",
			"Local port 1500 (not a listening port now) has 1,200 TIME_WAIT sockets",
		}, count: 2},
		{name: "server-side TIME_WAIT below threshold", mutate: func(s *Snapshot) {
			s.TimeWaitByLocalPort = []PortCount{{8080, ServerTimeWaitThreshold - 1}}
		}, none: true},
		{name: "TIME_WAIT overflow since boot, buckets full now", mutate: func(s *Snapshot) {
			s.Counters["TcpExt"]["TCPTimeWaitOverflow"] = 12345
			s.Sysctls["tcp_max_tw_buckets"] = "1000"
			s.Sockstat.TW = 1000
		}, want: []string{"1,000 TIME_WAIT and orphaned FIN_WAIT2 sockets fill 100% of tcp_max_tw_buckets (1,000): at the limit, closing sockets skip TIME_WAIT (existing ones are not cleared), and TCPTimeWaitOverflow is 12,345 since boot (it also counts failed allocations, under whatever limit was set then; read with sample_seconds to see whether it still grows); raise tcp_max_tw_buckets or pool connections so fewer close"}, count: 1},
		// One old event must not give a recommendation forever.
		{name: "TIME_WAIT overflow since boot only", mutate: func(s *Snapshot) {
			s.Counters["TcpExt"]["TCPTimeWaitOverflow"] = 3
			s.Sysctls["tcp_max_tw_buckets"] = "262144"
		}, none: true},
		{name: "TIME_WAIT overflow during the sample", mutate: func(s *Snapshot) {
			s.Sample = &Sample{Seconds: 5, Counters: cloneCounters(s.Counters)}
			s.Counters["TcpExt"]["TCPTimeWaitOverflow"] = 50
			s.Sysctls["tcp_max_tw_buckets"] = "1000"
			s.Sockstat.TW = 1000
		}, want: []string{"TCPTimeWaitOverflow grew by 50 in 5 s (10/s): closing sockets are skipping TIME_WAIT now, because tcp_max_tw_buckets (1,000) is full (1,000 TIME_WAIT and orphaned FIN_WAIT2 sockets) or a timewait socket could not be allocated; existing TIME_WAIT sockets are not cleared. Raise tcp_max_tw_buckets or pool connections so fewer close"}, count: 1},
		{name: "TIME_WAIT overflow since boot, not during the sample", mutate: func(s *Snapshot) {
			s.Counters["TcpExt"]["TCPTimeWaitOverflow"] = 12345
			s.Sample = &Sample{Seconds: 5, Counters: cloneCounters(s.Counters)}
		}, none: true},
		{name: "tcp_tw_reuse = 2 on 4.15 is global", mutate: func(s *Snapshot) {
			s.KernelRelease = "4.15.0-213-generic"
			s.Sysctls["tcp_tw_reuse"] = "2"
			delete(s.Sysctls, "tcp_tw_reuse_delay")
			s.InUseByDestination = []DestinationCount{{"10.0.0.5", 6379, 27900}}
		}, want: []string{
			"10.0.0.5:6379 holds 27,900 of 28,232 usable ephemeral ports (99%; port-reuse ceiling 14,116 new connections/s, a theoretical figure; 470 without reuse) although TIME_WAIT reuse applies to it (tcp_tw_reuse = 2, all destinations on this kernel)",
			"tcp_tw_reuse = 2 on Linux 4.15 reuses TIME_WAIT ports for every destination, not only loopback (loopback only needs Linux 4.18 or later): set 1 if that is intended, 0 to turn reuse off",
		}, count: 2},
		{name: "measured rate above what the worst destination takes", mutate: func(s *Snapshot) {
			s.Sample = &Sample{Seconds: 2, Counters: cloneCounters(s.Counters)}
			s.Counters["Tcp"]["ActiveOpens"] += 2000 // 1,000/s
			s.InUseByDestination = []DestinationCount{{"10.0.0.5", 6379, 10000}}
		}, want: []string{"New outgoing connections run at 1,000/s (measured over 2 s, all destinations), above the 470/s that 10.0.0.5:6379 can take (sustainable rate 470 new connections/s without reuse): if they all go there, its 18,232 free ports run out in about 27 s; pool connections or spread them over more destinations"}, count: 1},
		{name: "measured rate with the destination near exhaustion", mutate: func(s *Snapshot) {
			s.Sample = &Sample{Seconds: 2, Counters: cloneCounters(s.Counters)}
			s.Counters["Tcp"]["ActiveOpens"] += 1000 // 500/s
			s.InUseByDestination = []DestinationCount{{"10.0.0.5", 6379, 27000}}
		}, want: []string{"10.0.0.5:6379 holds 27,000 of 28,232 usable ephemeral ports (96%; sustainable rate 470 new connections/s without reuse); measured 500 new outgoing connections/s over 2 s (all destinations), which would fill its ports in about 32 s if they all went to it: enable tcp_tw_reuse = 1"}, count: 1},
		{name: "buckets nearly full", mutate: func(s *Snapshot) {
			s.Sysctls["tcp_max_tw_buckets"] = "1000"
			s.Sockstat.TW = 850
		}, want: []string{"850 TIME_WAIT and orphaned FIN_WAIT2 sockets fill 85% of tcp_max_tw_buckets (1,000): at the limit, closing sockets skip TIME_WAIT (existing ones are not cleared); raise tcp_max_tw_buckets or pool connections so fewer close"}, count: 1},
		{name: "buckets below threshold", mutate: func(s *Snapshot) {
			s.Sysctls["tcp_max_tw_buckets"] = "1000"
			s.Sockstat.TW = 799
		}, none: true},
		{name: "tcp_tw_recycle on an old kernel", mutate: func(s *Snapshot) {
			s.Sysctls["tcp_tw_recycle"] = "1"
		}, want: []string{"tcp_tw_recycle = 1 drops connections from clients behind NAT (the key was removed in Linux 4.12): set it to 0 and use tcp_tw_reuse = 1 instead"}, count: 1},
		{name: "tcp_tw_recycle off", mutate: func(s *Snapshot) { s.Sysctls["tcp_tw_recycle"] = "0" }, none: true},
		{name: "reserved ports cover the range", mutate: func(s *Snapshot) {
			s.Sysctls["ip_local_port_range"] = "40000 40009"
			s.Sysctls["ip_local_reserved_ports"] = "39000-40020"
			s.InUseByDestination = []DestinationCount{{"10.0.0.5", 6379, 3}}
		}, want: []string{"ip_local_reserved_ports (39000-40020) covers all of ip_local_port_range (40000-40009): connect() without a bound port fails with EADDRNOTAVAIL; shrink the reserved list or widen ip_local_port_range"}, count: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := baseSnapshot()
			tt.mutate(s)
			r := Analyze(s)
			if r.Recommendations == nil {
				t.Fatal("Recommendations is nil; want an empty list")
			}
			if tt.none {
				if len(r.Recommendations) != 0 {
					t.Errorf("want none, got %q", r.Recommendations)
				}
				return
			}
			if len(r.Recommendations) != tt.count {
				t.Errorf("got %d recommendations, want %d: %q", len(r.Recommendations), tt.count, r.Recommendations)
			}
			for _, w := range tt.want {
				n := 0
				for _, got := range r.Recommendations {
					if strings.Contains(got, w) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%q found in %d recommendations: %q", w, n, r.Recommendations)
				}
			}
			for _, got := range r.Recommendations {
				if strings.Contains(got, "clear") && !strings.Contains(got, "not cleared") {
					t.Errorf("claims TIME_WAIT sockets get cleared: %q", got)
				}
			}
		})
	}
}

func TestAnalyzeFigures(t *testing.T) {
	s := baseSnapshot()
	s.Sysctls["ip_local_reserved_ports"] = "8001-8003,32760-32770,60999,61000"
	s.Sysctls["tcp_max_tw_buckets"] = "200"
	s.Sockstat.TW = 50
	s.InUseByDestination = []DestinationCount{{"10.0.0.5", 6379, 1400}}
	s.TimeWaitByDestination = []DestinationCount{{"10.0.0.5", 6379, 1300}}
	s.TimeWaitByLocalPort = []PortCount{{80, 7}}
	r := Analyze(s)

	if r.KernelRelease != "6.18.0" || r.TimeWait != 10 || r.SockstatTW != 50 || r.Orphaned != 1 {
		t.Errorf("scalars: %+v", r)
	}
	wantEph := EphemeralPorts{Min: 32768, Max: 60999, Reserved: 3 + 1, Usable: 28232 - 4}
	if r.EphemeralPorts != wantEph {
		t.Errorf("EphemeralPorts %+v, want %+v", r.EphemeralPorts, wantEph)
	}
	wantPE := PortExhaustion{Address: "10.0.0.5", Port: 6379, InUse: 1400, Usable: 28228, Ratio: 1400.0 / 28228}
	if r.PortExhaustion != wantPE {
		t.Errorf("PortExhaustion %+v, want %+v", r.PortExhaustion, wantPE)
	}
	if want := 28228.0 / 60; math.Abs(r.MaxConnectionRatePerDestination-want) > 1e-9 {
		t.Errorf("rate %v, want %v", r.MaxConnectionRatePerDestination, want)
	}
	if r.TWBuckets != (TWBuckets{Limit: 200, Used: 50, Ratio: 0.25}) {
		t.Errorf("TWBuckets %+v", r.TWBuckets)
	}
	wantStates := map[string]int64{}
	for _, st := range procnet.States {
		wantStates[st] = 0
	}
	wantStates["ESTABLISHED"], wantStates["TIME_WAIT"], wantStates["LISTEN"] = 3, 10, 2
	if !maps.Equal(r.States, wantStates) {
		t.Errorf("States %v", r.States)
	}
	wantCounters := map[string]int64{"TW": 100, "TWRecycled": 0, "TWKilled": 0, "TCPTimeWaitOverflow": 0, "PAWSTimewait": 2,
		"TCPACKSkippedTimeWait": 3, "TWFuture": 4, "ActiveOpens": 10, "PassiveOpens": 20, "CurrEstab": 3}
	if !maps.Equal(r.Counters, wantCounters) {
		t.Errorf("Counters %v, want %v", r.Counters, wantCounters)
	}
	if r.Settings["ip_local_reserved_ports"] != "8001-8003,32760-32770,60999-61000" || r.Settings["ip_local_port_range"] != "32768 60999" {
		t.Errorf("Settings %v", r.Settings)
	}
	if _, ok := r.Settings["tcp_tw_recycle"]; ok {
		t.Errorf("absent sysctl reported")
	}
	if !slices.Equal(r.TimeWaitByDestination, s.TimeWaitByDestination) || !slices.Equal(r.TimeWaitByLocalPort, s.TimeWaitByLocalPort) {
		t.Errorf("lists not carried over")
	}
	if len(r.Recommendations) != 0 {
		t.Errorf("unexpected recommendations %q", r.Recommendations)
	}
}

func TestAnalyzeRate(t *testing.T) {
	tests := []struct {
		name                   string
		reuse, ts, delay, rnge string
		want                   float64
	}{
		{"no reuse", "0", "1", "1000", "32768 60999", 28232.0 / 60},
		{"loopback-only reuse counts as none", "2", "1", "1000", "32768 60999", 28232.0 / 60},
		{"reuse", "1", "1", "1000", "32768 60999", 28232},
		{"reuse, timestamps = 2", "1", "2", "1000", "32768 60999", 28232},
		{"reuse, longer delay", "1", "1", "4000", "32768 60999", 28232.0 / 4},
		{"reuse, kernel without delay key", "1", "1", "", "32768 60999", 28232},
		{"reuse without timestamps", "1", "0", "1000", "32768 60999", 28232.0 / 60},
		{"wide range", "0", "1", "1000", "1024 65535", 64512.0 / 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := baseSnapshot()
			s.Sysctls["tcp_tw_reuse"], s.Sysctls["tcp_timestamps"], s.Sysctls["ip_local_port_range"] = tt.reuse, tt.ts, tt.rnge
			if tt.delay == "" {
				delete(s.Sysctls, "tcp_tw_reuse_delay")
			} else {
				s.Sysctls["tcp_tw_reuse_delay"] = tt.delay
			}
			if got := Analyze(s).MaxConnectionRatePerDestination; math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("rate %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnalyzeEdgeCases(t *testing.T) {
	// An empty snapshot (a host that reported almost nothing) gives
	// defaults, not a panic.
	r := Analyze(&Snapshot{})
	if r.EphemeralPorts != (EphemeralPorts{Min: 32768, Max: 60999, Usable: 28232}) || r.PortExhaustion != (PortExhaustion{Usable: 28232}) ||
		r.TWBuckets != (TWBuckets{}) || len(r.Recommendations) != 0 || len(r.States) != len(procnet.States) {
		t.Errorf("empty snapshot: %+v", r)
	}
	// Reserved ports covering the range: usable 0, ratio 1, rate 0.
	s := baseSnapshot()
	s.Sysctls["ip_local_port_range"] = "40000 40001"
	s.Sysctls["ip_local_reserved_ports"] = "40000-40001"
	s.InUseByDestination = []DestinationCount{{"10.0.0.5", 6379, 2}}
	r = Analyze(s)
	if r.EphemeralPorts.Usable != 0 || r.PortExhaustion.Ratio != 1 || r.MaxConnectionRatePerDestination != 0 {
		t.Errorf("no usable ports: %+v %+v %v", r.EphemeralPorts, r.PortExhaustion, r.MaxConnectionRatePerDestination)
	}
}

func TestGroupAndPercent(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 28232: "28,232", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
	for _, c := range []struct {
		n, d int64
		want int
	}{{27900, 28232, 99}, {28231, 28232, 99}, {28232, 28232, 100}, {1, 3, 33}, {5, 0, 0}} {
		if got := percent(c.n, c.d); got != c.want {
			t.Errorf("percent(%d, %d) = %d, want %d", c.n, c.d, got, c.want)
		}
	}
}

// TestDocsQuoteTheCode: the recommendation the data source page quotes is
// the sentence Analyze prints for that case, word for word.
func TestDocsQuoteTheCode(t *testing.T) {
	s := baseSnapshot()
	s.InUseByDestination = []DestinationCount{{"10.0.0.5", 6379, 27900}}
	s.TimeWaitByDestination = []DestinationCount{{"10.0.0.5", 6379, 27500}}
	r := Analyze(s)
	if len(r.Recommendations) != 1 {
		t.Fatalf("recommendations %q", r.Recommendations)
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "templates", "data-sources", "stats.md.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(b)), " ")
	if !strings.Contains(doc, "*"+r.Recommendations[0]+".*") {
		t.Errorf("templates/data-sources/stats.md.tmpl does not quote the recommendation as printed:\n%s", r.Recommendations[0])
	}
}
