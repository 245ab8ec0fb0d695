package provider

import (
	"context"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
)

// runFunction calls a provider function the way the framework does, with
// the arguments as framework values.
func runFunction(t *testing.T, f function.Function, args ...attr.Value) (attr.Value, *function.FuncError) {
	t.Helper()
	ctx := context.Background()
	var def function.DefinitionResponse
	f.Definition(ctx, function.DefinitionRequest{}, &def)
	if len(def.Diagnostics) > 0 {
		t.Fatalf("definition: %v", def.Diagnostics)
	}
	result, ferr := def.Definition.Return.NewResultData(ctx)
	if ferr != nil {
		t.Fatal(ferr)
	}
	resp := function.RunResponse{Result: result}
	f.Run(ctx, function.RunRequest{Arguments: function.NewArgumentsData(args)}, &resp)
	return resp.Result.Value(), resp.Error
}

func rangeArg(lo, hi int64) attr.Value {
	return types.ObjectValueMust(map[string]attr.Type{"min": types.Int64Type, "max": types.Int64Type},
		map[string]attr.Value{"min": types.Int64Value(lo), "max": types.Int64Value(hi)})
}

// resultAttr returns attribute name of an object result as T.
func resultAttr[T attr.Value](t *testing.T, v attr.Value, name string) T {
	t.Helper()
	obj, ok := v.(types.Object)
	if !ok {
		t.Fatalf("result is %T, not an object", v)
	}
	a, ok := obj.Attributes()[name].(T)
	if !ok {
		t.Fatalf("result attribute %s is %T", name, obj.Attributes()[name])
	}
	return a
}

func stringsArg(items ...string) attr.Value {
	vals := make([]attr.Value, len(items))
	for i, s := range items {
		vals[i] = types.StringValue(s)
	}
	return types.ListValueMust(types.StringType, vals)
}

func TestPortCapacityFunction(t *testing.T) {
	got, ferr := runFunction(t, NewPortCapacityFunction(), rangeArg(10000, 65001), stringsArg("7005", "8001-8100", "10000-10099"))
	if ferr != nil {
		t.Fatal(ferr)
	}
	want := catalog.CapacityOf(catalog.PortRange{Min: 10000, Max: 65001}, []catalog.PortSpan{{Min: 10000, Max: 10099}})
	if want.Usable != 54902 {
		t.Fatalf("catalogue usable %d, want 54902", want.Usable)
	}
	if u := resultAttr[types.Int64](t, got, "usable_ports").ValueInt64(); u != want.Usable {
		t.Errorf("usable_ports %d, want %d", u, want.Usable)
	}
	if r := resultAttr[types.Float64](t, got, "max_connection_rate_per_destination").ValueFloat64(); r != want.RatePerDestination {
		t.Errorf("max_connection_rate_per_destination %v, want %v", r, want.RatePerDestination)
	}
	if r := resultAttr[types.Float64](t, got, "reuse_ceiling_per_destination").ValueFloat64(); r != want.ReuseCeiling {
		t.Errorf("reuse_ceiling_per_destination %v, want %v", r, want.ReuseCeiling)
	}
	if a := resultAttr[types.String](t, got, "assumptions").ValueString(); !strings.Contains(a, "theoretical ceiling") {
		t.Errorf("assumptions %q do not call the reuse figure a theoretical ceiling", a)
	}

	got, ferr = runFunction(t, NewPortCapacityFunction(), rangeArg(32768, 60999), stringsArg())
	if ferr != nil {
		t.Fatal(ferr)
	}
	if u := resultAttr[types.Int64](t, got, "usable_ports").ValueInt64(); u != 28232 {
		t.Errorf("default range usable_ports %d, want 28232", u)
	}
}

