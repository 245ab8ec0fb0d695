package provider

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
	"github.com/tcptune/terraform-provider-tcp/internal/rules"
)

// attrGetter is what tfsdk.Config, tfsdk.Plan and tfsdk.State share.
type attrGetter interface {
	GetAttribute(ctx context.Context, p path.Path, target any) diag.Diagnostics
}

// attrSetter is what tfsdk.Plan and tfsdk.State share.
type attrSetter interface {
	SetAttribute(ctx context.Context, p path.Path, val any) diag.Diagnostics
}

// tuningModel is one tcp_tuning resource. The attributes the schema
// declares by hand are tagged fields, as in statsModel; the typed settings
// the catalogue generates are held in Ints, keyed by attribute name.
type tuningModel struct {
	ID               types.String   `tfsdk:"id"`
	Host             types.String   `tfsdk:"host"`
	Port             types.Int64    `tfsdk:"port"`
	User             types.String   `tfsdk:"user"`
	HostKey          types.String   `tfsdk:"host_key"`
	BehindNAT        types.Bool     `tfsdk:"behind_nat"`
	ServicePorts     types.Set      `tfsdk:"service_ports"`
	PortRange        types.Object   `tfsdk:"ip_local_port_range"`
	ReservedPorts    types.Set      `tfsdk:"ip_local_reserved_ports"` // a stringSetValue in the schema: see wireFields
	Extra            types.Map      `tfsdk:"extra_sysctls"`
	Name             types.String   `tfsdk:"name"`
	Priority         types.Int64    `tfsdk:"priority"`
	Persist          types.Bool     `tfsdk:"persist"`
	RestoreOnDestroy types.Bool     `tfsdk:"restore_on_destroy"`
	KernelRelease    types.String   `tfsdk:"kernel_release"`
	PersistPath      types.String   `tfsdk:"persist_path"`
	OriginalValues   types.Map      `tfsdk:"original_values"`
	Timeouts         timeouts.Value `tfsdk:"timeouts"`
	// Ints: one per catalogue row of KindInt (catalog.All), by attribute.
	Ints map[string]types.Int64 `tfsdk:"-"`
}

// modelField is one tagged field of tuningModel.
type modelField struct {
	name  string // the attribute
	index int    // the field's index in tuningModel
}

// tuningFields are tuningModel's tagged fields in declaration order, read
// from the tags once.
var tuningFields = taggedFields(reflect.TypeFor[tuningModel]())

func taggedFields(t reflect.Type) []modelField {
	var out []modelField
	for i := range t.NumField() {
		if name := t.Field(i).Tag.Get("tfsdk"); name != "" && name != "-" {
			out = append(out, modelField{name: name, index: i})
		}
	}
	return out
}

// wireField converts an attribute whose value type in the schema is not
// the model field's.
type wireField struct {
	wire     reflect.Type                        // the schema's value type
	fromWire func(attr.Value) (attr.Value, bool) // schema value -> field value; false when v is not of type wire
	toWire   func(attr.Value) attr.Value         // field value -> schema value
}

// wireFields: ip_local_reserved_ports is a stringSetValue in the schema
// (large sets: see stringSetType) and a types.Set in the model.
var wireFields = map[string]wireField{
	"ip_local_reserved_ports": {
		wire: reflect.TypeFor[stringSetValue](),
		fromWire: func(v attr.Value) (attr.Value, bool) {
			s, ok := v.(stringSetValue)
			return s.toSet(), ok
		},
		toWire: func(v attr.Value) attr.Value {
			s, _ := v.(types.Set)
			return newStringSet(s)
		},
	},
}

// field is the model's value of f, as the schema holds it.
func (m *tuningModel) field(f modelField) attr.Value {
	v, _ := reflect.ValueOf(m).Elem().Field(f.index).Interface().(attr.Value)
	if w, ok := wireFields[f.name]; ok {
		v = w.toWire(v)
	}
	return v
}

// setField stores the schema's value v in the model's field f; false when
// v is not of the field's type.
func (m *tuningModel) setField(f modelField, v attr.Value) bool {
	if w, ok := wireFields[f.name]; ok {
		var isWire bool
		if v, isWire = w.fromWire(v); !isWire {
			return false
		}
	}
	fv := reflect.ValueOf(m).Elem().Field(f.index)
	if v == nil || reflect.TypeOf(v) != fv.Type() {
		return false
	}
	fv.Set(reflect.ValueOf(v))
	return true
}

// fieldTarget is what GetAttribute fills for f: the field itself, or a
// value of the schema's type for a wire field (then setField stores it).
func (m *tuningModel) fieldTarget(f modelField) (target any, wire bool) {
	if w, ok := wireFields[f.name]; ok {
		return reflect.New(w.wire).Interface(), true
	}
	return reflect.ValueOf(m).Elem().Field(f.index).Addr().Interface(), false
}

var portRangeAttrTypes = map[string]attr.Type{"min": types.Int64Type, "max": types.Int64Type}

