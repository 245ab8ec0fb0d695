package catalog

import (
	"strings"
	"testing"
)

func FuzzCanonicalInt(f *testing.F) {
	for _, s := range []string{" 030\n", "-1", "0", "+7", "9223372036854775807", "0x10", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CanonicalInt(s)
		if err != nil {
			return
		}
		c2, err := CanonicalInt(c)
		if err != nil || c2 != c {
			t.Fatalf("CanonicalInt(%q) = %q, then %q, %v", s, c, c2, err)
		}
		if strings.IndexFunc(c, isSpace) >= 0 || strings.HasPrefix(c, "+") || (len(c) > 1 && c[0] == '0') || c == "-0" {
			t.Fatalf("CanonicalInt(%q) = %q is not canonical", s, c)
		}
	})
}

func FuzzCanonicalPortRange(f *testing.F) {
	for _, s := range []string{"32768\t60999\n", "10000   65001", "1 2 3", "20000", "01024 65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CanonicalPortRange(s)
		if err != nil {
			return
		}
		c2, err := CanonicalPortRange(c)
		if err != nil || c2 != c {
			t.Fatalf("CanonicalPortRange(%q) = %q, then %q, %v", s, c, c2, err)
		}
		if strings.Count(c, " ") != 1 || strings.ContainsAny(c, "\t\n") {
			t.Fatalf("CanonicalPortRange(%q) = %q is not canonical", s, c)
		}
		// The tab-separated kernel form maps to the same value.
		k, err := CanonicalPortRange(strings.Replace(c, " ", "\t", 1) + "\n")
		if err != nil || k != c {
			t.Fatalf("kernel form of %q = %q, %v", c, k, err)
		}
	})
}

func FuzzCanonicalPortList(f *testing.F) {
	for _, c := range kernelReservedPorts {
		f.Add(c.printed)
		f.Add(strings.Join(c.written, ","))
	}
	for _, s := range []string{"", "5-3", "8001,,8002", "0", "0-65535", " 1 , 2 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CanonicalPortList(s)
		if err != nil {
			return
		}
		c2, err := CanonicalPortList(c)
		if err != nil || c2 != c {
			t.Fatalf("CanonicalPortList(%q) = %q, then %q, %v", s, c, c2, err)
		}
		c3, err := CanonicalPortList(c + "\n")
		if err != nil || c3 != c {
			t.Fatalf("kernel form of %q = %q, %v", c, c3, err)
		}
		// Elements are sorted and never adjacent or overlapping.
		spans, _ := ParseKernelPortList(c)
		for i := 1; i < len(spans); i++ {
			if spans[i].Min <= spans[i-1].Max+1 {
				t.Fatalf("CanonicalPortList(%q) = %q: spans not merged", s, c)
			}
		}
	})
}

func FuzzParsePortList(f *testing.F) {
	f.Add("8003\x008001-8002\x007005")
	f.Add("70000\x009-3")
	f.Add("007005")
	f.Add("")
	f.Fuzz(func(t *testing.T, joined string) {
		items := strings.Split(joined, "\x00")
		spans, err := ParsePortList(items)
		if err != nil {
			if !strings.Contains(err.Error(), "invalid port or port range") {
				t.Fatalf("unexpected error text %q", err)
			}
			return
		}
		c := FormatPortList(spans)
		// The canonical list parses back to itself, as user elements and as
		// kernel text.
		again, err := CanonicalPortListFromItems(PortListElements(c))
		if err != nil || again != c {
			t.Fatalf("items %q -> %q -> %q, %v", items, c, again, err)
		}
		k, err := CanonicalPortList(c + "\n")
		if err != nil || k != c {
			t.Fatalf("kernel form of %q = %q, %v", c, k, err)
		}
		// Every listed port is covered.
		for _, it := range items {
			sp, _ := ParsePortSpan(it)
			if !PortListContains(spans, sp.Min) || !PortListContains(spans, sp.Max) {
				t.Fatalf("item %q lost in %q", it, c)
			}
		}
	})
}

func FuzzCanonicalString(f *testing.F) {
	f.Add("4096\t87380\t6291456\n")
	f.Fuzz(func(t *testing.T, s string) {
		c := CanonicalString(s)
		if CanonicalString(c) != c || strings.Contains(c, "  ") || strings.ContainsAny(c, "\t\n") {
			t.Fatalf("CanonicalString(%q) = %q", s, c)
		}
	})
}
