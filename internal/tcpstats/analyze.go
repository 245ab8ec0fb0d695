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
	// MaxConnectionRatePerDestination is the figure for one remote
	// (non-loopback) destination with the current settings: PortReuseCeiling
	// when TIME_WAIT reuse applies to such destinations, otherwise
	// RateWithoutReuse.
	MaxConnectionRatePerDestination float64
	// RateWithoutReuse is usable ports / 60 s: the sustainable rate of new
	// short connections to one destination when this host closes first,
	// from one source address, without reuse (an upper bound: ports held by
	// bind() are skipped for every destination).
	RateWithoutReuse float64
	// PortReuseCeiling is usable ports / the longest reuse delay of this
	// kernel when reuse applies to remote destinations, 0 otherwise: a
	// theoretical ceiling (the peer must send timestamps), not a rate the
	// host sustains.
	PortReuseCeiling float64
	// Reuse is what tcp_tw_reuse does on this kernel with the current
	// tcp_timestamps: "off", "loopback only" or "all destinations".
	Reuse string
	// ReuseDelay is this kernel's reuse delay rule, in words.
	ReuseDelay string
	// RateAssumptions states what the rate figures assume.
	RateAssumptions string
	// Rates are the per-second rates of a sampled read; nil without a
	// sample.
	Rates     *Rates
	TWBuckets TWBuckets
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

