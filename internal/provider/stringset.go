package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// stringSetType is a set of strings whose checks cost n·log n, not n²: the
// framework's SetType.Validate (run on every read of the attribute) and
// SetValue.Equal compare every element with every other, which made a plan
// with a 10,000-entry ip_local_reserved_ports take minutes. Values convert
// to and from types.Set (toSet, newStringSet), so models keep types.Set.
type stringSetType struct {
	basetypes.SetType
}

var (
	_ basetypes.SetTypable  = stringSetType{}
	_ basetypes.SetValuable = stringSetValue{}
)

// largeStringSetType is the type of set attributes that may be large.
var largeStringSetType = stringSetType{SetType: basetypes.SetType{ElemType: types.StringType}}

func (t stringSetType) Equal(o attr.Type) bool {
	other, ok := o.(stringSetType)
	return ok && t.SetType.Equal(other.SetType)
}

func (t stringSetType) String() string { return "stringSetType" }

func (t stringSetType) ValueType(context.Context) attr.Value {
	return stringSetValue{SetValue: basetypes.NewSetNull(types.StringType)}
}

func (t stringSetType) ValueFromSet(_ context.Context, in basetypes.SetValue) (basetypes.SetValuable, diag.Diagnostics) {
	return stringSetValue{SetValue: in}, nil
}

func (t stringSetType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.SetType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	sv, ok := v.(basetypes.SetValue)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return stringSetValue{SetValue: sv}, nil
}

// Validate reports duplicate elements as the framework does, with a map
// instead of comparing every pair.
func (t stringSetType) Validate(_ context.Context, in tftypes.Value, p path.Path) diag.Diagnostics {
	var diags diag.Diagnostics
	if in.Type() == nil || !in.IsKnown() || in.IsNull() {
		return diags
	}
	if !in.Type().Is(tftypes.Set{}) {
		diags.AddAttributeError(p, "Set Type Validation Error", fmt.Sprintf("expected a set of strings, received %s", in.Type()))
		return diags
	}
	var elems []tftypes.Value
	if err := in.As(&elems); err != nil {
		diags.AddAttributeError(p, "Set Type Validation Error", err.Error())
		return diags
	}
	seen := make(map[string]bool, len(elems))
	for _, e := range elems {
		if !e.IsFullyKnown() || e.IsNull() {
			continue
		}
		var s string
		if err := e.As(&s); err != nil {
			diags.AddAttributeError(p, "Set Type Validation Error", err.Error())
			return diags
		}
		if seen[s] {
			diags.AddAttributeError(p, "Duplicate Set Element", fmt.Sprintf("This attribute contains duplicate values of: %q", s))
		}
		seen[s] = true
	}
	return diags
}

// stringSetValue is a value of stringSetType.
type stringSetValue struct {
	basetypes.SetValue
}

func (v stringSetValue) Type(context.Context) attr.Type { return largeStringSetType }

// Equal compares the sets through a map of their elements.
func (v stringSetValue) Equal(o attr.Value) bool {
	other, ok := o.(stringSetValue)
	if !ok {
		return false
	}
	a, b := v.SetValue, other.SetValue
	if a.IsNull() != b.IsNull() || a.IsUnknown() != b.IsUnknown() {
		return false
	}
	if a.IsNull() || a.IsUnknown() {
		return true
	}
	ae, be := a.Elements(), b.Elements()
	if len(ae) != len(be) {
		return false
	}
	count := make(map[string]int, len(ae))
	for _, e := range ae {
		count[elementKey(e)]++
	}
	for _, e := range be {
		k := elementKey(e)
		if count[k] == 0 {
			return false
		}
		count[k]--
	}
	return true
}

// elementKey tells apart known strings, unknown and null elements.
func elementKey(e attr.Value) string {
	switch {
	case e.IsUnknown():
		return "u"
	case e.IsNull():
		return "n"
	}
	if s, ok := e.(types.String); ok {
		return "s" + s.ValueString()
	}
	return "?" + e.String()
}

// toSet is the value as a types.Set, for models.
func (v stringSetValue) toSet() types.Set { return v.SetValue }

// newStringSet wraps a types.Set for an attribute of largeStringSetType.
func newStringSet(s types.Set) stringSetValue { return stringSetValue{SetValue: s} }
