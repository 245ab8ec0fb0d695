package catalog

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// TimeWaitSeconds is the fixed TIME_WAIT length of Linux (TCP_TIMEWAIT_LEN).
// No sysctl changes it.
const TimeWaitSeconds = 60

// DefaultReuseDelayMs is tcp_tw_reuse_delay's default on Linux >= 6.14
// (commit ca6a6f93867a). Older kernels have a fixed rule instead: see
// KernelFacts.ReuseDelayFor.
const DefaultReuseDelayMs = 1000

// PortSpan is an inclusive span of ports; Min == Max is a single port.
type PortSpan struct {
	Min, Max int64
}

// String returns "p" for a single port and "a-b" for a span, as the kernel
// prints it.
func (p PortSpan) String() string {
	if p.Min == p.Max {
		return strconv.FormatInt(p.Min, 10)
	}
	return strconv.FormatInt(p.Min, 10) + "-" + strconv.FormatInt(p.Max, 10)
}

// Contains reports whether port lies in the span.
func (p PortSpan) Contains(port int64) bool { return port >= p.Min && port <= p.Max }

// ElementError is the error for one invalid element of a user's port set.
type ElementError struct {
	Element string // the element as the user wrote it
	Reason  string // what is wrong, e.g. "port 70000 is greater than 65535"
}

func (e *ElementError) Error() string {
	return fmt.Sprintf("invalid port or port range %s: %s", quote(e.Element), e.Reason)
}

// ParsePortSpan parses one element of a user's ip_local_reserved_ports set:
// "p" or "a-b" with decimal ports 1–65535 and a <= b, no spaces. Leading
// zeros are read as decimal. The error is an *ElementError naming the
// element.
func ParsePortSpan(elem string) (PortSpan, error) {
	fail := func(format string, args ...any) (PortSpan, error) {
		return PortSpan{}, &ElementError{Element: elem, Reason: fmt.Sprintf(format, args...)}
	}
	if elem == "" {
		return fail("empty element; use a port like \"7005\" or a range like \"8001-8100\"")
	}
	if strings.IndexFunc(elem, isSpace) >= 0 {
		return fail("spaces are not allowed; write \"7005\" or \"8001-8100\"")
	}
	lo, hi, isRange := strings.Cut(elem, "-")
	if !isRange {
		hi = lo
	}
	a, err := parsePort(lo)
	if err != nil {
		return fail("%v; use a port like \"7005\" or a range like \"8001-8100\"", err)
	}
	b, err := parsePort(hi)
	if err != nil {
		return fail("%v; use a port like \"7005\" or a range like \"8001-8100\"", err)
	}
	if a == 0 || b == 0 {
		return fail("port 0 cannot be reserved; ports are 1-65535")
	}
	if a > b {
		return fail("reversed range: %d is greater than %d; write \"%d-%d\"", a, b, b, a)
	}
	return PortSpan{Min: a, Max: b}, nil
}

