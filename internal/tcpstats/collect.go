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
	"github.com/tcptune/terraform-provider-tcp/internal/hostscript"
	"github.com/tcptune/terraform-provider-tcp/internal/procnet"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

//go:embed stats.sh
var statsScript string

// ScriptName names the script in logs and errors.
const ScriptName = "tcp_stats"

// Script returns the stats script: the common prelude and stats.sh
// (hostscript.New).
func Script() sshx.Script { return script }

var script = hostscript.New(ScriptName, statsScript)

// DefaultTop is the data source's default for top; MaxTop bounds it.
// MaxSampleSeconds bounds sample_seconds: the script sleeps that long inside
// one SSH exec, and a data source is read at every plan.
const (
	DefaultTop       = 10
	MaxTop           = 1000
	MaxSampleSeconds = 10
)

// Runner runs one script on one host (hostscript.Runner).
type Runner = hostscript.Runner

// Input is the script's stdin.
type Input struct {
	Top    int    // entries per top list, 0..MaxTop
	NoSS   bool   // force the /proc fallback (tests)
	Endian string // "", "le" or "be": byte order of /proc/net/tcp words (tests)
	// Sample, 1..MaxSampleSeconds, reads the counters twice that many
	// seconds apart in the same run; 0 reads them once.
	Sample int
}

// Sysctls are the settings the script reads (under net.ipv4, named by
// their catalogue attribute), in the order it reports them: the ones the
// analysis uses.
var Sysctls = []string{
	"ip_local_port_range", "ip_local_reserved_ports", "tcp_tw_reuse", "tcp_tw_reuse_delay",
	"tcp_tw_recycle", "tcp_timestamps", "tcp_max_tw_buckets", "tcp_fin_timeout",
}

// Marshal renders the input as the script reads it, with a "sysctl" record
// for each of Sysctls.
func (in Input) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "top %d\n", in.Top)
	for _, k := range Sysctls {
		fmt.Fprintf(&b, "sysctl %s\n", k)
	}
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
// end marker (cut short) or a record is malformed.
type ProtocolError = hostscript.ProtocolError

// ScriptError is a failure the script reported itself ("error input" for
// input it refused, "error list" when the sockets could not be listed).
type ScriptError = hostscript.ScriptError

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

// DecodeResult turns a script result into a Snapshot: the script's
// "error" record is a *ScriptError, malformed or truncated output a
// *ProtocolError.
func DecodeResult(res *sshx.Result) (*Snapshot, error) {
	out, err := hostscript.Parse(ScriptName, res)
	if err != nil {
		return nil, err
	}
	if rec, ok := out.Error(); ok {
		return nil, hostscript.NewScriptError(ScriptName, rec)
	}
	if !out.OK {
		return nil, hostscript.NewProtocolError(ScriptName, "end error without an error record", res)
	}
	d := decoder{s: &Snapshot{Sysctls: map[string]string{}, States: map[string]int64{}}, seen: map[string]bool{}}
	for i, rec := range out.Records {
		if err := d.record(rec); err != nil {
			return nil, hostscript.NewProtocolError(ScriptName, fmt.Sprintf("line %d (%s): %v", i+1, rec.Op, err), res)
		}
	}
	if err := d.finish(); err != nil {
		return nil, hostscript.NewProtocolError(ScriptName, err.Error(), res)
	}
	return d.s, nil
}

// Decode parses the stdout of a run that exited 0 (golden files, tests).
func Decode(stdout []byte) (*Snapshot, error) {
	return DecodeResult(&sshx.Result{Stdout: stdout})
}

// decoder fills a Snapshot from the records in order; the counter lines
// are gathered and parsed at the end.
type decoder struct {
	s                 *Snapshot
	netstat, netstat2 strings.Builder
	up1, up2          float64
	sockstat2         *procnet.Sockstat
	seen              map[string]bool
}