// wholeGetter and wholeSetter convert the whole object at once: one walk
// of the value instead of one per attribute (the framework rebuilds the
// schema's attribute map and walks the value for every path; per attribute
// that was a quarter of the provider's CPU in a fleet apply).
type wholeGetter interface {
	Get(ctx context.Context, target any) diag.Diagnostics
}

type wholeSetter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

func getTuning(ctx context.Context, g attrGetter) (tuningModel, diag.Diagnostics) {
	if wg, ok := g.(wholeGetter); ok {
		var o types.Object
		if d := wg.Get(ctx, &o); !d.HasError() && !o.IsNull() && !o.IsUnknown() {
			if m, ok := tuningFromAttrs(o.Attributes()); ok {
				return m, d
			}
		}
	}
	return getTuningByAttribute(ctx, g)
}

// tuningFromAttrs fills a model from the object's attributes; false when
// one is missing or of another type (then the per-attribute path decides).
func tuningFromAttrs(a map[string]attr.Value) (tuningModel, bool) {
	var m tuningModel
	ok := true
	for _, f := range tuningFields {
		ok = m.setField(f, a[f.name]) && ok
	}
	m.Ints = map[string]types.Int64{}
	for _, s := range catalog.All() {
		if s.Kind == catalog.KindInt {
			v, k := a[s.Attribute].(types.Int64)
			ok = ok && k
			m.Ints[s.Attribute] = v
		}
	}
	return m, ok
}

func getTuningByAttribute(ctx context.Context, g attrGetter) (tuningModel, diag.Diagnostics) {
	var m tuningModel
	var diags diag.Diagnostics
	get := func(name string, target any) {
		diags.Append(g.GetAttribute(ctx, path.Root(name), target)...)
	}
	for _, f := range tuningFields {
		target, wire := m.fieldTarget(f)
		get(f.name, target)
		if wire {
			v, _ := reflect.ValueOf(target).Elem().Interface().(attr.Value)
			m.setField(f, v)
		}
	}
	m.Ints = map[string]types.Int64{}
	for _, s := range catalog.All() {
		if s.Kind != catalog.KindInt {
			continue
		}
		var v types.Int64
		get(s.Attribute, &v)
		m.Ints[s.Attribute] = v
	}
	return m, diags
}

func setTuning(ctx context.Context, st attrSetter, m tuningModel) diag.Diagnostics {
	var at map[string]attr.Type
	var ws wholeSetter
	switch v := st.(type) {
	case *tfsdk.State:
		if v.Schema != nil {
			at, ws = objectAttrTypes(v.Schema), v
		}
	case *tfsdk.Plan:
		if v.Schema != nil {
			at, ws = objectAttrTypes(v.Schema), v
		}
	}
	if ws != nil && at != nil {
		attrs := m.attrs()
		if len(attrs) == len(at) {
			if o, d := types.ObjectValue(at, attrs); !d.HasError() {
				return ws.Set(ctx, o)
			}
		}
	}
	return setTuningByAttribute(ctx, st, m)
}

// objectAttrTypes is a schema's attribute types (nil when unknown).
func objectAttrTypes(s interface{ Type() attr.Type }) map[string]attr.Type {
	if ot, ok := s.Type().(attr.TypeWithAttributeTypes); ok {
		return ot.AttributeTypes()
	}
	return nil
}

// attrs is the model as the object's attributes.
func (m tuningModel) attrs() map[string]attr.Value {
	a := make(map[string]attr.Value, len(tuningFields)+len(m.Ints))
	for _, f := range tuningFields {
		a[f.name] = m.field(f)
	}
	for name, v := range m.Ints {
		a[name] = v
	}
	return a
}

func setTuningByAttribute(ctx context.Context, st attrSetter, m tuningModel) diag.Diagnostics {
	var diags diag.Diagnostics
	set := func(name string, v any) {
		diags.Append(st.SetAttribute(ctx, path.Root(name), v)...)
	}
	for _, f := range tuningFields {
		set(f.name, m.field(f))
	}
	for name, v := range m.Ints {
		set(name, v)
	}
	return diags
}

// settingsKnown reports whether every setting and validation input is known,
// so rules can run on complete data.
func (m tuningModel) settingsKnown() bool {
	for _, v := range m.Ints {
		if v.IsUnknown() {
			return false
		}
	}
	for _, v := range []attr.Value{m.PortRange, m.ReservedPorts, m.Extra, m.BehindNAT, m.ServicePorts} {
		if v.IsUnknown() {
			return false
		}
	}
	if !m.PortRange.IsNull() {
		for _, v := range m.PortRange.Attributes() {
			if v.IsUnknown() {
				return false
			}
		}
	}
	for _, set := range []types.Set{m.ReservedPorts, m.ServicePorts} {
		if !set.IsNull() {
			for _, e := range set.Elements() {
				if e.IsUnknown() {
					return false
				}
			}
		}
	}
	if !m.Extra.IsNull() {
		for _, e := range m.Extra.Elements() {
			if e.IsUnknown() {
				return false
			}
		}
	}
	return true
}

