package tcpstats

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/tcptune/terraform-provider-tcp/internal/procnet"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// manyTimeWait returns n TIME_WAIT sockets: four fifths client-side to eight
// destinations, one fifth server-side on port 80, plus two listeners.
func manyTimeWait(n int) []procnet.Socket {
	s := []procnet.Socket{
		listener("0.0.0.0:80", "0.0.0.0:0"),
		listener("0.0.0.0:22", "0.0.0.0:0"),
	}
	for i := 0; i < n; i++ {
		if i%5 == 4 {
			remote := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 16), byte(i >> 8)}), uint16(1024+i%60000))
			s = append(s, procnet.Socket{State: "TIME_WAIT", Local: netip.MustParseAddrPort("10.0.0.1:80"), Remote: remote})
			continue
		}
		dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(10 + i%8)}), 6379)
		local := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(32768+(i/8)%28232))
		s = append(s, procnet.Socket{State: "TIME_WAIT", Local: local, Remote: dst})
	}
	return s
}

// BenchmarkStatsScript runs stats.sh's /proc fallback over a fake root whose
// /proc/net/tcp holds 50,000 TIME_WAIT sockets, and reports the output size
// (it must not grow with the socket count).
func BenchmarkStatsScript(b *testing.B) {
	root := writeFakeRoot(b, manyTimeWait(50000), map[string]string{"ip_local_port_range": "32768\t60999", "tcp_max_tw_buckets": "262144"}, binary.LittleEndian)
	for _, sh := range shells(b) {
		b.Run(sh.name, func(b *testing.B) {
			r := &localRunner{sh: sh, root: root}
			var out []byte
			for b.Loop() {
				res, err := r.Run(context.Background(), sshx.Target{}, Script(), Input{Top: DefaultTop, Endian: "le"}.Marshal())
				if err != nil || res.ExitStatus != 0 {
					b.Fatalf("%v %d %s", err, res.ExitStatus, res.Stderr)
				}
				out = res.Stdout
			}
			s, err := Decode(out)
			if err != nil {
				b.Fatal(err)
			}
			if s.TimeWait != 50000 {
				b.Fatalf("TimeWait %d, want 50000", s.TimeWait)
			}
			b.ReportMetric(float64(len(out)), "bytes/op-output")
		})
	}
}

func BenchmarkAnalyze(b *testing.B) {
	s := baseSnapshot()
	for i := range DefaultTop {
		s.InUseByDestination = append(s.InUseByDestination, DestinationCount{fmt.Sprintf("10.0.0.%d", i), 6379, int64(28000 - 100*i)})
		s.TimeWaitByDestination = append(s.TimeWaitByDestination, DestinationCount{fmt.Sprintf("10.0.0.%d", i), 6379, int64(27000 - 100*i)})
		s.TimeWaitByLocalPort = append(s.TimeWaitByLocalPort, PortCount{int64(8000 + i), int64(5000 - i)})
	}
	s.Counters["TcpExt"]["TCPTimeWaitOverflow"] = 10
	for b.Loop() {
		r := Analyze(s)
		if len(r.Recommendations) == 0 {
			b.Fatal("no recommendations")
		}
	}
}

// BenchmarkStatsScriptNetns reads a namespace holding about 31,000 real
// TIME_WAIT sockets (churn scale 20,000) with ss and with the /proc
// fallback. Needs root and iproute2; skipped otherwise.
func BenchmarkStatsScriptNetns(b *testing.B) {
	requireNetns(b)
	ns := newNetns(b)
	startChurn(b, ns, 20000)
	for _, sh := range shells(b) {
		for _, nss := range []bool{false, true} {
			if sh.path != "" && !nss {
				continue
			}
			name := sh.name + "/ss"
			if nss {
				name = sh.name + "/proc"
			}
			b.Run(name, func(b *testing.B) {
				r := &localRunner{sh: sh, ns: ns}
				var out []byte
				for b.Loop() {
					res, err := r.Run(context.Background(), sshx.Target{}, Script(), Input{Top: DefaultTop, NoSS: nss}.Marshal())
					if err != nil || res.ExitStatus != 0 {
						b.Fatalf("%v %d %s", err, res.ExitStatus, res.Stderr)
					}
					out = res.Stdout
				}
				s, err := Decode(out)
				if err != nil {
					b.Fatal(err)
				}
				if s.TimeWait < 30000 {
					b.Fatalf("TimeWait %d, want ≥ 30,000", s.TimeWait)
				}
				b.ReportMetric(float64(len(out)), "bytes/op-output")
				b.ReportMetric(float64(s.TimeWait), "time_wait")
			})
		}
	}
}
