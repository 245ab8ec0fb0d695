// Package procnet parses the kernel's TCP statistics as text: /proc/net/sockstat,
// /proc/net/netstat and /proc/net/snmp (Counters), /proc/net/tcp{,6} lines
// (and prints them, for fake roots) and `ss -Htan` lines, with the TCP state
// names (States) both use. Port lists are the catalog package's.
//
// Every function is pure: it takes text (or values, to print) and returns
// values or an error, never panics, and never touches the file system.
package procnet

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Sockstat is the TCP line of /proc/net/sockstat:
//
//	TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 257
//
// TW counts TIME_WAIT plus orphaned FIN_WAIT2 sockets (IPv4 and IPv6) of the
// reader's network namespace; Orphan, Alloc and Mem are host-wide.
type Sockstat struct {
	InUse  int64
	Orphan int64
	TW     int64
	Alloc  int64
	Mem    int64 // pages
	// Fields holds every key of the line, including ones added by newer kernels.
	Fields map[string]int64
}

// ParseSockstat parses the TCP line of /proc/net/sockstat. text may be the
// whole file or the single line. Fields are looked up by key, so added or
// reordered fields are tolerated; "inuse", "orphan" and "tw" are required.
func ParseSockstat(text string) (Sockstat, error) {
	var line string
	found := false
	for l := range strings.Lines(text) {
		if f := strings.Fields(l); len(f) > 0 && f[0] == "TCP:" {
			line, found = l, true
			break
		}
	}
	if !found {
		return Sockstat{}, fmt.Errorf("sockstat: no TCP: line")
	}
	f := strings.Fields(line)[1:]
	if len(f)%2 != 0 {
		return Sockstat{}, fmt.Errorf("sockstat: odd number of fields in %q", strings.TrimSpace(line))
	}
	s := Sockstat{Fields: make(map[string]int64, len(f)/2)}
	for i := 0; i < len(f); i += 2 {
		v, err := parseCounter(f[i+1])
		if err != nil {
			return Sockstat{}, fmt.Errorf("sockstat: field %s: %w", f[i], err)
		}
		s.Fields[f[i]] = v
	}
	for _, k := range []string{"inuse", "orphan", "tw"} {
		if _, ok := s.Fields[k]; !ok {
			return Sockstat{}, fmt.Errorf("sockstat: TCP line has no %q field", k)
		}
	}
	s.InUse, s.Orphan, s.TW = s.Fields["inuse"], s.Fields["orphan"], s.Fields["tw"]
	s.Alloc, s.Mem = s.Fields["alloc"], s.Fields["mem"]
	return s, nil
}

// parseCounter parses a decimal counter. Values beyond int64 (the kernel
// prints unsigned long counters) saturate at math.MaxInt64.
func parseCounter(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return v, nil
	}
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		if strings.HasPrefix(s, "-") {
			return math.MinInt64, nil
		}
		return math.MaxInt64, nil
	}
	return 0, fmt.Errorf("not a number: %q", s)
}
