package provider

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// NewProtocol6 serves p over protocol 6. It wraps the framework's server for
// one gap: the framework hands the planned private state to Update and
// Delete, but not to Create, and a create that replaces a resource under
// create_before_destroy must know which resource it replaces (ModifyPlan
// records it there). ApplyResourceChange puts the planned private state in
// the context, where plannedPrivate reads it.
func NewProtocol6(p provider.Provider) func() (tfprotov6.ProviderServer, error) {
	inner := providerserver.NewProtocol6WithError(p)
	return func() (tfprotov6.ProviderServer, error) {
		s, err := inner()
		if err != nil {
			return nil, err
		}
		return plannedPrivateServer{s}, nil
	}
}

type plannedPrivateServer struct {
	tfprotov6.ProviderServer
}

type plannedPrivateKey struct{}

func (s plannedPrivateServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	if req != nil && len(req.PlannedPrivate) > 0 {
		ctx = context.WithValue(ctx, plannedPrivateKey{}, req.PlannedPrivate)
	}
	return s.ProviderServer.ApplyResourceChange(ctx, req)
}

// plannedPrivate returns the provider's key of the planned private state of
// the resource being applied, as ModifyPlan set it (nil when absent). The
// framework stores provider keys as a JSON object of base64 values.
func plannedPrivate(ctx context.Context, key string) []byte {
	raw, _ := ctx.Value(plannedPrivateKey{}).([]byte)
	if len(raw) == 0 {
		return nil
	}
	var m map[string][]byte
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m[key]
}
