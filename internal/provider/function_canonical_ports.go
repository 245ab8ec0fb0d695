package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
)

var _ function.Function = (*canonicalPortsFunction)(nil)

// canonicalPortsFunction is provider::tcp::canonical_ports: a port list in
// the kernel's canonical form, as tcp_tuning stores ip_local_reserved_ports.
type canonicalPortsFunction struct{}

// NewCanonicalPortsFunction returns the canonical_ports function.
func NewCanonicalPortsFunction() function.Function { return &canonicalPortsFunction{} }

func (f *canonicalPortsFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "canonical_ports"
}

func (f *canonicalPortsFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "A port list in the kernel's canonical form",
		MarkdownDescription: "Returns a list of ports and port ranges (`\"p\"` or `\"a-b\"`) the way the kernel stores " +
			"`net.ipv4.ip_local_reserved_ports` and `tcp_tuning` records it: sorted, with adjacent and overlapping " +
			"entries merged (`[\"8003\", \"8001-8002\", \"7005\"]` becomes `[\"7005\", \"8001-8003\"]`). " +
			"Use it to compare a list with the resource's `ip_local_reserved_ports` or a host's value, or to build " +
			"one list from several sources. Elements follow the resource's rules: decimal ports 1-65535, `a <= b`, " +
			"no spaces; an invalid element is an error that names it.",
		Parameters: []function.Parameter{
			function.ListParameter{
				Name:                "ports",
				ElementType:         types.StringType,
				MarkdownDescription: "Ports and port ranges, such as `[\"7005\", \"8001-8100\"]`. A set works too.",
			},
		},
		Return: function.ListReturn{ElementType: types.StringType},
	}
}

func (f *canonicalPortsFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var items []types.String
	resp.Error = req.Arguments.Get(ctx, &items)
	if resp.Error != nil {
		return
	}
	spans, ferr := portListArgument(0, items)
	if ferr != nil {
		resp.Error = ferr
		return
	}
	out := catalog.PortListElements(catalog.FormatPortList(spans))
	resp.Error = resp.Result.Set(ctx, out)
}

// portListArgument parses a list argument of port elements (null elements
// are errors) with the catalogue's parser; the error names the argument.
func portListArgument(position int64, items []types.String) ([]catalog.PortSpan, *function.FuncError) {
	elems := make([]string, 0, len(items))
	for i, it := range items {
		if it.IsNull() {
			return nil, function.NewArgumentFuncError(position, fmt.Sprintf("element %d is null; use a port like \"7005\" or a range like \"8001-8100\"", i))
		}
		elems = append(elems, it.ValueString())
	}
	spans, err := catalog.ParsePortList(elems)
	if err != nil {
		return nil, function.NewArgumentFuncError(position, err.Error()) // one line per invalid element
	}
	return spans, nil
}
