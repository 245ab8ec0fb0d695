package tcpstats

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
	"github.com/tcptune/terraform-provider-tcp/internal/procnet"
)

// Thresholds below which Analyze makes no recommendation.
const (
	// DestinationRatioThreshold: a destination whose client-side sockets
	// hold at least this share of the usable ephemeral ports is named.
	DestinationRatioThreshold = 0.5
	// ServerTimeWaitThreshold: a local port with at least this many
	// server-side TIME_WAIT sockets is named (about 17 closes/s by this host).
	ServerTimeWaitThreshold = 1000
	// TWBucketsRatioThreshold: sockstat tw at this share of
	// tcp_max_tw_buckets is named even before the limit is hit.
	TWBucketsRatioThreshold = 0.8
	// MaxNamedPerKind caps how many destinations or local ports get their
	// own recommendation.
	MaxNamedPerKind = 3
)

// Kernel facts used by the analysis (TIME_WAIT length and the reuse delay
// are catalog.TimeWaitSeconds and catalog.DefaultReuseDelayMs).
const (
	// DefaultPortRangeMin and DefaultPortRangeMax are the kernel's default
	// ip_local_port_range, used when the host does not report one.
	DefaultPortRangeMin = 32768
	DefaultPortRangeMax = 60999
	// widestRange is the size of 1024–65535, the widest range an operator
	// would set with the default ip_unprivileged_port_start.
	widestRange = 65535 - 1024 + 1
)

// Report is a host's TIME_WAIT picture, as the tcp_stats data source shows it.
type Report struct {
	KernelRelease string
	// States counts sockets per TCP state (kernel names, every state present,
	// 0 when none), IPv4 and IPv6.
	States map[string]int64
	// TimeWait is the exact number of TIME_WAIT sockets, IPv4 + IPv6.
	TimeWait int64
	// SockstatTW is /proc/net/sockstat's tw: TIME_WAIT plus orphaned
	// FIN_WAIT2 sockets, the figure tcp_max_tw_buckets limits.
	SockstatTW int64
	// Orphaned is /proc/net/sockstat's orphan (host-wide).
	Orphaned int64
	// TimeWaitByDestination: client-side TIME_WAIT per remote address and
	// port, top N by count.
	TimeWaitByDestination []DestinationCount
	// TimeWaitByLocalPort: server-side TIME_WAIT per local port, top N.
	TimeWaitByLocalPort []PortCount
	EphemeralPorts      EphemeralPorts
	// PortExhaustion is the destination holding the most ephemeral ports
	// (no address and zero in use when no client-side socket exists;
	// Usable is always set).
	PortExhaustion PortExhaustion
	// MaxConnectionRatePerDestination is the sustainable rate of new
	// short-lived connections per second from this host to one remote
	// (non-loopback) destination before connect() runs out of ports:
	// usable ports / 60 s, or, when TIME_WAIT reuse works (tcp_tw_reuse = 1
	// and tcp_timestamps on), usable ports / tcp_tw_reuse_delay. The reuse
	// figure is a ceiling: reuse also needs the peer to send timestamps.
	// tcp_tw_reuse = 2 reuses only for loopback, so it counts as no reuse
	// here (a loopback destination then gets the reuse figure).
	MaxConnectionRatePerDestination float64
	TWBuckets                       TWBuckets
	// Counters: TcpExt TW, TWKilled, TWRecycled, TCPTimeWaitOverflow and
	// every TcpExt counter starting with "TW" or containing "TimeWait" (any
	// case), and Tcp ActiveOpens, PassiveOpens, CurrEstab; cumulative since
	// boot or namespace creation, except CurrEstab. Only what the kernel has.
	Counters map[string]int64
	// Settings: the TIME_WAIT-related sysctls the host has, by name under
	// net.ipv4 (ip_local_port_range as "min max", reserved ports canonical).
	Settings map[string]string
	// Recommendations: plain sentences, each naming the evidence and the
	// lever; empty when nothing calls for action.
	Recommendations []string
}

// EphemeralPorts describes ip_local_port_range.
type EphemeralPorts struct {
	Min, Max int64
	Reserved int64 // ports of ip_local_reserved_ports inside [Min, Max]
	Usable   int64 // Max - Min + 1 - Reserved
}

// PortExhaustion is one destination's share of the usable ephemeral ports.
type PortExhaustion struct {
	Address string
	Port    int64
	InUse   int64 // client-side sockets to it, every state but LISTEN
	Usable  int64
	Ratio   float64 // InUse / Usable (1 when Usable is 0 and InUse > 0)
}

// TWBuckets relates sockstat tw to tcp_max_tw_buckets.
type TWBuckets struct {
	Limit int64   // tcp_max_tw_buckets (0 when unknown)
	Used  int64   // sockstat tw
	Ratio float64 // Used / Limit, 0 when Limit is 0
}