func TestPortCapacityFunctionErrorsNameTheArgument(t *testing.T) {
	cases := []struct {
		name     string
		args     []attr.Value
		position int64
		text     string
	}{
		{"reversed", []attr.Value{rangeArg(60999, 32768), stringsArg()}, 0, "reversed range"},
		{"min 0", []attr.Value{rangeArg(0, 100), stringsArg()}, 0, "min is 0"},
		{"max too high", []attr.Value{rangeArg(1024, 70000), stringsArg()}, 0, "max is 70000"},
		{"bad reserved", []attr.Value{rangeArg(1024, 65535), stringsArg("7005", "8100-8001", "x")}, 1, `"8100-8001": reversed range`},
		{"null element", []attr.Value{rangeArg(1024, 65535), types.ListValueMust(types.StringType, []attr.Value{types.StringNull()})}, 1, "element 0 is null"},
	}
	for _, c := range cases {
		_, ferr := runFunction(t, NewPortCapacityFunction(), c.args...)
		if ferr == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if ferr.FunctionArgument == nil || *ferr.FunctionArgument != c.position {
			t.Errorf("%s: error at argument %v, want %d (%v)", c.name, ferr.FunctionArgument, c.position, ferr)
		}
		if !strings.Contains(ferr.Text, c.text) {
			t.Errorf("%s: error %q does not contain %q", c.name, ferr.Text, c.text)
		}
	}
}

// TestAccFunction_portCapacity calls the function through terraform: an
// output in state holds the computed figures, and bad input fails the plan
// naming the parameter.
func TestAccFunction_portCapacity(t *testing.T) {
	functionTest(t, []resource.TestStep{
		{
			Config: `
locals {
  cap = provider::tcp::port_capacity({ min = 10000, max = 65001 }, ["7005", "8001-8100", "10000-10099"])
}
output "usable"  { value = local.cap.usable_ports }
output "rate"    { value = local.cap.max_connection_rate_per_destination }
output "ceiling" { value = local.cap.reuse_ceiling_per_destination }
output "default_usable" { value = provider::tcp::port_capacity({ min = 32768, max = 60999 }, []).usable_ports }
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("usable", knownvalue.Int64Exact(54902)),
				statecheck.ExpectKnownOutputValue("rate", knownvalue.NumberFunc(func(v *big.Float) error {
					return approx(v, 54902.0/60)
				})),
				statecheck.ExpectKnownOutputValue("ceiling", knownvalue.Int64Exact(54902)),
				statecheck.ExpectKnownOutputValue("default_usable", knownvalue.Int64Exact(28232)),
			},
		},
		{
			Config:      `output "x" { value = provider::tcp::port_capacity({ min = 60999, max = 32768 }, []) }`,
			ExpectError: regexp.MustCompile(`(?s)"range".*reversed range: min 60999 is greater than max 32768`),
		},
		{
			Config:      `output "x" { value = provider::tcp::port_capacity({ min = 1024, max = 65535 }, ["8100-8001"]) }`,
			ExpectError: regexp.MustCompile(`(?s)"reserved".*"8100-8001": reversed range`),
		},
	})
}

// functionTest runs steps that call provider functions through the CLI;
// they exist in Terraform 1.8 and OpenTofu 1.7 and later.
func functionTest(t *testing.T, steps []resource.TestStep) {
	t.Helper()
	accPreCheck(t)
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks: []tfversion.TerraformVersionCheck{
			tfversion.SkipBelow(tfversion.Version1_8_0),
		},
		ProtoV6ProviderFactories: protoV6Factories,
		Steps:                    steps,
	})
}

// approx accepts v within a millionth of want (terraform carries numbers
// as decimal strings through state).
func approx(v *big.Float, want float64) error {
	f, _ := v.Float64()
	if d := f - want; d > 1e-6*want || d < -1e-6*want {
		return &approxError{got: f, want: want}
	}
	return nil
}

type approxError struct{ got, want float64 }

func (e *approxError) Error() string {
	return "got " + big.NewFloat(e.got).String() + ", want " + big.NewFloat(e.want).String()
}
