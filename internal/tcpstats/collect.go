// Package tcpstats reads one host's TIME_WAIT picture in one SSH round trip
// and analyses it.
//
// The embedded POSIX sh script (stats.sh) gathers, on the host, the kernel
// release, the sockstat TCP line, the TcpExt and Tcp counters, the
// TIME_WAIT-related sysctls, the listening ports and aggregated socket counts
// (per state, TIME_WAIT per destination and per local port, ephemeral-port use
// per destination), and prints only totals plus the top N: the output stays a
// few KiB whatever the socket count. It lists sockets with `ss -Htan` when ss
// works and falls back to awk over /proc/net/tcp and /proc/net/tcp6.
//
// Client side and server side: a socket is client-side when its local port is
// one connect() could have chosen, that is inside ip_local_port_range, not in
// ip_local_reserved_ports and not a port some socket listens on. Every other
// socket is server-side: accepted on a listening port, or bound to a fixed
// port by its program (a client that bind()s a fixed port, or a server
// whose listener has just gone, is counted here). Each TIME_WAIT socket is
// counted in exactly one of TimeWaitByDestination (client side, by remote
// address and port) and TimeWaitByLocalPort (server side, by local port).
//
// Collect runs the script and decodes its output into a Snapshot; Analyze
// turns a Snapshot into a Report (pure).
package tcpstats

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
	"github.com/tcptune/terraform-provider-tcp/internal/procnet"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

//go:embed stats.sh
var statsScript string

// ScriptName names the script in logs and errors.
const ScriptName = "tcp_stats"

// Script returns the embedded stats script, compacted (sshx.Compact).
func Script() sshx.Script { return sshx.Script{Name: ScriptName, Body: compactStats} }

var compactStats = sshx.Compact(statsScript)

// DefaultTop is the data source's default for top; MaxTop bounds it.
// MaxSampleSeconds bounds sample_seconds: the script sleeps that long inside
// one SSH exec, and a data source is read at every plan.
const (
	DefaultTop       = 10
	MaxTop           = 1000
	MaxSampleSeconds = 10
)

// Runner runs one script on one host (sshx.Pool implements it).
type Runner interface {
	Run(ctx context.Context, t sshx.Target, s sshx.Script, stdin []byte) (*sshx.Result, error)
}

// Input is the script's stdin.
type Input struct {
	Top    int    // entries per top list, 0..MaxTop
	NoSS   bool   // force the /proc fallback (tests)
	Endian string // "", "le" or "be": byte order of /proc/net/tcp words (tests)
	// Sample, 1..MaxSampleSeconds, reads the counters twice that many
	// seconds apart in the same run; 0 reads them once.
	Sample int
}

// Marshal renders the input as the script reads it.
func (in Input) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "top %d\n", in.Top)
	if in.NoSS {
		b.WriteString("nss 1\n")
	}
	if in.Endian != "" {
		fmt.Fprintf(&b, "endian %s\n", in.Endian)
	}
	if in.Sample > 0 {
		fmt.Fprintf(&b, "sample %d\n", in.Sample)
	}
	return b.Bytes()
}

// Snapshot is the decoded output of one script run, before analysis.
type Snapshot struct {
	Source        string // "ss" or "proc": how sockets were listed
	KernelRelease string
	Sockstat      *procnet.Sockstat // nil when /proc/net/sockstat had no TCP line
	// Counters holds the TcpExt (from /proc/net/netstat) and Tcp (from
	// /proc/net/snmp) sections; with a sample, of the second reading.
	Counters procnet.Counters
	// Sample is the first of two readings when the script sampled; nil
	// otherwise.
	Sample *Sample
	// Sysctls holds the sysctls the host has, by name under net.ipv4, with
	// white space collapsed ("32768 60999"). Keys the kernel lacks are absent.
	Sysctls   map[string]string
	Listening []catalog.PortSpan // listening TCP ports, sorted and merged
	States    map[string]int64   // sockets per state, kernel names; states with no socket are absent
	TimeWait  int64              // exact TIME_WAIT sockets, IPv4 + IPv6

	TimeWaitByDestination []DestinationCount // client-side TIME_WAIT, top N, by count descending
	TimeWaitByLocalPort   []PortCount        // server-side TIME_WAIT, top N, by count descending
	InUseByDestination    []DestinationCount // client-side sockets of every state but LISTEN, top max(N,1)

	// Distinct* count the entries of each list before the top-N cut.
	DistinctTimeWaitDestinations int64
	DistinctTimeWaitLocalPorts   int64
	DistinctInUseDestinations    int64
}

// Sample is the first counter reading of a sampled run.
type Sample struct {
	// Seconds between the two readings, as the host's clock measured them
	// (/proc/uptime, centiseconds).
	Seconds  float64
	Counters procnet.Counters
	Sockstat *procnet.Sockstat // nil when /proc/net/sockstat had no TCP line
}

