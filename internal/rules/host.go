package rules

import (
	"maps"
	"slices"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
)

// KeyFact is what a host says about one sysctl key.
type KeyFact struct {
	Exists   bool   // /proc/sys/<key> exists in the host's network namespace
	Writable bool   // it can be written there
	Value    string // raw current value (kernel text)
}

// SysctlFile is one sysctl configuration file found on the host.
type SysctlFile struct {
	// Path is the absolute path, e.g. "/etc/sysctl.d/99-sysctl.conf" or
	// "/etc/sysctl.conf".
	Path string
	// Values maps each key the file sets (dotted or slash form) to its raw
	// value.
	Values map[string]string
	// Managed says the file starts with the marker line (see Marker): it
	// was written by a tcp_tuning resource.
	Managed bool
	// Name is the resource name from the marker line of a managed file.
	Name string
}

// HostFacts are the facts read from a host that the host-aware rules use.
// Fields left empty make the rules that need them skip.
type HostFacts struct {
	// KernelRelease is `uname -r`.
	KernelRelease string
	// Keys maps a full sysctl key to its facts. A key missing from the map
	// was not probed and is not checked.
	Keys map[string]KeyFact
	// UnprivilegedPortStart is net.ipv4.ip_unprivileged_port_start (1024 by
	// default; 0 is a valid value and means no lower bound).
	UnprivilegedPortStart int64
	// ListeningPorts are the TCP ports listening now (IPv4 and IPv6).
	ListeningPorts []int64
	// CurrentPortRange and CurrentReserved are the kernel's current
	// ip_local_port_range and ip_local_reserved_ports (raw text). They are
	// used for rules when the config does not set these attributes. An
	// empty CurrentPortRange means unknown; an empty CurrentReserved is the
	// empty list.
	CurrentPortRange string
	CurrentReserved  string
	// SysctlFiles are the files of /etc/sysctl.d, /run/sysctl.d,
	// /usr/local/lib/sysctl.d, /usr/lib/sysctl.d, /lib/sysctl.d and
	// /etc/sysctl.conf that set any key (this resource's own file included
	// or not).
	SysctlFiles []SysctlFile
	// OwnPath is this resource's persisted file; "" when persist is false
	// (the boot-order rule is then skipped).
	OwnPath string
	// OwnName is this resource's name. Managed files with this name are
	// this resource's own (an earlier priority) and are not conflicts.
	OwnName string
	// Replaces is the name of a resource this one replaces (a rename, or
	// create_before_destroy): its files and keys are not conflicts either.
	Replaces string
	// Owners maps a key to the resource the host's record says owns it
	// (see hostops.RecordPath). A key owned by another name is an error.
	Owners map[string]string
	// UID is the user the host scripts run as (-1: unknown); a user other
	// than root cannot write /proc/sys.
	UID int
	// ProcReadOnly says /proc/sys is mounted read-only (many containers).
	ProcReadOnly bool
}

// own reports whether a resource name is this resource's (or the one it
// replaces).
func (f HostFacts) own(name string) bool {
	return name != "" && (name == f.OwnName || name == f.Replaces)
}

// Host runs the rules that need facts read from a host: keys missing or
// read-only on the host, the port range against ip_unprivileged_port_start,
// listening ports newly inside the ephemeral range, rules that combine the
// config with current kernel values the config does not set, keys managed by
// another tcp_tuning resource, and values that another sysctl file overrides
// at boot. It does not repeat Static's findings. The findings come in the
// order of hostRules.
func Host(c Config, f HostFacts) []Finding {
	desired, _ := Desired(c)
	h := &hostCheck{
		c:       c,
		f:       f,
		desired: desired,
		keys:    slices.Sorted(maps.Keys(desired)),
		ports:   effectivePortsOf(c, f),
	}
	var out []Finding
	for _, rule := range hostRules {
		out = append(out, rule(h)...)
	}
	return out
}

// hostRules are the host-aware rules, one function each, in the order
// their findings are reported.
var hostRules = []func(*hostCheck) []Finding{
	keyFacts,
	reuseTwoOnOldKernel,
	timestampsOffOnHost,
	rangeBelowUnprivilegedStart,
	capacityWithHostPorts,
	servicePortsWithHostPorts,
	listeningPortsExposed,
	otherSysctlFiles,
}

