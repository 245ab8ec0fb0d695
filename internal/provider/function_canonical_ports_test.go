package provider

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
)

func TestCanonicalPortsFunction(t *testing.T) {
	cases := []struct {
		in   []string
		want string
	}{
		{[]string{"8003", "8001-8002", "7005"}, "7005,8001-8003"},
		{[]string{"8003", "8001-8002", "7005", "8080", "8002-8004"}, "7005,8001-8004,8080"},
		{[]string{"08080"}, "8080"},
		{[]string{}, ""},
	}
	for _, c := range cases {
		got, ferr := runFunction(t, NewCanonicalPortsFunction(), stringsArg(c.in...))
		if ferr != nil {
			t.Fatalf("%v: %v", c.in, ferr)
		}
		list, ok := got.(types.List)
		if !ok {
			t.Fatalf("result is %T, not a list", got)
		}
		var elems []string
		if d := list.ElementsAs(context.Background(), &elems, false); d.HasError() {
			t.Fatal(d)
		}
		if strings.Join(elems, ",") != c.want {
			t.Errorf("canonical_ports(%v) = %v, want %s", c.in, elems, c.want)
		}
	}
	_, ferr := runFunction(t, NewCanonicalPortsFunction(), stringsArg("7005", "80 81"))
	if ferr == nil || ferr.FunctionArgument == nil || *ferr.FunctionArgument != 0 || !strings.Contains(ferr.Text, `"80 81": spaces are not allowed`) {
		t.Errorf("bad element: error %v, want one on argument 0 naming the element", ferr)
	}
}

func TestAccFunction_canonicalPorts(t *testing.T) {
	functionTest(t, []resource.TestStep{
		{
			Config: `
output "ports" { value = provider::tcp::canonical_ports(["8003", "8001-8002", "7005", "8002-8004"]) }
output "from_set" { value = provider::tcp::canonical_ports(toset(["9000", "8999"])) }
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("ports", knownvalue.ListExact([]knownvalue.Check{
					knownvalue.StringExact("7005"), knownvalue.StringExact("8001-8004"),
				})),
				statecheck.ExpectKnownOutputValue("from_set", knownvalue.ListExact([]knownvalue.Check{
					knownvalue.StringExact("8999-9000"),
				})),
			},
		},
		{
			Config:      `output "x" { value = provider::tcp::canonical_ports(["7005", "0"]) }`,
			ExpectError: regexp.MustCompile(`(?s)"ports".*port 0\s+cannot be reserved`),
		},
	})
}
