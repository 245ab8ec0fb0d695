package provider

import (
	"context"
	"strconv"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func tfStringSet(elems ...string) tftypes.Value {
	vs := make([]tftypes.Value, len(elems))
	for i, e := range elems {
		vs[i] = tftypes.NewValue(tftypes.String, e)
	}
	return tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, vs)
}

func stringSet(elems ...string) stringSetValue {
	vs := make([]attr.Value, len(elems))
	for i, e := range elems {
		vs[i] = types.StringValue(e)
	}
	return newStringSet(types.SetValueMust(types.StringType, vs))
}

func TestStringSetTypeValidate(t *testing.T) {
	ctx := context.Background()
	p := path.Root("ip_local_reserved_ports")
	if d := largeStringSetType.Validate(ctx, tfStringSet("1", "2", "3"), p); d.HasError() {
		t.Errorf("distinct elements: %v", d)
	}
	d := largeStringSetType.Validate(ctx, tfStringSet("1", "2", "1"), p)
	if !d.HasError() || d[0].Summary() != "Duplicate Set Element" {
		t.Errorf("duplicate element: %v", d)
	}
	if d := largeStringSetType.Validate(ctx, tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, nil), p); d.HasError() {
		t.Errorf("null set: %v", d)
	}
	unknownElem := tftypes.NewValue(tftypes.Set{ElementType: tftypes.String}, []tftypes.Value{
		tftypes.NewValue(tftypes.String, tftypes.UnknownValue), tftypes.NewValue(tftypes.String, "1"),
	})
	if d := largeStringSetType.Validate(ctx, unknownElem, p); d.HasError() {
		t.Errorf("unknown element: %v", d)
	}
	// 100,000 distinct elements: a pairwise check would be 5·10^9 steps.
	big := make([]string, 100_000)
	for i := range big {
		big[i] = strconv.Itoa(i)
	}
	if d := largeStringSetType.Validate(ctx, tfStringSet(big...), p); d.HasError() {
		t.Errorf("large set: %v", d)
	}
}

func TestStringSetValueEqual(t *testing.T) {
	null := newStringSet(types.SetNull(types.StringType))
	unknown := newStringSet(types.SetUnknown(types.StringType))
	withUnknown := newStringSet(types.SetValueMust(types.StringType, []attr.Value{types.StringUnknown(), types.StringValue("1")}))
	cases := []struct {
		name string
		a, b stringSetValue
		want bool
	}{
		{"same order", stringSet("1", "2"), stringSet("1", "2"), true},
		{"other order", stringSet("1", "2", "3"), stringSet("3", "1", "2"), true},
		{"different element", stringSet("1", "2"), stringSet("1", "3"), false},
		{"different length", stringSet("1", "2"), stringSet("1"), false},
		{"empty", stringSet(), stringSet(), true},
		{"null and empty", null, stringSet(), false},
		{"null and null", null, null, true},
		{"unknown and unknown", unknown, unknown, true},
		{"unknown and null", unknown, null, false},
		{"unknown element and known", withUnknown, stringSet("u", "1"), false},
		{"unknown elements", withUnknown, withUnknown, true},
	}
	for _, c := range cases {
		if got := c.a.Equal(c.b); got != c.want {
			t.Errorf("%s: Equal = %v, want %v", c.name, got, c.want)
		}
		if got := c.b.Equal(c.a); got != c.want {
			t.Errorf("%s (swapped): Equal = %v, want %v", c.name, got, c.want)
		}
	}
	if stringSet("1").Equal(types.SetValueMust(types.StringType, []attr.Value{types.StringValue("1")})) {
		t.Error("a stringSetValue equals a plain types.Set")
	}
}

func TestStringSetTypeRoundTrip(t *testing.T) {
	ctx := context.Background()
	v, err := largeStringSetType.ValueFromTerraform(ctx, tfStringSet("7005", "8001-8100"))
	if err != nil {
		t.Fatal(err)
	}
	sv, ok := v.(stringSetValue)
	if !ok {
		t.Fatalf("ValueFromTerraform returned %T", v)
	}
	if !sv.Type(ctx).Equal(largeStringSetType) || !largeStringSetType.Equal(sv.Type(ctx)) {
		t.Error("the value's type is not largeStringSetType")
	}
	if got := setStrings(sv.toSet()); len(got) != 2 {
		t.Errorf("elements = %v", got)
	}
	back, err := sv.ToTerraformValue(ctx)
	if err != nil || !back.Equal(tfStringSet("8001-8100", "7005")) {
		t.Errorf("ToTerraformValue = %v, %v", back, err)
	}
}