// hostCheck is what every host rule reads: the config, the host's facts,
// the desired key values and the effective ports.
type hostCheck struct {
	c       Config
	f       HostFacts
	desired map[string]string // full key -> canonical value
	keys    []string          // the keys of desired, sorted
	ports   effectivePorts
}

// effectivePorts are the port range and reserved ports after the change
// (the config's where set, otherwise the host's current values), and the
// host's current ones.
type effectivePorts struct {
	newRange, curRange              PortRange
	newRangeOK, curRangeOK          bool
	newReserved, curReserved        []catalog.PortSpan
	newReservedOK, curReservedOK    bool
	rangeFromHost, reservedFromHost bool
}

func effectivePortsOf(c Config, f HostFacts) effectivePorts {
	var e effectivePorts
	e.newRange, e.newRangeOK = validRange(c)
	curRange, curRangeErr := catalog.ParsePortRange(f.CurrentPortRange)
	e.curRange, e.curRangeOK = curRange, f.CurrentPortRange != "" && curRangeErr == nil
	e.rangeFromHost = c.PortRange == nil
	if e.rangeFromHost {
		e.newRange, e.newRangeOK = e.curRange, e.curRangeOK
	}
	e.newReserved, e.newReservedOK, _ = configReserved(c)
	curReserved, curReservedErr := catalog.ParseKernelPortList(f.CurrentReserved)
	e.curReserved, e.curReservedOK = curReserved, curReservedErr == nil
	e.reservedFromHost = !c.ReservedPortsSet
	if e.reservedFromHost {
		e.newReserved, e.newReservedOK = e.curReserved, e.curReservedOK
	}
	return e
}

// ok says both the new range and the new reserved ports are known.
func (e effectivePorts) ok() bool { return e.newRangeOK && e.newReservedOK }

// keyFacts: each desired key missing or read-only on the host, or owned by
// another resource in the host's record.
func keyFacts(h *hostCheck) []Finding {
	var out []Finding
	for _, k := range h.keys {
		fact, probed := h.f.Keys[k]
		switch {
		case !probed:
		case !fact.Exists:
			out = append(out, keyMissing(k, h.f.KernelRelease))
		case !fact.Writable:
			out = append(out, keyReadOnly(k, h.f))
		}
		if owner, ok := h.f.Owners[k]; ok && !h.f.own(owner) {
			out = append(out, ownedByAnother(k, owner))
		}
	}
	return out
}

// reuseTwoOnOldKernel: tcp_tw_reuse = 2 is "loopback only" from 4.18;
// before, it is global.
func reuseTwoOnOldKernel(h *hostCheck) []Finding {
	v, ok := h.c.intSetting(attrTwReuse)
	if !ok || v != 2 || h.f.KernelRelease == "" {
		return nil
	}
	if k := catalog.FactsFor(h.f.KernelRelease); k.Known && k.ReuseScope(2) == catalog.ReuseAll {
		return []Finding{reuseTwoIsGlobal(h.f.KernelRelease)}
	}
	return nil
}

// timestampsOffOnHost: timestamps off on the host while the config relies
// on them.
func timestampsOffOnHost(h *hostCheck) []Finding {
	if _, set := h.c.intSetting(attrTimestamps); set {
		return nil
	}
	fact, ok := h.f.Keys[keyTimestamps]
	if !ok || !fact.Exists {
		return nil
	}
	if v, err := catalog.CanonicalInt(fact.Value); err == nil && v == "0" {
		return timestampRules(h.c, true)
	}
	return nil
}

// rangeBelowUnprivilegedStart: a configured range that starts below
// ip_unprivileged_port_start (the config's, when extra_sysctls sets it).
func rangeBelowUnprivilegedStart(h *hostCheck) []Finding {
	if h.c.PortRange == nil || !h.ports.newRangeOK {
		return nil
	}
	start := h.f.UnprivilegedPortStart
	if v, ok := h.c.Extra[keyUnprivilegedStart]; ok {
		if n, err := catalog.ParseInt(v); err == nil {
			start = n
		}
	}
	if h.ports.newRange.Min < start {
		return []Finding{rangeBelowUnprivileged(h.ports.newRange, start, h.f.KernelRelease)}
	}
	return nil
}

