package catalog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// isSpace reports the whitespace the kernel and sysctl files use between
// and around values.
func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
}

// quote shortens and quotes an input for an error message.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strconv.Quote(s)
}

// CanonicalInt returns the canonical form of a decimal integer: surrounding
// whitespace removed, no sign for non-negative values, no leading zeros
// (" 030\n" -> "30", "-1" -> "-1"). Input is always read as decimal, even
// with leading zeros (the kernel would read "030" as octal 24, which is why
// only canonical values are ever written).
func CanonicalInt(s string) (string, error) {
	v, err := ParseInt(s)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(v, 10), nil
}

// ParseInt parses a decimal integer with optional surrounding whitespace and
// an optional sign.
func ParseInt(s string) (int64, error) {
	t := strings.TrimFunc(s, isSpace)
	if t == "" {
		return 0, errors.New("empty value, expected a decimal number")
	}
	digits := t
	if digits[0] == '-' || digits[0] == '+' {
		digits = digits[1:]
	}
	if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, fmt.Errorf("%s is not a decimal number", quote(s))
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is out of range for a 64-bit number", quote(s))
	}
	return v, nil
}

// PortRange is a pair of ports, as net.ipv4.ip_local_port_range holds it.
type PortRange struct {
	Min, Max int64
}

// String returns the canonical form "min max".
func (r PortRange) String() string { return FormatPortRange(r.Min, r.Max) }

// Size returns the number of ports in the range (0 when Min > Max).
func (r PortRange) Size() int64 {
	if r.Min > r.Max {
		return 0
	}
	return r.Max - r.Min + 1
}

// FormatPortRange returns the canonical form of a port range: both numbers,
// separated by one space ("10000 65001"). The kernel prints them separated by
// a tab; CanonicalPortRange maps both forms to this one.
func FormatPortRange(lo, hi int64) string {
	return strconv.FormatInt(lo, 10) + " " + strconv.FormatInt(hi, 10)
}

// ParsePortRange parses "min max" separated by any run of spaces or tabs,
// with optional surrounding whitespace. Both numbers must be ports
// (0–65535); whether min <= max and other rules are checked by the rules
// package, so that the kernel's current value can always be read.
func ParsePortRange(s string) (PortRange, error) {
	f := strings.FieldsFunc(s, isSpace)
	if len(f) != 2 {
		return PortRange{}, fmt.Errorf("%s is not a port range: expected two numbers \"min max\"", quote(s))
	}
	var out [2]int64
	for i, p := range f {
		v, err := parsePort(p)
		if err != nil {
			return PortRange{}, fmt.Errorf("%s is not a port range: %v", quote(s), err)
		}
		out[i] = v
	}
	return PortRange{Min: out[0], Max: out[1]}, nil
}

// CanonicalPortRange returns the canonical form "min max" of a port range
// written by a user or printed by the kernel ("10000\t65001\n",
// "10000   65001" -> "10000 65001").
func CanonicalPortRange(s string) (string, error) {
	r, err := ParsePortRange(s)
	if err != nil {
		return "", err
	}
	return r.String(), nil
}

// CanonicalString returns the canonical form of a free-form sysctl value:
// surrounding whitespace removed and every run of whitespace (spaces, tabs,
// newlines) replaced by one space. The kernel prints multi-value keys
// tab-separated while users write spaces; both map to the same string.
func CanonicalString(s string) string {
	return strings.Join(strings.FieldsFunc(s, isSpace), " ")
}

// parsePort parses a decimal port number 0–65535 (digits only, leading zeros
// allowed and read as decimal).
func parsePort(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty port number")
	}
	if strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%s is not a port number", quote(s))
	}
	t := strings.TrimLeft(s, "0")
	if len(t) > 5 {
		return 0, fmt.Errorf("port %s is greater than 65535", s)
	}
	if t == "" {
		return 0, nil
	}
	v, _ := strconv.ParseInt(t, 10, 64)
	if v > 65535 {
		return 0, fmt.Errorf("port %s is greater than 65535", s)
	}
	return v, nil
}

// DefaultPortRange is the kernel's default ip_local_port_range: the
// catalogue row's Default, parsed.
var DefaultPortRange = func() PortRange {
	for _, row := range table {
		if row.Key == "net.ipv4.ip_local_port_range" {
			if r, err := ParsePortRange(row.Default); err == nil {
				return r
			}
		}
	}
	panic("catalog: ip_local_port_range has no default port range")
}()
