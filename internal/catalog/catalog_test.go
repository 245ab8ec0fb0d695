package catalog

import (
	"strings"
	"testing"
)

func TestTableComplete(t *testing.T) {
	want := map[string]struct {
		key  string
		kind Kind
	}{
		"tcp_tw_reuse":            {"net.ipv4.tcp_tw_reuse", KindInt},
		"tcp_tw_reuse_delay":      {"net.ipv4.tcp_tw_reuse_delay", KindInt},
		"tcp_tw_recycle":          {"net.ipv4.tcp_tw_recycle", KindInt},
		"tcp_timestamps":          {"net.ipv4.tcp_timestamps", KindInt},
		"tcp_fin_timeout":         {"net.ipv4.tcp_fin_timeout", KindInt},
		"tcp_max_tw_buckets":      {"net.ipv4.tcp_max_tw_buckets", KindInt},
		"tcp_syncookies":          {"net.ipv4.tcp_syncookies", KindInt},
		"somaxconn":               {"net.core.somaxconn", KindInt},
		"tcp_max_syn_backlog":     {"net.ipv4.tcp_max_syn_backlog", KindInt},
		"tcp_keepalive_time":      {"net.ipv4.tcp_keepalive_time", KindInt},
		"tcp_keepalive_intvl":     {"net.ipv4.tcp_keepalive_intvl", KindInt},
		"tcp_keepalive_probes":    {"net.ipv4.tcp_keepalive_probes", KindInt},
		"ip_local_port_range":     {"net.ipv4.ip_local_port_range", KindPortRange},
		"ip_local_reserved_ports": {"net.ipv4.ip_local_reserved_ports", KindPortList},
	}
	all := All()
	if len(all) != len(want) {
		t.Fatalf("All() has %d settings, want %d", len(all), len(want))
	}
	for _, s := range all {
		w, ok := want[s.Attribute]
		if !ok {
			t.Errorf("unexpected attribute %q", s.Attribute)
			continue
		}
		if s.Key != w.key || s.Kind != w.kind {
			t.Errorf("%s: key %q kind %v, want %q %v", s.Attribute, s.Key, s.Kind, w.key, w.kind)
		}
		if s.Description == "" {
			t.Errorf("%s: empty description", s.Attribute)
		}
		if !s.PerNamespace {
			t.Errorf("%s: expected per-namespace", s.Attribute)
		}
		if s.Min > s.Max {
			t.Errorf("%s: Min %d > Max %d", s.Attribute, s.Min, s.Max)
		}
		if s.Default != "" {
			if c, err := s.Canonical(s.Default); err != nil || c != s.Default {
				t.Errorf("%s: default %q not canonical (%q, %v)", s.Attribute, s.Default, c, err)
			}
		}
		if s.Kind == KindInt && s.Default != "" {
			v, _ := ParseInt(s.Default)
			if err := s.ValidateInt(v); err != nil {
				t.Errorf("%s: default not allowed: %v", s.Attribute, err)
			}
		}
		got, ok := ByAttribute(s.Attribute)
		if !ok || got.Key != s.Key {
			t.Errorf("ByAttribute(%q) = %v, %v", s.Attribute, got, ok)
		}
		got, ok = ByKey(s.Key)
		if !ok || got.Attribute != s.Attribute {
			t.Errorf("ByKey(%q) = %v, %v", s.Key, got, ok)
		}
		if !IsTypedKey(s.Key) {
			t.Errorf("IsTypedKey(%q) = false", s.Key)
		}
	}
	if _, ok := ByAttribute("nope"); ok {
		t.Error("ByAttribute(nope) found something")
	}
	if _, ok := ByKey("net.ipv4.tcp_mem"); ok {
		t.Error("ByKey(tcp_mem) found something")
	}
}

func TestAllIsACopy(t *testing.T) {
	a := All()
	a[0].OneOf[0] = 99
	a[0].Key = "x"
	b := All()
	if b[0].OneOf[0] != 0 || b[0].Key != "net.ipv4.tcp_tw_reuse" {
		t.Fatal("All() exposes the table")
	}
}

