package rules

import (
	"maps"
	"slices"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
)

// MinTwBuckets is the tcp_max_tw_buckets value below which a warning is
// given.
const MinTwBuckets = 10000

// MinUsablePorts is the number of usable ephemeral ports below which a
// warning is given.
const MinUsablePorts = 1000

// Static runs every rule that needs no host facts. It is meant for
// ValidateConfig and plan; findings come in a stable order.
func Static(c Config) []Finding {
	var out []Finding
	if !c.hasAnySetting() {
		out = append(out, noSettings())
	}
	out = append(out, typedValues(c)...)

	if v, ok := c.intSetting(attrTwRecycle); ok {
		if v == 1 && c.BehindNAT {
			out = append(out, recycleBehindNAT())
		}
		out = append(out, recycleRemoved(v))
	}
	if ts, ok := c.intSetting(attrTimestamps); ok && ts == 0 {
		out = append(out, timestampRules(c, false)...)
	}

	rng, rangeOK := validRange(c)
	out = append(out, rangeShape(c)...)
	reserved, reservedOK, elemFindings := configReserved(c)
	out = append(out, elemFindings...)
	switch {
	case rangeOK && reservedOK:
		out = append(out, rangeCapacity(c, rng, reserved, false, "")...)
	case rangeOK && !c.ReservedPortsSet && rng.Size() < MinUsablePorts:
		// The host's reserved ports can only make it worse.
		out = append(out, fewUsablePorts(c, rng, rng.Size(), false, ""))
	}
	out = append(out, invalidServicePorts(c)...)
	if rangeOK && reservedOK {
		out = append(out, servicePortsInRange(c, rng, reserved, false)...)
	}

	if v, ok := c.intSetting(attrTwBuckets); ok && v >= 0 && v < MinTwBuckets {
		out = append(out, lowTwBuckets(v))
	}
	out = append(out, extraSysctls(c)...)
	return out
}

// typedValues checks every set integer attribute against the catalogue.
func typedValues(c Config) []Finding {
	var out []Finding
	for _, s := range catalog.All() {
		v, ok := c.Ints[s.Attribute]
		if !ok {
			continue
		}
		if s.Kind != catalog.KindInt {
			out = append(out, unknownSetting(s.Attribute))
			continue
		}
		if s.ValidateInt(v) != nil {
			out = append(out, invalidValue(s, v))
		}
	}
	for _, attr := range slices.Sorted(maps.Keys(c.Ints)) {
		if _, ok := catalog.ByAttribute(attr); !ok {
			out = append(out, unknownSetting(attr))
		}
	}
	return out
}

// timestampRules reports tcp_tw_reuse = 1 / tcp_tw_recycle = 1 while
// timestamps are off. fromHost says the timestamps value is the host's.
func timestampRules(c Config, fromHost bool) []Finding {
	var out []Finding
	for _, attr := range []string{attrTwReuse, attrTwRecycle} {
		if v, ok := c.intSetting(attr); ok && v == 1 {
			out = append(out, needsTimestamps(attr, fromHost))
		}
	}
	return out
}

// validRange returns the configured port range when it is set and valid.
func validRange(c Config) (PortRange, bool) {
	r := c.PortRange
	if r == nil || r.Min < 1 || r.Max > 65535 || r.Min > r.Max {
		return PortRange{}, false
	}
	return *r, true
}

// rangeShape checks the bounds and parity of ip_local_port_range.
func rangeShape(c Config) []Finding {
	r := c.PortRange
	if r == nil {
		return nil
	}
	var out []Finding
	row, _ := catalog.ByAttribute(attrPortRange) // the ports that exist
	if r.Min < row.Min {
		out = append(out, rangeBound(*r, "min", row))
	}
	if r.Max > row.Max {
		out = append(out, rangeBound(*r, "max", row))
	}
	if r.Min > r.Max {
		out = append(out, rangeReversed(*r))
	}
	if len(out) == 0 && r.Min%2 == r.Max%2 {
		out = append(out, rangeParity(*r))
	}
	return out
}

// configReserved parses ip_local_reserved_ports. ok is false when the
// attribute is unset or any element is invalid (one finding per element).
func configReserved(c Config) (spans []catalog.PortSpan, ok bool, findings []Finding) {
	if !c.ReservedPortsSet {
		return nil, false, nil
	}
	ok = true
	for _, e := range c.ReservedPorts {
		s, err := catalog.ParsePortSpan(e)
		if err != nil {
			findings = append(findings, invalidReserved(e, err))
			ok = false
			continue
		}
		spans = append(spans, s)
	}
	if !ok {
		return nil, false, findings
	}
	return catalog.MergePortSpans(spans), true, findings
}

// rangeCapacity reports a range that reserved ports cover completely, or
// that leaves fewer than MinUsablePorts usable ports.
// kernel is the host's release ("" in static validation).
func rangeCapacity(c Config, r PortRange, reserved []catalog.PortSpan, fromHost bool, kernel string) []Finding {
	usable := catalog.UsablePorts(r.Min, r.Max, reserved)
	if usable == 0 {
		return []Finding{reservedCoverRange(c, r, reserved, fromHost)}
	}
	if usable < MinUsablePorts {
		return []Finding{fewUsablePorts(c, r, usable, fromHost, kernel)}
	}
	return nil
}

// invalidServicePorts reports service ports outside 1–65535.
func invalidServicePorts(c Config) []Finding {
	var out []Finding
	for _, p := range c.ServicePorts {
		if p < 1 || p > 65535 {
			out = append(out, invalidServicePort(p))
		}
	}
	return out
}

// servicePortsInRange reports each service port inside the ephemeral range
// that is not reserved.
func servicePortsInRange(c Config, r PortRange, reserved []catalog.PortSpan, fromHost bool) []Finding {
	var out []Finding
	for _, p := range sortedUnique(c.ServicePorts) {
		if p >= r.Min && p <= r.Max && !catalog.SortedPortListContains(reserved, p) {
			out = append(out, servicePortEphemeral(c, p, r, fromHost))
		}
	}
	return out
}

// extraSysctls checks extra_sysctls keys and values.
func extraSysctls(c Config) []Finding {
	var out []Finding
	for _, k := range slices.Sorted(maps.Keys(c.Extra)) {
		if s, ok := catalog.ByKey(k); ok {
			out = append(out, extraTyped(k, s))
			continue
		}
		if err := catalog.ValidateExtraKey(k); err != nil {
			out = append(out, extraBadKey(k, err))
			continue
		}
		if err := catalog.ValidateExtraValue(c.Extra[k]); err != nil {
			out = append(out, extraBadValue(k, c.Extra[k], err))
		}
	}
	return out
}

func sortedUnique(ps []int64) []int64 {
	s := slices.Clone(ps)
	slices.Sort(s)
	return slices.Compact(s)
}