// capacityWithHostPorts: the capacity rules that Static could not decide,
// when exactly one of range and reserved ports comes from the host.
func capacityWithHostPorts(h *hostCheck) []Finding {
	e := h.ports
	if !e.ok() || e.rangeFromHost == e.reservedFromHost {
		return nil
	}
	// Static already warned about a configured range that is small on its
	// own; only a range the host's reserved ports cover completely is new
	// here.
	if !e.rangeFromHost && e.newRange.Size() < MinUsablePorts &&
		catalog.UsablePorts(e.newRange.Min, e.newRange.Max, e.newReserved) > 0 {
		return nil
	}
	return rangeCapacity(h.c, e.newRange, e.newReserved, true, h.f.KernelRelease)
}

// servicePortsWithHostPorts: service ports inside the effective range, when
// the range or the reserved ports come from the host.
func servicePortsWithHostPorts(h *hostCheck) []Finding {
	e := h.ports
	if !e.ok() || (!e.rangeFromHost && !e.reservedFromHost) {
		return nil
	}
	return servicePortsInRange(h.c, e.newRange, e.newReserved, true)
}

// listeningPortsExposed: listening ports that the change brings into the
// ephemeral range.
func listeningPortsExposed(h *hostCheck) []Finding {
	c, e := h.c, h.ports
	if !e.ok() || (c.PortRange == nil && !c.ReservedPortsSet) {
		return nil
	}
	service := map[int64]bool{}
	for _, p := range c.ServicePorts {
		service[p] = true
	}
	var exposed []int64
	for _, p := range sortedUnique(h.f.ListeningPorts) {
		if service[p] || !e.ephemeralAfter(p) {
			continue
		}
		if !e.ephemeralBefore(p) {
			exposed = append(exposed, p)
		}
	}
	if len(exposed) == 0 {
		return nil
	}
	at := Path{Attribute: attrPortRange}
	if c.PortRange == nil {
		at = Path{Attribute: attrReserved}
	}
	return []Finding{listeningExposed(at, exposed, e.newRange, h.f.KernelRelease)}
}

// ephemeralAfter says the kernel may hand out p after the change.
func (e effectivePorts) ephemeralAfter(p int64) bool {
	return p >= e.newRange.Min && p <= e.newRange.Max && !catalog.SortedPortListContains(e.newReserved, p)
}

// ephemeralBefore says the kernel may hand out p now (known current values
// only).
func (e effectivePorts) ephemeralBefore(p int64) bool {
	return e.curRangeOK && p >= e.curRange.Min && p <= e.curRange.Max &&
		e.curReservedOK && !catalog.SortedPortListContains(e.curReserved, p)
}

// otherSysctlFiles: per key, another resource's managed file that sets it,
// else (when persisted) a file that wins over this resource's at boot with
// another value.
func otherSysctlFiles(h *hostCheck) []Finding {
	var out []Finding
	for _, k := range h.keys {
		conflicts := managedConflicts(h, k)
		out = append(out, conflicts...)
		if len(conflicts) > 0 || h.f.OwnPath == "" {
			continue
		}
		if f, ok := overriddenAtBootBy(h, k); ok {
			out = append(out, f)
		}
	}
	return out
}

// managedConflicts: the managed files of other resources that set k.
func managedConflicts(h *hostCheck, k string) []Finding {
	var out []Finding
	for _, file := range h.f.SysctlFiles {
		if !file.Managed || file.Path == h.f.OwnPath || h.f.own(file.Name) {
			continue
		}
		if _, ok := fileValue(file, k); ok {
			out = append(out, managedConflict(k, file))
		}
	}
	return out
}

// overriddenAtBootBy: the finding for a file (not this resource's) that
// decides k at boot with another value than desired.
func overriddenAtBootBy(h *hostCheck, k string) (Finding, bool) {
	var others []SysctlFile
	for _, file := range h.f.SysctlFiles {
		if file.Managed && h.f.own(file.Name) {
			continue
		}
		others = append(others, file)
	}
	win, ok := WinsAtBoot(others, h.f.OwnPath, k)
	if !ok {
		return Finding{}, false
	}
	raw, sets := fileValue(*win, k)
	if sets {
		if v, err := catalog.CanonicalForKey(k, raw); err == nil && v == h.desired[k] {
			return Finding{}, false // same value: nothing changes at boot
		}
	}
	return overriddenAtBoot(k, h.desired[k], *win, raw, sets, h.f.OwnPath), true
}
