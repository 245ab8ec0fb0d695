package procnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Golden files in testdata are real kernel output of the development machine
// (Linux 6.18, x86-64, little-endian): host-* from the host, netns-* from a
// namespace holding the churn scenario of internal/tcpstats (regenerate with
// TCPSTATS_CAPTURE=1 go test -run TestCaptureGolden ./internal/tcpstats).

func readGolden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseSockstatGolden(t *testing.T) {
	s, err := ParseSockstat(readGolden(t, "netns-sockstat.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// TCP: inuse 9 orphan 0 tw 64 alloc 17 mem 90
	want := Sockstat{InUse: 9, Orphan: 0, TW: 64, Alloc: 17, Mem: 90,
		Fields: map[string]int64{"inuse": 9, "orphan": 0, "tw": 64, "alloc": 17, "mem": 90}}
	if s.InUse != want.InUse || s.TW != want.TW || s.Alloc != want.Alloc || s.Mem != want.Mem || !maps.Equal(s.Fields, want.Fields) {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if _, err := ParseSockstat(readGolden(t, "host-sockstat.txt")); err != nil {
		t.Errorf("host sockstat: %v", err)
	}
}

func TestParseSockstat(t *testing.T) {
	tests := []struct {
		name, in  string
		tw, inuse int64
		extra     map[string]int64
		wantErr   bool
	}{
		{name: "line only", in: "TCP: inuse 3 orphan 1 tw 27900 alloc 5 mem 9\n", tw: 27900, inuse: 3},
		{name: "added field and reordered", in: "sockets: used 1\nTCP: tw 7 future 42 inuse 2 orphan 0 alloc 1 mem 2\nUDP: inuse 0 mem 0\n",
			tw: 7, inuse: 2, extra: map[string]int64{"future": 42}},
		{name: "no TCP line", in: "sockets: used 1\nUDP: inuse 0 mem 0\n", wantErr: true},
		{name: "TCP6 is not TCP", in: "TCP6: inuse 1\n", wantErr: true},
		{name: "odd fields", in: "TCP: inuse 1 orphan\n", wantErr: true},
		{name: "missing tw", in: "TCP: inuse 1 orphan 0 alloc 1 mem 1\n", wantErr: true},
		{name: "not a number", in: "TCP: inuse x orphan 0 tw 0\n", wantErr: true},
		{name: "huge counter saturates", in: "TCP: inuse 1 orphan 0 tw 99999999999999999999\n", tw: math.MaxInt64, inuse: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSockstat(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if s.TW != tt.tw || s.InUse != tt.inuse {
				t.Errorf("tw=%d inuse=%d, want %d %d", s.TW, s.InUse, tt.tw, tt.inuse)
			}
			for k, v := range tt.extra {
				if s.Fields[k] != v {
					t.Errorf("Fields[%s] = %d, want %d", k, s.Fields[k], v)
				}
			}
		})
	}
}

func TestParseNetstatGolden(t *testing.T) {
	c, err := ParseNetstat(readGolden(t, "host-netstat.txt") + readGolden(t, "host-snmp.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{"TcpExt", "IpExt", "Ip", "Icmp", "Tcp", "Udp"} {
		if len(c[sec]) == 0 {
			t.Errorf("section %s missing", sec)
		}
	}
	for _, name := range []string{"TW", "TWRecycled", "TWKilled", "TCPTimeWaitOverflow", "PAWSTimewait"} {
		if _, ok := c.Get("TcpExt", name); !ok {
			t.Errorf("TcpExt %s missing", name)
		}
	}
	// Constants of every Linux kernel: RtoMin 200 ms, RtoMax 120 s, MaxConn -1.
	for name, want := range map[string]int64{"RtoAlgorithm": 1, "RtoMin": 200, "RtoMax": 120000, "MaxConn": -1} {
		if v, _ := c.Get("Tcp", name); v != want {
			t.Errorf("Tcp %s = %d, want %d", name, v, want)
		}
	}
	// Cross-check the zip by position against the raw text.
	lines := strings.Split(readGolden(t, "host-netstat.txt"), "\n")
	names, values := strings.Fields(lines[0]), strings.Fields(lines[1])
	for i := 1; i < len(names); i++ {
		if got := fmt.Sprint(c["TcpExt"][names[i]]); got != values[i] {
			t.Fatalf("TcpExt %s = %s, want %s", names[i], got, values[i])
		}
	}
}

func TestParseNetstat(t *testing.T) {
	tests := []struct {
		name, in string
		want     Counters
		wantErr  bool
	}{
		{name: "two sections", in: "TcpExt: TW TWRecycled\nTcpExt: 5 2\nTcp: ActiveOpens CurrEstab\nTcp: 10 -1\n",
			want: Counters{"TcpExt": {"TW": 5, "TWRecycled": 2}, "Tcp": {"ActiveOpens": 10, "CurrEstab": -1}}},
		{name: "blank lines", in: "\nTcpExt: TW\n\nTcpExt: 5\n\n", want: Counters{"TcpExt": {"TW": 5}}},
		{name: "empty", in: "", want: Counters{}},
		{name: "count mismatch", in: "TcpExt: TW TWKilled\nTcpExt: 5\n", wantErr: true},
		{name: "section mismatch", in: "TcpExt: TW\nIpExt: 5\n", wantErr: true},
		{name: "names without values", in: "TcpExt: TW\n", wantErr: true},
		{name: "no section", in: "TW 5\nTW 5\n", wantErr: true},
		{name: "bad value", in: "Tcp: A\nTcp: x\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseNetstat(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !maps.EqualFunc(c, tt.want, func(a, b map[string]int64) bool { return maps.Equal(a, b) }) {
				t.Errorf("got %v, want %v", c, tt.want)
			}
		})
	}
}

func apKey(ap netip.AddrPort) string {
	if !ap.Addr().IsValid() {
		return fmt.Sprintf("*:%d", ap.Port())
	}
	return ap.String()
}

func sockKey(s Socket) string { return s.State + " " + apKey(s.Local) + " " + apKey(s.Remote) }

func parseProcFile(t *testing.T, text string) []Socket {
	t.Helper()
	var out []Socket
	for l := range strings.Lines(text) {
		if strings.TrimSpace(l) == "" {
			continue
		}
		s, err := ParseProcNetTCPLine(l, binary.LittleEndian)
		if errors.Is(err, ErrHeader) {
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, s)
	}
	return out
}

func parseSSFile(t *testing.T, text string) []Socket {
	t.Helper()
	var out []Socket
	for l := range strings.Lines(text) {
		if strings.TrimSpace(l) == "" {
			continue
		}
		s, err := ParseSSLine(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, s)
	}
	return out
}

// The golden /proc/net/tcp{,6} and `ss -Htan` were taken from the same
// namespace with no traffic in between: both parsers must see the same
// sockets (ss prints a dual-stack listener as "*", /proc as [::]).
func TestProcAndSSGoldenAgree(t *testing.T) {
	proc := parseProcFile(t, readGolden(t, "netns-tcp.txt"))
	proc = append(proc, parseProcFile(t, readGolden(t, "netns-tcp6.txt"))...)
	ss := parseSSFile(t, readGolden(t, "netns-ss-tan.txt"))
	norm := func(l []Socket) []string {
		var k []string
		for _, s := range l {
			if s.Local.Addr().IsUnspecified() || !s.Local.Addr().IsValid() {
				s.Local = netip.AddrPortFrom(netip.Addr{}, s.Local.Port())
			}
			if s.Remote.Addr().IsUnspecified() || !s.Remote.Addr().IsValid() {
				s.Remote = netip.AddrPort{}
			}
			k = append(k, sockKey(s))
		}
		slices.Sort(k)
		return k
	}
	p, q := norm(proc), norm(ss)
	if !slices.Equal(p, q) {
		t.Fatalf("proc and ss disagree:\nproc %d: %v\nss %d: %v", len(p), p, len(q), q)
	}
	count := map[string]int{}
	for _, s := range proc {
		count[s.State]++
	}
	// The scenario at scale 40 (see tcpstats/churn_test.go).
	if want := map[string]int{"LISTEN": 5, "ESTABLISHED": 10, "TIME_WAIT": 64}; !maps.Equal(count, want) {
		t.Errorf("states %v, want %v", count, want)
	}
	mapped := 0
	for _, s := range parseProcFile(t, readGolden(t, "netns-tcp6.txt")) {
		if s.Remote == netip.MustParseAddrPort("127.0.0.1:6379") {
			mapped++
			if !s.Local.Addr().Is4() {
				t.Errorf("IPv4-mapped address not unmapped: %v", s.Local)
			}
		}
	}
	if mapped != 4 {
		t.Errorf("IPv4-mapped sockets in tcp6 = %d, want 4", mapped)
	}
}

func TestParseHostGoldens(t *testing.T) {
	host := parseProcFile(t, readGolden(t, "host-tcp.txt"))
	host = append(host, parseProcFile(t, readGolden(t, "host-tcp6.txt"))...)
	ss := parseSSFile(t, readGolden(t, "host-ss-tan.txt"))
	listen := 0
	for _, s := range host {
		if s.State == StateListen {
			listen++
		}
	}
	if listen == 0 || len(ss) == 0 {
		t.Errorf("host goldens: %d proc listeners, %d ss lines", listen, len(ss))
	}
	for _, s := range parseSSFile(t, readGolden(t, "netns-ss-tln.txt")) {
		if s.State != StateListen {
			t.Errorf("ss -tln gave %s", s.State)
		}
	}
}

func TestParseProcNetTCPLine(t *testing.T) {
	tests := []struct {
		name, line string
		order      binary.ByteOrder
		want       string
		wantErr    bool
	}{
		{name: "v4 time-wait", line: "   3: 0100007F:9C40 0100007F:C9C0 06 00000000:00000000 03:00001749 00000000     0        0 0 3 00000000a0cf1ece",
			order: binary.LittleEndian, want: "TIME_WAIT 127.0.0.1:40000 127.0.0.1:51648"},
		{name: "v4 listen wildcard", line: "   1: 00000000:9C40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 38317 2 0000000029773f2e 100 0 0 10 0",
			order: binary.LittleEndian, want: "LISTEN 0.0.0.0:40000 0.0.0.0:0"},
		{name: "v4 big-endian", line: "0: 7F000001:18EB 0A000005:9C40 01", order: binary.BigEndian, want: "ESTABLISHED 127.0.0.1:6379 10.0.0.5:40000"},
		{name: "v6 loopback", line: "   5: 00000000000000000000000001000000:ADE4 00000000000000000000000001000000:1F90 06 00000000:00000000 03:00001748 00000000     0        0 0 3 000000006e3a86d2",
			order: binary.LittleEndian, want: "TIME_WAIT [::1]:44516 [::1]:8080"},
		{name: "v6 mapped shown as v4", line: "  13: 0000000000000000FFFF00000100007F:D9BA 0000000000000000FFFF00000100007F:18EB 06 00000000:00000000 03:00001748 00000000     0        0 0 3 0000000017b36a85",
			order: binary.LittleEndian, want: "TIME_WAIT 127.0.0.1:55738 127.0.0.1:6379"},
		{name: "v6 global", line: "0: B80D0120000000000000000001000000:0016 B80D0120000000000000000002000000:D431 01",
			order: binary.LittleEndian, want: "ESTABLISHED [2001:db8::1]:22 [2001:db8::2]:54321"},
		{name: "new syn recv", line: "0: 0100007F:18EB 0100007F:C9C0 0C", order: binary.LittleEndian, want: "SYN_RECV 127.0.0.1:6379 127.0.0.1:51648"},
		{name: "unknown state", line: "0: 0100007F:18EB 0100007F:C9C0 1F", order: binary.LittleEndian, want: "UNKNOWN_1F 127.0.0.1:6379 127.0.0.1:51648"},
		{name: "short address", line: "0: 01007F:18EB 0100007F:C9C0 06", order: binary.LittleEndian, wantErr: true},
		{name: "bad hex", line: "0: 0100007G:18EB 0100007F:C9C0 06", order: binary.LittleEndian, wantErr: true},
		{name: "no port", line: "0: 0100007F 0100007F:C9C0 06", order: binary.LittleEndian, wantErr: true},
		{name: "bad slot", line: "x: 0100007F:18EB 0100007F:C9C0 06", order: binary.LittleEndian, wantErr: true},
		{name: "too few fields", line: "0: 0100007F:18EB", order: binary.LittleEndian, wantErr: true},
		{name: "bad state", line: "0: 0100007F:18EB 0100007F:C9C0 6", order: binary.LittleEndian, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseProcNetTCPLine(tt.line, tt.order)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && sockKey(s) != tt.want {
				t.Errorf("got %q, want %q", sockKey(s), tt.want)
			}
		})
	}
	if _, err := ParseProcNetTCPLine("  sl  local_address rem_address   st tx_queue", binary.LittleEndian); !errors.Is(err, ErrHeader) {
		t.Errorf("header: err = %v, want ErrHeader", err)
	}
}

func TestParseSSLine(t *testing.T) {
	tests := []struct {
		name, line, want string
		wantErr          bool
	}{
		{name: "v4", line: "TIME-WAIT 0      0               127.0.0.1:36320          127.0.0.1:9090 ", want: "TIME_WAIT 127.0.0.1:36320 127.0.0.1:9090"},
		{name: "v6 brackets", line: "ESTAB     0      0                   [::1]:44506              [::1]:8080 ", want: "ESTABLISHED [::1]:44506 [::1]:8080"},
		{name: "mapped", line: "TIME-WAIT 0      0      [::ffff:127.0.0.1]:55738 [::ffff:127.0.0.1]:6379 ", want: "TIME_WAIT 127.0.0.1:55738 127.0.0.1:6379"},
		{name: "old ss v6 without brackets", line: "ESTAB 0 0 ::1:44506 ::1:8080", want: "ESTABLISHED [::1]:44506 [::1]:8080"},
		{name: "old ss mapped without brackets", line: "TIME-WAIT 0 0 ::ffff:127.0.0.1:55738 ::ffff:127.0.0.1:6379", want: "TIME_WAIT 127.0.0.1:55738 127.0.0.1:6379"},
		{name: "old ss v6 wildcard", line: "LISTEN 0 128 :::22 :::*", want: "LISTEN [::]:22 [::]:0"},
		{name: "star listener", line: "LISTEN    0      4096                    *:9090                   *:*    ", want: "LISTEN *:9090 *:0"},
		{name: "v6 listener", line: "LISTEN 0 4096 [::1]:8080 [::]:*", want: "LISTEN [::1]:8080 [::]:0"},
		{name: "no state column", line: "0      128    0.0.0.0:2024 0.0.0.0:*", want: " 0.0.0.0:2024 0.0.0.0:0"},
		{name: "interface after brackets", line: "ESTAB 0 0 [fe80::1]%eth0:22 [fe80::2]%eth0:40000", want: "ESTABLISHED [fe80::1]:22 [fe80::2]:40000"},
		{name: "zone inside brackets", line: "ESTAB 0 0 [fe80::1%eth0]:22 [fe80::2%eth0]:40000", want: "ESTABLISHED [fe80::1]:22 [fe80::2]:40000"},
		{name: "v4 bound to device", line: "LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:*", want: "LISTEN 127.0.0.53:53 0.0.0.0:0"},
		{name: "process column ignored", line: `ESTAB 0 0 10.0.0.1:22 10.0.0.2:50000 users:(("sshd",pid=1,fd=3))`, want: "ESTABLISHED 10.0.0.1:22 10.0.0.2:50000"},
		{name: "all states", line: "SYN-SENT 0 1 10.0.0.1:40000 10.0.0.2:80", want: "SYN_SENT 10.0.0.1:40000 10.0.0.2:80"},
		{name: "fin-wait-2", line: "FIN-WAIT-2 0 0 10.0.0.1:40000 10.0.0.2:80", want: "FIN_WAIT2 10.0.0.1:40000 10.0.0.2:80"},
		{name: "too few", line: "ESTAB 0 0 10.0.0.1:22", wantErr: true},
		{name: "no queues", line: "ESTAB a b 10.0.0.1:22 10.0.0.2:1", wantErr: true},
		{name: "bad port", line: "ESTAB 0 0 10.0.0.1:99999 10.0.0.2:1", wantErr: true},
		{name: "bad address", line: "ESTAB 0 0 10.0.0:22 10.0.0.2:1", wantErr: true},
		{name: "unbalanced", line: "ESTAB 0 0 [::1:22 10.0.0.2:1", wantErr: true},
		{name: "empty", line: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSSLine(tt.line)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && sockKey(s) != tt.want {
				t.Errorf("got %q, want %q", sockKey(s), tt.want)
			}
		})
	}
}

func TestFormatProcNetTCPLineRoundTrip(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, s := range []Socket{
			{StateTimeWait, netip.MustParseAddrPort("10.1.2.3:40000"), netip.MustParseAddrPort("192.168.0.9:6379")},
			{StateEstablished, netip.MustParseAddrPort("[2001:db8::1]:22"), netip.MustParseAddrPort("[2001:db8:0:1::2]:54321")},
			{StateListen, netip.MustParseAddrPort("0.0.0.0:22"), netip.MustParseAddrPort("0.0.0.0:0")},
		} {
			for _, v6 := range []bool{false, true} {
				line := FormatProcNetTCPLine(7, s, v6, order)
				got, err := ParseProcNetTCPLine(line, order)
				if err != nil || got != s {
					t.Errorf("%v v6=%v: %q → %+v, %v", order, v6, line, got, err)
				}
			}
		}
	}
}
