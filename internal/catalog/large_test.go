package catalog

import (
	"strconv"
	"testing"
)

// largeItems is n set elements as a user might write them: every other
// port from 1024 as single ports, then, past what fits, overlapping ranges,
// in a shuffled order (reversed halves), so that sorting and merging both
// have work to do.
func largeItems(n int) []string {
	var items []string
	singles := min(n, (65535-1024)/2+1)
	for i := 0; i < singles; i++ {
		items = append(items, strconv.Itoa(1024+2*i))
	}
	for i := singles; i < n; i++ {
		// Ranges inside the singles' span, each covering a gap or two.
		a := 1024 + (i*7)%(2*singles-2)
		items = append(items, strconv.Itoa(a)+"-"+strconv.Itoa(a+2))
	}
	for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
		if i%2 == 0 {
			items[i], items[j] = items[j], items[i]
		}
	}
	return items
}

// TestCanonicalLargePortLists checks the result of canonicalising 10,000
// and 100,000 elements against a port-by-port model (65,536 booleans), and
// that PortListContains agrees with the model for every port. It asserts
// results, not time; BenchmarkCanonicalPortList measures.
func TestCanonicalLargePortLists(t *testing.T) {
	for _, n := range []int{10_000, 100_000} {
		items := largeItems(n)
		var model [65536]bool
		for _, it := range items {
			sp, err := ParsePortSpan(it)
			if err != nil {
				t.Fatal(err)
			}
			for p := sp.Min; p <= sp.Max; p++ {
				model[p] = true
			}
		}
		spans, err := ParsePortList(items)
		if err != nil {
			t.Fatal(err)
		}
		// The model's runs are the canonical spans.
		var want []PortSpan
		for p := int64(0); p < 65536; p++ {
			if !model[p] {
				continue
			}
			if k := len(want); k > 0 && want[k-1].Max == p-1 {
				want[k-1].Max = p
			} else {
				want = append(want, PortSpan{Min: p, Max: p})
			}
		}
		if FormatPortList(spans) != FormatPortList(want) || len(spans) != len(want) {
			t.Fatalf("n=%d: canonical list has %d spans, the model %d", n, len(spans), len(want))
		}
		for p := int64(0); p < 65536; p++ {
			if SortedPortListContains(spans, p) != model[p] {
				t.Fatalf("n=%d: SortedPortListContains(%d) = %v, want %v", n, p, !model[p], model[p])
			}
		}
		c, err := CanonicalPortListFromItems(items)
		if err != nil || c != FormatPortList(want) {
			t.Fatalf("n=%d: CanonicalPortListFromItems disagrees: %v", n, err)
		}
		if again, err := CanonicalPortList(c + "\n"); err != nil || again != c {
			t.Fatalf("n=%d: the kernel form does not parse back to itself: %v", n, err)
		}
	}
}

func TestPortListContains(t *testing.T) {
	spans := []PortSpan{{5, 9}, {20, 20}, {30, 65535}}
	for _, c := range []struct {
		port int64
		want bool
	}{{0, false}, {4, false}, {5, true}, {9, true}, {10, false}, {19, false}, {20, true}, {21, false}, {29, false}, {30, true}, {65535, true}} {
		if got := SortedPortListContains(spans, c.port); got != c.want {
			t.Errorf("SortedPortListContains(%v, %d) = %v, want %v", spans, c.port, got, c.want)
		}
		if got := PortListContains(spans, c.port); got != c.want {
			t.Errorf("PortListContains(%v, %d) = %v, want %v", spans, c.port, got, c.want)
		}
	}
	if SortedPortListContains(nil, 1) || PortListContains(nil, 1) {
		t.Error("empty list contains 1")
	}
	// PortListContains takes any order.
	if !PortListContains([]PortSpan{{30, 40}, {5, 9}}, 7) {
		t.Error("PortListContains misses a port in an unsorted list")
	}
}

func BenchmarkCanonicalPortList(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		items := largeItems(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := CanonicalPortListFromItems(items); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