func (d *decoder) record(rec hostscript.Record) error {
	d.seen[rec.Op] = true
	rest := rec.Rest
	switch rec.Op {
	case "tcpstats":
		if rest != "1" {
			return fmt.Errorf("unsupported format version %q", rest)
		}
	case "source":
		if rest != "ss" && rest != "proc" {
			return fmt.Errorf("unknown source")
		}
		d.s.Source = rest
	case "kernel":
		d.s.KernelRelease = strings.TrimSpace(rest)
	case "netstat", "snmp":
		d.netstat.WriteString(rest + "\n")
	case "netstat2", "snmp2":
		d.netstat2.WriteString(rest + "\n")
	case "sockstat", "sockstat2", "uptime1", "uptime2":
		return d.reading(rec)
	case "sysctl":
		f := strings.Fields(rest)
		if len(f) == 0 {
			return fmt.Errorf("no name")
		}
		d.s.Sysctls[f[0]] = strings.Join(f[1:], " ")
	case "listen":
		l, err := catalog.ParseKernelPortList(rest)
		if err != nil {
			return err
		}
		d.s.Listening = l
	case "state", "tw", "distinct", "twdst", "use", "twlport":
		return d.sockets(rec.Op, strings.Fields(rest))
	}
	// nosysctl, blank lines and unknown records (the script may add some)
	// carry nothing to decode.
	return nil
}

// reading takes the sockstat line and, in a sampled run, the clock
// readings and the second sockstat line.
func (d *decoder) reading(rec hostscript.Record) error {
	switch rec.Op {
	case "sockstat", "sockstat2":
		ss, err := procnet.ParseSockstat(rec.Rest)
		if err != nil {
			return err
		}
		if rec.Op == "sockstat" {
			d.s.Sockstat = &ss
		} else {
			d.sockstat2 = &ss
		}
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(rec.Rest), 64)
	if err != nil || v < 0 {
		return fmt.Errorf("bad clock %q", rec.Rest)
	}
	if rec.Op == "uptime1" {
		d.up1 = v
	} else {
		d.up2 = v
	}
	return nil
}

// sockets takes the aggregated socket records.
func (d *decoder) sockets(op string, f []string) error {
	switch op {
	case "state":
		if len(f) != 2 {
			return fmt.Errorf("want count and name")
		}
		n, err := count(f[0])
		d.s.States[f[1]] += n
		return err
	case "tw":
		if len(f) != 1 {
			return fmt.Errorf("want one count")
		}
		n, err := count(f[0])
		d.s.TimeWait = n
		return err
	case "distinct":
		return d.distinct(f)
	case "twlport":
		if len(f) != 2 {
			return fmt.Errorf("want count and port")
		}
		n, err := count(f[0])
		if err != nil {
			return err
		}
		p, err := port(f[1])
		d.s.TimeWaitByLocalPort = append(d.s.TimeWaitByLocalPort, PortCount{Port: p, Count: n})
		return err
	}
	dc, err := destination(f)
	if err != nil {
		return err
	}
	if op == "twdst" {
		d.s.TimeWaitByDestination = append(d.s.TimeWaitByDestination, dc)
	} else {
		d.s.InUseByDestination = append(d.s.InUseByDestination, dc)
	}
	return nil
}

// distinct takes "distinct twdst|twlport|use COUNT".
func (d *decoder) distinct(f []string) error {
	if len(f) != 2 {
		return fmt.Errorf("want list and count")
	}
	n, err := count(f[1])
	if err != nil {
		return err
	}
	switch f[0] {
	case "twdst":
		d.s.DistinctTimeWaitDestinations = n
	case "twlport":
		d.s.DistinctTimeWaitLocalPorts = n
	case "use":
		d.s.DistinctInUseDestinations = n
	}
	return nil
}

// finish checks that the records every run prints are there and parses the
// counters (with a sample, the first reading becomes Sample).
func (d *decoder) finish() error {
	for _, k := range []string{"tcpstats", "source", "tw"} {
		if !d.seen[k] {
			return fmt.Errorf("no %q line", k)
		}
	}
	s := d.s
	s.TimeWaitByDestination = mergeDestinations(s.TimeWaitByDestination)
	s.InUseByDestination = mergeDestinations(s.InUseByDestination)
	c, err := procnet.ParseNetstat(d.netstat.String())
	if err != nil {
		return err
	}
	s.Counters = c
	if d.seen["uptime1"] != d.seen["uptime2"] {
		return fmt.Errorf("a sampled run without both clock readings")
	}
	if !d.seen["uptime2"] {
		return nil
	}
	c2, err := procnet.ParseNetstat(d.netstat2.String())
	if err != nil {
		return err
	}
	if d.up2 < d.up1 {
		return fmt.Errorf("the second clock reading is earlier than the first")
	}
	s.Sample = &Sample{Seconds: d.up2 - d.up1, Counters: c, Sockstat: s.Sockstat}
	s.Counters, s.Sockstat = c2, d.sockstat2
	return nil
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
