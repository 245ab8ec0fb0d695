package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
	"github.com/tcptune/terraform-provider-tcp/internal/hostops"
	"github.com/tcptune/terraform-provider-tcp/internal/rules"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
	"github.com/tcptune/terraform-provider-tcp/internal/tuning"
)

var (
	_ resource.ResourceWithConfigure      = (*tuningResource)(nil)
	_ resource.ResourceWithValidateConfig = (*tuningResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*tuningResource)(nil)
	_ resource.ResourceWithImportState    = (*tuningResource)(nil)
)

const (
	defaultName     = "tcp-tuning"
	defaultPriority = 90
	defaultOpTime   = 5 * time.Minute
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// tuningResource is tcp_tuning: one host's TCP settings.
type tuningResource struct {
	data *providerData
}

// NewTuningResource returns the tcp_tuning resource.
func NewTuningResource() resource.Resource { return &tuningResource{} }

func (r *tuningResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tuning"
}

func (r *tuningResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	d, diags := providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	r.data = d
}

func (r *tuningResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{
			Computed:            true,
			MarkdownDescription: "`host:port/name`.",
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"host": schema.StringAttribute{
			Required:            true,
			MarkdownDescription: "Address or name of the host to tune, reached over SSH. Changing it replaces the resource.",
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			Validators:          []validator.String{stringvalidator.LengthAtLeast(1), hostValidator{}},
		},
		"port": schema.Int64Attribute{
			Optional:            true,
			MarkdownDescription: "SSH port of this host. Defaults to the provider's `port`. Changing it replaces the resource.",
			PlanModifiers:       []planmodifier.Int64{int64planmodifier.RequiresReplace()},
			Validators:          []validator.Int64{int64validator.Between(1, 65535)},
		},
		"user": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "SSH user for this host. Defaults to the provider's `user`.",
			Validators:          []validator.String{userValidator{}},
		},
		"host_key": schema.StringAttribute{
			Optional:            true,
			MarkdownDescription: "Pinned host key or `@cert-authority` CA key for this host. Overrides the provider's `host_key` and `known_hosts_file`.",
			Validators:          []validator.String{hostKeyValidator{}},
		},
		"behind_nat": schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(true),
			MarkdownDescription: "Whether clients may reach this host through NAT or a load balancer (LVS, cloud NAT). " +
				"Defaults to `true`, which rejects `tcp_tw_recycle = 1`: it drops SYNs from clients behind a shared address. " +
				"Only a validation input; nothing is written for it.",
		},
		"service_ports": schema.SetAttribute{
			Optional: true, ElementType: types.Int64Type,
			MarkdownDescription: "Ports your services listen on. A service port inside `ip_local_port_range` that is not in " +
				"`ip_local_reserved_ports` is an error: an outgoing connection could take it and the service would fail to start. " +
				"Only a validation input.",
		},
		"extra_sysctls": schema.MapAttribute{
			Optional: true, ElementType: types.StringType,
			MarkdownDescription: "Other `net.*` sysctls, full key to value (`\"net.core.netdev_budget_usecs\" = \"4000\"`). " +
				"Keys must not be one of the typed attributes. Values may contain only letters, digits, spaces and `,:._-`, 256 bytes at most.",
		},
		"name": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(defaultName),
			MarkdownDescription: "Name of this tuning on the host: the persisted file is `/etc/sysctl.d/<priority>-<name>.conf`, and the " +
				"host's own record of original values names each key's owner by it, so it must be unique per host across all Terraform states. " +
				"Defaults to `" + defaultName + "`. Changing it renames the tuning in place: the file moves and the record's entries follow, " +
				"in one all-or-nothing apply, with no moment where the original values are back.",
			Validators: []validator.String{stringvalidator.RegexMatches(nameRE, "must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64 characters")},
		},
		"priority": schema.Int64Attribute{
			Optional: true, Computed: true, Default: int64default.StaticInt64(defaultPriority),
			MarkdownDescription: "Two-digit prefix of the persisted file; files are applied at boot in basename order and a later file wins. " +
				"Defaults to `90`. Changing it moves the persisted file in place.",
			Validators: []validator.Int64{int64validator.Between(0, 99)},
		},
		"persist": schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(true),
			MarkdownDescription: "Write the settings to the persisted file so they survive a reboot. Defaults to `true`. " +
				"A missing or edited file shows as drift and is rewritten on the next apply.",
		},
		"restore_on_destroy": schema.BoolAttribute{
			Optional: true, Computed: true, Default: booldefault.StaticBool(true),
			MarkdownDescription: "On destroy, write back `original_values` before removing the file. Defaults to `true`. " +
				"Removing a setting from the configuration always restores that key.",
		},
		"kernel_release": schema.StringAttribute{
			Computed:            true,
			MarkdownDescription: "The host's kernel release (`uname -r`) at the last read.",
		},
		"persist_path": schema.StringAttribute{
			Computed:            true,
			MarkdownDescription: "Path of the persisted file on the host.",
		},
		"original_values": schema.MapAttribute{
			Computed: true, ElementType: types.StringType,
			MarkdownDescription: "Each managed key's value before this resource first changed it, in canonical form. Restored on destroy and when a setting is removed.",
		},
	}
	for _, s := range catalog.All() {
		if a, ok := settingAttribute(s); ok {
			attrs[s.Attribute] = a
		}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Declares one host's kernel TCP settings, applies them over SSH all-or-nothing, persists them in " +
			"`/etc/sysctl.d`, verifies them by reading them back, shows out-of-band drift in the next plan, and restores the " +
			"original values on destroy.\n\nOnly the settings you set are managed. Dangerous combinations (`tcp_tw_recycle` behind " +
			"NAT, service ports inside the ephemeral range, keys this kernel lacks) fail the plan before anything changes.",
		Attributes: attrs,
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
		},
	}
}

