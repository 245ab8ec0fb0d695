package catalog

import (
	"fmt"
	"strconv"
	"strings"
)

// This file is the one table of kernel facts that depend on the Linux
// version: what tcp_tw_reuse's values mean and default to, when a TIME_WAIT
// port may be reused, which keys exist, when the TW counter counts. Rules,
// the tcp_stats analysis, recommendations and generated descriptions read it
// with the host's kernel_release (FactsFor). Every version below names its
// source: the kernel commit where known, otherwise the function in the
// kernel source and KNOWLEDGE.md (§2, §5), the project's audited reference.

// Kernel versions where a TIME_WAIT-related behaviour changed.
var (
	// ReuseLoopbackSince: tcp_tw_reuse = 2 means "loopback only" and is the
	// default (commit 79e9fed46038, Linux 4.18). Before, the handler was a
	// plain proc_dointvec: any non-zero value, 2 included, enables reuse for
	// every destination, and the default is 0.
	ReuseLoopbackSince = Release{4, 18}
	// ReuseDelaySince: the tcp_tw_reuse_delay key (milliseconds from
	// TIME_WAIT entry, default 1000) exists (commits 19ce8cd30465 and
	// ca6a6f93867a, Linux 6.14).
	ReuseDelaySince = Release{6, 14}
	// ReuseSecondRuleSince: from 4.18 until 6.13, tcp_twsk_unique()
	// (net/ipv4/tcp_ipv4.c) reuses once the peer's last timestamped segment
	// is in an earlier second (0–1 s); up to 4.17 it required more than one
	// second (1–2 s). KNOWLEDGE.md §2.
	ReuseSecondRuleSince = Release{4, 18}
	// TWCountedAtCreationSince: TcpExt TW (and TWKilled) are counted when
	// the timewait minisocket is created since 5.18, when it expires before
	// (net/ipv4/tcp_minisocks.c; KNOWLEDGE.md §5).
	TWCountedAtCreationSince = Release{5, 18}
	// ReusePerNetnsSince: tcp_tw_reuse is per network namespace since 4.11
	// (KNOWLEDGE.md §2).
	ReusePerNetnsSince = Release{4, 11}
	// RecycleRemovedIn: tcp_tw_recycle does not exist from 4.12 (commit
	// 4396e46187ca).
	RecycleRemovedIn = Release{4, 12}
	// TimestampOffsetsPerPairSince: tcp_timestamps = 1 gives a random
	// offset per address pair from 4.11 (commit 28ee1b746f49); 4.10 gave
	// one per connection (95a22caee396), and commit 165573e41f2f (2026,
	// queued for stable) returns to per-connection offsets.
	TimestampOffsetsPerPairSince = Release{4, 11}
)

// FleetKernels are kernel releases real fleets run, oldest first: Amazon
// Linux 2 (4.14), Ubuntu 18.04 (4.15), RHEL 8 (4.18), Debian 10 (4.19),
// Ubuntu 20.04 (5.4), Debian 11 (5.10), Ubuntu 22.04 (5.15), Debian 12
// (6.1), Ubuntu 24.04 (6.8), the last release without tcp_tw_reuse_delay
// (6.13), the first with it (6.14) and the development machines' 6.18.
// The rules and the tcp_stats analysis render their golden texts for each.
var FleetKernels = []string{
	"4.14.355-275.572.amzn2.x86_64", "4.15.0-213-generic", "4.18.0-553.el8_10.x86_64", "4.19.0-27-amd64",
	"5.4.0-200-generic", "5.10.0-33-amd64", "5.15.0-126-generic", "6.1.0-28-amd64", "6.8.0-45-generic",
	"6.13.12", "6.14.0-15-generic", "6.18.0",
}

// TimestampOffsetsPerConnectionCommit is the 2026 commit that gives
// tcp_timestamps = 1 a random offset per connection again.
const TimestampOffsetsPerConnectionCommit = "165573e41f2f"

// Release is a Linux kernel version, major.minor.
type Release struct {
	Major, Minor int
}

// ParseRelease reads the major and minor version of a kernel release as
// `uname -r` prints it ("6.8.0-45-generic", "4.14.355-275.572.amzn2.x86_64",
// "6.18"). ok is false when it does not start with "N.N".
func ParseRelease(s string) (Release, bool) {
	s = strings.TrimSpace(s)
	maj, rest, ok := strings.Cut(s, ".")
	if !ok {
		return Release{}, false
	}
	end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(rest)
	}
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(rest[:end])
	if err1 != nil || err2 != nil || end == 0 || a < 0 || b < 0 {
		return Release{}, false
	}
	return Release{a, b}, true
}

