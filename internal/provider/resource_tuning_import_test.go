package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// TestImportStateParsesID covers every form of the import ID: user and port
// are optional and recorded only when given (so that the plan after an
// import of a configuration without them is empty), IPv6 hosts are
// bracketed, and malformed IDs are refused before any host is contacted.
func TestImportStateParsesID(t *testing.T) {
	ctx := context.Background()
	sch := tuningSchema(t)
	cases := []struct {
		id               string
		user, host, name string
		port             int64 // 0 = not set
		wantErr          string
	}{
		{id: "web1/tcp-tuning", host: "web1", name: "tcp-tuning"},
		{id: "web1:2222/tcp-tuning", host: "web1", port: 2222, name: "tcp-tuning"},
		{id: "deploy@10.0.1.11:22/web", user: "deploy", host: "10.0.1.11", port: 22, name: "web"},
		{id: "root@web1/redis.tuning", user: "root", host: "web1", name: "redis.tuning"},
		{id: "[::1]:2200/tcp-tuning", host: "::1", port: 2200, name: "tcp-tuning"},
		{id: "ops@[2001:db8::5]/t", user: "ops", host: "2001:db8::5", name: "t"},
		{id: "web1", wantErr: "Invalid Import ID"},
		{id: "web1:22", wantErr: "Invalid Import ID"},
		{id: "web1/Upper", wantErr: "Invalid Import ID"},
		{id: "web1/../etc", wantErr: "Invalid Import ID"},
		{id: "web1:0/tcp-tuning", wantErr: "between 1 and 65535"},
		{id: "web1:70000/tcp-tuning", wantErr: "between 1 and 65535"},
		{id: "@web1/tcp-tuning", wantErr: "Invalid Import ID"},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			resp := &resource.ImportStateResponse{State: tfsdk.State{
				Schema: sch,
				Raw:    tftypes.NewValue(sch.Type().TerraformType(ctx), nil),
			}}
			(&tuningResource{}).ImportState(ctx, resource.ImportStateRequest{ID: c.id}, resp)
			if c.wantErr != "" {
				if !resp.Diagnostics.HasError() {
					t.Fatalf("import %q accepted", c.id)
				}
				var all []string
				for _, d := range resp.Diagnostics.Errors() {
					all = append(all, d.Summary()+": "+d.Detail())
				}
				if s := strings.Join(all, "\n"); !strings.Contains(s, c.wantErr) || !strings.Contains(s, c.id) {
					t.Fatalf("import %q: %s; want %q and the ID named", c.id, s, c.wantErr)
				}
				return
			}
			if resp.Diagnostics.HasError() {
				t.Fatalf("import %q: %v", c.id, resp.Diagnostics)
			}
			var user, host, name, id types.String
			var port types.Int64
			for p, dst := range map[string]any{"user": &user, "host": &host, "name": &name, "id": &id, "port": &port} {
				if d := resp.State.GetAttribute(ctx, path.Root(p), dst); d.HasError() {
					t.Fatalf("%s: %v", p, d)
				}
			}
			if host.ValueString() != c.host || name.ValueString() != c.name {
				t.Errorf("host %q name %q, want %q %q", host.ValueString(), name.ValueString(), c.host, c.name)
			}
			if c.user == "" != user.IsNull() || user.ValueString() != c.user {
				t.Errorf("user = %v, want %q (null when not in the ID)", user, c.user)
			}
			if c.port == 0 != port.IsNull() || port.ValueInt64() != c.port {
				t.Errorf("port = %v, want %d (null when not in the ID)", port, c.port)
			}
		})
	}
}

// TestTuningIDImportsBack: the id the provider gives a tuning is one
// ImportState reads back to the same host, port and name, IPv6 included.
func TestTuningIDImportsBack(t *testing.T) {
	ctx := context.Background()
	sch := tuningSchema(t)
	for _, tg := range []sshx.Target{{Host: "web1", Port: 22}, {Host: "10.0.1.11", Port: 2222}, {Host: "::1", Port: 22}, {Host: "[2001:db8::5]", Port: 2200}} {
		id := tuningID(tg, "tcp-tuning")
		resp := &resource.ImportStateResponse{State: tfsdk.State{Schema: sch, Raw: tftypes.NewValue(sch.Type().TerraformType(ctx), nil)}}
		(&tuningResource{}).ImportState(ctx, resource.ImportStateRequest{ID: id}, resp)
		if resp.Diagnostics.HasError() {
			t.Fatalf("id %q does not import: %v", id, resp.Diagnostics)
		}
		var host, name types.String
		var port types.Int64
		resp.Diagnostics.Append(resp.State.GetAttribute(ctx, path.Root("host"), &host)...)
		resp.Diagnostics.Append(resp.State.GetAttribute(ctx, path.Root("port"), &port)...)
		resp.Diagnostics.Append(resp.State.GetAttribute(ctx, path.Root("name"), &name)...)
		want := strings.Trim(tg.Host, "[]")
		if resp.Diagnostics.HasError() || host.ValueString() != want || port.ValueInt64() != int64(tg.Port) || name.ValueString() != "tcp-tuning" {
			t.Errorf("id %q imports as host %q port %v name %q, want %q %d tcp-tuning", id, host.ValueString(), port, name.ValueString(), want, tg.Port)
		}
	}
}
