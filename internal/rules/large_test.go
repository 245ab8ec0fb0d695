package rules

import (
	"strconv"
	"strings"
	"testing"
)

// TestStaticLargeLists: the static rules over a 25,000-element reserved list
// and 20,000 service ports find exactly the service ports that lie in the
// range and are not reserved (the odd ones). With a linear lookup per
// service port this is 5·10^8 steps; the sorted, merged list makes it
// n·log n. The test asserts the findings, not the time.
func TestStaticLargeLists(t *testing.T) {
	c := Config{
		PortRange:        &PortRange{Min: 10000, Max: 60000},
		ReservedPortsSet: true,
		BehindNAT:        true,
	}
	for p := 10000; p < 60000; p += 2 {
		c.ReservedPorts = append(c.ReservedPorts, strconv.Itoa(p))
	}
	for p := int64(10000); p < 30000; p++ {
		c.ServicePorts = append(c.ServicePorts, p)
	}
	var got []string
	for _, f := range Static(c) {
		if strings.Contains(f.Summary, "Service Port") {
			got = append(got, f.Detail)
		}
	}
	if len(got) != 10000 {
		t.Fatalf("%d service-port findings, want 10000 (the odd ports 10001-29999)", len(got))
	}
	if !strings.Contains(got[0], "Port 10001 ") || !strings.Contains(got[len(got)-1], "Port 29999 ") {
		t.Errorf("first and last findings: %q ... %q", got[0][:40], got[len(got)-1][:40])
	}
}
