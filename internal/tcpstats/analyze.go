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
	a := newAnalysis(s)
	for _, rule := range recommendationRules {
		a.r.Recommendations = append(a.r.Recommendations, rule(a)...)
	}
	return a.r
}

// recommendationRules make the report's recommendations, most urgent
// first; each returns its sentences (none when nothing calls for action).
var recommendationRules = []func(*analysis) []string{
	reservedCoverRange,
	destinationsNearExhaustion,
	measuredRateAboveWorst,
	serverSideTimeWait,
	twBucketsFull,
	reuseWithoutTimestamps,
	reuseTwoIsGlobal,
	recycleOn,
}

// analysis is a snapshot with the figures the recommendations share; r
// holds every figure but the recommendations.
type analysis struct {
	s *Snapshot
	r *Report

	lo, hi     int
	rangeKnown bool
	reserved   []catalog.PortSpan
	usable     int64

	kf         catalog.KernelFacts
	reuse      int64
	timestamps int64
	delay      catalog.ReuseDelay
	scope      catalog.ReuseScope
	// worst is the destination holding the most ephemeral ports, nil when
	// there is no client-side socket.
	worst *DestinationCount
}

func newAnalysis(s *Snapshot) *analysis {
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
	a := &analysis{s: s, r: r}
	a.ephemeralPorts()
	a.reuseAndRates()
	r.TWBuckets = TWBuckets{Limit: sysctlInt(s.Sysctls, "tcp_max_tw_buckets", 0), Used: r.SockstatTW}
	if r.TWBuckets.Limit > 0 {
		r.TWBuckets.Ratio = float64(r.TWBuckets.Used) / float64(r.TWBuckets.Limit)
	}
	return a
}

// ephemeralPorts sets the port range, the usable ports and the worst
// destination's exhaustion.
func (a *analysis) ephemeralPorts() {
	s, r := a.s, a.r
	a.lo, a.hi, a.rangeKnown = portRange(s.Sysctls["ip_local_port_range"])
	a.reserved, _ = catalog.ParseKernelPortList(s.Sysctls["ip_local_reserved_ports"])
	a.usable = catalog.UsablePorts(int64(a.lo), int64(a.hi), a.reserved)
	r.EphemeralPorts = EphemeralPorts{Min: int64(a.lo), Max: int64(a.hi), Reserved: int64(a.hi-a.lo+1) - a.usable, Usable: a.usable}
	r.PortExhaustion = PortExhaustion{Usable: max(a.usable, 0)}
	if len(s.InUseByDestination) > 0 {
		a.worst = &s.InUseByDestination[0]
		r.PortExhaustion = exhaustion(*a.worst, a.usable)
	}
}

// reuseAndRates sets what TIME_WAIT reuse does on this kernel, the rate
// figures and, for a sampled read, the measured rates.
func (a *analysis) reuseAndRates() {
	s, r := a.s, a.r
	a.kf = catalog.FactsFor(s.KernelRelease)
	a.reuse = sysctlInt(s.Sysctls, "tcp_tw_reuse", a.kf.ReuseDefault)
	a.timestamps = sysctlInt(s.Sysctls, "tcp_timestamps", 1)
	_, hasDelayKey := s.Sysctls["tcp_tw_reuse_delay"]
	a.delay = a.kf.ReuseDelayFor(sysctlInt(s.Sysctls, "tcp_tw_reuse_delay", 0), hasDelayKey)
	a.scope = a.kf.EffectiveReuse(a.reuse, a.timestamps)
	r.RateWithoutReuse = catalog.SustainableRate(a.usable, false, 0)
	r.MaxConnectionRatePerDestination = a.rate(false)
	if a.reuseWorks(false) {
		r.PortReuseCeiling = a.rate(false)
	}
	r.Reuse = a.scope.String()
	r.ReuseDelay = a.delay.Rule
	r.RateAssumptions = rateAssumptions(a.scope, a.delay, r.RateWithoutReuse, r.PortReuseCeiling, a.usable)
	if s.Sample != nil {
		r.Rates = rates(s, a.kf, a.usable, a.worst, a.rate, a.reuseWorks, a.delay)
	}
}

// reuseWorks says TIME_WAIT reuse applies to a (loopback or remote)
// destination.
func (a *analysis) reuseWorks(loopback bool) bool { return a.scope.Applies(loopback) }

// rate is the rate of new connections a destination can take.
func (a *analysis) rate(loopback bool) float64 {
	return catalog.SustainableRate(a.usable, a.reuseWorks(loopback), a.delay.MaxMs)
}

