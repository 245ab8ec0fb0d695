package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/tcptune/terraform-provider-tcp/internal/rpcctx"
)

// ProtocolServer returns the provider's protocol-6 server: the framework's,
// with every unary RPC (provider, resources, data sources, functions,
// ephemeral resources) run in an rpcctx scope, so the framework's record of each RPC's context no longer
// keeps that request alive until the process ends (see package rpcctx).
// main serves it; the acceptance tests use it, so they run the same server.
func ProtocolServer(version string) func() tfprotov6.ProviderServer {
	return func() tfprotov6.ProviderServer { return scoped(New(version)()) }
}

// scoped serves p with its unary RPCs scoped.
func scoped(p provider.Provider) tfprotov6.ProviderServer {
	return scopedServer{providerserver.NewProtocol6(p)()}
}

// scopedServer runs the framework's unary RPCs in a scope released when
// each returns. It serves tfprotov6.ProviderServer only: the optional
// interfaces (list resources, actions, state stores, some of them streaming)
// are not exposed, and this provider has none of them.
type scopedServer struct {
	tfprotov6.ProviderServer
}

// scope calls f with ctx in a scope, released when f returns.
func scope[Req, Resp any](ctx context.Context, req Req, f func(context.Context, Req) (Resp, error)) (Resp, error) {
	ctx, release := rpcctx.Scope(ctx)
	defer release()
	return f(ctx, req)
}

func (s scopedServer) GetMetadata(ctx context.Context, req *tfprotov6.GetMetadataRequest) (*tfprotov6.GetMetadataResponse, error) {
	return scope(ctx, req, s.ProviderServer.GetMetadata)
}

func (s scopedServer) GetProviderSchema(ctx context.Context, req *tfprotov6.GetProviderSchemaRequest) (*tfprotov6.GetProviderSchemaResponse, error) {
	return scope(ctx, req, s.ProviderServer.GetProviderSchema)
}

func (s scopedServer) GetResourceIdentitySchemas(ctx context.Context, req *tfprotov6.GetResourceIdentitySchemasRequest) (*tfprotov6.GetResourceIdentitySchemasResponse, error) {
	return scope(ctx, req, s.ProviderServer.GetResourceIdentitySchemas)
}

func (s scopedServer) ValidateProviderConfig(ctx context.Context, req *tfprotov6.ValidateProviderConfigRequest) (*tfprotov6.ValidateProviderConfigResponse, error) {
	return scope(ctx, req, s.ProviderServer.ValidateProviderConfig)
}

func (s scopedServer) ConfigureProvider(ctx context.Context, req *tfprotov6.ConfigureProviderRequest) (*tfprotov6.ConfigureProviderResponse, error) {
	return scope(ctx, req, s.ProviderServer.ConfigureProvider)
}

func (s scopedServer) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return scope(ctx, req, s.ProviderServer.ValidateResourceConfig)
}

func (s scopedServer) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return scope(ctx, req, s.ProviderServer.UpgradeResourceState)
}

func (s scopedServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return scope(ctx, req, s.ProviderServer.ReadResource)
}

func (s scopedServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return scope(ctx, req, s.ProviderServer.PlanResourceChange)
}

func (s scopedServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return scope(ctx, req, s.ProviderServer.ApplyResourceChange)
}

func (s scopedServer) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return scope(ctx, req, s.ProviderServer.ImportResourceState)
}

func (s scopedServer) MoveResourceState(ctx context.Context, req *tfprotov6.MoveResourceStateRequest) (*tfprotov6.MoveResourceStateResponse, error) {
	return scope(ctx, req, s.ProviderServer.MoveResourceState)
}

func (s scopedServer) UpgradeResourceIdentity(ctx context.Context, req *tfprotov6.UpgradeResourceIdentityRequest) (*tfprotov6.UpgradeResourceIdentityResponse, error) {
	return scope(ctx, req, s.ProviderServer.UpgradeResourceIdentity)
}

func (s scopedServer) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	return scope(ctx, req, s.ProviderServer.ValidateDataResourceConfig)
}

func (s scopedServer) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	return scope(ctx, req, s.ProviderServer.ReadDataSource)
}

func (s scopedServer) GetFunctions(ctx context.Context, req *tfprotov6.GetFunctionsRequest) (*tfprotov6.GetFunctionsResponse, error) {
	return scope(ctx, req, s.ProviderServer.GetFunctions)
}

func (s scopedServer) CallFunction(ctx context.Context, req *tfprotov6.CallFunctionRequest) (*tfprotov6.CallFunctionResponse, error) {
	return scope(ctx, req, s.ProviderServer.CallFunction)
}

func (s scopedServer) ValidateEphemeralResourceConfig(ctx context.Context, req *tfprotov6.ValidateEphemeralResourceConfigRequest) (*tfprotov6.ValidateEphemeralResourceConfigResponse, error) {
	return scope(ctx, req, s.ProviderServer.ValidateEphemeralResourceConfig)
}

func (s scopedServer) OpenEphemeralResource(ctx context.Context, req *tfprotov6.OpenEphemeralResourceRequest) (*tfprotov6.OpenEphemeralResourceResponse, error) {
	return scope(ctx, req, s.ProviderServer.OpenEphemeralResource)
}

func (s scopedServer) RenewEphemeralResource(ctx context.Context, req *tfprotov6.RenewEphemeralResourceRequest) (*tfprotov6.RenewEphemeralResourceResponse, error) {
	return scope(ctx, req, s.ProviderServer.RenewEphemeralResource)
}

func (s scopedServer) CloseEphemeralResource(ctx context.Context, req *tfprotov6.CloseEphemeralResourceRequest) (*tfprotov6.CloseEphemeralResourceResponse, error) {
	return scope(ctx, req, s.ProviderServer.CloseEphemeralResource)
}

func (s scopedServer) GenerateResourceConfig(ctx context.Context, req *tfprotov6.GenerateResourceConfigRequest) (*tfprotov6.GenerateResourceConfigResponse, error) {
	return scope(ctx, req, s.ProviderServer.GenerateResourceConfig)
}