// AtLeast reports whether r is v or newer.
func (r Release) AtLeast(v Release) bool {
	return r.Major > v.Major || (r.Major == v.Major && r.Minor >= v.Minor)
}

// String returns "4.18".
func (r Release) String() string { return fmt.Sprintf("%d.%d", r.Major, r.Minor) }

// before returns the release just before v in the way docs name ranges:
// "4.17" before 4.18, "6.13" before 6.14.
func before(v Release) string {
	if v.Minor == 0 {
		return fmt.Sprintf("%d.x", v.Major-1)
	}
	return Release{v.Major, v.Minor - 1}.String()
}

// ReuseScope is which outgoing connections tcp_tw_reuse lets take over a
// TIME_WAIT 4-tuple.
type ReuseScope int

const (
	// ReuseOff: no reuse.
	ReuseOff ReuseScope = iota
	// ReuseLoopback: loopback destinations only (tcp_tw_reuse = 2 on 4.18+).
	ReuseLoopback
	// ReuseAll: every destination.
	ReuseAll
)

// String returns "off", "loopback only" or "all destinations".
func (s ReuseScope) String() string {
	switch s {
	case ReuseLoopback:
		return "loopback only"
	case ReuseAll:
		return "all destinations"
	}
	return "off"
}

// Applies reports whether reuse covers a destination.
func (s ReuseScope) Applies(loopback bool) bool {
	return s == ReuseAll || (s == ReuseLoopback && loopback)
}

// KernelFacts are the version-dependent facts for one kernel release.
type KernelFacts struct {
	// Release is the parsed release; Known is false when the release could
	// not be parsed, and the facts are then those of current kernels.
	Release Release
	Known   bool
	// ReuseDefault is tcp_tw_reuse's default (0 before 4.18, 2 since).
	ReuseDefault int64
	// HasReuseDelayKey: tcp_tw_reuse_delay exists (6.14+).
	HasReuseDelayKey bool
	// HasRecycleKey: tcp_tw_recycle exists (before 4.12).
	HasRecycleKey bool
	// ReusePerNetns: tcp_tw_reuse is per network namespace (4.11+).
	ReusePerNetns bool
	// TWCountedAtCreation: TcpExt TW counts minisockets when they are
	// created (5.18+); otherwise when they expire, 60 s later.
	TWCountedAtCreation bool
	// TimestampOffsets describes tcp_timestamps = 1's random offsets.
	TimestampOffsets string
}

// current is what an unparsable release gets: current kernels' behaviour.
var current = Release{6, 18}

// FactsFor returns the facts for a kernel release as `uname -r` prints it.
// An unknown release gets the facts of current kernels (Known false):
// probe the host where a key's existence matters.
func FactsFor(release string) KernelFacts {
	r, ok := ParseRelease(release)
	if !ok {
		r = current
	}
	f := KernelFacts{
		Release:             r,
		Known:               ok,
		HasReuseDelayKey:    r.AtLeast(ReuseDelaySince),
		HasRecycleKey:       !r.AtLeast(RecycleRemovedIn),
		ReusePerNetns:       r.AtLeast(ReusePerNetnsSince),
		TWCountedAtCreation: r.AtLeast(TWCountedAtCreationSince),
	}
	if r.AtLeast(ReuseLoopbackSince) {
		f.ReuseDefault = 2
	}
	switch {
	case r.AtLeast(TimestampOffsetsPerPairSince):
		f.TimestampOffsets = "per address pair (per connection again on kernels with commit " + TimestampOffsetsPerConnectionCommit + ")"
	case r == Release{4, 10}:
		f.TimestampOffsets = "per connection"
	default:
		f.TimestampOffsets = "none (offsets start with 4.10)"
	}
	return f
}

// ReuseScope returns what a tcp_tw_reuse value does on this kernel, with
// timestamps on (without timestamps reuse never happens: see
// EffectiveReuse).
func (k KernelFacts) ReuseScope(value int64) ReuseScope {
	switch {
	case value == 0:
		return ReuseOff
	case value == 2 && k.Release.AtLeast(ReuseLoopbackSince):
		return ReuseLoopback
	}
	return ReuseAll // before 4.18 any non-zero value is global
}

// EffectiveReuse is ReuseScope with the timestamps setting taken into
// account: tcp_timestamps = 0 disables reuse whatever tcp_tw_reuse says.
func (k KernelFacts) EffectiveReuse(value, timestamps int64) ReuseScope {
	if timestamps == 0 {
		return ReuseOff
	}
	return k.ReuseScope(value)
}

// ReuseDelay is when a TIME_WAIT 4-tuple may be taken over on a kernel.
type ReuseDelay struct {
	// MaxMs bounds the wait: a port-reuse ceiling computed with it is the
	// rate reuse allows at the least.
	MaxMs int64
	// Rule says it in words, with the version: "tcp_tw_reuse_delay = 1000
	// ms after the socket entered TIME_WAIT (Linux 6.14+)".
	Rule string
}