// Rates are counter deltas per second between the two readings of a
// sampled read, and what they mean for the worst destination.
type Rates struct {
	Seconds float64 // between the two readings, host clock
	// NewOutgoing is Tcp ActiveOpens per second (connect() calls that sent
	// a SYN, every destination); NewIncoming is PassiveOpens.
	NewOutgoing, NewIncoming float64
	// TimeWaitCreated is TcpExt TW + TWKilled per second: timewait
	// minisockets (TIME_WAIT and orphaned FIN_WAIT2). TWCountedAtCreation
	// says whether this kernel counts them when created (5.18+) or when
	// they expire, 60 s later.
	TimeWaitCreated     float64
	TWCountedAtCreation bool
	// TakenOver is TcpExt TWRecycled per second: TIME_WAIT 4-tuples taken
	// over by connect() (tcp_tw_reuse, or SO_REUSEADDR on both sockets).
	TakenOver float64
	// Overflows is TcpExt TCPTimeWaitOverflow per second; OverflowDelta the
	// raw increase.
	Overflows     float64
	OverflowDelta int64
	// OrphanedChange is the change of sockstat's orphan gauge per second.
	OrphanedChange float64
	// WorstSustainable is the rate the worst destination can take with the
	// settings that apply to it (its reuse, loopback or not).
	WorstSustainable float64
	// SecondsToExhaustion is how long the worst destination's ports last
	// if every new outgoing connection went to it at NewOutgoing; -1 when
	// that rate fits (no exhaustion), 0 when already full.
	SecondsToExhaustion float64
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

	kf := catalog.FactsFor(s.KernelRelease)
	reuse := sysctlInt(s.Sysctls, "tcp_tw_reuse", kf.ReuseDefault)
	timestamps := sysctlInt(s.Sysctls, "tcp_timestamps", 1)
	_, hasDelayKey := s.Sysctls["tcp_tw_reuse_delay"]
	delay := kf.ReuseDelayFor(sysctlInt(s.Sysctls, "tcp_tw_reuse_delay", 0), hasDelayKey)
	scope := kf.EffectiveReuse(reuse, timestamps)
	reuseWorks := scope.Applies
	rate := func(loopback bool) float64 {
		return catalog.SustainableRate(usable, reuseWorks(loopback), delay.MaxMs)
	}
	r.RateWithoutReuse = catalog.SustainableRate(usable, false, 0)
	r.MaxConnectionRatePerDestination = rate(false)
	if reuseWorks(false) {
		r.PortReuseCeiling = rate(false)
	}
	r.Reuse = scope.String()
	r.ReuseDelay = delay.Rule
	r.RateAssumptions = rateAssumptions(scope, delay, r.RateWithoutReuse, r.PortReuseCeiling, usable)
	// rateText says the rate a destination can take, labelled.
	rateText := func(loopback bool) string {
		if reuseWorks(loopback) {
			return fmt.Sprintf("port-reuse ceiling %s new connections/s, a theoretical figure; %s without reuse",
				group(int64(rate(loopback))), group(int64(r.RateWithoutReuse)))
		}
		return fmt.Sprintf("sustainable rate %s new connections/s without reuse", group(int64(r.RateWithoutReuse)))
	}
	var worst *DestinationCount
	if len(s.InUseByDestination) > 0 {
		worst = &s.InUseByDestination[0]
	}
	if s.Sample != nil {
		r.Rates = rates(s, kf, usable, worst, rate, reuseWorks, delay)
	}

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
		evidence += "; " + rateText(loop) + ")"
		var levers []string
		switch {
		case reuseWorks(loop):
			evidence += fmt.Sprintf(" although TIME_WAIT reuse applies to it (tcp_tw_reuse = %d, %s on this kernel), "+
				"so its TIME_WAIT ports can be taken over and the count alone does not mean connect() fails", reuse, scope)
		case timestamps == 0:
			levers = append(levers, "enable tcp_timestamps and tcp_tw_reuse = 1")
		default:
			levers = append(levers, "enable tcp_tw_reuse = 1")
		}
		if named == 1 && r.Rates != nil {
			evidence += measuredText(r.Rates, reuseWorks(loop))
		}
		if hi-lo+1 < widestRange {
			levers = append(levers, "widen ip_local_port_range")
		}
		levers = append(levers, "pool connections to it")
		rec("%s: %s", evidence, orList(levers))
	}

	// A measured rate the worst destination cannot take, before its ports
	// are full.
	if rt := r.Rates; rt != nil && worst != nil && named == 0 && rt.SecondsToExhaustion >= 0 && usable > 0 {
		rec("New outgoing connections run at %s/s (measured over %s s, all destinations), above the %s/s that %s can take (%s): if they all go there, its %s free ports run out in about %s s; pool connections or spread them over more destinations",
			rateFmt(rt.NewOutgoing), secondsFmt(rt.Seconds), group(int64(rt.WorstSustainable)), hostPort(worst.Address, worst.Port),
			rateText(isLoopback(worst.Address)), group(max(usable-worst.Count, 0)), secondsFmt(rt.SecondsToExhaustion))
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
	full := r.TWBuckets.Limit > 0 && r.TWBuckets.Ratio >= TWBucketsRatioThreshold
	switch {
	case r.Rates != nil && r.Rates.OverflowDelta > 0:
		// A rising counter: the rate is the evidence.
		rec("TCPTimeWaitOverflow grew by %s in %s s (%s/s): closing sockets are skipping TIME_WAIT now, because %s is full (%s TIME_WAIT and orphaned FIN_WAIT2 sockets) or a timewait socket could not be allocated; existing TIME_WAIT sockets are not cleared. Raise tcp_max_tw_buckets or pool connections so fewer close",
			group(r.Rates.OverflowDelta), secondsFmt(r.Rates.Seconds), rateFmt(r.Rates.Overflows), limit, group(r.TWBuckets.Used))
	case full:
		text := fmt.Sprintf("%s TIME_WAIT and orphaned FIN_WAIT2 sockets fill %d%% of %s: at the limit, closing sockets skip TIME_WAIT (existing ones are not cleared)",
			group(r.TWBuckets.Used), percent(r.TWBuckets.Used, r.TWBuckets.Limit), limit)
		if hasOverflow && overflow > 0 && r.Rates == nil {
			text += fmt.Sprintf(", and TCPTimeWaitOverflow is %s since boot (it also counts failed allocations, under whatever limit was set then; read with sample_seconds to see whether it still grows)", group(overflow))
		}
		rec("%s; raise tcp_max_tw_buckets or pool connections so fewer close", text)
	}

	if timestamps == 0 && s.Sysctls["tcp_timestamps"] != "" {
		loopTW := false
		for _, d := range s.TimeWaitByDestination {
			loopTW = loopTW || isLoopback(d.Address)
		}
		switch kf.ReuseScope(reuse) {
		case catalog.ReuseAll:
			rec("tcp_tw_reuse = %d has no effect because tcp_timestamps = 0: set tcp_timestamps = 1 for TIME_WAIT reuse to work", reuse)
		case catalog.ReuseLoopback:
			if loopTW {
				rec("tcp_tw_reuse = 2 (loopback only) has no effect on the loopback TIME_WAIT here because tcp_timestamps = 0: set tcp_timestamps = 1")
			}
		}
	}

	if reuse == 2 && kf.Known && kf.ReuseScope(2) == catalog.ReuseAll {
		rec("tcp_tw_reuse = 2 on Linux %s reuses TIME_WAIT ports for every destination, not only loopback (loopback only needs Linux %s or later): set 1 if that is intended, 0 to turn reuse off",
			kf.Release, catalog.ReuseLoopbackSince)
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

// rateFmt prints a rate: one decimal below 10, whole numbers above.
func rateFmt(v float64) string {
	if v < 10 {
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
	}
	return group(int64(math.Round(v)))
}

func secondsFmt(v float64) string {
	if v < 10 {
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
	}
	return group(int64(math.Round(v)))
}

// measuredText is the sampled evidence added to the first destination
// recommendation.
func measuredText(rt *Rates, ceiling bool) string {
	t := fmt.Sprintf("; measured %s new outgoing connections/s over %s s (all destinations)", rateFmt(rt.NewOutgoing), secondsFmt(rt.Seconds))
	switch {
	case rt.SecondsToExhaustion == 0:
		t += ", its ports are full"
	case rt.SecondsToExhaustion > 0:
		t += fmt.Sprintf(", which would fill its ports in about %s s if they all went to it", secondsFmt(rt.SecondsToExhaustion))
	case ceiling:
		t += fmt.Sprintf(", below its port-reuse ceiling of %s/s", group(int64(rt.WorstSustainable)))
	default:
		t += fmt.Sprintf(", within the %s/s it can take", group(int64(rt.WorstSustainable)))
	}
	return t
}

// rateAssumptions states what the rate figures assume.
func rateAssumptions(scope catalog.ReuseScope, d catalog.ReuseDelay, without, ceiling float64, usable int64) string {
	t := fmt.Sprintf("Without reuse: %s usable ports / 60 s of TIME_WAIT = %s new connections/s to one destination ip:port, "+
		"if this host closes first, from one source address (each extra source address multiplies it); "+
		"usable is an upper bound, since ports held by bind() are skipped for every destination.",
		group(usable), group(int64(without)))
	switch scope {
	case catalog.ReuseAll:
		t += fmt.Sprintf(" TIME_WAIT reuse applies to every destination here: the port-reuse ceiling is %s usable ports / %s ms "+
			"(reuse %s) = %s/s, a theoretical figure that needs the peer to send timestamps, not a rate the host will sustain.",
			group(usable), group(d.MaxMs), d.Rule, group(int64(ceiling)))
	case catalog.ReuseLoopback:
		t += fmt.Sprintf(" TIME_WAIT reuse applies to loopback destinations only (tcp_tw_reuse = 2): for them the port-reuse ceiling is usable ports / %s ms (reuse %s), a theoretical figure.",
			group(d.MaxMs), d.Rule)
	default:
		t += " TIME_WAIT reuse is off (tcp_tw_reuse = 0, or tcp_timestamps = 0)."
	}
	return t
}

// rates turns the two readings of a sampled read into per-second rates.
func rates(s *Snapshot, kf catalog.KernelFacts, usable int64, worst *DestinationCount,
	rate func(bool) float64, reuseWorks func(bool) bool, delay catalog.ReuseDelay) *Rates {
	sec := s.Sample.Seconds
	rt := &Rates{Seconds: sec, TWCountedAtCreation: kf.TWCountedAtCreation, SecondsToExhaustion: -1}
	delta := func(sec, name string) int64 {
		a, ok1 := s.Sample.Counters.Get(sec, name)
		b, ok2 := s.Counters.Get(sec, name)
		if !ok1 || !ok2 || b < a {
			return 0
		}
		return b - a
	}
	per := func(n int64) float64 {
		if sec <= 0 {
			return 0
		}
		return float64(n) / sec
	}
	rt.NewOutgoing = per(delta("Tcp", "ActiveOpens"))
	rt.NewIncoming = per(delta("Tcp", "PassiveOpens"))
	rt.TimeWaitCreated = per(delta("TcpExt", "TW") + delta("TcpExt", "TWKilled"))
	rt.TakenOver = per(delta("TcpExt", "TWRecycled"))
	rt.OverflowDelta = delta("TcpExt", "TCPTimeWaitOverflow")
	rt.Overflows = per(rt.OverflowDelta)
	if s.Sample.Sockstat != nil && s.Sockstat != nil && sec > 0 {
		rt.OrphanedChange = float64(s.Sockstat.Orphan-s.Sample.Sockstat.Orphan) / sec
	}
	loop := worst != nil && isLoopback(worst.Address)
	rt.WorstSustainable = rate(loop)
	var inUse int64
	if worst != nil {
		inUse = worst.Count
	}
	hold := float64(catalog.TimeWaitSeconds)
	if reuseWorks(loop) {
		hold = float64(delay.MaxMs) / 1000
	}
	rt.SecondsToExhaustion = exhaustionSeconds(rt.NewOutgoing, hold, inUse, usable)
	return rt
}

// exhaustionSeconds is how long until inUse sockets reach usable when new
// connections arrive at rate per second and each holds its port for hold
// seconds, released as the current ones age out (d in/dt = rate - in/hold):
// -1 when the steady state rate × hold fits in usable, 0 when already full.
func exhaustionSeconds(rate, hold float64, inUse, usable int64) float64 {
	if usable <= 0 || inUse >= usable {
		return 0
	}
	steady := rate * hold
	if steady <= float64(usable) {
		return -1
	}
	return hold * math.Log((steady-float64(inUse))/(steady-float64(usable)))
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
