package provider

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

// largeReservedConfig is a tcp_tuning with n reserved ports (every other
// port from 1024, so nothing merges) plus extra elements, on a closed
// loopback port: the plan's host check fails fast and only warns, so the
// plan exercises validation and plan modification, not a host.
func largeReservedConfig(n int, extra ...string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "    %q,\n", strconv.Itoa(1024+2*i))
	}
	for _, e := range extra {
		fmt.Fprintf(&b, "    %q,\n", e)
	}
	return `
provider "tcp" {
  insecure_ignore_host_key = true
  password                 = "unused"
  timeout                  = "2s"
}

resource "tcp_tuning" "big" {
  host = "127.0.0.1"
  port = 1
  ip_local_reserved_ports = [
` + b.String() + `  ]
}
`
}

// TestAccTuning_largeReservedListPlans: terraform plan of a tcp_tuning with
// a 10,000-entry ip_local_reserved_ports completes (it took minutes when
// the set's checks compared every pair of elements), and the rules still
// see every element: one invalid element among the 10,000 is reported by
// name. No time is asserted; the duration is logged.
func TestAccTuning_largeReservedListPlans(t *testing.T) {
	accPreCheck(t)
	start := time.Now()
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config:             largeReservedConfig(10_000),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tcp_tuning.big", plancheck.ResourceActionCreate)},
				},
			},
			{
				Config:      largeReservedConfig(10_000, "70000"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)ip_local_reserved_ports.*70000`),
			},
		},
	})
	t.Logf("two plans of 10,000 reserved ports took %s", time.Since(start).Round(time.Millisecond))
}
