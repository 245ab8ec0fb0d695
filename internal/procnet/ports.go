package procnet

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// PortRange is an inclusive range of TCP ports; a single port has Lo == Hi.
type PortRange struct {
	Lo, Hi uint16
}

// PortList is a list of port ranges, as in ip_local_reserved_ports.
type PortList []PortRange

// ParsePortList parses the kernel's port-list text ("7005,8001-8003"): ports
// or "a-b" ranges (a ≤ b), comma-separated, no spaces inside. Surrounding
// white space and a trailing newline are ignored; empty text is an empty
// list. The result keeps the input order; String gives the canonical form.
func ParsePortList(s string) (PortList, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return PortList{}, nil
	}
	parts := strings.Split(s, ",")
	l := make(PortList, 0, len(parts))
	for _, p := range parts {
		a, b, isRange := strings.Cut(p, "-")
		lo, err := parsePort(a)
		if err != nil {
			return nil, fmt.Errorf("port list %q: %w", s, err)
		}
		hi := lo
		if isRange {
			if hi, err = parsePort(b); err != nil {
				return nil, fmt.Errorf("port list %q: %w", s, err)
			}
			if hi < lo {
				return nil, fmt.Errorf("port list %q: reversed range %q", s, p)
			}
		}
		l = append(l, PortRange{lo, hi})
	}
	return l, nil
}

func parsePort(s string) (uint16, error) {
	if !isDigits(s) || len(s) > 5 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return uint16(v), nil
}

// Canonical returns the list sorted and merged: overlapping and adjacent
// ranges become one, as the kernel prints the list back.
func (l PortList) Canonical() PortList {
	c := slices.Clone(l)
	slices.SortFunc(c, func(a, b PortRange) int { return int(a.Lo) - int(b.Lo) })
	out := PortList{}
	for _, r := range c {
		if n := len(out); n > 0 && int(r.Lo) <= int(out[n-1].Hi)+1 {
			out[n-1].Hi = max(out[n-1].Hi, r.Hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// String prints the canonical form: "7005,8001-8003"; "" for an empty list.
func (l PortList) String() string {
	var sb strings.Builder
	for i, r := range l.Canonical() {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.Itoa(int(r.Lo)))
		if r.Hi != r.Lo {
			sb.WriteByte('-')
			sb.WriteString(strconv.Itoa(int(r.Hi)))
		}
	}
	return sb.String()
}

// Contains reports whether port p is in the list.
func (l PortList) Contains(p uint16) bool {
	for _, r := range l {
		if r.Lo <= p && p <= r.Hi {
			return true
		}
	}
	return false
}

// CountIn returns how many distinct ports of the list lie in [lo, hi].
func (l PortList) CountIn(lo, hi int) int {
	n := 0
	for _, r := range l.Canonical() {
		a, b := max(int(r.Lo), lo), min(int(r.Hi), hi)
		if a <= b {
			n += b - a + 1
		}
	}
	return n
}
