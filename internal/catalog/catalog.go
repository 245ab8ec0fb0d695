// Package catalog is the provider's table of TCP settings: for every typed
// attribute of tcp_tuning it holds the sysctl key, the value kind, the allowed
// values, the typical kernel default, availability notes and the description
// used in the docs. Schema attributes, validators and documentation are
// generated from it, so adding a setting is adding one row to the table.
//
// The package also turns user input and kernel output into one canonical
// string per value kind, so that plan, apply and read compare canonical
// values only. It does not import the Terraform framework.
package catalog

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind is the value kind of a setting.
type Kind int

const (
	// KindInt is a single decimal integer ("30").
	KindInt Kind = iota
	// KindPortRange is a pair of ports, canonically "min max".
	KindPortRange
	// KindPortList is a list of ports and port ranges, canonically as the
	// kernel prints net.ipv4.ip_local_reserved_ports ("7005,8001-8003").
	KindPortList
	// KindString is a free-form value of extra_sysctls, canonically trimmed
	// with runs of whitespace collapsed to one space.
	KindString
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindInt:
		return "int"
	case KindPortRange:
		return "port_range"
	case KindPortList:
		return "port_list"
	case KindString:
		return "string"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// MaxInt32 is the largest value of a kernel int sysctl.
const MaxInt32 = math.MaxInt32

// MaxJiffiesSeconds is the largest number of seconds a jiffies-based sysctl
// (tcp_fin_timeout, tcp_keepalive_time, tcp_keepalive_intvl) accepts on every
// kernel: INT_MAX / HZ with the largest HZ (1000). Larger values are rejected
// with EINVAL on HZ=1000 kernels.
const MaxJiffiesSeconds = math.MaxInt32 / 1000

// Setting is one typed setting of the tcp_tuning resource.
type Setting struct {
	// Attribute is the schema attribute name ("tcp_tw_reuse").
	Attribute string
	// Key is the full sysctl key ("net.ipv4.tcp_tw_reuse").
	Key string
	// Kind is the value kind.
	Kind Kind
	// Min and Max bound a KindInt value (inclusive). For a setting with
	// OneOf they are the smallest and largest allowed value.
	Min, Max int64
	// OneOf lists the allowed values when they are a small set; nil otherwise.
	OneOf []int64
	// Default is the typical kernel default in canonical form; "" when it
	// varies (with memory size or kernel version).
	Default string
	// Since is the first Linux release that has the key ("6.14"); "" when
	// every supported kernel has it.
	Since string
	// RemovedIn is the Linux release that removed the key ("4.12"); "" if
	// it still exists.
	RemovedIn string
	// PerNamespace reports whether the key is per network namespace on
	// current kernels (a new namespace starts from the kernel default).
	PerNamespace bool
	// Description is the markdown description of the attribute, without
	// allowed values or default (see MarkdownDescription).
	Description string
}

// table is the catalogue. Order is the documentation order.
var table = []Setting{
	{
		Attribute: "tcp_tw_reuse", Key: "net.ipv4.tcp_tw_reuse", Kind: KindInt,
		Min: 0, Max: 2, OneOf: []int64{0, 1, 2}, PerNamespace: true,
		Description: "Reuse of TIME_WAIT sockets for new **outgoing** connections " +
			"when it is safe for the protocol. Linux " + ReuseLoopbackSince.String() + " and later: `0` off, `1` on for all " +
			"destinations, `2` loopback only, default `2`. Before " + ReuseLoopbackSince.String() + " (Ubuntu 18.04's 4.15, " +
			"Amazon Linux 2's 4.14) the default is `0` and **any non-zero value, `2` included, enables reuse " +
			"for every destination**. It affects `connect()` only (never incoming connections) " +
			"and needs TCP timestamps (`tcp_timestamps` `1` or `2`); with timestamps " +
			"off it has no effect. The TcpExt counter `TWRecycled` (a historical name: it has nothing to do " +
			"with `tcp_tw_recycle`) counts TIME_WAIT 4-tuples taken over by `connect()`, through this setting " +
			"or by a socket bound with `SO_REUSEADDR`.",
	},
	{
		Attribute: "tcp_tw_reuse_delay", Key: "net.ipv4.tcp_tw_reuse_delay", Kind: KindInt,
		Min: 1, Max: 60000, Default: "1000", Since: ReuseDelaySince.String(), PerNamespace: true,
		Description: "Milliseconds after a socket entered TIME_WAIT before `tcp_tw_reuse` " +
			"may reuse its port for a new outgoing connection. Older kernels have no key and a fixed " +
			"rule: 0-1 s after the peer's last timestamped segment (Linux " + ReuseSecondRuleSince.String() + "-" +
			before(ReuseDelaySince) + "), 1-2 s (Linux " + before(ReuseSecondRuleSince) + " and older).",
	},
	{
		Attribute: "tcp_tw_recycle", Key: "net.ipv4.tcp_tw_recycle", Kind: KindInt,
		Min: 0, Max: 1, OneOf: []int64{0, 1}, Default: "0", RemovedIn: RecycleRemovedIn.String(), PerNamespace: true,
		Description: "Fast recycling of TIME_WAIT sockets (legacy). It dropped SYNs whose " +
			"TCP timestamp went backwards per remote IP address, which silently breaks " +
			"clients behind NAT or load balancers; Linux " + RecycleRemovedIn.String() + " removed the key. " +
			"`1` is rejected while `behind_nat` is true.",
	},
	{
		Attribute: "tcp_timestamps", Key: "net.ipv4.tcp_timestamps", Kind: KindInt,
		Min: 0, Max: 2, OneOf: []int64{0, 1, 2}, Default: "1", PerNamespace: true,
		Description: "TCP timestamps (RFC 7323): `0` off, `1` on with random offsets, `2` on " +
			"without offsets. The offsets of `1` are per address pair from Linux " + TimestampOffsetsPerPairSince.String() +
			" (per connection in 4.10 only), and per connection again on kernels with commit " +
			TimestampOffsetsPerConnectionCommit + " (2026). `tcp_tw_reuse` needs timestamps on.",
	},
	{
		Attribute: "tcp_fin_timeout", Key: "net.ipv4.tcp_fin_timeout", Kind: KindInt,
		Min: 1, Max: MaxJiffiesSeconds, Default: "60", PerNamespace: true,
		Description: "Seconds an **orphaned** connection stays in FIN_WAIT2 before the " +
			"kernel drops it. It does **not** change the length of TIME_WAIT, which is " +
			"fixed at 60 seconds.",
	},
	{
		Attribute: "tcp_max_tw_buckets", Key: "net.ipv4.tcp_max_tw_buckets", Kind: KindInt,
		Min: 0, Max: MaxInt32, PerNamespace: true,
		Description: "Maximum number of TIME_WAIT (and orphaned FIN_WAIT2) sockets. When " +
			"the limit is reached, a socket that is closing now skips TIME_WAIT and the " +
			"TcpExt counter `TCPTimeWaitOverflow` increments; existing TIME_WAIT sockets " +
			"are **not** cleared. A low limit trades protocol safety for memory. The " +
			"kernel default is half the established-hash size, which scales with memory: about `4096` on " +
			"a 1 GiB machine, `65536` at 16 GiB, `131072` at 17-32 GiB, `262144` from 64 GiB.",
	},
	{
		Attribute: "tcp_syncookies", Key: "net.ipv4.tcp_syncookies", Kind: KindInt,
		Min: 0, Max: 2, OneOf: []int64{0, 1, 2}, Default: "1", PerNamespace: true,
		Description: "SYN cookies: `0` off, `1` only when the SYN queue overflows, " +
			"`2` always.",
	},
	{
		Attribute: "somaxconn", Key: "net.core.somaxconn", Kind: KindInt,
		Min: 0, Max: MaxInt32, Default: "4096", PerNamespace: true,
		Description: "Upper bound of the accept-queue length a `listen()` call can " +
			"request. The default is `4096` since Linux 5.4 (`128` before).",
	},
	{
		Attribute: "tcp_max_syn_backlog", Key: "net.ipv4.tcp_max_syn_backlog", Kind: KindInt,
		Min: 0, Max: MaxInt32, PerNamespace: true,
		Description: "Maximum number of remembered connection requests (SYN_RECV) per " +
			"listener that have not yet been acknowledged. The default depends on " +
			"memory size.",
	},
	{
		Attribute: "tcp_keepalive_time", Key: "net.ipv4.tcp_keepalive_time", Kind: KindInt,
		Min: 1, Max: MaxJiffiesSeconds, Default: "7200", PerNamespace: true,
		Description: "Seconds a connection with `SO_KEEPALIVE` stays idle before the " +
			"first keepalive probe.",
	},
	{
		Attribute: "tcp_keepalive_intvl", Key: "net.ipv4.tcp_keepalive_intvl", Kind: KindInt,
		Min: 1, Max: MaxJiffiesSeconds, Default: "75", PerNamespace: true,
		Description: "Seconds between keepalive probes.",
	},
	{
		Attribute: "tcp_keepalive_probes", Key: "net.ipv4.tcp_keepalive_probes", Kind: KindInt,
		Min: 0, Max: 255, Default: "9", PerNamespace: true,
		Description: "Unanswered keepalive probes before the connection is dropped.",
	},
	{
		Attribute: "ip_local_port_range", Key: "net.ipv4.ip_local_port_range", Kind: KindPortRange,
		Min: 1, Max: 65535, Default: "32768 60999", PerNamespace: true,
		Description: "Ephemeral port range for outgoing connections and `bind()` to " +
			"port 0. Each destination `ip:port` can hold at most one connection per " +
			"usable port, so a client that opens short connections to one destination " +
			"and closes them first can sustain about usable ports / 60 s new connections per second " +
			"without TIME_WAIT reuse (TIME_WAIT lasts 60 s), per source address; ports held by `bind()` " +
			"count against every destination. Both ends are always written together (the kernel " +
			"would otherwise set only `min`). Prefer `min` and `max` of different parity: `connect()` " +
			"prefers ports of `min`'s parity and falls back to the others.",
	},
	{
		Attribute: "ip_local_reserved_ports", Key: "net.ipv4.ip_local_reserved_ports", Kind: KindPortList,
		Min: 1, Max: 65535, Default: "", PerNamespace: true,
		Description: "Ports excluded from automatic (ephemeral) port choice, so a service " +
			"that restarts finds its port free. Explicit `bind()` to a reserved port " +
			"still works. Stored as the kernel prints the list: sorted, with adjacent " +
			"and overlapping entries merged (`[\"8003\", \"8001-8002\", \"7005\"]` " +
			"becomes `[\"7005\", \"8001-8003\"]`), and compared in that form, so the order and " +
			"overlap of your elements never cause a diff.",
	},
}

var (
	byAttribute = map[string]int{}
	byKey       = map[string]int{}
)

func init() {
	for i, s := range table {
		if _, dup := byAttribute[s.Attribute]; dup {
			panic("catalog: duplicate attribute " + s.Attribute)
		}
		if _, dup := byKey[s.Key]; dup {
			panic("catalog: duplicate key " + s.Key)
		}
		byAttribute[s.Attribute] = i
		byKey[s.Key] = i
	}
}

// All returns every typed setting in documentation order. The caller may
// modify the returned slice.
func All() []Setting {
	out := make([]Setting, len(table))
	for i, s := range table {
		s.OneOf = append([]int64(nil), s.OneOf...)
		if len(s.OneOf) == 0 {
			s.OneOf = nil
		}
		out[i] = s
	}
	return out
}

// ByAttribute returns the setting with the given schema attribute name.
func ByAttribute(name string) (Setting, bool) {
	i, ok := byAttribute[name]
	if !ok {
		return Setting{}, false
	}
	return All()[i], true
}

// KeyOf returns the sysctl key of a typed attribute ("tcp_timestamps" ->
// "net.ipv4.tcp_timestamps"), so code outside the table names keys by the
// row. It panics on an attribute the table lacks: a programming error.
func KeyOf(attribute string) string {
	i, ok := byAttribute[attribute]
	if !ok {
		panic("catalog: no attribute " + attribute)
	}
	return table[i].Key
}

// ByKey returns the setting with the given full sysctl key.
func ByKey(key string) (Setting, bool) {
	i, ok := byKey[key]
	if !ok {
		return Setting{}, false
	}
	return All()[i], true
}

// IsTypedKey reports whether key belongs to a typed attribute.
func IsTypedKey(key string) bool {
	_, ok := byKey[key]
	return ok
}

// KeyToProcPath returns the /proc/sys path of a sysctl key
// ("net.ipv4.tcp_tw_reuse" -> "/proc/sys/net/ipv4/tcp_tw_reuse").
func KeyToProcPath(key string) string {
	return "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
}

// ProcPath returns the setting's /proc/sys path.
func (s Setting) ProcPath() string { return KeyToProcPath(s.Key) }

// Availability returns a short note on which kernels have the key
// ("Linux >= 6.14", "removed in Linux 4.12"), or "" when every supported
// kernel has it.
func (s Setting) Availability() string {
	switch {
	case s.Since != "" && s.RemovedIn != "":
		return "Linux >= " + s.Since + ", removed in Linux " + s.RemovedIn
	case s.Since != "":
		return "Linux >= " + s.Since
	case s.RemovedIn != "":
		return "removed in Linux " + s.RemovedIn
	}
	return ""
}

// AllowedText returns one markdown sentence listing the allowed values,
// generated from the same fields the validators use:
// "One of `0`, `1`, `2`." or "Between `1` and `60000`.".
func (s Setting) AllowedText() string {
	switch s.Kind {
	case KindInt:
		if len(s.OneOf) > 0 {
			parts := make([]string, len(s.OneOf))
			for i, v := range s.OneOf {
				parts[i] = "`" + strconv.FormatInt(v, 10) + "`"
			}
			return "One of " + strings.Join(parts, ", ") + "."
		}
		return fmt.Sprintf("Between `%d` and `%d`.", s.Min, s.Max)
	case KindPortRange:
		return fmt.Sprintf("An object with `min` and `max`, `%d` <= `min` <= `max` <= `%d`; "+
			"the kernel also requires `min` >= `net.ipv4.ip_unprivileged_port_start`.", s.Min, s.Max)
	case KindPortList:
		return fmt.Sprintf("A set of ports (`\"7005\"`) and inclusive port ranges "+
			"(`\"8001-8100\"`), each port between `%d` and `%d`; an empty set clears the list.", s.Min, s.Max)
	}
	return ""
}

// DefaultText returns "Typical kernel default: `1000`." or "" when the
// default varies. An empty port list default reads "Kernel default: empty.".
func (s Setting) DefaultText() string {
	switch {
	case s.Kind == KindPortList && s.Default == "":
		return "Kernel default: empty."
	case s.Default == "":
		return ""
	case s.Kind == KindPortRange:
		r, err := ParsePortRange(s.Default)
		if err == nil {
			return fmt.Sprintf("Kernel default: `min = %d`, `max = %d`.", r.Min, r.Max)
		}
	}
	return "Kernel default: `" + s.Default + "`."
}

// MarkdownDescription returns the full attribute description for the docs:
// the description, the allowed values, the default, the availability and the
// sysctl key.
func (s Setting) MarkdownDescription() string {
	parts := []string{s.Description, s.AllowedText()}
	if d := s.DefaultText(); d != "" {
		parts = append(parts, d)
	}
	if a := s.Availability(); a != "" {
		parts = append(parts, "Available: "+a+".")
	}
	parts = append(parts, "Sysctl: `"+s.Key+"`.")
	return strings.Join(parts, " ")
}

// ValidateInt checks a KindInt value against the setting's allowed values.
// The error says what is allowed.
func (s Setting) ValidateInt(v int64) error {
	if s.Kind != KindInt {
		return fmt.Errorf("%s is not a number setting", s.Attribute)
	}
	if len(s.OneOf) > 0 {
		for _, o := range s.OneOf {
			if v == o {
				return nil
			}
		}
		return fmt.Errorf("%s must be %s, got %d", s.Attribute, orList(s.OneOf), v)
	}
	if v < s.Min || v > s.Max {
		return fmt.Errorf("%s must be between %d and %d, got %d", s.Attribute, s.Min, s.Max, v)
	}
	return nil
}

// orList formats {0,1,2} as "0, 1 or 2".
func orList(vs []int64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.FormatInt(v, 10)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// Canonical turns a raw value of this setting (user input or kernel output)
// into its canonical string, dispatching on the kind.
func (s Setting) Canonical(raw string) (string, error) {
	return Canonical(s.Kind, raw)
}

// Canonical turns a raw value of the given kind into its canonical string.
func Canonical(kind Kind, raw string) (string, error) {
	switch kind {
	case KindInt:
		return CanonicalInt(raw)
	case KindPortRange:
		return CanonicalPortRange(raw)
	case KindPortList:
		return CanonicalPortList(raw)
	case KindString:
		return CanonicalString(raw), nil
	}
	return "", fmt.Errorf("unknown value kind %d", int(kind))
}

// CanonicalForKey canonicalizes a raw value of any sysctl key: typed keys by
// their kind, every other key as KindString.
func CanonicalForKey(key, raw string) (string, error) {
	if s, ok := ByKey(key); ok {
		return s.Canonical(raw)
	}
	return CanonicalString(raw), nil
}

// KernelValue returns the text to write into /proc/sys for a canonical value
// (without the trailing newline). For every kind this is the canonical value
// itself: a port range is "min max", a port list "7005,8001-8003". An empty
// port list is returned as "": the host operation must then write "\n",
// because an empty write does not clear the kernel's list.
func KernelValue(kind Kind, canonical string) string {
	_ = kind
	return canonical
}