// ParsePortList parses the elements of a user's ip_local_reserved_ports set.
// The result is sorted and merged (see MergePortSpans). The error joins one
// *ElementError per invalid element.
func ParsePortList(items []string) ([]PortSpan, error) {
	spans := make([]PortSpan, 0, len(items))
	var errs []error
	for _, it := range items {
		s, err := ParsePortSpan(it)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		spans = append(spans, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return MergePortSpans(spans), nil
}

// MergePortSpans returns the spans sorted by port with overlapping and
// adjacent spans merged, which is how the kernel stores the list. The input
// is not modified.
func MergePortSpans(spans []PortSpan) []PortSpan {
	s := slices.Clone(spans)
	slices.SortFunc(s, func(a, b PortSpan) int {
		if c := cmp.Compare(a.Min, b.Min); c != 0 {
			return c
		}
		return cmp.Compare(a.Max, b.Max)
	})
	out := make([]PortSpan, 0, len(s))
	for _, p := range s {
		if n := len(out); n > 0 && p.Min <= out[n-1].Max+1 {
			if p.Max > out[n-1].Max {
				out[n-1].Max = p.Max
			}
			continue
		}
		out = append(out, p)
	}
	return out
}

// FormatPortList returns the canonical port list exactly as the kernel
// prints net.ipv4.ip_local_reserved_ports: sorted, adjacent and overlapping
// spans merged, comma-separated, no spaces
// (["8003","8001-8002","7005"] -> "7005,8001-8003"; nothing -> "").
func FormatPortList(spans []PortSpan) string {
	m := MergePortSpans(spans)
	parts := make([]string, len(m))
	for i, p := range m {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

// CanonicalPortListFromItems parses a user's set elements and returns the
// canonical list.
func CanonicalPortListFromItems(items []string) (string, error) {
	spans, err := ParsePortList(items)
	if err != nil {
		return "", err
	}
	return FormatPortList(spans), nil
}

// ParseKernelPortList parses a port list as the kernel prints it (or as a
// sysctl file holds it): comma-separated "p" and "a-b" elements, 0–65535,
// whitespace around elements ignored; "" or only whitespace is the empty
// list. The result is sorted and merged.
func ParseKernelPortList(s string) ([]PortSpan, error) {
	t := strings.TrimFunc(s, isSpace)
	if t == "" {
		return nil, nil
	}
	var spans []PortSpan
	for elem := range strings.SplitSeq(t, ",") {
		e := strings.TrimFunc(elem, isSpace)
		lo, hi, isRange := strings.Cut(e, "-")
		if !isRange {
			hi = lo
		}
		a, err := parsePort(lo)
		if err != nil {
			return nil, fmt.Errorf("port list %s: element %s: %v", quote(s), quote(e), err)
		}
		b, err := parsePort(hi)
		if err != nil {
			return nil, fmt.Errorf("port list %s: element %s: %v", quote(s), quote(e), err)
		}
		if a > b {
			return nil, fmt.Errorf("port list %s: element %s is a reversed range", quote(s), quote(e))
		}
		spans = append(spans, PortSpan{Min: a, Max: b})
	}
	return MergePortSpans(spans), nil
}

// CanonicalPortList returns the canonical form of a port list printed by
// the kernel ("7005,8001-8003\n" -> "7005,8001-8003", "\n" -> "").
func CanonicalPortList(s string) (string, error) {
	spans, err := ParseKernelPortList(s)
	if err != nil {
		return "", err
	}
	return FormatPortList(spans), nil
}

// PortListElements splits a canonical port list into its elements, as the
// provider stores them in the ip_local_reserved_ports set
// ("7005,8001-8003" -> ["7005", "8001-8003"], "" -> []).
func PortListElements(canonical string) []string {
	if canonical == "" {
		return []string{}
	}
	return strings.Split(canonical, ",")
}

// PortListContains reports whether port is inside any span, in any order.
// It looks at every span; for lists that are sorted and merged, and for
// many lookups, use SortedPortListContains.
func PortListContains(spans []PortSpan, port int64) bool {
	for _, s := range spans {
		if s.Contains(port) {
			return true
		}
	}
	return false
}

// SortedPortListContains is PortListContains for spans sorted and merged, as
// ParsePortList, ParseKernelPortList and MergePortSpans return them: a
// binary search, so checking many ports against a long list costs n·log n,
// not n².
func SortedPortListContains(spans []PortSpan, port int64) bool {
	// The first span that ends at or after port is the only candidate.
	i, _ := slices.BinarySearchFunc(spans, port, func(s PortSpan, p int64) int { return cmp.Compare(s.Max, p) })
	return i < len(spans) && spans[i].Contains(port)
}

// UsablePorts returns the number of ephemeral ports the kernel can choose:
// the ports in first..last (inclusive) that are not reserved. It returns 0
// when first > last.
func UsablePorts(first, last int64, reserved []PortSpan) int64 {
	if first > last {
		return 0
	}
	n := last - first + 1
	for _, s := range MergePortSpans(reserved) {
		lo, hi := s.Min, s.Max
		if lo < first {
			lo = first
		}
		if hi > last {
			hi = last
		}
		if lo <= hi {
			n -= hi - lo + 1
		}
	}
	return n
}

// SustainableRate returns the rate of new short connections per second to
// one destination ip:port that the ports allow. Without reuse each usable
// port carries one connection per TIME_WAIT period (60 s), so usable / 60:
// true when this host closes first, per source address, with usable an upper
// bound (ports held by bind() are skipped for every destination). With
// tcp_tw_reuse in effect for that destination (and timestamps on), a
// TIME_WAIT port can be taken over after the reuse delay (reuseDelayMs;
// values <= 0 mean 1000 ms), so usable / delay: a port-reuse ceiling, a
// theoretical figure (the peer must send timestamps, the application must
// keep up), never to be printed without the no-reuse figure beside it.
func SustainableRate(usable int64, twReuse bool, reuseDelayMs int64) float64 {
	if usable <= 0 {
		return 0
	}
	if !twReuse {
		return float64(usable) / TimeWaitSeconds
	}
	if reuseDelayMs <= 0 {
		reuseDelayMs = DefaultReuseDelayMs
	}
	if reuseDelayMs > TimeWaitSeconds*1000 {
		reuseDelayMs = TimeWaitSeconds * 1000
	}
	return float64(usable) * 1000 / float64(reuseDelayMs)
}
