package rules

// This file is the one place that words findings. Summaries are Title Case;
// details say why and what to do, then end with facts on their own lines.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
	"github.com/tcptune/terraform-provider-tcp/internal/hostops"
)

// Facts renders the "Name: value" lines that end a diagnostic detail, from
// name, value pairs; a pair with an empty value is left out. The provider
// words its own diagnostics with it too, so every detail ends alike.
func Facts(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		b.WriteString("\n")
		b.WriteString(pairs[i])
		b.WriteString(": ")
		b.WriteString(pairs[i+1])
	}
	return b.String()
}

func detail(text string, factPairs ...string) string {
	if len(factPairs) == 0 {
		return text
	}
	return text + "\n" + Facts(factPairs...)
}

func errorAt(p Path, summary, det string) Finding {
	return Finding{Severity: SeverityError, Path: p, Summary: summary, Detail: det}
}

func warningAt(p Path, summary, det string) Finding {
	return Finding{Severity: SeverityWarning, Path: p, Summary: summary, Detail: det}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func kernelText(release string) string {
	if release == "" {
		return "unknown"
	}
	return release
}

// fmtRate formats connections per second: whole numbers from 100 up, one
// decimal below.
func fmtRate(r float64) string {
	if r >= 100 {
		return strconv.FormatFloat(r, 'f', 0, 64)
	}
	return strconv.FormatFloat(r, 'f', 1, 64)
}

func rangeText(r PortRange) string { return itoa(r.Min) + "-" + itoa(r.Max) }

func hostNote(fromHost bool) string {
	if fromHost {
		return " (current value on the host)"
	}
	return ""
}

func noSettings() Finding {
	return errorAt(Path{}, "No TCP Settings Configured",
		"A tcp_tuning resource must set at least one setting: a typed attribute such as "+
			"tcp_tw_reuse or ip_local_port_range, ip_local_reserved_ports, or an entry in "+
			"extra_sysctls. Without one it would manage nothing on the host. Add the settings "+
			"this host needs, or remove the resource.")
}

func unknownSetting(attr string) Finding {
	return errorAt(Path{Attribute: attr}, "Unknown TCP Setting",
		detail("The provider passed a number for an attribute that is not a typed number "+
			"setting of the catalogue. This is a bug in the provider; please report it.",
			"Attribute", attr))
}

func invalidValue(s catalog.Setting, v int64) Finding {
	var allowed string
	if len(s.OneOf) > 0 {
		parts := make([]string, len(s.OneOf))
		for i, o := range s.OneOf {
			parts[i] = itoa(o)
		}
		allowed = "one of " + strings.Join(parts, ", ")
	} else {
		allowed = fmt.Sprintf("between %d and %d", s.Min, s.Max)
	}
	text := fmt.Sprintf("%s must be %s; %d is outside what this setting accepts, so the "+
		"kernel would reject it or behave in an undocumented way. Use an allowed value.",
		s.Attribute, allowed, v)
	return errorAt(Path{Attribute: s.Attribute}, "Invalid TCP Setting Value",
		detail(text, "Key", s.Key, "Value", itoa(v), "Allowed", allowed))
}

func recycleBehindNAT() Finding {
	return errorAt(Path{Attribute: attrTwRecycle}, "TIME_WAIT Recycling Breaks Clients Behind NAT",
		detail("tcp_tw_recycle = 1 makes the kernel remember the last TCP timestamp of each "+
			"remote IP address and drop SYNs whose timestamp is lower. Clients behind NAT or a "+
			"load balancer share one address but have unrelated clocks, so their connection "+
			"attempts are dropped silently and at random. Linux 4.12 removed the key for this "+
			"reason: the file does not exist on newer kernels. Remove tcp_tw_recycle; to reuse "+
			"TIME_WAIT ports for outgoing connections use tcp_tw_reuse = 1 instead. Set "+
			"behind_nat = false only if no client can ever reach this host through NAT, and know "+
			"that it does not make recycling safe: with random timestamp offsets per connection "+
			"(Linux 4.10, and kernels carrying commit "+catalog.TimestampOffsetsPerConnectionCommit+") "+
			"even clients without NAT have their SYNs dropped.",
			"Key", catalog.KeyOf(attrTwRecycle), "Value", "1", "behind_nat", "true"))
}

func recycleRemoved(v int64) Finding {
	return warningAt(Path{Attribute: attrTwRecycle}, "TIME_WAIT Recycling Exists Only Before Linux 4.12",
		detail("tcp_tw_recycle was removed in Linux 4.12: on newer kernels the key does not "+
			"exist and applying it fails. Remove the attribute unless every target host runs "+
			"a kernel older than 4.12.",
			"Key", catalog.KeyOf(attrTwRecycle), "Value", itoa(v), "Available", "removed in Linux 4.12"))
}

func needsTimestamps(attr string, fromHost bool) Finding {
	text := fmt.Sprintf("%s = 1 has no effect while tcp_timestamps = 0: the kernel shortcuts "+
		"TIME_WAIT only for connections that carry TCP timestamps, which protect a new "+
		"connection on the same ports from old duplicate segments. Set tcp_timestamps to 1 "+
		"(the default) or 2, or remove %s.", attr, attr)
	return errorAt(Path{Attribute: attr}, "TIME_WAIT Reuse Needs TCP Timestamps",
		detail(text, "Key", catalog.KeyOf(attr), "Value", "1",
			"Timestamps", keyTimestamps+" = 0"+hostNote(fromHost)))
}

func rangeBound(r PortRange, field string, row catalog.Setting) Finding {
	var text string
	if field == "min" {
		text = fmt.Sprintf("ip_local_port_range.min is %d, but ports are %d-%d (port 0 is "+
			"never handed out). Use a min of at least 1024: ports below 1024 are for privileged "+
			"services, and the kernel requires min >= net.ipv4.ip_unprivileged_port_start "+
			"(1024 by default).", r.Min, row.Min, row.Max)
	} else {
		text = fmt.Sprintf("ip_local_port_range.max is %d; ports end at %d and the kernel "+
			"rejects the range (EINVAL). Use a max of at most %d.", r.Max, row.Max, row.Max)
	}
	return errorAt(Path{Attribute: attrPortRange, Field: field}, "Invalid Ephemeral Port Range",
		detail(text, "Key", catalog.KeyOf(attrPortRange), "Value", r.String()))
}

func rangeReversed(r PortRange) Finding {
	return errorAt(Path{Attribute: attrPortRange}, "Invalid Ephemeral Port Range",
		detail(fmt.Sprintf("ip_local_port_range.min (%d) is greater than max (%d); the kernel "+
			"rejects the range (EINVAL). Swap the values.", r.Min, r.Max),
			"Key", catalog.KeyOf(attrPortRange), "Value", r.String()))
}

func rangeParity(r PortRange) Finding {
	parity := "even"
	if r.Min%2 != 0 {
		parity = "odd"
	}
	suggest := r.Max + 1
	if suggest > 65535 {
		suggest = r.Max - 1
	}
	return warningAt(Path{Attribute: attrPortRange}, "Ephemeral Port Range Bounds Have the Same Parity",
		detail(fmt.Sprintf("min (%d) and max (%d) are both %s. connect() prefers ports of "+
			"min's parity and falls back to the other parity when those are taken; bind() to "+
			"port 0 prefers the opposite. It is a preference, not a split, but with bounds of the "+
			"same parity one port is never reached by connect(), and the kernel logs "+
			"\"ip_local_port_range: prefer different parity for start/end values\" once per "+
			"network namespace. The range works; to follow the recommendation use max = %d.",
			r.Min, r.Max, parity, suggest),
			"Key", catalog.KeyOf(attrPortRange), "Value", r.String()))
}

func invalidReserved(elem string, err error) Finding {
	reason := err.Error()
	if ee, ok := err.(*catalog.ElementError); ok {
		reason = ee.Reason
	}
	return errorAt(Path{Attribute: attrReserved, SetElement: elem}, "Invalid Reserved Port",
		detail(fmt.Sprintf("The element %s of ip_local_reserved_ports is invalid: %s. Each "+
			"element is a port (\"7005\") or an inclusive range (\"8001-8100\") of ports 1-65535, "+
			"lower port first, without spaces; the kernel rejects the whole list otherwise (EINVAL).",
			strconv.Quote(elem), reason),
			"Key", catalog.KeyOf(attrReserved), "Element", strconv.Quote(elem)))
}

func capacityPath(c Config) Path {
	if c.PortRange != nil {
		return Path{Attribute: attrPortRange}
	}
	return Path{Attribute: attrReserved}
}

func reservedCoverRange(c Config, r PortRange, reserved []catalog.PortSpan, fromHost bool) Finding {
	at := Path{Attribute: attrReserved}
	if !c.ReservedPortsSet {
		at = Path{Attribute: attrPortRange}
	}
	text := fmt.Sprintf("Every port of the ephemeral range %s is reserved, so the kernel has no "+
		"port to choose: every connect() without an explicit bind() and every bind() to port 0 "+
		"fails with EADDRNOTAVAIL (\"Cannot assign requested address\"). Reserve fewer ports or "+
		"widen ip_local_port_range.", rangeText(r))
	return errorAt(at, "Reserved Ports Cover the Whole Ephemeral Range",
		detail(text, "Range", r.String()+hostNote(fromHost && c.PortRange == nil),
			"Reserved", catalog.FormatPortList(reserved)+hostNote(fromHost && !c.ReservedPortsSet)))
}

func fewUsablePorts(c Config, r PortRange, usable int64, fromHost bool, kernel string) Finding {
	rate := catalog.SustainableRate(usable, false, 0)
	leaves := "leaves %d usable ports once reserved ports are excluded"
	if !fromHost && !c.ReservedPortsSet {
		leaves = "has only %d ports (fewer if the host reserves ports inside it)"
	}
	text := fmt.Sprintf("The ephemeral range %s "+leaves+". Each destination ip:port can hold "+
		"at most one connection per usable port, and "+
		"a closed connection keeps its port in TIME_WAIT for 60 s, so a client that closes first "+
		"can open only about %s new connections per second to one destination (per source "+
		"address, without TIME_WAIT reuse) before connect() fails with "+
		"EADDRNOTAVAIL (\"Cannot assign requested address\").",
		rangeText(r), usable, fmtRate(rate))
	reuse, reuseSet := c.intSetting(attrTwReuse)
	ts, tsSet := c.intSetting(attrTimestamps)
	scope := catalog.ReuseOff
	if reuseSet && (!tsSet || ts != 0) {
		if kernel != "" {
			scope = catalog.FactsFor(kernel).ReuseScope(reuse)
		} else if reuse == 1 {
			scope = catalog.ReuseAll
		}
	}
	if scope == catalog.ReuseAll {
		delayMs, delaySet := c.intSetting(attrTwReuseDelay)
		var rule catalog.ReuseDelay
		if kernel != "" {
			k := catalog.FactsFor(kernel)
			rule = k.ReuseDelayFor(delayMs, delaySet && k.HasReuseDelayKey)
			rule.Rule = "on this kernel " + rule.Rule
		} else {
			if !delaySet {
				delayMs = catalog.DefaultReuseDelayMs
			}
			rule = catalog.ReuseDelay{MaxMs: delayMs, Rule: fmt.Sprintf("tcp_tw_reuse_delay = %d ms on Linux %s+; "+
				"on older kernels a fixed 0-1 s (4.18-6.13) or 1-2 s (4.17 and older) after the peer's last "+
				"timestamped segment", delayMs, catalog.ReuseDelaySince)}
		}
		text += fmt.Sprintf(" With tcp_tw_reuse = %d an outgoing connection can take over a "+
			"TIME_WAIT port once the reuse delay has passed (%s), which gives a port-reuse "+
			"ceiling of about %s per second: a theoretical figure that needs the peer to send "+
			"timestamps; without reuse the rate stays about %s.",
			reuse, rule.Rule, fmtRate(catalog.SustainableRate(usable, true, rule.MaxMs)), fmtRate(rate))
	}
	text += " Widen the range (1024-65535 gives 64512 ports, about 1075 per second without reuse)"
	if usable < r.Size() {
		text += " or reserve fewer ports inside it"
	}
	text += "; clients that pool or keep connections open avoid the limit."
	pairs := []string{"Range", r.String() + hostNote(fromHost && c.PortRange == nil)}
	switch {
	case fromHost && !c.ReservedPortsSet:
		pairs = append(pairs, "Reserved", "(current value on the host)")
	case c.ReservedPortsSet:
		list, _ := catalog.CanonicalPortListFromItems(c.ReservedPorts)
		if list == "" {
			list = "(none)"
		}
		pairs = append(pairs, "Reserved", list)
	}
	pairs = append(pairs, "Usable ports", itoa(usable), "Rate", fmtRate(rate)+" new connections/s per destination without reuse")
	if kernel != "" {
		pairs = append(pairs, "Kernel", kernel)
	}
	return warningAt(capacityPath(c), "Few Usable Ephemeral Ports", detail(text, pairs...))
}

// reuseTwoIsGlobal warns that tcp_tw_reuse = 2 means every destination on a
// kernel older than 4.18.
func reuseTwoIsGlobal(kernel string) Finding {
	since := catalog.ReuseLoopbackSince.String()
	return warningAt(Path{Attribute: attrTwReuse}, "tcp_tw_reuse = 2 Reuses for Every Destination Before Linux "+since,
		detail(fmt.Sprintf("On Linux %s and later tcp_tw_reuse = 2 limits TIME_WAIT reuse to loopback "+
			"connections (and is the default). This host runs %s, where the setting is a plain number: "+
			"any non-zero value, 2 included, lets connect() reuse TIME_WAIT ports for every "+
			"destination, and the default is 0. If you meant loopback only, this kernel cannot do "+
			"it: use 0 to keep reuse off, or 1 to say what the host will do.", since, kernel),
			"Key", catalog.KeyOf(attrTwReuse), "Value", "2", "Kernel", kernel))
}

func invalidServicePort(p int64) Finding {
	pp := p
	return errorAt(Path{Attribute: attrServicePorts, SetElementInt: &pp}, "Invalid Service Port",
		detail(fmt.Sprintf("service_ports lists %d, which is not a TCP port: ports are 1-65535.", p),
			"Port", itoa(p)))
}

func servicePortEphemeral(c Config, p int64, r PortRange, fromHost bool) Finding {
	pp := p
	fix := fmt.Sprintf("Add \"%d\" to ip_local_reserved_ports, or move ip_local_port_range so "+
		"that it no longer includes %d", p, p)
	// Suggest the bound that keeps the larger part of the range.
	switch {
	case r.Min == r.Max:
	case r.Max-p >= p-r.Min:
		fix += fmt.Sprintf(" (for example min = %d)", p+1)
	default:
		fix += fmt.Sprintf(" (for example max = %d)", p-1)
	}
	text := fmt.Sprintf("Port %d is listed in service_ports but lies inside the ephemeral port "+
		"range %s and is not reserved. The kernel may hand it to an outgoing connection; if the "+
		"service restarts while such a connection (or its 60 s of TIME_WAIT) holds the port, the "+
		"service cannot bind it. %s.", p, rangeText(r), fix)
	pairs := []string{"Port", itoa(p), "Range", r.String() + hostNote(fromHost && c.PortRange == nil)}
	if fromHost && !c.ReservedPortsSet {
		pairs = append(pairs, "Reserved", "(current value on the host)")
	}
	return errorAt(Path{Attribute: attrServicePorts, SetElementInt: &pp}, "Service Port Inside the Ephemeral Range",
		detail(text, pairs...))
}

func lowTwBuckets(v int64) Finding {
	return warningAt(Path{Attribute: attrTwBuckets}, "Low TIME_WAIT Bucket Limit",
		detail(fmt.Sprintf("With tcp_max_tw_buckets = %d, once %d sockets are in TIME_WAIT (or "+
			"orphaned FIN_WAIT2) every further socket that closes skips TIME_WAIT and the TcpExt "+
			"counter TCPTimeWaitOverflow increments. Existing TIME_WAIT sockets are not cleared; "+
			"the connections that skip TIME_WAIT lose its protection against delayed duplicate "+
			"segments and a lost final ACK. A TIME_WAIT socket costs little memory. The kernel "+
			"default is half the established-connection hash and scales with memory (about 4096 on a "+
			"1 GiB machine, 131072 at 17-32 GiB), so check it before lowering it. Use at least %d, or remove the cause of the "+
			"TIME_WAIT sockets (keep connections open, let clients close first).", v, v, MinTwBuckets),
			"Key", catalog.KeyOf(attrTwBuckets), "Value", itoa(v)))
}

func extraTyped(k string, s catalog.Setting) Finding {
	return errorAt(Path{Attribute: attrExtra, MapKey: k}, "Extra Sysctl Duplicates a Typed Setting",
		detail(fmt.Sprintf("%s has its own attribute, %s, which validates the value and compares "+
			"it the way the kernel prints it. Set %s and remove the key from extra_sysctls.",
			k, s.Attribute, s.Attribute),
			"Key", k, "Attribute", s.Attribute))
}

func extraBadKey(k string, err error) Finding {
	return errorAt(Path{Attribute: attrExtra, MapKey: k}, "Invalid Extra Sysctl Key",
		detail(upperFirst(err.Error())+". Keys outside net. (vm., kernel., fs.) are global to "+
			"the machine, even inside a network namespace, and this provider does not manage them.",
			"Key", strconv.Quote(k)))
}

func extraBadValue(k, v string, err error) Finding {
	return errorAt(Path{Attribute: attrExtra, MapKey: k}, "Invalid Extra Sysctl Value",
		detail("The value of "+k+" cannot be written safely: "+err.Error()+". Values are "+
			"limited so that nothing in them can escape the script that writes them; numbers of "+
			"a multi-value key are separated by spaces.",
			"Key", k, "Value", shortQuote(v)))
}

func keyMissing(k, kernel string) Finding {
	text := fmt.Sprintf("%s does not exist on this host (%s is missing), so it cannot be set.",
		k, catalog.KeyToProcPath(k))
	if s, ok := catalog.ByKey(k); ok {
		switch {
		case s.RemovedIn != "":
			text += fmt.Sprintf(" Linux %s removed it.", s.RemovedIn)
		case s.Since != "":
			text += fmt.Sprintf(" It needs Linux %s or later.", s.Since)
		}
		text += fmt.Sprintf(" Remove %s, or apply it only to hosts whose kernel has the key.", s.Attribute)
	} else {
		text += " The kernel may not have it, its module may not be loaded, or it is global to " +
			"the machine and absent inside this network namespace. Remove the key from " +
			"extra_sysctls, or apply it only to hosts that have it."
	}
	return errorAt(pathForKey(k), "Sysctl Key Not Available on Host",
		detail(text, "Key", k, "Kernel", kernelText(kernel)))
}

func keyReadOnly(k string, f HostFacts) Finding {
	switch {
	case f.ProcReadOnly:
		return errorAt(pathForKey(k), "Sysctl Key Is Read-Only on Host",
			detail(fmt.Sprintf("/proc/sys is mounted read-only on this host (as in many containers), so %s "+
				"cannot be written there. Tune the host or virtual machine that owns this network namespace, "+
				"or run the container with a writable /proc/sys.", k),
				"Key", k, "Kernel", kernelText(f.KernelRelease)))
	case f.UID > 0:
		return errorAt(pathForKey(k), "SSH User Cannot Write /proc/sys",
			detail(fmt.Sprintf("This user cannot write /proc/sys without sudo: the host scripts run as uid %d, "+
				"and only root can write %s. Connect as root, or set sudo = true in the provider block "+
				"(with a passwordless sudo rule for this user).", f.UID, k),
				"Key", k, "UID", itoa(int64(f.UID)), "Kernel", kernelText(f.KernelRelease)))
	}
	return errorAt(pathForKey(k), "Sysctl Key Is Read-Only on Host",
		detail(fmt.Sprintf("%s exists on this host but cannot be written there (EACCES). Keys "+
			"that are global to the machine are read-only inside a network namespace or "+
			"container. Remove the setting, or manage it where it is writable (the host's "+
			"initial network namespace).", k),
			"Key", k, "Kernel", kernelText(f.KernelRelease)))
}

// destroyHint ends the findings about a key another resource holds: they
// come from planning a create, and Terraform plans every resource in the
// configuration before a destroy, so they also stop the destroy of a state
// whose apply they refused (that state keeps an empty entry for it).
const destroyHint = " If this appears in terraform destroy and this resource was never created (its apply " +
	"was refused), run terraform destroy -refresh=false: Terraform's refresh before a destroy plans " +
	"every resource of the configuration, this one included."

// OwnedByAnother is the finding for a key the host's record gives to
// another resource (also worded for the apply that finds it so).
func OwnedByAnother(k, owner string) Finding {
	return ownedByAnother(k, owner)
}

func ownedByAnother(k, owner string) Finding {
	return errorAt(pathForKey(k), "Key Owned by Another tcp_tuning Resource",
		detail(fmt.Sprintf("The host's own record (%s) says that the tcp_tuning resource named %q "+
			"manages %s on this host, in this or another Terraform state. A key has one owner per host: "+
			"manage it in that resource, or destroy that resource first. If no state has that resource "+
			"any more (its state was lost), bring it back with terraform import ADDRESS "+
			"'user@host:port/%s', then destroy it or remove the setting there: its original value is "+
			"restored from the host's record."+destroyHint, hostops.RecordPath, owner, k, owner),
			"Key", k, "Owner", owner))
}

func rangeBelowUnprivileged(r PortRange, start int64, kernel string) Finding {
	return errorAt(Path{Attribute: attrPortRange, Field: "min"}, "Ephemeral Port Range Below Unprivileged Port Start",
		detail(fmt.Sprintf("The kernel rejects ip_local_port_range (EINVAL) when min (%d) is "+
			"lower than net.ipv4.ip_unprivileged_port_start (%d) on this host. Raise min to at "+
			"least %d.", r.Min, start, start),
			"Key", catalog.KeyOf(attrPortRange), "Value", r.String(),
			"ip_unprivileged_port_start", itoa(start), "Kernel", kernelText(kernel)))
}

// maxListedPorts bounds how many ports a finding lists.
const maxListedPorts = 20

func portsText(ports []int64) string {
	n := len(ports)
	shown := ports
	if n > maxListedPorts {
		shown = ports[:maxListedPorts]
	}
	parts := make([]string, len(shown))
	for i, p := range shown {
		parts[i] = itoa(p)
	}
	s := strings.Join(parts, ", ")
	if n > maxListedPorts {
		s += fmt.Sprintf(" and %d more", n-maxListedPorts)
	}
	return s
}

func listeningExposed(at Path, ports []int64, r PortRange, kernel string) Finding {
	noun, verb, them, one := "Port", "is", "it", "it"
	if len(ports) > 1 {
		noun, verb, them, one = "Ports", "are", "them", "one of them"
	}
	list := portsText(ports)
	return errorAt(at, "Listening Port Inside the New Ephemeral Range",
		detail(fmt.Sprintf("%s %s %s listening on this host now and would be inside the "+
			"ephemeral range %s without being reserved. After the change the kernel may hand "+
			"%s to outgoing connections, and a service that restarts while %s is taken cannot "+
			"bind its port again. Add %s to ip_local_reserved_ports (and to service_ports to "+
			"keep this checked), or choose a range that excludes %s.",
			noun, list, verb, rangeText(r), them, one, them, them),
			"Ports", list, "Range", r.String(), "Kernel", kernelText(kernel)))
}

func managedConflict(k string, f SysctlFile) Finding {
	name := f.Name
	if name == "" {
		name = "(unknown)"
	}
	return errorAt(pathForKey(k), "Two tcp_tuning Resources Manage the Same Key",
		detail(fmt.Sprintf("%s was written by another tcp_tuning resource and also sets %s. Two "+
			"resources that manage one key on a host overwrite each other's value and restore "+
			"each other's originals on destroy. Manage each key in one resource only."+destroyHint, f.Path, k),
			"Key", k, "File", f.Path, "Resource name", name))
}

func overriddenAtBoot(k, want string, f SysctlFile, raw string, sets bool, ownPath string) Finding {
	var text string
	value := catalog.CanonicalString(raw)
	if sets {
		text = fmt.Sprintf("%s also sets %s = %s and is applied after %s at boot, so after the "+
			"next reboot the kernel will have %s instead of %s. The value applied now is not "+
			"affected.", f.Path, k, value, ownPath, value, want)
	} else {
		value = "(not set)"
		text = fmt.Sprintf("%s has the same name as %s in a directory read earlier at boot, so "+
			"systemd-sysctl ignores this resource's file and %s will not be set after the next "+
			"reboot.", f.Path, ownPath, k)
	}
	text += " systemd-sysctl applies the files of /etc/sysctl.d, /run/sysctl.d, " +
		"/usr/local/lib/sysctl.d, /usr/lib/sysctl.d and /lib/sysctl.d in order of file name (a " +
		"later name wins), then /etc/sysctl.conf."
	switch {
	case !sets:
		text += " Give this resource a name or priority that makes its file name differ from that file's."
	case f.Path == SysctlConf:
		text += " Remove the line from /etc/sysctl.conf."
	default:
		text += " Remove the key from that file, or give this resource a priority or name " +
			"whose file sorts after it."
	}
	return warningAt(pathForKey(k), "Sysctl Value Overridden at Boot",
		detail(text, "Key", k, "File", f.Path, "File value", value, "Desired value", want))
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// shortQuote quotes a value for a fact line, cut to 64 bytes.
func shortQuote(v string) string {
	if len(v) > 64 {
		return strconv.Quote(v[:64]) + fmt.Sprintf(" (%d bytes in all)", len(v))
	}
	return strconv.Quote(v)
}
