package procnet

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// TCP states by their kernel names (include/net/tcp_states.h). These are the
// keys this package and its users put in state maps.
const (
	StateEstablished = "ESTABLISHED"
	StateSynSent     = "SYN_SENT"
	StateSynRecv     = "SYN_RECV"
	StateFinWait1    = "FIN_WAIT1"
	StateFinWait2    = "FIN_WAIT2"
	StateTimeWait    = "TIME_WAIT"
	StateClose       = "CLOSE"
	StateCloseWait   = "CLOSE_WAIT"
	StateLastAck     = "LAST_ACK"
	StateListen      = "LISTEN"
	StateClosing     = "CLOSING"
)

// States lists the TCP states a socket listing can show, in kernel order.
var States = []string{
	StateEstablished, StateSynSent, StateSynRecv, StateFinWait1, StateFinWait2,
	StateTimeWait, StateClose, StateCloseWait, StateLastAck, StateListen, StateClosing,
}

// StateName returns the kernel name of the "st" code of /proc/net/tcp
// (1 = ESTABLISHED … 11 = CLOSING; 12, NEW_SYN_RECV, is shown as SYN_RECV
// by the kernel and named so here). Unknown codes give "UNKNOWN_<hex>".
func StateName(code uint8) string {
	switch {
	case code >= 1 && int(code) <= len(States):
		return States[code-1]
	case code == 12:
		return StateSynRecv
	}
	return fmt.Sprintf("UNKNOWN_%02X", code)
}

// stateCode is the inverse of StateName for known states (0 when unknown).
func stateCode(name string) uint8 {
	for i, s := range States {
		if s == name {
			return uint8(i + 1)
		}
	}
	return 0
}

// SSStates pairs each name `ss` prints with its kernel name, in kernel
// order (the stats script carries this table too, from here).
var SSStates = [][2]string{
	{"ESTAB", StateEstablished},
	{"SYN-SENT", StateSynSent},
	{"SYN-RECV", StateSynRecv},
	{"FIN-WAIT-1", StateFinWait1},
	{"FIN-WAIT-2", StateFinWait2},
	{"TIME-WAIT", StateTimeWait},
	{"UNCONN", StateClose},
	{"CLOSE-WAIT", StateCloseWait},
	{"LAST-ACK", StateLastAck},
	{"LISTEN", StateListen},
	{"CLOSING", StateClosing},
}

var ssStates = func() map[string]string {
	m := make(map[string]string, len(SSStates))
	for _, p := range SSStates {
		m[p[0]] = p[1]
	}
	return m
}()

// SSStateName maps a state as `ss` prints it ("ESTAB", "TIME-WAIT") to its
// kernel name ("ESTABLISHED", "TIME_WAIT"). Unknown names are returned with
// '-' replaced by '_'.
func SSStateName(s string) string {
	if k, ok := ssStates[s]; ok {
		return k
	}
	return strings.ReplaceAll(s, "-", "_")
}

// Socket is one TCP socket of a listing. Addresses are unmapped: an
// IPv4-mapped IPv6 address (::ffff:a.b.c.d) is returned as IPv4. Zones are
// dropped. ss's "*" address is the invalid netip.Addr (the port is kept) and
// its "*" port is 0, so a wildcard peer "*:*" is the zero AddrPort.
type Socket struct {
	State  string // kernel name, e.g. "TIME_WAIT"; empty for an ss line without the State column
	Local  netip.AddrPort
	Remote netip.AddrPort
}

// ErrHeader is returned by ParseProcNetTCPLine for the header line of the file.
var ErrHeader = errors.New("procnet: header line")