// DestinationCount is a count of sockets to one remote address and port.
// Address is canonical (IPv4 dotted, IPv6 RFC 5952, IPv4-mapped as IPv4).
type DestinationCount struct {
	Address string
	Port    int64
	Count   int64
}

// PortCount is a count of sockets on one local port.
type PortCount struct {
	Port  int64
	Count int64
}

// ProtocolError means the script's output could not be trusted: it lacks the
// end marker (cut short) or a line is malformed.
type ProtocolError struct {
	Reason string
}

func (e *ProtocolError) Error() string { return "tcp_stats output: " + e.Reason }

// ScriptError is a failure the script reported itself (an "error" line or a
// non-zero exit status).
type ScriptError struct {
	ExitStatus int
	Message    string // the script's "error" line or its stderr
}

func (e *ScriptError) Error() string {
	return fmt.Sprintf("tcp_stats failed (exit status %d): %s", e.ExitStatus, e.Message)
}

// Collect runs the stats script on t through r, asking for the top entries
// of each list, and decodes the output. top must be in 0..MaxTop.
func Collect(ctx context.Context, r Runner, t sshx.Target, top int) (*Snapshot, error) {
	return CollectInput(ctx, r, t, Input{Top: top})
}

// CollectInput is Collect with every input of the script (top, sample).
func CollectInput(ctx context.Context, r Runner, t sshx.Target, in Input) (*Snapshot, error) {
	if in.Top < 0 || in.Top > MaxTop {
		return nil, fmt.Errorf("tcp_stats: top must be between 0 and %d, got %d", MaxTop, in.Top)
	}
	if in.Sample < 0 || in.Sample > MaxSampleSeconds {
		return nil, fmt.Errorf("tcp_stats: sample_seconds must be between 1 and %d, got %d", MaxSampleSeconds, in.Sample)
	}
	res, err := r.Run(ctx, t, Script(), in.Marshal())
	if err != nil {
		return nil, err
	}
	return DecodeResult(res)
}

// DecodeResult turns a script result into a Snapshot: a non-zero exit status
// or an "error" line is a *ScriptError, malformed or truncated output a
// *ProtocolError.
func DecodeResult(res *sshx.Result) (*Snapshot, error) {
	if res.ExitStatus != 0 {
		msg := strings.TrimSpace(string(res.Stderr))
		if m := errorLine(res.Stdout); m != "" {
			msg = m
		}
		if msg == "" {
			msg = "no message"
		}
		return nil, &ScriptError{ExitStatus: res.ExitStatus, Message: msg}
	}
	return Decode(res.Stdout)
}

func errorLine(out []byte) string {
	for l := range strings.Lines(string(out)) {
		if m, ok := strings.CutPrefix(strings.TrimRight(l, "\n"), "error "); ok {
			return m
		}
	}
	return ""
}