// Analyze turns a snapshot into a report. It is pure.
func Analyze(s *Snapshot) *Report {
	r := &Report{
		KernelRelease:         s.KernelRelease,
		States:                map[string]int64{},
		TimeWait:              s.TimeWait,
		TimeWaitByDestination: slices.Clone(s.TimeWaitByDestination),
		TimeWaitByLocalPort:   slices.Clone(s.TimeWaitByLocalPort),
		Counters:              counters(s.Counters),
		Settings:              settings(s.Sysctls),
		Recommendations:       []string{},
	}
	for _, st := range procnet.States {
		r.States[st] = 0
	}
	for k, v := range s.States {
		r.States[k] += v
	}
	if s.Sockstat != nil {
		r.SockstatTW, r.Orphaned = s.Sockstat.TW, s.Sockstat.Orphan
	}

	lo, hi, rangeKnown := portRange(s.Sysctls["ip_local_port_range"])
	reserved, _ := catalog.ParseKernelPortList(s.Sysctls["ip_local_reserved_ports"])
	usable := catalog.UsablePorts(int64(lo), int64(hi), reserved)
	r.EphemeralPorts = EphemeralPorts{Min: int64(lo), Max: int64(hi), Reserved: int64(hi-lo+1) - usable, Usable: usable}

	r.PortExhaustion = PortExhaustion{Usable: max(usable, 0)}
	if len(s.InUseByDestination) > 0 {
		r.PortExhaustion = exhaustion(s.InUseByDestination[0], usable)
	}

	reuse := sysctlInt(s.Sysctls, "tcp_tw_reuse", 0)
	timestamps := sysctlInt(s.Sysctls, "tcp_timestamps", 1)
	delayMs := sysctlInt(s.Sysctls, "tcp_tw_reuse_delay", catalog.DefaultReuseDelayMs)
	reuseWorks := func(loopback bool) bool {
		return timestamps != 0 && (reuse == 1 || (reuse == 2 && loopback))
	}
	rate := func(loopback bool) float64 {
		return catalog.SustainableRate(usable, reuseWorks(loopback), delayMs)
	}
	r.MaxConnectionRatePerDestination = rate(false)

	r.TWBuckets = TWBuckets{Limit: sysctlInt(s.Sysctls, "tcp_max_tw_buckets", 0), Used: r.SockstatTW}
	if r.TWBuckets.Limit > 0 {
		r.TWBuckets.Ratio = float64(r.TWBuckets.Used) / float64(r.TWBuckets.Limit)
	}

	// Recommendations, most urgent first.
	rec := func(format string, args ...any) {
		r.Recommendations = append(r.Recommendations, fmt.Sprintf(format, args...))
	}

	if rangeKnown && usable <= 0 {
		rec("ip_local_reserved_ports (%s) covers all of ip_local_port_range (%d-%d): connect() without a bound port fails with EADDRNOTAVAIL; shrink the reserved list or widen ip_local_port_range",
			catalog.FormatPortList(reserved), lo, hi)
	}

	twTo := map[string]int64{}
	for _, d := range s.TimeWaitByDestination {
		twTo[hostPort(d.Address, d.Port)] = d.Count
	}
	named := 0
	for _, d := range s.InUseByDestination {
		pe := exhaustion(d, usable)
		if usable <= 0 || pe.Ratio < DestinationRatioThreshold || named == MaxNamedPerKind {
			break // sorted by count: the rest are lower
		}
		named++
		loop := isLoopback(d.Address)
		dst := hostPort(d.Address, d.Port)
		evidence := fmt.Sprintf("%s holds %s of %s usable ephemeral ports (%d%%", dst,
			group(d.Count), group(usable), percent(d.Count, usable))
		if n, ok := twTo[dst]; ok {
			evidence += fmt.Sprintf(", %s in TIME_WAIT", group(n))
		}
		evidence += fmt.Sprintf("; sustainable rate %s new connections/s)", rateText(rate(loop)))
		var levers []string
		switch {
		case reuseWorks(loop):
			evidence += fmt.Sprintf(" although TIME_WAIT reuse is on (tcp_tw_reuse = %d)", reuse)
		case timestamps == 0:
			levers = append(levers, "enable tcp_timestamps and tcp_tw_reuse = 1")
		default:
			levers = append(levers, "enable tcp_tw_reuse = 1")
		}
		if hi-lo+1 < widestRange {
			levers = append(levers, "widen ip_local_port_range")
		}
		levers = append(levers, "pool connections to it")
		rec("%s: %s", evidence, orList(levers))
	}

	named = 0
	for _, p := range s.TimeWaitByLocalPort {
		if p.Count < ServerTimeWaitThreshold || named == MaxNamedPerKind {
			break
		}
		named++
		where := "a listening port"
		if !catalog.PortListContains(s.Listening, p.Port) {
			where = "not a listening port now"
		}
		rec("Local port %d (%s) has %s TIME_WAIT sockets from connections this host closed first (server side): they cost memory, not ephemeral ports; let clients close first or use keep-alive",
			p.Port, where, group(p.Count))
	}

	overflow, hasOverflow := s.Counters.Get("TcpExt", "TCPTimeWaitOverflow")
	limit := "tcp_max_tw_buckets"
	if r.TWBuckets.Limit > 0 || s.Sysctls["tcp_max_tw_buckets"] != "" {
		limit = fmt.Sprintf("tcp_max_tw_buckets (%s)", group(r.TWBuckets.Limit))
	}
	switch {
	case hasOverflow && overflow > 0:
		rec("TCPTimeWaitOverflow is %s: %s was reached and that many closing sockets skipped TIME_WAIT (existing TIME_WAIT sockets are not cleared); raise tcp_max_tw_buckets or pool connections so fewer close",
			group(overflow), limit)
	case r.TWBuckets.Limit > 0 && r.TWBuckets.Ratio >= TWBucketsRatioThreshold:
		rec("%s TIME_WAIT and orphaned FIN_WAIT2 sockets fill %d%% of %s: at the limit, closing sockets skip TIME_WAIT; raise tcp_max_tw_buckets or pool connections so fewer close",
			group(r.TWBuckets.Used), percent(r.TWBuckets.Used, r.TWBuckets.Limit), limit)
	}

	if timestamps == 0 && s.Sysctls["tcp_timestamps"] != "" {
		loopTW := false
		for _, d := range s.TimeWaitByDestination {
			loopTW = loopTW || isLoopback(d.Address)
		}
		switch {
		case reuse == 1:
			rec("tcp_tw_reuse = 1 has no effect because tcp_timestamps = 0: set tcp_timestamps = 1 for TIME_WAIT reuse to work")
		case reuse == 2 && loopTW:
			rec("tcp_tw_reuse = 2 (loopback only) has no effect on the loopback TIME_WAIT here because tcp_timestamps = 0: set tcp_timestamps = 1")
		}
	}

	if sysctlInt(s.Sysctls, "tcp_tw_recycle", 0) != 0 {
		rec("tcp_tw_recycle = %s drops connections from clients behind NAT (the key was removed in Linux 4.12): set it to 0 and use tcp_tw_reuse = 1 instead",
			s.Sysctls["tcp_tw_recycle"])
	}
	return r
}