// rulesConfig converts the model for the rules package. Unknown and null
// values are left out.
func (m tuningModel) rulesConfig() rules.Config {
	c := rules.Config{Ints: map[string]int64{}, BehindNAT: true}
	for name, v := range m.Ints {
		if !v.IsNull() && !v.IsUnknown() {
			c.Ints[name] = v.ValueInt64()
		}
	}
	if !m.PortRange.IsNull() && !m.PortRange.IsUnknown() {
		a := m.PortRange.Attributes()
		mn, _ := a["min"].(types.Int64)
		mx, _ := a["max"].(types.Int64)
		c.PortRange = &rules.PortRange{Min: mn.ValueInt64(), Max: mx.ValueInt64()}
	}
	if !m.ReservedPorts.IsNull() && !m.ReservedPorts.IsUnknown() {
		c.ReservedPortsSet = true
		c.ReservedPorts = setStrings(m.ReservedPorts)
	}
	if !m.Extra.IsNull() && !m.Extra.IsUnknown() {
		c.Extra = mapStrings(m.Extra)
	}
	if !m.BehindNAT.IsNull() && !m.BehindNAT.IsUnknown() {
		c.BehindNAT = m.BehindNAT.ValueBool()
	}
	if !m.ServicePorts.IsNull() && !m.ServicePorts.IsUnknown() {
		for _, e := range m.ServicePorts.Elements() {
			if v, ok := e.(types.Int64); ok && !v.IsUnknown() && !v.IsNull() {
				c.ServicePorts = append(c.ServicePorts, v.ValueInt64())
			}
		}
		sort.Slice(c.ServicePorts, func(i, j int) bool { return c.ServicePorts[i] < c.ServicePorts[j] })
	}
	return c
}

func setStrings(s types.Set) []string {
	var out []string
	for _, e := range s.Elements() {
		if v, ok := e.(types.String); ok && !v.IsUnknown() && !v.IsNull() {
			out = append(out, v.ValueString())
		}
	}
	sort.Strings(out)
	return out
}

func mapStrings(m types.Map) map[string]string {
	out := map[string]string{}
	for k, e := range m.Elements() {
		if v, ok := e.(types.String); ok && !v.IsUnknown() && !v.IsNull() {
			out[k] = v.ValueString()
		}
	}
	return out
}

// desired returns sysctl key -> canonical value of every managed setting.
func (m tuningModel) desired() (map[string]string, error) {
	return rules.Desired(m.rulesConfig())
}

// managedKeys lists the sysctl keys this model manages, sorted.
func (m tuningModel) managedKeys() []string {
	d, err := m.desired()
	if err != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(d))
}

// persistPathFor is the file a resource persists its settings in.
func persistPathFor(priority int64, name string) string {
	return fmt.Sprintf("/etc/sysctl.d/%02d-%s.conf", priority, name)
}

// setKeyValue stores a canonical value for sysctl key in the model, in the
// attribute that manages it. It reports false when the value does not fit
// the attribute (then the model is unchanged).
func (m *tuningModel) setKeyValue(key, canonical string) bool {
	s, typed := catalog.ByKey(key)
	if !typed {
		el := m.Extra.Elements()
		out := map[string]attr.Value{}
		for k, v := range el {
			out[k] = v
		}
		out[key] = types.StringValue(canonical)
		m.Extra = types.MapValueMust(types.StringType, out)
		return true
	}
	switch s.Kind {
	case catalog.KindInt:
		n, err := strconv.ParseInt(canonical, 10, 64)
		if err != nil {
			return false
		}
		m.Ints[s.Attribute] = types.Int64Value(n)
	case catalog.KindPortRange:
		r, err := catalog.ParsePortRange(canonical)
		if err != nil {
			return false
		}
		m.PortRange = types.ObjectValueMust(portRangeAttrTypes, map[string]attr.Value{
			"min": types.Int64Value(r.Min), "max": types.Int64Value(r.Max),
		})
	case catalog.KindPortList:
		var els []attr.Value
		for _, e := range catalog.PortListElements(canonical) {
			els = append(els, types.StringValue(e))
		}
		m.ReservedPorts = types.SetValueMust(types.StringType, els)
	default:
		return false
	}
	return true
}

// clearKey removes key from the model (the setting becomes unset).
func (m *tuningModel) clearKey(key string) {
	s, typed := catalog.ByKey(key)
	if !typed {
		out := map[string]attr.Value{}
		for k, v := range m.Extra.Elements() {
			if k != key {
				out[k] = v
			}
		}
		m.Extra = types.MapValueMust(types.StringType, out)
		if len(out) == 0 {
			m.Extra = types.MapNull(types.StringType)
		}
		return
	}
	switch s.Kind {
	case catalog.KindInt:
		m.Ints[s.Attribute] = types.Int64Null()
	case catalog.KindPortRange:
		m.PortRange = types.ObjectNull(portRangeAttrTypes)
	case catalog.KindPortList:
		m.ReservedPorts = types.SetNull(types.StringType)
	}
}

func stringMapValue(m map[string]string) types.Map {
	out := map[string]attr.Value{}
	for k, v := range m {
		out[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, out)
}
