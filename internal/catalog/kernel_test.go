package catalog

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestParseRelease(t *testing.T) {
	for in, want := range map[string]Release{
		"6.8.0-45-generic":              {6, 8},
		"4.14.355-275.572.amzn2.x86_64": {4, 14},
		"4.15.0-213-generic":            {4, 15},
		"4.18.0-553.el8_10.x86_64":      {4, 18},
		"6.18":                          {6, 18},
		"6.1.0-28-amd64\n":              {6, 1},
		"5.10.0+":                       {5, 10},
	} {
		got, ok := ParseRelease(in)
		if !ok || got != want {
			t.Errorf("ParseRelease(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "6", "x.y", "6.", "-1.2", "linux"} {
		if r, ok := ParseRelease(in); ok {
			t.Errorf("ParseRelease(%q) = %v, want not ok", in, r)
		}
	}
}

// TestKernelFacts pins every version-dependent fact for the kernels real
// fleets run (KNOWLEDGE.md §2, §5): Amazon Linux 2 (4.14), Ubuntu 18.04
// (4.15), RHEL 8 (4.18), Debian 10/11/12 (4.19, 5.10, 6.1), Ubuntu
// 20.04/22.04/24.04 (5.4, 5.15, 6.8), the last kernel without
// tcp_tw_reuse_delay (6.13), the first with it (6.14) and this machine's
// (6.18).
func TestKernelFacts(t *testing.T) {
	type want struct {
		def       int64
		two       ReuseScope
		delayKey  bool
		recycle   bool
		creation  bool
		delayMax  int64
		delayRule string
	}
	const (
		old   = "1-2 s after the peer's last timestamped segment (Linux 4.17 and older)"
		mid   = "0-1 s after the peer's last timestamped segment (Linux 4.18-6.13)"
		fresh = "tcp_tw_reuse_delay = 1000 ms after the socket entered TIME_WAIT (Linux 6.14+)"
	)
	cases := map[string]want{
		"4.11.0":                        {0, ReuseAll, false, true, false, 2000, old},
		"4.14.355-275.572.amzn2.x86_64": {0, ReuseAll, false, false, false, 2000, old},
		"4.15.0-213-generic":            {0, ReuseAll, false, false, false, 2000, old},
		"4.18.0-553.el8_10.x86_64":      {2, ReuseLoopback, false, false, false, 1000, mid},
		"4.19.0-27-amd64":               {2, ReuseLoopback, false, false, false, 1000, mid},
		"5.4.0-200-generic":             {2, ReuseLoopback, false, false, false, 1000, mid},
		"5.10.0-33-amd64":               {2, ReuseLoopback, false, false, false, 1000, mid},
		"5.15.0-126-generic":            {2, ReuseLoopback, false, false, false, 1000, mid},
		"6.1.0-28-amd64":                {2, ReuseLoopback, false, false, true, 1000, mid},
		"6.8.0-45-generic":              {2, ReuseLoopback, false, false, true, 1000, mid},
		"6.13.12":                       {2, ReuseLoopback, false, false, true, 1000, mid},
		"6.14.0-15-generic":             {2, ReuseLoopback, true, false, true, 1000, fresh},
		"6.18.0":                        {2, ReuseLoopback, true, false, true, 1000, fresh},
		"4.9.0-19-amd64":                {0, ReuseAll, false, true, false, 2000, old},
	}
	for _, rel := range FleetKernels {
		if _, ok := cases[rel]; !ok {
			t.Errorf("fleet kernel %s has no pinned facts here", rel)
		}
	}
	for rel, w := range cases {
		f := FactsFor(rel)
		if !f.Known {
			t.Errorf("%s: not parsed", rel)
		}
		d := f.ReuseDelayFor(1000, f.HasReuseDelayKey)
		if f.ReuseDefault != w.def || f.ReuseScope(2) != w.two || f.HasReuseDelayKey != w.delayKey ||
			f.HasRecycleKey != w.recycle || f.TWCountedAtCreation != w.creation || d.MaxMs != w.delayMax || d.Rule != w.delayRule {
			t.Errorf("%s: default %d, 2 = %v, delay key %v, recycle %v, TW at creation %v, delay %d %q; want %+v",
				rel, f.ReuseDefault, f.ReuseScope(2), f.HasReuseDelayKey, f.HasRecycleKey, f.TWCountedAtCreation, d.MaxMs, d.Rule, w)
		}
		if f.ReuseScope(0) != ReuseOff || f.ReuseScope(1) != ReuseAll || f.EffectiveReuse(1, 0) != ReuseOff {
			t.Errorf("%s: 0/1/timestamps-off scopes wrong", rel)
		}
	}
	// The host's own key decides over the version number.
	if d := FactsFor("6.8.0").ReuseDelayFor(250, true); d.MaxMs != 250 {
		t.Errorf("a 6.8 host with tcp_tw_reuse_delay = 250: %+v", d)
	}
	if f := FactsFor("garbage"); f.Known || f.ReuseDefault != 2 {
		t.Errorf("unknown release: %+v", f)
	}
}

// TestKernelFactsInDocs: the table in the tcp_tuning page template is the
// one KernelFactsMarkdown renders, and the generated descriptions state the
// versions.
func TestKernelFactsInDocs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "templates", "resources", "tuning.md.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), KernelFactsMarkdown()) {
		t.Errorf("templates/resources/tuning.md.tmpl does not hold the kernel facts table; paste:\n%s", KernelFactsMarkdown())
	}
	reuse, _ := ByAttribute("tcp_tw_reuse")
	for _, s := range []string{"Linux 4.18 and later", "Before 4.18", "`2` included", "nothing to do"} {
		if !strings.Contains(reuse.MarkdownDescription(), s) {
			t.Errorf("tcp_tw_reuse description lacks %q: %s", s, reuse.MarkdownDescription())
		}
	}
	delay, _ := ByAttribute("tcp_tw_reuse_delay")
	for _, s := range []string{"Linux >= 6.14", "4.18-6.13", "4.17 and older"} {
		if !strings.Contains(delay.MarkdownDescription(), s) {
			t.Errorf("tcp_tw_reuse_delay description lacks %q: %s", s, delay.MarkdownDescription())
		}
	}
}

// TestDocsRateTables: every "| low–high ... | usable | ... rate |" row of the
// rate tables in the docs is UsablePorts and SustainableRate of that range
// (the source of those numbers), rounded either way.
func TestDocsRateTables(t *testing.T) {
	row := regexp.MustCompile(`(?m)^\s*\| (\d+)–(\d+)[^|]*\| ([\d,]+) \| [^|]*?([\d,]+) \|$`)
	n := 0
	for _, f := range []string{"data-sources/stats.md.tmpl", "guides/diagnosing-time-wait.md.tmpl"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "templates", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range row.FindAllStringSubmatch(string(b), -1) {
			n++
			atoi := func(s string) int64 { v, _ := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64); return v }
			lo, hi, usable, rate := atoi(m[1]), atoi(m[2]), atoi(m[3]), atoi(m[4])
			want := UsablePorts(lo, hi, nil)
			r := SustainableRate(want, false, 0)
			if usable != want || (rate != int64(math.Floor(r)) && rate != int64(math.Round(r))) {
				t.Errorf("%s: %q: want %d usable ports and about %.1f/s", f, m[0], want, r)
			}
		}
	}
	if n < 6 {
		t.Errorf("found %d rate table rows, want the 3 of each page", n)
	}
}