func exhaustion(d DestinationCount, usable int64) PortExhaustion {
	pe := PortExhaustion{Address: d.Address, Port: d.Port, InUse: d.Count, Usable: max(usable, 0)}
	switch {
	case usable > 0:
		pe.Ratio = float64(d.Count) / float64(usable)
	case d.Count > 0:
		pe.Ratio = 1
	}
	return pe
}

// interestingCounters are always kept when the kernel has them.
var interestingCounters = map[string][]string{
	"TcpExt": {"TW", "TWKilled", "TWRecycled", "TCPTimeWaitOverflow"},
	"Tcp":    {"ActiveOpens", "PassiveOpens", "CurrEstab"},
}

func counters(c procnet.Counters) map[string]int64 {
	out := map[string]int64{}
	for sec, names := range interestingCounters {
		for _, n := range names {
			if v, ok := c.Get(sec, n); ok {
				out[n] = v
			}
		}
	}
	for n, v := range c["TcpExt"] {
		if strings.HasPrefix(n, "TW") || strings.Contains(strings.ToLower(n), "timewait") {
			out[n] = v
		}
	}
	return out
}

func settings(sys map[string]string) map[string]string {
	out := make(map[string]string, len(sys))
	for k, v := range sys {
		v = strings.Join(strings.Fields(v), " ")
		if k == "ip_local_reserved_ports" {
			if c, err := catalog.CanonicalPortList(v); err == nil {
				v = c
			}
		}
		out[k] = v
	}
	return out
}

// portRange parses "min max"; the kernel default when absent or malformed.
func portRange(s string) (lo, hi int, ok bool) {
	f := strings.Fields(s)
	if len(f) == 2 {
		a, err1 := strconv.Atoi(f[0])
		b, err2 := strconv.Atoi(f[1])
		if err1 == nil && err2 == nil && 0 <= a && a <= b && b <= 65535 {
			return a, b, true
		}
	}
	return DefaultPortRangeMin, DefaultPortRangeMax, false
}

func sysctlInt(sys map[string]string, key string, def int64) int64 {
	v, err := strconv.ParseInt(strings.TrimSpace(sys[key]), 10, 64)
	if err != nil {
		return def
	}
	return v
}

func isLoopback(addr string) bool {
	a, err := netip.ParseAddr(addr)
	return err == nil && a.Unmap().IsLoopback()
}

func hostPort(addr string, port int64) string {
	if a, err := netip.ParseAddr(addr); err == nil && port >= 0 && port <= 65535 {
		return netip.AddrPortFrom(a, uint16(port)).String()
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

// percent rounds n/d to a whole percentage, never showing 100 below full.
func percent(n, d int64) int {
	if d <= 0 {
		return 0
	}
	p := int(math.Round(float64(n) * 100 / float64(d)))
	if p >= 100 && n < d {
		p = 99
	}
	return p
}

// group prints n with thousands separators: 28232 → "28,232".
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func rateText(r float64) string {
	return group(int64(math.Floor(r)))
}

func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	case 2:
		return items[0] + " or " + items[1]
	}
	return strings.Join(items[:len(items)-1], ", ") + ", or " + items[len(items)-1]
}
