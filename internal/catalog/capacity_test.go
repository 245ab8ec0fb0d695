package catalog

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPortRange(t *testing.T) {
	cases := []struct {
		r     PortRange
		field string // "" with ok false: reversed
		ok    bool
	}{
		{PortRange{32768, 60999}, "", true},
		{PortRange{1, 65535}, "", true},
		{PortRange{7000, 7000}, "", true},
		{PortRange{0, 100}, "min", false},
		{PortRange{70000, 70001}, "min", false},
		{PortRange{1024, 65536}, "max", false},
		{PortRange{1024, 0}, "max", false},
		{PortRange{60999, 32768}, "", false},
	}
	for _, c := range cases {
		err := CheckPortRange(c.r)
		if c.ok {
			if err != nil {
				t.Errorf("CheckPortRange(%v) = %v, want nil", c.r, err)
			}
			continue
		}
		var re *RangeError
		if !errors.As(err, &re) {
			t.Errorf("CheckPortRange(%v) = %v, want a *RangeError", c.r, err)
			continue
		}
		if re.Field != c.field {
			t.Errorf("CheckPortRange(%v) field %q, want %q (%v)", c.r, re.Field, c.field, err)
		}
	}
	err := CheckPortRange(PortRange{60999, 32768})
	if err == nil || !strings.Contains(err.Error(), "60999 is greater than max 32768") {
		t.Errorf("reversed range error %v does not name both ends", err)
	}
}

func TestCapacityOf(t *testing.T) {
	spans := func(items ...string) []PortSpan {
		s, err := ParsePortList(items)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name     string
		r        PortRange
		reserved []PortSpan
		usable   int64
		rate     float64
		ceiling  float64
	}{
		// KNOWLEDGE.md §1: 28,232 / 60 ≈ 470/s with the default range.
		{"kernel default", PortRange{32768, 60999}, nil, 28232, 28232.0 / 60, 28232},
		{"widest unprivileged", PortRange{1024, 65535}, nil, 64512, 1075.2, 64512},
		// Reserved ports outside the range cost nothing, overlapping
		// elements are counted once.
		{"reserved inside and outside", PortRange{10000, 65001}, spans("7005", "8001-8100", "10000-10099", "10050-10199", "65001"), 54801, 54801.0 / 60, 54801},
		{"all reserved", PortRange{20000, 20009}, spans("19000-21000"), 0, 0, 0},
		{"one port", PortRange{7000, 7000}, nil, 1, 1.0 / 60, 1},
	}
	for _, c := range cases {
		got := CapacityOf(c.r, c.reserved)
		if got.Usable != c.usable || got.RatePerDestination != c.rate || got.ReuseCeiling != c.ceiling || got.ReuseDelayMs != DefaultReuseDelayMs {
			t.Errorf("%s: CapacityOf(%v, %v) = %+v, want usable %d, rate %v, ceiling %v, delay %d",
				c.name, c.r, c.reserved, got, c.usable, c.rate, c.ceiling, DefaultReuseDelayMs)
		}
		// The same figures the tcp_tuning rules and tcp_stats compute.
		if u := UsablePorts(c.r.Min, c.r.Max, c.reserved); u != got.Usable {
			t.Errorf("%s: usable %d differs from UsablePorts %d", c.name, got.Usable, u)
		}
	}
}

func TestCapacityAssumptionsStateTheFigures(t *testing.T) {
	for _, want := range []string{"closes first", "one source address", "60 s", "theoretical ceiling", "timestamps", "1000 ms"} {
		if !strings.Contains(CapacityAssumptions, want) {
			t.Errorf("CapacityAssumptions does not say %q", want)
		}
	}
}