// Decode parses the script's stdout.
func Decode(out []byte) (*Snapshot, error) {
	s := &Snapshot{
		Sysctls: map[string]string{},
		States:  map[string]int64{},
	}
	var netstat, netstat2 strings.Builder
	var up1, up2 float64
	var sockstat2 *procnet.Sockstat
	seen := map[string]bool{}
	ended := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if ended {
			if strings.TrimSpace(line) == "" {
				continue
			}
			return nil, &ProtocolError{Reason: fmt.Sprintf("line %d: output after the end marker", lineNo)}
		}
		kind, rest, _ := strings.Cut(line, " ")
		f := strings.Fields(rest)
		bad := func(why string) error {
			return &ProtocolError{Reason: fmt.Sprintf("line %d (%s): %s", lineNo, kind, why)}
		}
		seen[kind] = true
		switch kind {
		case "tcpstats":
			if rest != "1" {
				return nil, bad("unsupported format version " + strconv.Quote(rest))
			}
		case "source":
			if rest != "ss" && rest != "proc" {
				return nil, bad("unknown source")
			}
			s.Source = rest
		case "kernel":
			s.KernelRelease = strings.TrimSpace(rest)
		case "sockstat":
			ss, err := procnet.ParseSockstat(rest)
			if err != nil {
				return nil, bad(err.Error())
			}
			s.Sockstat = &ss
		case "netstat", "snmp":
			netstat.WriteString(rest)
			netstat.WriteByte('\n')
		case "netstat2", "snmp2":
			netstat2.WriteString(rest)
			netstat2.WriteByte('\n')
		case "sockstat2":
			ss, err := procnet.ParseSockstat(rest)
			if err != nil {
				return nil, bad(err.Error())
			}
			sockstat2 = &ss
		case "uptime1", "uptime2":
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil || v < 0 {
				return nil, bad("bad clock " + strconv.Quote(rest))
			}
			if kind == "uptime1" {
				up1 = v
			} else {
				up2 = v
			}
		case "sysctl":
			if len(f) == 0 {
				return nil, bad("no name")
			}
			s.Sysctls[f[0]] = strings.Join(f[1:], " ")
		case "nosysctl":
		case "listen":
			l, err := catalog.ParseKernelPortList(rest)
			if err != nil {
				return nil, bad(err.Error())
			}
			s.Listening = l
		case "state":
			if len(f) != 2 {
				return nil, bad("want count and name")
			}
			n, err := count(f[0])
			if err != nil {
				return nil, bad(err.Error())
			}
			s.States[f[1]] += n
		case "tw":
			if len(f) != 1 {
				return nil, bad("want one count")
			}
			n, err := count(f[0])
			if err != nil {
				return nil, bad(err.Error())
			}
			s.TimeWait = n
		case "distinct":
			if len(f) != 2 {
				return nil, bad("want list and count")
			}
			n, err := count(f[1])
			if err != nil {
				return nil, bad(err.Error())
			}
			switch f[0] {
			case "twdst":
				s.DistinctTimeWaitDestinations = n
			case "twlport":
				s.DistinctTimeWaitLocalPorts = n
			case "use":
				s.DistinctInUseDestinations = n
			}
		case "twdst", "use":
			d, err := destination(f)
			if err != nil {
				return nil, bad(err.Error())
			}
			if kind == "twdst" {
				s.TimeWaitByDestination = append(s.TimeWaitByDestination, d)
			} else {
				s.InUseByDestination = append(s.InUseByDestination, d)
			}
		case "twlport":
			if len(f) != 2 {
				return nil, bad("want count and port")
			}
			n, err := count(f[0])
			if err != nil {
				return nil, bad(err.Error())
			}
			p, err := port(f[1])
			if err != nil {
				return nil, bad(err.Error())
			}
			s.TimeWaitByLocalPort = append(s.TimeWaitByLocalPort, PortCount{Port: p, Count: n})
		case "error":
			return nil, &ScriptError{Message: rest}
		case "end":
			if rest != "tcpstats" {
				return nil, bad("unknown end marker")
			}
			ended = true
		case "":
			// blank line
		default:
			// Unknown records are ignored so the script can add some.
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &ProtocolError{Reason: err.Error()}
	}
	if !ended {
		return nil, &ProtocolError{Reason: "no end marker: output incomplete"}
	}
	for _, k := range []string{"tcpstats", "source", "tw"} {
		if !seen[k] {
			return nil, &ProtocolError{Reason: fmt.Sprintf("no %q line", k)}
		}
	}
	s.TimeWaitByDestination = mergeDestinations(s.TimeWaitByDestination)
	s.InUseByDestination = mergeDestinations(s.InUseByDestination)
	c, err := procnet.ParseNetstat(netstat.String())
	if err != nil {
		return nil, &ProtocolError{Reason: err.Error()}
	}
	s.Counters = c
	if seen["uptime1"] != seen["uptime2"] {
		return nil, &ProtocolError{Reason: "a sampled run without both clock readings"}
	}
	if seen["uptime2"] {
		c2, err := procnet.ParseNetstat(netstat2.String())
		if err != nil {
			return nil, &ProtocolError{Reason: err.Error()}
		}
		if up2 < up1 {
			return nil, &ProtocolError{Reason: "the second clock reading is earlier than the first"}
		}
		s.Sample = &Sample{Seconds: up2 - up1, Counters: c, Sockstat: s.Sockstat}
		s.Counters, s.Sockstat = c2, sockstat2
	}
	return s, nil
}

// mergeDestinations sums entries that name the same destination once
// canonical (the host printed two spellings of one address) and keeps the
// list ordered by count, descending.
func mergeDestinations(l []DestinationCount) []DestinationCount {
	idx := map[DestinationCount]int{}
	var out []DestinationCount
	for _, d := range l {
		k := DestinationCount{Address: d.Address, Port: d.Port}
		if i, ok := idx[k]; ok {
			out[i].Count += d.Count
			continue
		}
		idx[k] = len(out)
		out = append(out, d)
	}
	slices.SortStableFunc(out, func(a, b DestinationCount) int { return cmp.Compare(b.Count, a.Count) })
	return out
}

func count(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad count %q", s)
	}
	return n, nil
}

func port(s string) (int64, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return int64(n), nil
}

func destination(f []string) (DestinationCount, error) {
	if len(f) != 3 {
		return DestinationCount{}, fmt.Errorf("want count, address and port")
	}
	n, err := count(f[0])
	if err != nil {
		return DestinationCount{}, err
	}
	a, err := netip.ParseAddr(f[1])
	if err != nil {
		return DestinationCount{}, fmt.Errorf("bad address %q", f[1])
	}
	p, err := port(f[2])
	if err != nil {
		return DestinationCount{}, err
	}
	return DestinationCount{Address: a.Unmap().WithZone("").String(), Port: p, Count: n}, nil
}
