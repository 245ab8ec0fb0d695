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
// at boot. It does not repeat Static's findings.
func Host(c Config, f HostFacts) []Finding {
	var out []Finding
	desired, _ := Desired(c)
	keys := slices.Sorted(maps.Keys(desired))

	for _, k := range keys {
		fact, probed := f.Keys[k]
		switch {
		case !probed:
		case !fact.Exists:
			out = append(out, keyMissing(k, f.KernelRelease))
		case !fact.Writable:
			out = append(out, keyReadOnly(k, f))
		}
		if owner, ok := f.Owners[k]; ok && !f.own(owner) {
			out = append(out, ownedByAnother(k, owner))
		}
	}

	// tcp_tw_reuse = 2 is "loopback only" from 4.18; before, it is global.
	if v, ok := c.intSetting(attrTwReuse); ok && v == 2 && f.KernelRelease != "" {
		if k := catalog.FactsFor(f.KernelRelease); k.Known && k.ReuseScope(2) == catalog.ReuseAll {
			out = append(out, reuseTwoIsGlobal(f.KernelRelease))
		}
	}

	// Timestamps off on the host while the config relies on them.
	if _, set := c.intSetting(attrTimestamps); !set {
		if fact, ok := f.Keys[keyTimestamps]; ok && fact.Exists {
			if v, err := catalog.CanonicalInt(fact.Value); err == nil && v == "0" {
				out = append(out, timestampRules(c, true)...)
			}
		}
	}

	// Effective port range and reserved ports: the config's where set,
	// otherwise the host's current values.
	newRange, newRangeOK := validRange(c)
	curRange, curRangeErr := catalog.ParsePortRange(f.CurrentPortRange)
	curRangeOK := f.CurrentPortRange != "" && curRangeErr == nil
	rangeFromHost := c.PortRange == nil
	if rangeFromHost {
		newRange, newRangeOK = curRange, curRangeOK
	}
	newReserved, newReservedOK, _ := configReserved(c)
	curReserved, curReservedErr := catalog.ParseKernelPortList(f.CurrentReserved)
	curReservedOK := curReservedErr == nil
	reservedFromHost := !c.ReservedPortsSet
	if reservedFromHost {
		newReserved, newReservedOK = curReserved, curReservedOK
	}

	if c.PortRange != nil && newRangeOK {
		start := f.UnprivilegedPortStart
		if v, ok := c.Extra[keyUnprivilegedStart]; ok {
			if n, err := catalog.ParseInt(v); err == nil {
				start = n
			}
		}
		if newRange.Min < start {
			out = append(out, rangeBelowUnprivileged(newRange, start, f.KernelRelease))
		}
	}

	effectiveOK := newRangeOK && newReservedOK
	fromHost := rangeFromHost || reservedFromHost
	// Capacity rules that Static could not decide: exactly one of range and
	// reserved ports comes from the host.
	if effectiveOK && rangeFromHost != reservedFromHost {
		capacity := rangeCapacity(c, newRange, newReserved, true, f.KernelRelease)
		// Static already warned about a configured range that is small on
		// its own; only a range the host's reserved ports cover completely
		// is new here.
		if !rangeFromHost && newRange.Size() < MinUsablePorts &&
			catalog.UsablePorts(newRange.Min, newRange.Max, newReserved) > 0 {
			capacity = nil
		}
		out = append(out, capacity...)
	}
	if effectiveOK && fromHost {
		out = append(out, servicePortsInRange(c, newRange, newReserved, true)...)
	}

	// Listening ports that the change brings into the ephemeral range.
	if effectiveOK && (c.PortRange != nil || c.ReservedPortsSet) {
		service := map[int64]bool{}
		for _, p := range c.ServicePorts {
			service[p] = true
		}
		var exposed []int64
		for _, p := range sortedUnique(f.ListeningPorts) {
			if service[p] || p < newRange.Min || p > newRange.Max || catalog.SortedPortListContains(newReserved, p) {
				continue
			}
			before := curRangeOK && p >= curRange.Min && p <= curRange.Max &&
				curReservedOK && !catalog.SortedPortListContains(curReserved, p)
			if !before {
				exposed = append(exposed, p)
			}
		}
		if len(exposed) > 0 {
			at := Path{Attribute: attrPortRange}
			if c.PortRange == nil {
				at = Path{Attribute: attrReserved}
			}
			out = append(out, listeningExposed(at, exposed, newRange, f.KernelRelease))
		}
	}

	// Other sysctl files: another resource's managed file, and files that
	// win at boot.
	for _, k := range keys {
		conflict := false
		for _, file := range f.SysctlFiles {
			if !file.Managed || file.Path == f.OwnPath || f.own(file.Name) {
				continue
			}
			if _, ok := fileValue(file, k); ok {
				out = append(out, managedConflict(k, file))
				conflict = true
			}
		}
		if conflict || f.OwnPath == "" {
			continue
		}
		var others []SysctlFile
		for _, file := range f.SysctlFiles {
			if file.Managed && f.own(file.Name) {
				continue
			}
			others = append(others, file)
		}
		win, ok := WinsAtBoot(others, f.OwnPath, k)
		if !ok {
			continue
		}
		raw, sets := fileValue(*win, k)
		if sets {
			if v, err := catalog.CanonicalForKey(k, raw); err == nil && v == desired[k] {
				continue // same value: nothing changes at boot
			}
		}
		out = append(out, overriddenAtBoot(k, desired[k], *win, raw, sets, f.OwnPath))
	}
	return out
}
