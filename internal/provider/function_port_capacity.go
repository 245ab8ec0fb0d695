package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
)

var _ function.Function = (*portCapacityFunction)(nil)

// portCapacityFunction is provider::tcp::port_capacity: what an ephemeral
// port range allows towards one destination.
type portCapacityFunction struct{}

// NewPortCapacityFunction returns the port_capacity function.
func NewPortCapacityFunction() function.Function { return &portCapacityFunction{} }

// portCapacityRange is the range argument, shaped like tcp_tuning's
// ip_local_port_range.
type portCapacityRange struct {
	Min types.Int64 `tfsdk:"min"`
	Max types.Int64 `tfsdk:"max"`
}

var portCapacityResultTypes = map[string]attr.Type{
	"usable_ports":                        types.Int64Type,
	"max_connection_rate_per_destination": types.Float64Type,
	"reuse_ceiling_per_destination":       types.Float64Type,
	"reuse_delay_ms":                      types.Int64Type,
	"assumptions":                         types.StringType,
}

func (f *portCapacityFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "port_capacity"
}

func (f *portCapacityFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "Usable ephemeral ports and the sustainable connection rate per destination",
		MarkdownDescription: "Computes what an ephemeral port range (`ip_local_port_range`) minus its reserved ports " +
			"(`ip_local_reserved_ports`) allows towards **one destination** `ip:port`, with the same code " +
			"`tcp_tuning`'s rules and `tcp_stats` use. It returns an object:\n\n" +
			"- `usable_ports`: ports in the range that are not reserved, the most connections to one destination that can exist at once.\n" +
			"- `max_connection_rate_per_destination`: new short connections per second sustainable **without** TIME_WAIT reuse: " +
			"usable ports / 60 s, because TIME_WAIT lasts 60 s whatever the sysctls " +
			"(28,232 / 60 ≈ 470/s with the default range 32768-60999).\n" +
			"- `reuse_ceiling_per_destination`: the port-reuse ceiling **with** `tcp_tw_reuse` in effect, usable ports / " +
			"the reuse delay (`reuse_delay_ms`, 1000). This is a **theoretical ceiling**, not a rate to plan on: " +
			"reuse needs TCP timestamps on both ends, and connections must close faster than the delay.\n" +
			"- `reuse_delay_ms`: the reuse delay the ceiling assumes.\n" +
			"- `assumptions`: the assumptions of these figures, in a sentence to print beside them.\n\n" +
			"Assumptions: " + catalog.CapacityAssumptions + "\n\n" +
			"Ranges must be ports 1-65535 with `min <= max` (the host may require more: `min` at least " +
			"`net.ipv4.ip_unprivileged_port_start`, 1024 by default); reserved elements follow `ip_local_reserved_ports`'s " +
			"rules. Errors name the argument at fault.",
		Parameters: []function.Parameter{
			function.ObjectParameter{
				Name:                "range",
				AttributeTypes:      map[string]attr.Type{"min": types.Int64Type, "max": types.Int64Type},
				MarkdownDescription: "The ephemeral port range, `{ min = 10000, max = 65001 }`, as `tcp_tuning`'s `ip_local_port_range`.",
			},
			function.ListParameter{
				Name:                "reserved",
				ElementType:         types.StringType,
				MarkdownDescription: "Reserved ports and ranges, `[\"7005\", \"8001-8100\"]`, as `ip_local_reserved_ports` (a set works too); `[]` for none.",
			},
		},
		Return: function.ObjectReturn{AttributeTypes: portCapacityResultTypes},
	}
}

func (f *portCapacityFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var rng portCapacityRange
	var reserved []types.String
	resp.Error = req.Arguments.Get(ctx, &rng, &reserved)
	if resp.Error != nil {
		return
	}
	if rng.Min.IsNull() || rng.Max.IsNull() {
		resp.Error = function.NewArgumentFuncError(0, "range needs both min and max, such as { min = 10000, max = 65001 }")
		return
	}
	r := catalog.PortRange{Min: rng.Min.ValueInt64(), Max: rng.Max.ValueInt64()}
	if err := catalog.CheckPortRange(r); err != nil {
		resp.Error = function.NewArgumentFuncError(0, fmt.Sprintf("invalid port range {min = %d, max = %d}: %v", r.Min, r.Max, err))
		return
	}
	spans, ferr := portListArgument(1, reserved)
	if ferr != nil {
		resp.Error = ferr
		return
	}
	c := catalog.CapacityOf(r, spans)
	result, diags := types.ObjectValue(portCapacityResultTypes, map[string]attr.Value{
		"usable_ports":                        types.Int64Value(c.Usable),
		"max_connection_rate_per_destination": types.Float64Value(c.RatePerDestination),
		"reuse_ceiling_per_destination":       types.Float64Value(c.ReuseCeiling),
		"reuse_delay_ms":                      types.Int64Value(c.ReuseDelayMs),
		"assumptions":                         types.StringValue(catalog.CapacityAssumptions),
	})
	if diags.HasError() {
		resp.Error = function.FuncErrorFromDiags(ctx, diags)
		return
	}
	resp.Error = resp.Result.Set(ctx, result)
}