// ParseProcNetTCPLine parses one line of /proc/net/tcp or /proc/net/tcp6:
//
//	0: 0100007F:18EB 0100007F:9C40 06 00000000:00000000 03:00001770 00000000 0 0 0 3 0000000000000000
//
// Addresses are hex words in the kernel's native byte order (order): one word
// for IPv4, four for IPv6; ports are plain hex. Use binary.NativeEndian for
// text read on this machine. The header line gives ErrHeader.
func ParseProcNetTCPLine(line string, order binary.ByteOrder) (Socket, error) {
	f := strings.Fields(line)
	if len(f) > 0 && f[0] == "sl" {
		return Socket{}, ErrHeader
	}
	if len(f) < 4 {
		return Socket{}, fmt.Errorf("procnet: tcp line has %d fields, want ≥ 4", len(f))
	}
	if !strings.HasSuffix(f[0], ":") {
		return Socket{}, fmt.Errorf("procnet: tcp line does not start with a slot: %q", truncate(line))
	}
	if _, err := strconv.ParseUint(strings.TrimSuffix(f[0], ":"), 10, 64); err != nil {
		return Socket{}, fmt.Errorf("procnet: bad slot %q", f[0])
	}
	local, err := parseHexAddrPort(f[1], order)
	if err != nil {
		return Socket{}, fmt.Errorf("procnet: local address: %w", err)
	}
	remote, err := parseHexAddrPort(f[2], order)
	if err != nil {
		return Socket{}, fmt.Errorf("procnet: remote address: %w", err)
	}
	if len(f[3]) != 2 {
		return Socket{}, fmt.Errorf("procnet: bad state %q", f[3])
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil {
		return Socket{}, fmt.Errorf("procnet: bad state %q", f[3])
	}
	return Socket{State: StateName(uint8(st)), Local: local, Remote: remote}, nil
}

func parseHexAddrPort(s string, order binary.ByteOrder) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("no ':' in %q", s)
	}
	if len(p) != 4 {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", p)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", p)
	}
	if len(a) != 8 && len(a) != 32 {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", a)
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", a)
	}
	var b [16]byte
	for i := 0; i+4 <= len(raw); i += 4 {
		// The kernel printed each 32-bit word of the in-memory address with
		// %08X, so the word value is big-endian in the text; its memory
		// bytes, which are the address's network-order bytes, follow order.
		order.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	var addr netip.Addr
	if len(raw) == 4 {
		addr = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		addr = netip.AddrFrom16(b).Unmap()
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// FormatProcNetTCPLine is the inverse of ParseProcNetTCPLine, for fake
// roots in tests: it prints slot, addresses, state and zeros for the other
// columns. IPv6 (or v6 bool) sockets use the tcp6 layout; IPv4 addresses are
// then written IPv4-mapped.
func FormatProcNetTCPLine(slot int, s Socket, v6 bool, order binary.ByteOrder) string {
	code := stateCode(s.State)
	if code == 0 && strings.HasPrefix(s.State, "UNKNOWN_") {
		if v, err := strconv.ParseUint(strings.TrimPrefix(s.State, "UNKNOWN_"), 16, 8); err == nil {
			code = uint8(v)
		}
	}
	v6 = v6 || s.Local.Addr().Is6() || s.Remote.Addr().Is6()
	return fmt.Sprintf("%4d: %s %s %02X 00000000:00000000 00:00000000 00000000     0        0 0 1 0000000000000000",
		slot, formatHexAddrPort(s.Local, v6, order), formatHexAddrPort(s.Remote, v6, order), code)
}

func formatHexAddrPort(ap netip.AddrPort, v6 bool, order binary.ByteOrder) string {
	var raw []byte
	a := ap.Addr()
	switch {
	case !a.IsValid() && v6:
		raw = make([]byte, 16)
	case !a.IsValid():
		raw = make([]byte, 4)
	case v6:
		b := a.As16()
		raw = b[:]
	default:
		b := a.As4()
		raw = b[:]
	}
	var sb strings.Builder
	for i := 0; i+4 <= len(raw); i += 4 {
		fmt.Fprintf(&sb, "%08X", order.Uint32(raw[i:]))
	}
	fmt.Fprintf(&sb, ":%04X", ap.Port())
	return sb.String()
}

// ParseSSLine parses one line of `ss -Htan` (or `ss -Htln`):
//
//	TIME-WAIT 0      0      127.0.0.1:40000 127.0.0.1:6379
//
// The State column is optional: old ss versions omit it when the filter
// selects one state (`ss -Htln`, `ss -Htn state time-wait`); the line then
// starts with Recv-Q and State is returned empty, since only the caller knows
// which state it asked for. Columns after the peer (for
// example a process column) are ignored. Addresses may be bracketed IPv6
// ("[::1]:22"), unbracketed (":::22", "::1:22"), IPv4-mapped
// ("[::ffff:127.0.0.1]:6379", returned as IPv4), carry a zone or interface
// ("[fe80::1]%eth0:22", "0.0.0.0%lo:53"), or be "*".
func ParseSSLine(line string) (Socket, error) {
	f := strings.Fields(line)
	var state string
	if len(f) > 0 && !isDigits(f[0]) {
		state, f = f[0], f[1:]
	}
	if len(f) < 4 {
		return Socket{}, fmt.Errorf("procnet: ss line has too few fields: %q", truncate(line))
	}
	if !isDigits(f[0]) || !isDigits(f[1]) {
		return Socket{}, fmt.Errorf("procnet: ss line has no queue sizes: %q", truncate(line))
	}
	local, err := parseSSAddrPort(f[2])
	if err != nil {
		return Socket{}, fmt.Errorf("procnet: ss local address: %w", err)
	}
	remote, err := parseSSAddrPort(f[3])
	if err != nil {
		return Socket{}, fmt.Errorf("procnet: ss peer address: %w", err)
	}
	if state != "" {
		state = SSStateName(state)
	}
	return Socket{State: state, Local: local, Remote: remote}, nil
}

func parseSSAddrPort(s string) (netip.AddrPort, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("no port in %q", s)
	}
	host, p := s[:i], s[i+1:]
	var port uint64
	if p != "*" {
		var err error
		if port, err = strconv.ParseUint(p, 10, 16); err != nil || !isDigits(p) {
			return netip.AddrPort{}, fmt.Errorf("bad port in %q", s)
		}
	}
	if strings.HasPrefix(host, "[") { // "[::1]", "[fe80::1]%eth0", "[fe80::1%eth0]"
		j := strings.IndexByte(host, ']')
		if j < 0 || (j+1 < len(host) && host[j+1] != '%') {
			return netip.AddrPort{}, fmt.Errorf("unbalanced brackets in %q", s)
		}
		host = host[1:j]
	}
	host, _, _ = strings.Cut(host, "%") // "0.0.0.0%lo", "fe80::1%eth0"
	if host == "*" {
		return netip.AddrPortFrom(netip.Addr{}, uint16(port)), nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad address in %q", s)
	}
	return netip.AddrPortFrom(a.Unmap().WithZone(""), uint16(port)), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
