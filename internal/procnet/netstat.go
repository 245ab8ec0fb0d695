package procnet

import (
	"fmt"
	"strings"
)

// Counters holds the counters of /proc/net/netstat or /proc/net/snmp:
// section ("TcpExt", "Tcp", …) → counter name → value.
type Counters map[string]map[string]int64

// Get returns one counter and whether the kernel reported it.
func (c Counters) Get(section, name string) (int64, bool) {
	v, ok := c[section][name]
	return v, ok
}

// ParseNetstat parses /proc/net/netstat or /proc/net/snmp (or a concatenation
// of both): sections come as pairs of lines, the first naming the counters and
// the second giving their values, both starting with "Section:". Names and
// values are zipped by position within the pair, so the set and order of
// counters may differ between kernels. Blank lines are ignored. A section
// that appears twice is merged (later values win).
func ParseNetstat(text string) (Counters, error) {
	c := Counters{}
	var header []string // pending names line, nil when none
	for l := range strings.Lines(text) {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		sec, ok := strings.CutSuffix(f[0], ":")
		if !ok || sec == "" {
			return nil, fmt.Errorf("netstat: line does not start with a section: %q", truncate(l))
		}
		if header == nil {
			header = f
			continue
		}
		if header[0] != f[0] {
			return nil, fmt.Errorf("netstat: section %s names followed by %s values", header[0], f[0])
		}
		if len(header) != len(f) {
			return nil, fmt.Errorf("netstat: section %s has %d names and %d values", sec, len(header)-1, len(f)-1)
		}
		m := c[sec]
		if m == nil {
			m = make(map[string]int64, len(f)-1)
			c[sec] = m
		}
		for i := 1; i < len(f); i++ {
			v, err := parseCounter(f[i])
			if err != nil {
				return nil, fmt.Errorf("netstat: %s %s: %w", sec, header[i], err)
			}
			m[header[i]] = v
		}
		header = nil
	}
	if header != nil {
		return nil, fmt.Errorf("netstat: section %s has names but no values", header[0])
	}
	return c, nil
}

func truncate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