// settingAttribute builds a catalogue setting's schema attribute: its
// description and its validators' bounds come from the catalogue row, so the
// docs say what the validators check.
func settingAttribute(s catalog.Setting) (schema.Attribute, bool) {
	switch s.Kind {
	case catalog.KindInt:
		var v validator.Int64 = int64validator.Between(s.Min, s.Max)
		if len(s.OneOf) > 0 {
			v = int64validator.OneOf(s.OneOf...)
		}
		return schema.Int64Attribute{
			Optional:            true,
			MarkdownDescription: s.MarkdownDescription(),
			Validators:          []validator.Int64{v},
		}, true
	case catalog.KindPortRange:
		bound := func(desc string) schema.Int64Attribute {
			return schema.Int64Attribute{
				Required:            true,
				MarkdownDescription: fmt.Sprintf("%s, between `%d` and `%d`.", desc, s.Min, s.Max),
				Validators:          []validator.Int64{int64validator.Between(s.Min, s.Max)},
			}
		}
		return schema.SingleNestedAttribute{
			Optional:            true,
			MarkdownDescription: s.MarkdownDescription(),
			Attributes: map[string]schema.Attribute{
				"min": bound("Lowest ephemeral port"),
				"max": bound("Highest ephemeral port"),
			},
		}, true
	case catalog.KindPortList:
		// Elements are checked by the static rules, which name the
		// offending element and the catalogue's bounds.
		return schema.SetAttribute{
			Optional:            true,
			ElementType:         types.StringType,
			CustomType:          largeStringSetType, // n·log n checks for large lists
			MarkdownDescription: s.MarkdownDescription(),
		}, true
	}
	return nil, false
}

// ValidateConfig runs the static rules: no SSH.
func (r *tuningResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	resp.Diagnostics.Append(validateTimeouts(ctx, req.Config, "create", "read", "update", "delete")...) // validators.go
	m, diags := getTuning(ctx, req.Config)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() || !m.settingsKnown() {
		return
	}
	cfg := m.rulesConfig()
	for name, v := range cfg.Ints {
		// The schema's validators already reported out-of-range values.
		if s, ok := catalog.ByAttribute(name); ok && s.ValidateInt(v) != nil {
			delete(cfg.Ints, name)
		}
	}
	resp.Diagnostics.Append(findingDiags(rules.Static(cfg), "")...)
}

// ids returns the effective target and its user@host:port label.
func (r *tuningResource) ids(m tuningModel) (sshx.Target, string) {
	t := target(m.Host, m.Port, m.User, m.HostKey)
	if r.data != nil {
		t = r.data.resolve(t)
	}
	return t, t.Label()
}

