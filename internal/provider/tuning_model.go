package provider

import (
	"context"
	"fmt"
	"maps"
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

// tuningModel is one tcp_tuning resource. The typed settings are held in a
// map keyed by attribute name, because the catalogue generates them.
type tuningModel struct {
	ID               types.String
	Host             types.String
	Port             types.Int64
	User             types.String
	HostKey          types.String
	BehindNAT        types.Bool
	ServicePorts     types.Set
	Ints             map[string]types.Int64
	PortRange        types.Object
	ReservedPorts    types.Set
	Extra            types.Map
	Name             types.String
	Priority         types.Int64
	Persist          types.Bool
	RestoreOnDestroy types.Bool
	KernelRelease    types.String
	PersistPath      types.String
	OriginalValues   types.Map
	Timeouts         timeouts.Value
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
	str := func(name string) types.String {
		v, k := a[name].(types.String)
		ok = ok && k
		return v
	}
	i64 := func(name string) types.Int64 {
		v, k := a[name].(types.Int64)
		ok = ok && k
		return v
	}
	bl := func(name string) types.Bool {
		v, k := a[name].(types.Bool)
		ok = ok && k
		return v
	}
	set := func(name string) types.Set {
		v, k := a[name].(types.Set)
		ok = ok && k
		return v
	}
	mp := func(name string) types.Map {
		v, k := a[name].(types.Map)
		ok = ok && k
		return v
	}
	m.ID, m.Host, m.Port, m.User, m.HostKey = str("id"), str("host"), i64("port"), str("user"), str("host_key")
	m.BehindNAT, m.ServicePorts = bl("behind_nat"), set("service_ports")
	po, k := a["ip_local_port_range"].(types.Object)
	ok = ok && k
	m.PortRange = po
	rs, k := a["ip_local_reserved_ports"].(stringSetValue) // large sets: see stringSetType
	ok = ok && k
	m.ReservedPorts, m.Extra = rs.toSet(), mp("extra_sysctls")
	m.Name, m.Priority, m.Persist, m.RestoreOnDestroy = str("name"), i64("priority"), bl("persist"), bl("restore_on_destroy")
	m.KernelRelease, m.PersistPath, m.OriginalValues = str("kernel_release"), str("persist_path"), mp("original_values")
	to, k := a["timeouts"].(timeouts.Value)
	ok = ok && k
	m.Timeouts = to
	m.Ints = map[string]types.Int64{}
	for _, s := range catalog.All() {
		if s.Kind == catalog.KindInt {
			m.Ints[s.Attribute] = i64(s.Attribute)
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
	get("id", &m.ID)
	get("host", &m.Host)
	get("port", &m.Port)
	get("user", &m.User)
	get("host_key", &m.HostKey)
	get("behind_nat", &m.BehindNAT)
	get("service_ports", &m.ServicePorts)
	get("ip_local_port_range", &m.PortRange)
	var reserved stringSetValue // large sets: see stringSetType
	get("ip_local_reserved_ports", &reserved)
	m.ReservedPorts = reserved.toSet()
	get("extra_sysctls", &m.Extra)
	get("name", &m.Name)
	get("priority", &m.Priority)
	get("persist", &m.Persist)
	get("restore_on_destroy", &m.RestoreOnDestroy)
	get("kernel_release", &m.KernelRelease)
	get("persist_path", &m.PersistPath)
	get("original_values", &m.OriginalValues)
	get("timeouts", &m.Timeouts)
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
	a := map[string]attr.Value{
		"id": m.ID, "host": m.Host, "port": m.Port, "user": m.User, "host_key": m.HostKey,
		"behind_nat": m.BehindNAT, "service_ports": m.ServicePorts, "ip_local_port_range": m.PortRange,
		"ip_local_reserved_ports": newStringSet(m.ReservedPorts), "extra_sysctls": m.Extra, "name": m.Name, "priority": m.Priority,
		"persist": m.Persist, "restore_on_destroy": m.RestoreOnDestroy, "kernel_release": m.KernelRelease,
		"persist_path": m.PersistPath, "original_values": m.OriginalValues, "timeouts": m.Timeouts,
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
	set("id", m.ID)
	set("host", m.Host)
	set("port", m.Port)
	set("user", m.User)
	set("host_key", m.HostKey)
	set("behind_nat", m.BehindNAT)
	set("service_ports", m.ServicePorts)
	set("ip_local_port_range", m.PortRange)
	set("ip_local_reserved_ports", newStringSet(m.ReservedPorts))
	set("extra_sysctls", m.Extra)
	set("name", m.Name)
	set("priority", m.Priority)
	set("persist", m.Persist)
	set("restore_on_destroy", m.RestoreOnDestroy)
	set("kernel_release", m.KernelRelease)
	set("persist_path", m.PersistPath)
	set("original_values", m.OriginalValues)
	set("timeouts", m.Timeouts)
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
