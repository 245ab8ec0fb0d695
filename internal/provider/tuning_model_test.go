package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
)

// TestTuningModelWholeObject: getTuning and setTuning convert the whole
// object in one step (not one framework walk per attribute), and give the
// same values as the per-attribute path.
func TestTuningModelWholeObject(t *testing.T) {
	ctx := context.Background()
	var sresp resource.SchemaResponse
	NewTuningResource().Schema(ctx, resource.SchemaRequest{}, &sresp)
	empty := tfsdk.State{Schema: sresp.Schema, Raw: tftypes.NewValue(sresp.Schema.Type().TerraformType(ctx), nil)}
	m, diags := getTuningByAttribute(ctx, empty)
	if diags.HasError() {
		t.Fatal(diags)
	}
	m.Host = types.StringValue("web1")
	m.Port = types.Int64Value(2222)
	m.Name = types.StringValue("tcp-tuning")
	m.Ints["tcp_fin_timeout"] = types.Int64Value(30)
	m.PortRange = types.ObjectValueMust(portRangeAttrTypes, map[string]attr.Value{"min": types.Int64Value(10000), "max": types.Int64Value(65001)})
	m.OriginalValues = types.MapValueMust(types.StringType, map[string]attr.Value{"net.ipv4.tcp_fin_timeout": types.StringValue("60")})
	m.ReservedPorts = types.SetValueMust(types.StringType, []attr.Value{types.StringValue("7005")})

	fast := tfsdk.State{Schema: sresp.Schema, Raw: empty.Raw}
	if d := setTuning(ctx, &fast, m); d.HasError() {
		t.Fatal(d)
	}
	slow := tfsdk.State{Schema: sresp.Schema, Raw: empty.Raw}
	if d := setTuningByAttribute(ctx, &slow, m); d.HasError() {
		t.Fatal(d)
	}
	if !fast.Raw.Equal(slow.Raw) {
		t.Errorf("whole-object set differs from per-attribute set:\n%s\n%s", fast.Raw, slow.Raw)
	}
	var o types.Object
	if d := fast.Get(ctx, &o); d.HasError() {
		t.Fatal(d)
	}
	got, ok := tuningFromAttrs(o.Attributes())
	if !ok {
		t.Fatal("tuningFromAttrs did not take the whole object: the fast path is never used")
	}
	want, d := getTuningByAttribute(ctx, fast)
	if d.HasError() {
		t.Fatal(d)
	}
	for name, a := range map[string][2]attr.Value{
		"host": {got.Host, want.Host}, "port": {got.Port, want.Port}, "range": {got.PortRange, want.PortRange},
		"originals": {got.OriginalValues, want.OriginalValues}, "reserved": {got.ReservedPorts, want.ReservedPorts},
		"fin": {got.Ints["tcp_fin_timeout"], want.Ints["tcp_fin_timeout"]}, "timeouts": {got.Timeouts, want.Timeouts},
	} {
		if !a[0].Equal(a[1]) {
			t.Errorf("%s: whole object %v, per attribute %v", name, a[0], a[1])
		}
	}
	if len(got.Ints) != len(want.Ints) {
		t.Errorf("%d ints, want %d", len(got.Ints), len(want.Ints))
	}
}

// TestTuningModelCoversSchema: every schema attribute is one tagged field
// of tuningModel or one of its catalogue Ints, and no tag names an
// attribute the schema lacks.
func TestTuningModelCoversSchema(t *testing.T) {
	ctx := context.Background()
	var sresp resource.SchemaResponse
	NewTuningResource().Schema(ctx, resource.SchemaRequest{}, &sresp)
	model := map[string]bool{}
	for _, f := range tuningFields {
		if model[f.name] {
			t.Errorf("two fields are tagged %q", f.name)
		}
		model[f.name] = true
	}
	for _, s := range catalog.All() {
		if s.Kind == catalog.KindInt {
			model[s.Attribute] = true
		}
	}
	schemaAttrs := map[string]bool{}
	for name := range sresp.Schema.GetAttributes() {
		schemaAttrs[name] = true
	}
	for name := range sresp.Schema.GetBlocks() {
		schemaAttrs[name] = true
	}
	for name := range schemaAttrs {
		if !model[name] {
			t.Errorf("schema attribute %q has no field in tuningModel", name)
		}
	}
	for name := range model {
		if !schemaAttrs[name] {
			t.Errorf("tuningModel maps %q, which the schema lacks", name)
		}
	}
}
