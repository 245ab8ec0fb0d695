package catalog

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonicalInt(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{" 030\n", "30", true},
		{"30", "30", true},
		{"0", "0", true},
		{"000", "0", true},
		{"-1\n", "-1", true}, // kernel prints -1 when someone wrote it to tcp_max_tw_buckets
		{"-0", "0", true},
		{"+7", "7", true},
		{"\t131072\n", "131072", true},
		{"9223372036854775807", "9223372036854775807", true},
		{"9223372036854775808", "", false},
		{"", "", false},
		{" \n", "", false},
		{"0x10", "", false},
		{"1 2", "", false},
		{"-", "", false},
		{"+-1", "", false},
		{"1.5", "", false},
	}
	for _, c := range cases {
		got, err := CanonicalInt(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("CanonicalInt(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestCanonicalPortRange(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		// Kernel output observed on Linux 6.18 (tab-separated, newline).
		{"32768\t60999\n", "32768 60999", true},
		{"10000\t65001\n", "10000 65001", true},
		{"10000 65001", "10000 65001", true},
		{"10000   65001", "10000 65001", true},
		{" 1025   65534  ", "1025 65534", true},
		{"01024 65535", "1024 65535", true},
		{"2000 1000", "2000 1000", true}, // syntax only; the rules reject min > max
		{"20000", "", false},             // the kernel would set only min: always write both
		{"1 2 3", "", false},
		{"1024 65536", "", false},
		{"a b", "", false},
		{"-1 5", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		got, err := CanonicalPortRange(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("CanonicalPortRange(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
	if FormatPortRange(1024, 65535) != "1024 65535" {
		t.Error("FormatPortRange")
	}
	if (PortRange{Min: 10, Max: 9}).Size() != 0 || (PortRange{Min: 32768, Max: 60999}).Size() != 28232 {
		t.Error("PortRange.Size")
	}
}

func TestCanonicalString(t *testing.T) {
	cases := map[string]string{
		"4096\t87380\t6291456\n": "4096 87380 6291456",
		"  4096  87380 6291456":  "4096 87380 6291456",
		"4000":                   "4000",
		"":                       "",
		" \t\n":                  "",
		"a\r\nb":                 "a b",
	}
	for in, want := range cases {
		if got := CanonicalString(in); got != want {
			t.Errorf("CanonicalString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalDispatch(t *testing.T) {
	cases := []struct {
		kind     Kind
		in, want string
	}{
		{KindInt, "0042\n", "42"},
		{KindPortRange, "1\t2\n", "1 2"},
		{KindPortList, "8003,8001-8002,7005\n", "7005,8001-8003"},
		{KindString, "a\tb", "a b"},
	}
	for _, c := range cases {
		got, err := Canonical(c.kind, c.in)
		if err != nil || got != c.want {
			t.Errorf("Canonical(%v, %q) = %q, %v", c.kind, c.in, got, err)
		}
		if KernelValue(c.kind, got) != got {
			t.Errorf("KernelValue(%v, %q) = %q", c.kind, got, KernelValue(c.kind, got))
		}
	}
	if _, err := Canonical(Kind(42), "x"); err == nil {
		t.Error("unknown kind accepted")
	}
	s, _ := ByAttribute("ip_local_port_range")
	if got, _ := s.Canonical("32768\t60999\n"); got != "32768 60999" {
		t.Errorf("Setting.Canonical = %q", got)
	}
	if got, _ := CanonicalForKey("net.ipv4.tcp_fin_timeout", "030\n"); got != "30" {
		t.Errorf("CanonicalForKey typed = %q", got)
	}
	if got, _ := CanonicalForKey("net.ipv4.tcp_rmem", "4096\t131072\t6291456\n"); got != "4096 131072 6291456" {
		t.Errorf("CanonicalForKey extra = %q", got)
	}
	if KernelValue(KindPortList, "") != "" {
		t.Error("empty port list kernel value")
	}
}

// Golden cases observed on Linux 6.18 inside a throwaway network namespace:
// the string written to net.ipv4.ip_local_reserved_ports and what the kernel
// printed back. Our canonical form must equal the kernel's output, from the
// user's set elements and from the kernel text alike.
var kernelReservedPorts = []struct {
	written []string // set elements (joined with "," for the write)
	printed string   // kernel output
}{
	{[]string{"8003", "8001-8002", "7005"}, "7005,8001-8003\n"},
	{[]string{"8001", "8002", "8003"}, "8001-8003\n"},
	{[]string{"7005"}, "7005\n"},
	{[]string{}, "\n"}, // cleared by writing "\n"
	{[]string{"1-3", "2-5", "9"}, "1-5,9\n"},
	{[]string{"65535"}, "65535\n"},
	{[]string{"1-65535"}, "1-65535\n"},
	{[]string{"8001-8001"}, "8001\n"},
	{[]string{"10", "20"}, "10,20\n"},
}

func TestReservedPortsMatchKernel(t *testing.T) {
	for _, c := range kernelReservedPorts {
		want := strings.TrimSuffix(c.printed, "\n")
		got, err := CanonicalPortListFromItems(c.written)
		if err != nil || got != want {
			t.Errorf("from items %q = %q, %v; kernel printed %q", c.written, got, err, want)
		}
		got, err = CanonicalPortList(c.printed)
		if err != nil || got != want {
			t.Errorf("CanonicalPortList(%q) = %q, %v", c.printed, got, err)
		}
		got, _ = CanonicalPortList(strings.Join(c.written, ",") + "\n")
		if got != want {
			t.Errorf("CanonicalPortList(written %q) = %q, want %q", c.written, got, want)
		}
	}
}

func TestCanonicalPortList(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{" \n", "", true},
		{"0", "0", true}, // the kernel accepts and prints port 0
		{"0-2", "0-2", true},
		{"7005, 8001 ", "7005,8001", true},
		{"100-200,150-160,201", "100-201", true},
		{"5-3", "", false},
		{"8001,,8002", "", false},
		{"65536", "", false},
		{"a", "", false},
		{"1-2-3", "", false},
		{"-5", "", false},
		{",8001", "", false},
	}
	for _, c := range cases {
		got, err := CanonicalPortList(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("CanonicalPortList(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestParsePortSpan(t *testing.T) {
	cases := []struct {
		in     string
		want   PortSpan
		reason string // substring of the error reason; "" = ok
	}{
		{"7005", PortSpan{7005, 7005}, ""},
		{"8001-8100", PortSpan{8001, 8100}, ""},
		{"007005", PortSpan{7005, 7005}, ""}, // decimal, never octal
		{"1", PortSpan{1, 1}, ""},
		{"65535", PortSpan{65535, 65535}, ""},
		{"65536", PortSpan{}, "greater than 65535"},
		{"70000", PortSpan{}, "greater than 65535"},
		{"1-99999999999999999999", PortSpan{}, "greater than 65535"},
		{"0", PortSpan{}, "port 0"},
		{"0-5", PortSpan{}, "port 0"},
		{"8100-8001", PortSpan{}, "reversed range"},
		{"", PortSpan{}, "empty element"},
		{" 7005", PortSpan{}, "spaces"},
		{"8001 - 8002", PortSpan{}, "spaces"},
		{"8001,8002", PortSpan{}, "not a port number"},
		{"-5", PortSpan{}, "empty port number"},
		{"5-", PortSpan{}, "empty port number"},
		{"1-2-3", PortSpan{}, "not a port number"},
		{"+7005", PortSpan{}, "not a port number"},
		{"http", PortSpan{}, "not a port number"},
	}
	for _, c := range cases {
		got, err := ParsePortSpan(c.in)
		if c.reason == "" {
			if err != nil || got != c.want {
				t.Errorf("ParsePortSpan(%q) = %v, %v; want %v", c.in, got, err, c.want)
			}
			continue
		}
		var ee *ElementError
		if !errors.As(err, &ee) {
			t.Errorf("ParsePortSpan(%q) error = %v, want *ElementError", c.in, err)
			continue
		}
		if ee.Element != c.in || !strings.Contains(ee.Reason, c.reason) {
			t.Errorf("ParsePortSpan(%q) = %+v, want reason containing %q", c.in, ee, c.reason)
		}
		if !strings.Contains(err.Error(), c.reason) {
			t.Errorf("ParsePortSpan(%q).Error() = %q", c.in, err)
		}
	}
}

func TestParsePortList(t *testing.T) {
	spans, err := ParsePortList([]string{"8003", "8001-8002", "7005"})
	if err != nil || FormatPortList(spans) != "7005,8001-8003" || len(spans) != 2 {
		t.Fatalf("ParsePortList = %v, %v", spans, err)
	}
	_, err = ParsePortList([]string{"1", "70000", "9-3"})
	if err == nil || !strings.Contains(err.Error(), `"70000"`) || !strings.Contains(err.Error(), `"9-3"`) || strings.Contains(err.Error(), `"1"`) {
		t.Fatalf("ParsePortList error = %v", err)
	}
	if s, err := ParsePortList(nil); err != nil || FormatPortList(s) != "" {
		t.Fatalf("empty ParsePortList = %v, %v", s, err)
	}
	if got := PortListElements("7005,8001-8003"); len(got) != 2 || got[0] != "7005" || got[1] != "8001-8003" {
		t.Errorf("PortListElements = %q", got)
	}
	if got := PortListElements(""); got == nil || len(got) != 0 {
		t.Errorf("PortListElements(\"\") = %#v", got)
	}
}

func TestFormatPortListDoesNotModifyInput(t *testing.T) {
	in := []PortSpan{{9, 9}, {1, 2}, {3, 3}}
	if got := FormatPortList(in); got != "1-3,9" {
		t.Errorf("FormatPortList = %q", got)
	}
	if in[0] != (PortSpan{9, 9}) {
		t.Error("input modified")
	}
}

func TestUsablePortsAndRate(t *testing.T) {
	cases := []struct {
		min, max int64
		reserved []PortSpan
		want     int64
	}{
		{32768, 60999, nil, 28232},
		{1024, 65535, nil, 64512},
		{10000, 10999, nil, 1000},
		{10000, 10999, []PortSpan{{10000, 10000}}, 999},
		{10000, 10999, []PortSpan{{9000, 10009}, {10005, 10020}, {11000, 12000}}, 979},
		{10000, 10999, []PortSpan{{1, 65535}}, 0},
		{10, 9, nil, 0},
		{5, 5, []PortSpan{{6, 7}}, 1},
	}
	for _, c := range cases {
		if got := UsablePorts(c.min, c.max, c.reserved); got != c.want {
			t.Errorf("UsablePorts(%d, %d, %v) = %d, want %d", c.min, c.max, c.reserved, got, c.want)
		}
	}
	rates := []struct {
		usable int64
		reuse  bool
		delay  int64
		want   float64
	}{
		{28232, false, 0, 28232.0 / 60},
		{64512, false, 0, 1075.2},
		{28232, true, 0, 28232},
		{28232, true, 1000, 28232},
		{28232, true, 2000, 14116},
		{28232, true, 120000, 28232.0 / 60}, // never worse than without reuse
		{0, true, 1000, 0},
		{-5, false, 0, 0},
	}
	for _, c := range rates {
		if got := SustainableRate(c.usable, c.reuse, c.delay); got != c.want {
			t.Errorf("SustainableRate(%d, %v, %d) = %v, want %v", c.usable, c.reuse, c.delay, got, c.want)
		}
	}
	if !PortListContains([]PortSpan{{5, 9}}, 9) || PortListContains([]PortSpan{{5, 9}}, 10) {
		t.Error("PortListContains")
	}
}

func TestValidateExtraKey(t *testing.T) {
	cases := []struct {
		key    string
		errHas string
	}{
		{"net.core.netdev_budget_usecs", ""},
		{"net.ipv4.tcp_rmem", ""},
		{"net.ipv4.conf.eth-0.rp_filter", ""},
		{"net.ipv4.tcp_tw_reuse", "tcp_tw_reuse attribute"},
		{"net.core.somaxconn", "somaxconn attribute"},
		{"net.ipv4.ip_local_reserved_ports", "ip_local_reserved_ports attribute"},
		{"vm.swappiness", "not an allowed key"},
		{"kernel.panic", "not an allowed key"},
		{"net.core", "not an allowed key"},
		{"net", "not an allowed key"},
		{"net..core.x", "not an allowed key"},
		{"net.core.x.", "not an allowed key"},
		{"net.IPv4.tcp_rmem", "not an allowed key"},
		{"net/ipv4/tcp_rmem", "not an allowed key"},
		{"net.ipv4.tcp_rmem\n", "not an allowed key"},
		{"net.ipv4.x;rm", "not an allowed key"},
		{"net.ipv4.$(id)", "not an allowed key"},
		{"net.ipv4-x.y", "not an allowed key"},
		{"", "not an allowed key"},
	}
	for _, c := range cases {
		err := ValidateExtraKey(c.key)
		if c.errHas == "" {
			if err != nil {
				t.Errorf("ValidateExtraKey(%q) = %v", c.key, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.errHas) {
			t.Errorf("ValidateExtraKey(%q) = %v, want error containing %q", c.key, err, c.errHas)
		}
	}
}

func TestValidateExtraValue(t *testing.T) {
	cases := []struct {
		v      string
		errHas string
	}{
		{"4000", ""},
		{"4096 87380 6291456", ""},
		{"a,b:c.d_e-f", ""},
		{strings.Repeat("1", 256), ""},
		{strings.Repeat("1", 257), "257 bytes"},
		{"", "empty"},
		{"   ", "empty"},
		{"1\t2", "byte 1"},
		{"1\n2", "byte 1"},
		{"$(reboot)", "byte 0"},
		{"a;b", "byte 1"},
		{"a'b", "byte 1"},
		{"a\"b", "byte 1"},
		{"a\\b", "byte 1"},
		{"a/b", "byte 1"},
		{"é", "byte 0"},
	}
	for _, c := range cases {
		err := ValidateExtraValue(c.v)
		if c.errHas == "" {
			if err != nil {
				t.Errorf("ValidateExtraValue(%q) = %v", c.v, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.errHas) {
			t.Errorf("ValidateExtraValue(%q) = %v, want error containing %q", c.v, err, c.errHas)
		}
	}
}

func TestNormalizeKey(t *testing.T) {
	cases := map[string]string{
		"net.ipv4.tcp_tw_reuse":          "net.ipv4.tcp_tw_reuse",
		" net.ipv4.tcp_tw_reuse ":        "net.ipv4.tcp_tw_reuse",
		"-net.ipv4.tcp_tw_reuse":         "net.ipv4.tcp_tw_reuse",
		"net/ipv4/tcp_tw_reuse":          "net.ipv4.tcp_tw_reuse",
		"net/ipv4/conf/eth0.100/forward": "net.ipv4.conf.eth0/100.forward",
		"net.ipv4.conf.eth0/100.forward": "net.ipv4.conf.eth0/100.forward",
	}
	for in, want := range cases {
		if got := NormalizeKey(in); got != want {
			t.Errorf("NormalizeKey(%q) = %q, want %q", in, got, want)
		}
	}
}