// rateText says the rate a destination can take, labelled.
func (a *analysis) rateText(loopback bool) string {
	if a.reuseWorks(loopback) {
		return fmt.Sprintf("port-reuse ceiling %s new connections/s, a theoretical figure; %s without reuse",
			group(int64(a.rate(loopback))), group(int64(a.r.RateWithoutReuse)))
	}
	return fmt.Sprintf("sustainable rate %s new connections/s without reuse", group(int64(a.r.RateWithoutReuse)))
}

// namedDestinations are the destinations that get their own
// recommendation: at least DestinationRatioThreshold of the usable ports,
// at most MaxNamedPerKind.
func (a *analysis) namedDestinations() []DestinationCount {
	var out []DestinationCount
	for _, d := range a.s.InUseByDestination {
		pe := exhaustion(d, a.usable)
		if a.usable <= 0 || pe.Ratio < DestinationRatioThreshold || len(out) == MaxNamedPerKind {
			break // sorted by count: the rest are lower
		}
		out = append(out, d)
	}
	return out
}

func reservedCoverRange(a *analysis) []string {
	if !a.rangeKnown || a.usable > 0 {
		return nil
	}
	return []string{fmt.Sprintf("ip_local_reserved_ports (%s) covers all of ip_local_port_range (%d-%d): connect() without a bound port fails with EADDRNOTAVAIL; shrink the reserved list or widen ip_local_port_range",
		catalog.FormatPortList(a.reserved), a.lo, a.hi)}
}

func destinationsNearExhaustion(a *analysis) []string {
	twTo := map[string]int64{}
	for _, d := range a.s.TimeWaitByDestination {
		twTo[hostPort(d.Address, d.Port)] = d.Count
	}
	var out []string
	for i, d := range a.namedDestinations() {
		loop := isLoopback(d.Address)
		dst := hostPort(d.Address, d.Port)
		evidence := fmt.Sprintf("%s holds %s of %s usable ephemeral ports (%d%%", dst,
			group(d.Count), group(a.usable), percent(d.Count, a.usable))
		if n, ok := twTo[dst]; ok {
			evidence += fmt.Sprintf(", %s in TIME_WAIT", group(n))
		}
		evidence += "; " + a.rateText(loop) + ")"
		var levers []string
		switch {
		case a.reuseWorks(loop):
			evidence += fmt.Sprintf(" although TIME_WAIT reuse applies to it (tcp_tw_reuse = %d, %s on this kernel), "+
				"so its TIME_WAIT ports can be taken over and the count alone does not mean connect() fails", a.reuse, a.scope)
		case a.timestamps == 0:
			levers = append(levers, "enable tcp_timestamps and tcp_tw_reuse = 1")
		default:
			levers = append(levers, "enable tcp_tw_reuse = 1")
		}
		if i == 0 && a.r.Rates != nil {
			evidence += measuredText(a.r.Rates, a.reuseWorks(loop))
		}
		if a.hi-a.lo+1 < widestRange {
			levers = append(levers, "widen ip_local_port_range")
		}
		levers = append(levers, "pool connections to it")
		out = append(out, fmt.Sprintf("%s: %s", evidence, orList(levers)))
	}
	return out
}

// measuredRateAboveWorst: a measured rate the worst destination cannot
// take, before its ports are full.
func measuredRateAboveWorst(a *analysis) []string {
	rt, worst := a.r.Rates, a.worst
	if rt == nil || worst == nil || len(a.namedDestinations()) > 0 || rt.SecondsToExhaustion < 0 || a.usable <= 0 {
		return nil
	}
	return []string{fmt.Sprintf("New outgoing connections run at %s/s (measured over %s s, all destinations), above the %s/s that %s can take (%s): if they all go there, its %s free ports run out in about %s s; pool connections or spread them over more destinations",
		rateFmt(rt.NewOutgoing), secondsFmt(rt.Seconds), group(int64(rt.WorstSustainable)), hostPort(worst.Address, worst.Port),
		a.rateText(isLoopback(worst.Address)), group(max(a.usable-worst.Count, 0)), secondsFmt(rt.SecondsToExhaustion))}
}

func serverSideTimeWait(a *analysis) []string {
	var out []string
	for _, p := range a.s.TimeWaitByLocalPort {
		if p.Count < ServerTimeWaitThreshold || len(out) == MaxNamedPerKind {
			break
		}
		where := "a listening port"
		if !catalog.PortListContains(a.s.Listening, p.Port) {
			where = "not a listening port now"
		}
		out = append(out, fmt.Sprintf("Local port %d (%s) has %s TIME_WAIT sockets from connections this host closed first (server side): they cost memory, not ephemeral ports; let clients close first or use keep-alive",
			p.Port, where, group(p.Count)))
	}
	return out
}