func TestTypedRanges(t *testing.T) {
	cases := []struct {
		attr string
		v    int64
		ok   bool
	}{
		{"tcp_tw_reuse", 0, true}, {"tcp_tw_reuse", 2, true}, {"tcp_tw_reuse", 3, false}, {"tcp_tw_reuse", -1, false},
		{"tcp_tw_reuse_delay", 1, true}, {"tcp_tw_reuse_delay", 60000, true}, {"tcp_tw_reuse_delay", 0, false}, {"tcp_tw_reuse_delay", 60001, false},
		{"tcp_tw_recycle", 1, true}, {"tcp_tw_recycle", 2, false},
		{"tcp_timestamps", 2, true}, {"tcp_timestamps", 3, false},
		{"tcp_syncookies", 2, true}, {"tcp_syncookies", 3, false},
		{"tcp_fin_timeout", 1, true}, {"tcp_fin_timeout", 0, false}, {"tcp_fin_timeout", 2147483, true}, {"tcp_fin_timeout", 2147484, false},
		{"tcp_max_tw_buckets", 0, true}, {"tcp_max_tw_buckets", -1, false}, {"tcp_max_tw_buckets", 2147483647, true}, {"tcp_max_tw_buckets", 2147483648, false},
		{"somaxconn", 0, true}, {"somaxconn", 2147483647, true}, {"somaxconn", 2147483648, false},
		{"tcp_max_syn_backlog", 0, true}, {"tcp_max_syn_backlog", -1, false},
		{"tcp_keepalive_time", 1, true}, {"tcp_keepalive_time", 0, false},
		{"tcp_keepalive_intvl", 1, true}, {"tcp_keepalive_intvl", 0, false},
		{"tcp_keepalive_probes", 0, true}, {"tcp_keepalive_probes", 255, true}, {"tcp_keepalive_probes", 256, false},
	}
	for _, c := range cases {
		s, _ := ByAttribute(c.attr)
		err := s.ValidateInt(c.v)
		if (err == nil) != c.ok {
			t.Errorf("%s=%d: err=%v, want ok=%v", c.attr, c.v, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), c.attr) {
			t.Errorf("%s=%d: error %q does not name the attribute", c.attr, c.v, err)
		}
	}
	r, _ := ByAttribute("ip_local_port_range")
	if err := r.ValidateInt(5); err == nil {
		t.Error("ValidateInt on a port range succeeded")
	}
}

func TestTexts(t *testing.T) {
	cases := []struct {
		attr, allowed, def string
	}{
		{"tcp_tw_reuse", "One of `0`, `1`, `2`.", ""}, // the default depends on the version: in the description
		{"tcp_tw_reuse_delay", "Between `1` and `60000`.", "Kernel default: `1000`."},
		{"tcp_keepalive_probes", "Between `0` and `255`.", "Kernel default: `9`."},
		{"tcp_max_tw_buckets", "Between `0` and `2147483647`.", ""},
		{"ip_local_port_range", "An object with `min` and `max`, `1` <= `min` <= `max` <= `65535`; the kernel also requires `min` >= `net.ipv4.ip_unprivileged_port_start`.", "Kernel default: `min = 32768`, `max = 60999`."},
		{"ip_local_reserved_ports", "A set of ports (`\"7005\"`) and inclusive port ranges (`\"8001-8100\"`), each port between `1` and `65535`; an empty set clears the list.", "Kernel default: empty."},
	}
	for _, c := range cases {
		s, _ := ByAttribute(c.attr)
		if got := s.AllowedText(); got != c.allowed {
			t.Errorf("%s AllowedText = %q, want %q", c.attr, got, c.allowed)
		}
		if got := s.DefaultText(); got != c.def {
			t.Errorf("%s DefaultText = %q, want %q", c.attr, got, c.def)
		}
		md := s.MarkdownDescription()
		if !strings.HasPrefix(md, s.Description) || !strings.Contains(md, c.allowed) || !strings.HasSuffix(md, "Sysctl: `"+s.Key+"`.") {
			t.Errorf("%s MarkdownDescription = %q", c.attr, md)
		}
	}
	d, _ := ByAttribute("tcp_tw_reuse_delay")
	if d.Availability() != "Linux >= 6.14" || !strings.Contains(d.MarkdownDescription(), "Available: Linux >= 6.14.") {
		t.Errorf("tcp_tw_reuse_delay availability %q", d.Availability())
	}
	r, _ := ByAttribute("tcp_tw_recycle")
	if r.Availability() != "removed in Linux 4.12" {
		t.Errorf("tcp_tw_recycle availability %q", r.Availability())
	}
	if (Setting{Since: "3.1", RemovedIn: "4.0"}).Availability() != "Linux >= 3.1, removed in Linux 4.0" {
		t.Error("combined availability")
	}
}

// The docs must never repeat the two myths.
func TestDescriptionsStateTheTruth(t *testing.T) {
	fin, _ := ByAttribute("tcp_fin_timeout")
	if !strings.Contains(fin.Description, "does **not** change the length of TIME_WAIT") {
		t.Errorf("tcp_fin_timeout description: %q", fin.Description)
	}
	b, _ := ByAttribute("tcp_max_tw_buckets")
	if !strings.Contains(b.Description, "existing TIME_WAIT sockets are **not** cleared") {
		t.Errorf("tcp_max_tw_buckets description: %q", b.Description)
	}
}

func TestProcPath(t *testing.T) {
	s, _ := ByAttribute("somaxconn")
	if got := s.ProcPath(); got != "/proc/sys/net/core/somaxconn" {
		t.Errorf("ProcPath = %q", got)
	}
	if got := KeyToProcPath("net.ipv4.tcp_tw_reuse"); got != "/proc/sys/net/ipv4/tcp_tw_reuse" {
		t.Errorf("KeyToProcPath = %q", got)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindInt: "int", KindPortRange: "port_range", KindPortList: "port_list", KindString: "string", Kind(9): "Kind(9)"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q", int(k), k.String())
		}
	}
}