// ModifyPlan completes the plan in named steps: the computed id and file
// path, the static rules a config with unknown values skipped, the
// computed values an update keeps, then the host-aware checks.
func (r *tuningResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	plan, diags := getTuning(ctx, req.Plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *tuningModel
	if !req.State.Raw.IsNull() {
		s, diags := getTuning(ctx, req.State)
		resp.Diagnostics.Append(diags...)
		state = &s
	}

	r.planIdentity(&plan)
	resp.Diagnostics.Append(staticRulesForUnknownConfig(ctx, req.Config, plan)...)
	unchanged := state != nil && req.Plan.Raw.Equal(req.State.Raw)
	planComputedValues(&plan, state, unchanged)
	resp.Diagnostics.Append(setTuning(ctx, &resp.Plan, plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.checkHostAtPlan(ctx, plan, state, unchanged, resp)
}

// planIdentity sets the computed id and persist_path once the attributes
// they derive from are known.
func (r *tuningResource) planIdentity(plan *tuningModel) {
	if plan.Host.IsUnknown() || plan.Name.IsUnknown() || plan.Priority.IsUnknown() || plan.Port.IsUnknown() || r.data == nil || r.data.unknown {
		return
	}
	t, _ := r.ids(*plan)
	plan.ID = types.StringValue(tuningID(t, plan.Name.ValueString()))
	plan.PersistPath = types.StringValue(persistPathFor(plan.Priority.ValueInt64(), plan.Name.ValueString()))
}

// staticRulesForUnknownConfig runs the static rules on the plan when the
// config had unknown values (so validation skipped them) and the plan has
// none.
func staticRulesForUnknownConfig(ctx context.Context, config tfsdk.Config, plan tuningModel) diag.Diagnostics {
	cfgModel, diags := getTuning(ctx, config)
	if !cfgModel.settingsKnown() && plan.settingsKnown() {
		diags.Append(findingDiags(rules.Static(plan.rulesConfig()), "")...)
	}
	return diags
}

// planComputedValues: an unchanged resource keeps its computed values. A
// change keeps the original values only when it cannot add or remove one,
// and leaves the kernel release to the apply (a saved plan may be applied
// after a reboot into another kernel).
func planComputedValues(plan, state *tuningModel, unchanged bool) {
	switch {
	case unchanged:
		plan.OriginalValues = state.OriginalValues
		plan.KernelRelease = state.KernelRelease
	case state != nil && plan.settingsKnown() && equalKeys(state.managedKeys(), plan.managedKeys()) && coversKeys(state.OriginalValues, plan.managedKeys()):
		plan.OriginalValues = state.OriginalValues
		plan.KernelRelease = types.StringUnknown()
	default:
		plan.OriginalValues = types.MapUnknown(types.StringType)
		plan.KernelRelease = types.StringUnknown()
	}
}

// renamedFrom is the previous name when the plan renames the resource: a
// rename moves its file and record entries in place, so the keys of its
// previous name are its own.
func renamedFrom(plan tuningModel, state *tuningModel) string {
	if state != nil && !state.Name.Equal(plan.Name) {
		return state.Name.ValueString()
	}
	return ""
}

// checkHostAtPlan runs the host-aware rules on facts read from the host
// (reusing the refresh's read when this process just made it), and claims
// the plan's keys against the configuration's other resources.
func (r *tuningResource) checkHostAtPlan(ctx context.Context, plan tuningModel, state *tuningModel, unchanged bool, resp *resource.ModifyPlanResponse) {
	if !plan.settingsKnown() || plan.Host.IsUnknown() || plan.PersistPath.IsUnknown() || r.data == nil || r.data.unknown || r.data.pool == nil {
		return
	}
	if unchanged {
		// Nothing changes on the host; the refresh already reported drift.
		// Its read is not needed again: dropping it keeps a fleet plan's
		// memory flat.
		t, _ := r.ids(plan)
		r.data.drop(t, plan.PersistPath.ValueString())
		return
	}
	t, label := r.ids(plan)
	r.claimKeys(t, label, plan, &resp.Diagnostics)
	res, ok := r.factsAtPlan(ctx, t, label, plan, state, &resp.Diagnostics)
	if !ok {
		return
	}
	replaces := renamedFrom(plan, state)
	if state == nil && res.File != nil && !ownFile(res.File, plan.Name.ValueString(), replaces) {
		d := fileInTheWayDiag(label, res.File)
		resp.Diagnostics.AddAttributeWarning(path.Root("name"), d.Summary(), d.Detail())
	}
	f := hostFacts(res, plan)
	f.Replaces = replaces
	resp.Diagnostics.Append(findingDiags(rules.Host(plan.rulesConfig(), f), label)...)
}

// claimKeys: two resources of this configuration managing one key on one
// host are an error.
func (r *tuningResource) claimKeys(t sshx.Target, label string, plan tuningModel, diags *diag.Diagnostics) {
	for _, k := range plan.managedKeys() {
		if other := r.data.claim(t, k, plan.Name.ValueString()); other != "" {
			diags.Append(keyClaimedDiag(label, k, other, keyPath(k)))
		}
	}
}

// factsAtPlan is the host's read for the plan: the refresh's when this
// process just made it, else a new one. An unreachable host is a warning
// (false), so one host does not stop a fleet's plan.
func (r *tuningResource) factsAtPlan(ctx context.Context, t sshx.Target, label string, plan tuningModel, state *tuningModel, diags *diag.Diagnostics) (*hostops.ReadResult, bool) {
	keys := readKeys(plan.managedKeys(), stateKeys(state))
	if res := r.data.recall(t, plan.PersistPath.ValueString(), keys); res != nil {
		return res, true
	}
	ctx, cancel := context.WithTimeout(ctx, r.readTimeout(ctx, plan))
	defer cancel()
	res, err := hostops.Read(ctx, r.data.pool, t, hostops.ReadRequest{Keys: keys, PersistPath: plan.PersistPath.ValueString(), Facts: true})
	if err != nil {
		// The apply of this host fails on its own (it reads again).
		d := hostErrorDiag("Check TCP Tuning at Plan", label, err)
		diags.AddWarning(d.Summary(), d.Detail()+"\n\nThe host-aware checks run again when this host is applied.")
		return nil, false
	}
	r.data.remember(t, plan.PersistPath.ValueString(), keys, res)
	return res, true
}

// ownFile reports whether a persisted file found where a new resource
// would write is its own: written under its name (an interrupted earlier
// run) or by the resource it replaces.
func ownFile(f *hostops.SysctlFile, name, replaces string) bool {
	return f.Managed && (f.Name == name || (replaces != "" && f.Name == replaces))
}

// Keys every host read includes, because host-aware rules need them.
var (
	keyPortRange  = catalog.KeyOf("ip_local_port_range")
	keyReserved   = catalog.KeyOf("ip_local_reserved_ports")
	keyTimestamps = catalog.KeyOf("tcp_timestamps")
)

// readKeys is what a host read asks for: the managed keys plus the facts.
func readKeys(managed ...[]string) []string {
	all := [][]string{{keyPortRange, keyReserved, keyTimestamps}}
	return unionKeys(append(all, managed...)...)
}

// coversKeys reports whether a known original_values map has every key.
func coversKeys(m types.Map, keys []string) bool {
	if m.IsNull() || m.IsUnknown() {
		return false
	}
	el := m.Elements()
	for _, k := range keys {
		if _, ok := el[k]; !ok {
			return false
		}
	}
	return true
}

// keyPath is the attribute that manages a sysctl key.
func keyPath(key string) path.Path {
	if s, ok := catalog.ByKey(key); ok {
		return path.Root(s.Attribute)
	}
	return path.Root("extra_sysctls").AtMapKey(key)
}

func equalKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func stateKeys(s *tuningModel) []string {
	if s == nil {
		return nil
	}
	return s.managedKeys()
}

func unionKeys(lists ...[]string) []string {
	m := map[string]bool{}
	for _, l := range lists {
		for _, k := range l {
			m[k] = true
		}
	}
	return slices.Sorted(maps.Keys(m))
}

// hostFacts converts a host read into the rules' facts.
func hostFacts(res *hostops.ReadResult, m tuningModel) rules.HostFacts {
	f := rules.HostFacts{
		KernelRelease:         res.KernelRelease,
		Keys:                  map[string]rules.KeyFact{},
		UnprivilegedPortStart: res.UnprivilegedPortStart,
		ListeningPorts:        res.ListeningPorts,
		CurrentPortRange:      res.Keys[keyPortRange].Value,
		CurrentReserved:       res.Keys[keyReserved].Value,
		OwnName:               m.Name.ValueString(),
	}
	if m.Persist.ValueBool() {
		f.OwnPath = m.PersistPath.ValueString()
	}
	for k, v := range res.Keys {
		f.Keys[k] = rules.KeyFact{Exists: v.Exists, Writable: v.Writable, Value: v.Value}
	}
	for _, sf := range res.SysctlFiles {
		f.SysctlFiles = append(f.SysctlFiles, rules.SysctlFile{Path: sf.Path, Values: sf.Values, Managed: sf.Managed, Name: sf.Name})
	}
	f.UID, f.ProcReadOnly = res.UID, res.ProcReadOnly
	f.Owners = map[string]string{}
	for _, e := range res.Record {
		f.Owners[e.Key] = e.Owner
	}
	return f
}

func (r *tuningResource) readTimeout(ctx context.Context, m tuningModel) time.Duration {
	d, _ := m.Timeouts.Read(ctx, defaultOpTime)
	return d
}

// applyFactsTTL is how recent the plan's read of a host must be for the
// apply's preflight to reuse it: the final plan that Terraform makes just
// before an apply reads the host in the same provider process, and reusing
// that read saves a round trip.
const applyFactsTTL = 30 * time.Second

// preflight reads the host (or reuses the plan's read, see applyFactsTTL)
// and runs the host-aware rules again at apply.
func (r *tuningResource) preflight(ctx context.Context, m tuningModel, replaces string, keys []string, label string, t sshx.Target, op string) (*hostops.ReadResult, diag.Diagnostics) {
	var diags diag.Diagnostics
	res := r.data.recallWithin(t, m.PersistPath.ValueString(), keys, applyFactsTTL)
	if res == nil {
		var err error
		res, err = hostops.Read(ctx, r.data.pool, t, hostops.ReadRequest{Keys: keys, PersistPath: m.PersistPath.ValueString(), Facts: true})
		if err != nil {
			diags.Append(hostErrorDiag(op, label, err))
			return nil, diags
		}
	}
	f := hostFacts(res, m)
	f.Replaces = replaces
	diags.Append(findingDiags(rules.Host(m.rulesConfig(), f), label)...)
	return res, diags
}

func (r *tuningResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	plan, diags := getTuning(ctx, req.Plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	d, diags := plan.Timeouts.Create(ctx, defaultOpTime)
	resp.Diagnostics.Append(diags...)
	r.apply(ctx, plan, nil, d, "Apply TCP Tuning", &resp.State, &resp.Diagnostics)
}

func (r *tuningResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	plan, diags := getTuning(ctx, req.Plan)
	resp.Diagnostics.Append(diags...)
	state, diags := getTuning(ctx, req.State)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	d, diags := plan.Timeouts.Update(ctx, defaultOpTime)
	resp.Diagnostics.Append(diags...)
	r.apply(ctx, plan, &state, d, "Update TCP Tuning", &resp.State, &resp.Diagnostics)
}

// apply brings the host to plan: one read (facts and current values, for
// the host-aware rules and original values), then one all-or-nothing apply
// under the host lock. prior is the state before an update, nil on create.
// The decisions (originals, given-back keys, what to keep when the outcome
// is unknown) are internal/tuning's; this translates.
func (r *tuningResource) apply(ctx context.Context, plan tuningModel, prior *tuningModel, timeout time.Duration, op string, out *tfsdk.State, diags *diag.Diagnostics) {
	diags.Append(r.data.ready()...)
	if diags.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	t, label := r.ids(plan)
	// One operation at a time per host in this process, so two resources
	// of one apply see each other's files (the host lock holds across
	// processes).
	defer r.data.lockHost(t)()
	plan.ID = types.StringValue(tuningID(t, plan.Name.ValueString()))
	plan.PersistPath = types.StringValue(persistPathFor(plan.Priority.ValueInt64(), plan.Name.ValueString()))
	spec, err := specOf(plan)
	if err != nil {
		diags.AddError("Invalid TCP Tuning", err.Error())
		return
	}
	var pr *tuning.Prior
	if prior != nil {
		pr = priorOf(*prior)
		if pr.Name != spec.Name {
			spec.Replaces = pr.Name // a rename, in place
		}
	}
	keys := readKeys(slices.Sorted(maps.Keys(spec.Desired)))
	if pr != nil {
		keys = readKeys(slices.Sorted(maps.Keys(spec.Desired)), slices.Sorted(maps.Keys(pr.Desired)))
	}
	res, pdiags := r.preflight(ctx, plan, spec.Replaces, keys, label, t, op)
	diags.Append(pdiags...)
	if diags.HasError() {
		return
	}
	if prior == nil && res.File != nil && !ownFile(res.File, spec.Name, spec.Replaces) {
		diags.Append(fileInTheWayDiag(label, res.File))
		return
	}
	if prior == nil {
		if rec := tuning.OwnedBy(res, spec.Name); len(rec) > 0 {
			diags.AddWarning("Recovered an Interrupted Run",
				"The host's own record already held original values for this resource's name, left by an earlier run that "+
					"was interrupted after the host changed (or by this tuning's previous state). They are kept as the original values, "+
					"so destroy restores the values from before the first apply."+facts("Host", label, "Record", hostops.RecordPath, "Keys", recordKeys(rec)))
		}
	}
	applied, err := tuning.Apply(ctx, r.data.pool, t, spec, pr, res)
	r.data.forget(t, plan.PersistPath.ValueString())
	if err != nil {
		var f *tuning.Failure
		cause := err
		if errors.As(err, &f) {
			cause = f.Err
		}
		diags.Append(hostErrorDiag(op, label, cause))
		if f != nil && f.Keep != nil {
			// The host may hold the new values: record what it may hold,
			// with every original known, so nothing is lost. The next
			// refresh reads the host's real values and shows what is
			// left to do (a new resource is also tainted).
			st := plan
			st.Ints = maps.Clone(plan.Ints)
			for k, v := range f.Keep.Desired {
				if _, planned := spec.Desired[k]; !planned {
					st.setKeyValue(k, v)
				}
			}
			st.OriginalValues = stringMapValue(f.Keep.Originals)
			st.KernelRelease = types.StringValue(res.KernelRelease)
			diags.Append(setTuning(ctx, out, st)...)
		}
		return
	}
	if applied.RecordKept != "" {
		diags.AddWarning("Host Record Not Shrunk",
			"The settings were applied, but the host's record of original values could not be rewritten at the end; it still lists "+
				"keys that were given back. This is harmless: the next apply or destroy of this resource tidies it."+
				facts("Host", label, "Record", hostops.RecordPath, "Error", applied.RecordKept))
	}
	plan.KernelRelease = types.StringValue(res.KernelRelease)
	plan.OriginalValues = stringMapValue(applied.Originals)
	if prior == nil {
		r.data.markCreated(t, spec.Name, spec.PersistPath)
	}
	tflog.Debug(ctx, "tcp_tuning applied", map[string]any{"host": label, "written": applied.Wrote, "released": applied.Released})
	diags.Append(setTuning(ctx, out, plan)...)
}

// specOf translates a model into what the host should hold.
func specOf(m tuningModel) (tuning.Spec, error) {
	desired, err := m.desired()
	return tuning.Spec{
		Name:        m.Name.ValueString(),
		PersistPath: persistPathFor(m.Priority.ValueInt64(), m.Name.ValueString()),
		Persist:     m.Persist.ValueBool(),
		Desired:     desired,
	}, err
}

// priorOf translates the state before an update.
func priorOf(m tuningModel) *tuning.Prior {
	spec, _ := specOf(m)
	if !m.PersistPath.IsNull() && m.PersistPath.ValueString() != "" {
		spec.PersistPath = m.PersistPath.ValueString()
	}
	return &tuning.Prior{Spec: spec, Originals: mapStrings(m.OriginalValues)}
}

func recordKeys(es []hostops.RecordEntry) string {
	var ks []string
	for _, e := range es {
		ks = append(ks, e.Key)
	}
	return strings.Join(ks, ", ")
}

// begin checks that hosts can be reached, decodes the model and bounds the
// operation by the timeouts block entry that timeout selects.
func (r *tuningResource) begin(ctx context.Context, g attrGetter, timeout func(timeouts.Value, context.Context, time.Duration) (time.Duration, diag.Diagnostics), diags *diag.Diagnostics) (tuningModel, context.Context, context.CancelFunc, bool) {
	diags.Append(r.data.ready()...)
	m, d := getTuning(ctx, g)
	diags.Append(d...)
	if diags.HasError() {
		return m, ctx, func() {}, false
	}
	dur, d := timeout(m.Timeouts, ctx, defaultOpTime)
	diags.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, dur)
	return m, ctx, cancel, !diags.HasError()
}

// unreachable reports a transport failure before anything ran on the host.
func unreachable(err error) bool {
	switch sshx.KindOf(err) {
	case sshx.KindConnect, sshx.KindTimeout, sshx.KindHostKeyMismatch, sshx.KindUnknownHost, sshx.KindAuthFailed:
		return true
	}
	return false
}

func (r *tuningResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	if r.data != nil && r.data.unknown {
		// The provider block waits for values of this same run: keep the
		// state as it is; the apply reads the host.
		resp.Diagnostics.AddWarning("Host Not Read",
			"The tcp provider's configuration depends on values not known yet, so this host was not refreshed; "+
				"the plan uses the last known state.")
		return
	}
	state, ctx, cancel, ok := r.begin(ctx, req.State, timeouts.Value.Read, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}

	importing := state.PersistPath.IsNull() || state.PersistPath.ValueString() == ""
	if importing {
		resp.Diagnostics.Append(r.readImport(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		resp.Diagnostics.Append(setTuning(ctx, &resp.State, state)...)
		return
	}

	t, label := r.ids(state)
	keys := readKeys(state.managedKeys())
	res, err := hostops.Read(ctx, r.data.pool, t, hostops.ReadRequest{Keys: keys, PersistPath: state.PersistPath.ValueString(), Facts: true})
	if err != nil {
		d := hostErrorDiag("Read TCP Tuning", label, err)
		if unreachable(err) {
			// Keep the last known state so the rest of the fleet can be
			// planned and applied; this host's changes fail at apply.
			resp.Diagnostics.AddWarning(d.Summary(), d.Detail()+"\n\nThe resource keeps its last known state until the host can be read.")
			return
		}
		resp.Diagnostics.Append(d)
		return
	}
	r.data.remember(t, state.PersistPath.ValueString(), keys, res)
	state.KernelRelease = types.StringValue(res.KernelRelease)

	desired, _ := state.desired()
	var fileVals map[string]string
	if res.File != nil {
		fileVals = res.File.Values
	}
	for _, k := range slices.Sorted(maps.Keys(desired)) {
		want := desired[k]
		live, ok := tuning.LiveCanonical(res, k)
		if !ok {
			resp.Diagnostics.AddWarning("Managed Key Missing on Host",
				"The host's kernel no longer has a key this resource manages (was the kernel changed?). The next apply will fail on it; remove the setting or check the host."+
					facts("Host", label, "Key", k, "Kernel", res.KernelRelease))
			continue
		}
		if live != want {
			state.setKeyValue(k, live)
			continue
		}
		if state.Persist.ValueBool() && res.File != nil {
			fv, present := fileVals[k]
			if !present {
				state.clearKey(k)
				continue
			}
			if c, err := catalog.CanonicalForKey(k, fv); err == nil && c != want {
				state.setKeyValue(k, c)
			}
		}
	}
	if state.Persist.ValueBool() && res.File == nil {
		// The persisted file is gone: show it as drift of persist.
		state.Persist = types.BoolValue(false)
	}
	resp.Diagnostics.Append(r.recoverFromRecord(&state, res, label)...)
	resp.Diagnostics.Append(setTuning(ctx, &resp.State, state)...)
}

// recoverFromRecord brings state in line with the host's own record: the
// host's originals win over the ones in state, and keys the record gives
// this resource that state does not manage (an apply interrupted after the
// host changed) join state with their live value, so the next plan shows
// them going back to their originals.
func (r *tuningResource) recoverFromRecord(state *tuningModel, res *hostops.ReadResult, label string) diag.Diagnostics {
	var diags diag.Diagnostics
	mine := tuning.OwnedBy(res, state.Name.ValueString())
	if len(mine) == 0 {
		return diags
	}
	orig := mapStrings(state.OriginalValues)
	if orig == nil {
		orig = map[string]string{}
	}
	managed := map[string]bool{}
	for _, k := range state.managedKeys() {
		managed[k] = true
	}
	var recovered []hostops.RecordEntry
	for _, e := range mine {
		c, err := catalog.CanonicalForKey(e.Key, e.Value)
		if err != nil {
			continue
		}
		orig[e.Key] = c
		if managed[e.Key] {
			continue
		}
		live, ok := tuning.LiveCanonical(res, e.Key)
		if ok && state.setKeyValue(e.Key, live) {
			recovered = append(recovered, e)
		} else {
			delete(orig, e.Key)
		}
	}
	state.OriginalValues = stringMapValue(orig)
	if len(recovered) > 0 {
		diags.AddWarning("Recovered Keys From the Host Record",
			"The host's own record says this resource changed keys that its state does not know, left by a run that was interrupted "+
				"after the host changed. They are back in state with their live values and their recorded originals; the plan shows what "+
				"the configuration wants for them (a key no longer configured goes back to its original)."+
				facts("Host", label, "Record", hostops.RecordPath, "Keys", recordKeys(recovered)))
	}
	return diags
}

// readImport rebuilds an imported resource from its persisted file.
func (r *tuningResource) readImport(ctx context.Context, state *tuningModel) diag.Diagnostics {
	var diags diag.Diagnostics
	t, label := r.ids(*state)
	name := state.Name.ValueString()
	var keys []string
	for _, s := range catalog.All() {
		keys = append(keys, s.Key)
	}
	res, err := hostops.Read(ctx, r.data.pool, t, hostops.ReadRequest{Keys: keys, PersistPath: persistPathFor(defaultPriority, name), Facts: true})
	if err != nil {
		diags.Append(hostErrorDiag("Import TCP Tuning", label, err))
		return diags
	}
	var file *hostops.SysctlFile
	for i, f := range res.SysctlFiles {
		if f.Managed && filepath.Dir(f.Path) == "/etc/sysctl.d" && f.Name == name {
			file = &res.SysctlFiles[i]
			break
		}
	}
	if file == nil {
		if rec := tuning.OwnedBy(res, name); len(rec) > 0 {
			// persist = false leaves no file: the host's record knows.
			importBase(ctx, state, t, res, persistPathFor(defaultPriority, name), false)
			for _, e := range rec {
				if live, ok := tuning.LiveCanonical(res, e.Key); !ok || !state.setKeyValue(e.Key, live) {
					diags.AddWarning("Setting Not Imported", "A key of the host's record could not be read as a setting and was left out."+facts("Host", label, "Key", e.Key))
				}
			}
			r.recoverFromRecord(state, res, label)
			return diags
		}
		diags.AddError("Cannot Import TCP Tuning",
			"No file managed by this provider with this name was found in /etc/sysctl.d on the host, and the host's record of original "+
				"values has no key for this name, so there is nothing to import. "+
				"Check the name in the import ID (user@host:port/name) or create the resource instead."+facts("Host", label, "Name", name))
		return diags
	}
	base := filepath.Base(file.Path)
	prio, err := strconv.ParseInt(strings.SplitN(base, "-", 2)[0], 10, 64)
	if err != nil {
		prio = defaultPriority
	}
	state.Priority = types.Int64Value(prio)
	importBase(ctx, state, t, res, file.Path, true)
	full := res.File
	if full == nil || full.Path != file.Path {
		// Another priority than the default: read that file in full.
		again, err := hostops.Read(ctx, r.data.pool, t, hostops.ReadRequest{PersistPath: file.Path})
		if err != nil {
			diags.Append(hostErrorDiag("Import TCP Tuning", label, err))
			return diags
		}
		full = again.File
	}
	if full == nil {
		diags.AddError("Cannot Import TCP Tuning", "The persisted file disappeared while it was being read."+facts("Host", label, "File", file.Path))
		return diags
	}
	for _, k := range slices.Sorted(maps.Keys(full.Values)) {
		c, err := catalog.CanonicalForKey(k, full.Values[k])
		if err != nil || !state.setKeyValue(k, c) {
			diags.AddWarning("Setting Not Imported", "A line of the persisted file could not be read as a setting and was left out."+facts("Host", label, "Key", k, "Value", full.Values[k]))
		}
	}
	state.OriginalValues = stringMapValue(hostops.ParseOriginals(full.Content))
	// The host's record wins over the file's comments.
	r.recoverFromRecord(state, res, label)
	return diags
}

// importBase sets what every import starts from: the identity and the
// defaults, every setting unset.
func importBase(ctx context.Context, state *tuningModel, t sshx.Target, res *hostops.ReadResult, persistPath string, persist bool) {
	name := state.Name.ValueString()
	if state.Priority.IsNull() || state.Priority.IsUnknown() {
		state.Priority = types.Int64Value(defaultPriority)
	}
	state.PersistPath = types.StringValue(persistPath)
	state.ID = types.StringValue(tuningID(t, name))
	state.KernelRelease = types.StringValue(res.KernelRelease)
	state.Persist = types.BoolValue(persist)
	state.RestoreOnDestroy = types.BoolValue(true)
	state.BehindNAT = types.BoolValue(true)
	state.Extra = types.MapNull(types.StringType)
	state.PortRange = types.ObjectNull(portRangeAttrTypes)
	state.ReservedPorts = types.SetNull(types.StringType)
	state.ServicePorts = types.SetNull(types.Int64Type)
	state.Timeouts = timeouts.Value{Object: types.ObjectNull(state.Timeouts.AttributeTypes(ctx))}
	for _, s := range catalog.All() {
		if s.Kind == catalog.KindInt {
			state.Ints[s.Attribute] = types.Int64Null()
		}
	}
}

func (r *tuningResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	state, ctx, cancel, ok := r.begin(ctx, req.State, timeouts.Value.Delete, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}

	t, label := r.ids(state)
	defer r.data.lockHost(t)()
	// Only a file this provider wrote (it carries the marker) is removed;
	// every key the host's record gives this resource goes back, state's
	// originals serving where the record lacks one.
	spec := priorOf(state).Spec
	var dres *hostops.DeleteResult
	var err error
	if newPath, ok := r.data.supersededBy(t, spec.Name); ok {
		// A newer object of this name was created on this host in this
		// run (create_before_destroy): it holds the keys and their
		// originals now; only a file at another path is ours to remove.
		dres, err = tuning.DeleteSuperseded(ctx, r.data.pool, t, spec, newPath)
	} else {
		dres, err = tuning.Delete(ctx, r.data.pool, t, spec, mapStrings(state.OriginalValues), state.RestoreOnDestroy.ValueBool())
	}
	r.data.forget(t, state.PersistPath.ValueString())
	if err != nil {
		resp.Diagnostics.Append(hostErrorDiag("Delete TCP Tuning", label, err))
		return
	}
	for k, owner := range dres.Other {
		resp.Diagnostics.AddWarning("Key Left to Its New Owner",
			"This resource's key is now managed by another tcp_tuning resource (for example the one that replaced it with "+
				"create_before_destroy), so it was not restored."+facts("Host", label, "Key", k, "Owner", owner))
	}
	if dres.RecordKept != "" {
		resp.Diagnostics.AddWarning("Host Record Not Shrunk",
			"The values were restored and the file removed, but the host's record could not be rewritten; its entries for this "+
				"resource stay until a resource of this name is applied or destroyed again."+
				facts("Host", label, "Record", hostops.RecordPath, "Error", dres.RecordKept))
	}
}

var importRE = regexp.MustCompile(`^(?:([^@/]+)@)?(\[[^\]]+\]|[^:/@]+)(?::(\d+))?/(.+)$`)

// tuningID is a tuning's id, host:port/name (Addr: an IPv6 host in
// brackets), which ImportState reads back.
func tuningID(t sshx.Target, name string) string { return t.Addr() + "/" + name }

// ImportState accepts user@host:port/name (user and port optional).
func (r *tuningResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	mm := importRE.FindStringSubmatch(req.ID)
	if mm == nil || !nameRE.MatchString(mm[4]) {
		resp.Diagnostics.AddError("Invalid Import ID",
			"Expected user@host:port/name, where user and port are optional, for example root@web1:22/tcp-tuning or web1/tcp-tuning."+facts("ID", req.ID))
		return
	}
	host := strings.TrimSuffix(strings.TrimPrefix(mm[2], "["), "]")
	set := func(name string, v attr.Value) {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(name), v)...)
	}
	set("host", types.StringValue(host))
	// user and port are recorded as given: write them in the ID exactly
	// when the configuration sets them, and the plan after import is empty.
	if mm[1] != "" {
		set("user", types.StringValue(mm[1]))
	}
	if mm[3] != "" {
		p, err := strconv.ParseInt(mm[3], 10, 64)
		if err != nil || p < 1 || p > 65535 {
			resp.Diagnostics.AddError("Invalid Import ID", "The port must be between 1 and 65535."+facts("ID", req.ID))
			return
		}
		set("port", types.Int64Value(p))
	}
	set("name", types.StringValue(mm[4]))
	set("id", types.StringValue(req.ID))
}

// hostKeyValidator checks a pinned host key at validate time.
type hostKeyValidator struct{}

func (hostKeyValidator) Description(context.Context) string {
	return "value must be an SSH public key in authorized_keys format, optionally prefixed with @cert-authority"
}
func (v hostKeyValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (hostKeyValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := sshx.ValidateHostKey(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Host Key",
			"Expected a public key such as \"ssh-ed25519 AAAA...\" or \"@cert-authority ssh-ed25519 AAAA...\"."+facts("Error", err.Error()))
	}
}