// ReuseDelayFor returns the reuse delay rule of this kernel. delayMs is the
// host's tcp_tw_reuse_delay (ignored before 6.14; <= 0 means the default).
// hasKey says the host has the key, which decides over the version number.
func (k KernelFacts) ReuseDelayFor(delayMs int64, hasKey bool) ReuseDelay {
	switch {
	case hasKey || (k.HasReuseDelayKey && delayMs > 0):
		if delayMs <= 0 {
			delayMs = DefaultReuseDelayMs
		}
		return ReuseDelay{MaxMs: delayMs, Rule: fmt.Sprintf("tcp_tw_reuse_delay = %d ms after the socket entered TIME_WAIT (Linux %s+)", delayMs, ReuseDelaySince)}
	case k.HasReuseDelayKey:
		return ReuseDelay{MaxMs: DefaultReuseDelayMs, Rule: fmt.Sprintf("tcp_tw_reuse_delay (default %d ms) after the socket entered TIME_WAIT (Linux %s+)", DefaultReuseDelayMs, ReuseDelaySince)}
	case k.Release.AtLeast(ReuseSecondRuleSince):
		return ReuseDelay{MaxMs: 1000, Rule: fmt.Sprintf("0-1 s after the peer's last timestamped segment (Linux %s-%s)", ReuseSecondRuleSince, before(ReuseDelaySince))}
	}
	return ReuseDelay{MaxMs: 2000, Rule: fmt.Sprintf("1-2 s after the peer's last timestamped segment (Linux %s and older)", before(ReuseSecondRuleSince))}
}

// TWCountedText says when TcpExt TW counts on this kernel.
func (k KernelFacts) TWCountedText() string {
	if k.TWCountedAtCreation {
		return fmt.Sprintf("counted when the socket enters TIME_WAIT (Linux %s+)", TWCountedAtCreationSince)
	}
	return fmt.Sprintf("counted when the socket leaves TIME_WAIT, 60 s after the close (Linux %s and older)", before(TWCountedAtCreationSince))
}

// KernelFactsMarkdown renders the table for the docs (the tcp_tuning page
// holds it verbatim; a test keeps the two equal).
func KernelFactsMarkdown() string {
	rows := [][3]string{
		{"`tcp_tw_reuse` values and default",
			fmt.Sprintf("before %s: `0` off, **any non-zero value (`2` included) reuses for every destination**; default `0`", ReuseLoopbackSince),
			fmt.Sprintf("%s and later: `0` off, `1` every destination, `2` loopback only; default `2` (commit 79e9fed46038)", ReuseLoopbackSince)},
		{"when a TIME_WAIT port may be reused",
			fmt.Sprintf("%s and older: 1-2 s after the peer's last timestamped segment; %s-%s: 0-1 s after it", before(ReuseSecondRuleSince), ReuseSecondRuleSince, before(ReuseDelaySince)),
			fmt.Sprintf("%s and later: `tcp_tw_reuse_delay` ms after the socket entered TIME_WAIT (default %d)", ReuseDelaySince, DefaultReuseDelayMs)},
		{"`tcp_tw_reuse_delay` exists",
			fmt.Sprintf("no (before %s)", ReuseDelaySince),
			fmt.Sprintf("%s and later (commits 19ce8cd30465, ca6a6f93867a)", ReuseDelaySince)},
		{"TcpExt `TW` counts a socket",
			fmt.Sprintf("before %s: when it leaves TIME_WAIT (60 s late)", TWCountedAtCreationSince),
			fmt.Sprintf("%s and later: when it enters TIME_WAIT", TWCountedAtCreationSince)},
		{"`tcp_tw_reuse` per network namespace",
			fmt.Sprintf("before %s: global", ReusePerNetnsSince),
			fmt.Sprintf("%s and later: per namespace (a new one starts from the default)", ReusePerNetnsSince)},
		{"`tcp_tw_recycle` exists",
			fmt.Sprintf("before %s", RecycleRemovedIn),
			fmt.Sprintf("removed in %s (commit 4396e46187ca)", RecycleRemovedIn)},
		{"`tcp_timestamps = 1` random offsets",
			"4.10: per connection (95a22caee396); older: none",
			fmt.Sprintf("%s and later: per address pair (28ee1b746f49); per connection again with %s (2026, queued for stable)", TimestampOffsetsPerPairSince, TimestampOffsetsPerConnectionCommit)},
	}
	var b strings.Builder
	b.WriteString("| behaviour | older kernels | newer kernels |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r[0], r[1], r[2])
	}
	return b.String()
}