func twBucketsFull(a *analysis) []string {
	s, r := a.s, a.r
	overflow, hasOverflow := s.Counters.Get("TcpExt", "TCPTimeWaitOverflow")
	limit := "tcp_max_tw_buckets"
	if r.TWBuckets.Limit > 0 || s.Sysctls["tcp_max_tw_buckets"] != "" {
		limit = fmt.Sprintf("tcp_max_tw_buckets (%s)", group(r.TWBuckets.Limit))
	}
	full := r.TWBuckets.Limit > 0 && r.TWBuckets.Ratio >= TWBucketsRatioThreshold
	switch {
	case r.Rates != nil && r.Rates.OverflowDelta > 0:
		// A rising counter: the rate is the evidence.
		return []string{fmt.Sprintf("TCPTimeWaitOverflow grew by %s in %s s (%s/s): closing sockets are skipping TIME_WAIT now, because %s is full (%s TIME_WAIT and orphaned FIN_WAIT2 sockets) or a timewait socket could not be allocated; existing TIME_WAIT sockets are not cleared. Raise tcp_max_tw_buckets or pool connections so fewer close",
			group(r.Rates.OverflowDelta), secondsFmt(r.Rates.Seconds), rateFmt(r.Rates.Overflows), limit, group(r.TWBuckets.Used))}
	case full:
		text := fmt.Sprintf("%s TIME_WAIT and orphaned FIN_WAIT2 sockets fill %d%% of %s: at the limit, closing sockets skip TIME_WAIT (existing ones are not cleared)",
			group(r.TWBuckets.Used), percent(r.TWBuckets.Used, r.TWBuckets.Limit), limit)
		if hasOverflow && overflow > 0 && r.Rates == nil {
			text += fmt.Sprintf(", and TCPTimeWaitOverflow is %s since boot (it also counts failed allocations, under whatever limit was set then; read with sample_seconds to see whether it still grows)", group(overflow))
		}
		return []string{fmt.Sprintf("%s; raise tcp_max_tw_buckets or pool connections so fewer close", text)}
	}
	return nil
}

func reuseWithoutTimestamps(a *analysis) []string {
	if a.timestamps != 0 || a.s.Sysctls["tcp_timestamps"] == "" {
		return nil
	}
	switch a.kf.ReuseScope(a.reuse) {
	case catalog.ReuseAll:
		return []string{fmt.Sprintf("tcp_tw_reuse = %d has no effect because tcp_timestamps = 0: set tcp_timestamps = 1 for TIME_WAIT reuse to work", a.reuse)}
	case catalog.ReuseLoopback:
		for _, d := range a.s.TimeWaitByDestination {
			if isLoopback(d.Address) {
				return []string{"tcp_tw_reuse = 2 (loopback only) has no effect on the loopback TIME_WAIT here because tcp_timestamps = 0: set tcp_timestamps = 1"}
			}
		}
	}
	return nil
}

func reuseTwoIsGlobal(a *analysis) []string {
	if a.reuse != 2 || !a.kf.Known || a.kf.ReuseScope(2) != catalog.ReuseAll {
		return nil
	}
	return []string{fmt.Sprintf("tcp_tw_reuse = 2 on Linux %s reuses TIME_WAIT ports for every destination, not only loopback (loopback only needs Linux %s or later): set 1 if that is intended, 0 to turn reuse off",
		a.kf.Release, catalog.ReuseLoopbackSince)}
}

func recycleOn(a *analysis) []string {
	if sysctlInt(a.s.Sysctls, "tcp_tw_recycle", 0) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("tcp_tw_recycle = %s drops connections from clients behind NAT (the key was removed in Linux 4.12): set it to 0 and use tcp_tw_reuse = 1 instead",
		a.s.Sysctls["tcp_tw_recycle"])}
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

// portRange parses "min max"; the kernel default (catalog.DefaultPortRange)
// when absent or malformed.
func portRange(s string) (lo, hi int, ok bool) {
	f := strings.Fields(s)
	if len(f) == 2 {
		a, err1 := strconv.Atoi(f[0])
		b, err2 := strconv.Atoi(f[1])
		if err1 == nil && err2 == nil && 0 <= a && a <= b && b <= 65535 {
			return a, b, true
		}
	}
	d := catalog.DefaultPortRange
	return int(d.Min), int(d.Max), false
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
