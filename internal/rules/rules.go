// Package rules holds the validation rules of the tcp_tuning resource: pure
// functions from the desired settings (and, for the host-aware rules, facts
// read from a host) to findings with a severity, an attribute path, a
// summary and a detail. The provider translates findings into diagnostics
// and adds no rule of its own. The package does not import the Terraform
// framework and never talks to a host.
package rules

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
)

// Severity is how serious a finding is.
type Severity int

const (
	// SeverityError fails validation, plan or apply.
	SeverityError Severity = iota
	// SeverityWarning is shown but does not fail.
	SeverityWarning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Path locates the configuration a finding is about. The zero Path is the
// whole resource. At most one of MapKey, SetElement, SetElementInt and Field
// is set:
//
//	{Attribute: "ip_local_port_range", Field: "min"}
//	{Attribute: "ip_local_reserved_ports", SetElement: "70000"}
//	{Attribute: "service_ports", SetElementInt: &port}
//	{Attribute: "extra_sysctls", MapKey: "net.core.netdev_budget_usecs"}
type Path struct {
	Attribute     string
	MapKey        string
	SetElement    string
	SetElementInt *int64
	Field         string
}

// IsZero reports whether the path is the whole resource.
func (p Path) IsZero() bool {
	return p.Attribute == "" && p.MapKey == "" && p.SetElement == "" && p.SetElementInt == nil && p.Field == ""
}

// String renders the path like Terraform does in messages:
// "ip_local_port_range.min", `ip_local_reserved_ports["70000"]`,
// "service_ports[8080]"; "" for the whole resource.
func (p Path) String() string {
	s := p.Attribute
	switch {
	case p.Field != "":
		s += "." + p.Field
	case p.MapKey != "":
		s += "[" + strconv.Quote(p.MapKey) + "]"
	case p.SetElement != "":
		s += "[" + strconv.Quote(p.SetElement) + "]"
	case p.SetElementInt != nil:
		s += "[" + strconv.FormatInt(*p.SetElementInt, 10) + "]"
	}
	return s
}

// Finding is the result of one rule.
type Finding struct {
	Severity Severity
	Path     Path
	Summary  string // Title Case, short
	Detail   string // why and what to do, then facts on their own lines
}

// String renders a finding for logs and tests.
func (f Finding) String() string {
	at := f.Path.String()
	if at == "" {
		at = "(resource)"
	}
	return fmt.Sprintf("[%s] %s: %s\n%s", f.Severity, at, f.Summary, f.Detail)
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == SeverityError {
			return true
		}
	}
	return false
}

// PortRange is the ip_local_port_range object {min, max}.
type PortRange = catalog.PortRange

// Config is the desired configuration as the provider decodes it. Absent or
// null attributes are left unset (nil map entries, nil pointers, false
// ReservedPortsSet). Unknown values must be left out too; rules then skip
// what they cannot decide.
type Config struct {
	// Ints maps a typed integer attribute name to its value, for set
	// attributes only.
	Ints map[string]int64
	// PortRange is ip_local_port_range, nil when not set.
	PortRange *PortRange
	// ReservedPorts are ip_local_reserved_ports' raw set elements;
	// ReservedPortsSet says the attribute is set (an empty set clears the
	// kernel's list and is a setting).
	ReservedPorts    []string
	ReservedPortsSet bool
	// Extra is extra_sysctls: full key -> raw value.
	Extra map[string]string
	// BehindNAT is behind_nat (default true: the provider passes true when
	// the attribute is null).
	BehindNAT bool
	// ServicePorts is service_ports.
	ServicePorts []int64
}

// hasAnySetting reports whether the config manages at least one key.
func (c Config) hasAnySetting() bool {
	return len(c.Ints) > 0 || c.PortRange != nil || c.ReservedPortsSet || len(c.Extra) > 0
}

// intSetting returns a typed integer value when it is set.
func (c Config) intSetting(attr string) (int64, bool) {
	v, ok := c.Ints[attr]
	return v, ok
}

// Attribute names used by the rules.
const (
	attrTwReuse      = "tcp_tw_reuse"
	attrTwReuseDelay = "tcp_tw_reuse_delay"
	attrTwRecycle    = "tcp_tw_recycle"
	attrTimestamps   = "tcp_timestamps"
	attrTwBuckets    = "tcp_max_tw_buckets"
	attrPortRange    = "ip_local_port_range"
	attrReserved     = "ip_local_reserved_ports"
	attrExtra        = "extra_sysctls"
	attrServicePorts = "service_ports"

	// keyUnprivilegedStart is read from the host for the port-range rule;
	// it is not a setting of the catalogue.
	keyUnprivilegedStart = "net.ipv4.ip_unprivileged_port_start"
)

var keyTimestamps = catalog.KeyOf(attrTimestamps)

// Desired returns the full sysctl key -> canonical value for every setting
// the config sets (typed attributes and extra_sysctls). The error joins
// every value that cannot be canonicalized; valid keys are still returned.
func Desired(c Config) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	for _, attr := range slices.Sorted(maps.Keys(c.Ints)) {
		s, ok := catalog.ByAttribute(attr)
		if !ok || s.Kind != catalog.KindInt {
			errs = append(errs, fmt.Errorf("%s is not a typed number setting", attr))
			continue
		}
		out[s.Key] = strconv.FormatInt(c.Ints[attr], 10)
	}
	if c.PortRange != nil {
		out[catalog.KeyOf(attrPortRange)] = c.PortRange.String()
	}
	if c.ReservedPortsSet {
		v, err := catalog.CanonicalPortListFromItems(c.ReservedPorts)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", attrReserved, err))
		} else {
			out[catalog.KeyOf(attrReserved)] = v
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Extra)) {
		if err := catalog.ValidateExtraKey(k); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", attrExtra, err))
			continue
		}
		if err := catalog.ValidateExtraValue(c.Extra[k]); err != nil {
			errs = append(errs, fmt.Errorf("%s[%q]: %w", attrExtra, k, err))
			continue
		}
		out[k] = catalog.CanonicalString(c.Extra[k])
	}
	return out, errors.Join(errs...)
}

// pathForKey returns the attribute path that sets a sysctl key.
func pathForKey(key string) Path {
	if s, ok := catalog.ByKey(key); ok {
		return Path{Attribute: s.Attribute}
	}
	return Path{Attribute: attrExtra, MapKey: key}
}
