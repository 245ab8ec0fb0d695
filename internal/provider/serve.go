package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/tcptune/terraform-provider-tcp/internal/rpcctx"
)

// ProtocolServer returns the provider's protocol-6 server: the framework's,
// with every per-resource, per-data-source and provider RPC run in an
// rpcctx scope, so the framework's record of each RPC's context no longer
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
// each returns. Streaming RPCs (list resources, actions) pass through: their
// streams outlive the call, and this provider serves none.
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
