package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

func validateString(v validator.String, value types.String) *validator.StringResponse {
	req := validator.StringRequest{Path: path.Root("x"), ConfigValue: value}
	resp := &validator.StringResponse{}
	v.ValidateString(context.Background(), req, resp)
	return resp
}

func TestHostValidator(t *testing.T) {
	good := []string{
		"web-1", "web-1.example.com", "example.com.", "_ssh._tcp.example.com", "10.0.0.5", "127.0.0.1",
		"2001:db8::5", "[2001:db8::5]", "::1", "fe80::1%eth0", strings.Repeat("a", 63) + ".example",
	}
	bad := map[string]string{
		"":                                   "empty",
		"h; rm -rf /":                        "white space",
		"h;rm":                               "DNS name",
		"-oProxyCommand=x":                   "starts with '-'",
		"root@web-1":                         "'@'",
		"web-1/24":                           "'/'",
		"web-1:22":                           "not an IPv6 address",
		"$(reboot)":                          "DNS name",
		"`id`":                               "DNS name",
		"a|b":                                "DNS name",
		"web-.example.com":                   "DNS name",
		"web..example":                       "DNS name",
		" web-1":                             "white space",
		"web-1\n":                            "white space",
		"[10.0.0.5]":                         "brackets",
		"999.1.1.1":                          "IPv4",
		"fe80::1%eth0;x":                     "zone",
		strings.Repeat("a", 64) + ".example": "63",
	}
	for _, h := range good {
		if resp := validateString(hostValidator{}, types.StringValue(h)); resp.Diagnostics.HasError() {
			t.Errorf("host %q refused: %v", h, resp.Diagnostics)
		}
	}
	for h, want := range bad {
		resp := validateString(hostValidator{}, types.StringValue(h))
		if !resp.Diagnostics.HasError() {
			t.Errorf("host %q accepted", h)
			continue
		}
		d := resp.Diagnostics[0]
		if d.Summary() != "Invalid Host" || !strings.Contains(d.Detail(), want) || !strings.Contains(d.Detail(), fmt.Sprintf("Value: %q", h)) {
			t.Errorf("host %q: %s: %s (want %q)", h, d.Summary(), d.Detail(), want)
		}
	}
	for _, v := range []types.String{types.StringNull(), types.StringUnknown()} {
		if resp := validateString(hostValidator{}, v); resp.Diagnostics.HasError() {
			t.Errorf("%v refused", v)
		}
	}
}

func TestUserValidator(t *testing.T) {
	good := []string{"root", "tcpsudo", "deploy.bot", "_svc", "a-b_c.d", "WIN$", "u1", strings.Repeat("u", 32)}
	bad := map[string]string{
		"":                      "empty",
		"-oProxyCommand=x":      "starts with '-'",
		"root;id":               "may only hold",
		"ro ot":                 "may only hold",
		"root@host":             "may only hold",
		"a$b":                   "may only hold",
		"$":                     "may only hold",
		strings.Repeat("u", 33): "longer than 32",
	}
	for _, u := range good {
		if resp := validateString(userValidator{}, types.StringValue(u)); resp.Diagnostics.HasError() {
			t.Errorf("user %q refused: %v", u, resp.Diagnostics)
		}
	}
	for u, want := range bad {
		resp := validateString(userValidator{}, types.StringValue(u))
		if !resp.Diagnostics.HasError() {
			t.Errorf("user %q accepted", u)
			continue
		}
		if d := resp.Diagnostics[0]; d.Summary() != "Invalid User Name" || !strings.Contains(d.Detail(), want) {
			t.Errorf("user %q: %s: %s (want %q)", u, d.Summary(), d.Detail(), want)
		}
	}
}

// tuningConfig is a tcp_tuning configuration with the given attributes set
// (timeouts entries as "timeouts.NAME") and every other attribute null.
func tuningConfig(t *testing.T, set map[string]string) tfsdk.Config {
	t.Helper()
	ctx := context.Background()
	var sresp resource.SchemaResponse
	NewTuningResource().Schema(ctx, resource.SchemaRequest{}, &sresp)
	typ, ok := sresp.Schema.Type().TerraformType(ctx).(tftypes.Object)
	if !ok {
		t.Fatalf("schema type is %T", sresp.Schema.Type().TerraformType(ctx))
	}
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		vals[name] = tftypes.NewValue(at, nil)
	}
	tot, ok := typ.AttributeTypes["timeouts"].(tftypes.Object)
	if !ok {
		t.Fatal("no timeouts object")
	}
	tvals := map[string]tftypes.Value{}
	anyTimeout := false
	for name := range tot.AttributeTypes {
		tvals[name] = tftypes.NewValue(tftypes.String, nil)
	}
	for k, v := range set {
		if name, ok := strings.CutPrefix(k, "timeouts."); ok {
			tvals[name] = tftypes.NewValue(tftypes.String, v)
			anyTimeout = true
			continue
		}
		vals[k] = tftypes.NewValue(tftypes.String, v)
	}
	if anyTimeout {
		vals["timeouts"] = tftypes.NewValue(tot, tvals)
	}
	return tfsdk.Config{Schema: sresp.Schema, Raw: tftypes.NewValue(typ, vals)}
}

func TestValidateTimeouts(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		set  map[string]string
		want []string // attribute paths with an Invalid Timeout error
	}{
		{map[string]string{"host": "h"}, nil},
		{map[string]string{"timeouts.create": "8s", "timeouts.read": "1m"}, nil},
		{map[string]string{"timeouts.create": "0s"}, []string{"timeouts.create"}},
		{map[string]string{"timeouts.create": "-5s", "timeouts.delete": "0", "timeouts.read": "2m"}, []string{"timeouts.create", "timeouts.delete"}},
		{map[string]string{"timeouts.update": "soon"}, nil}, // the timeouts package's own validator reports it
	}
	for _, c := range cases {
		diags := validateTimeouts(ctx, tuningConfig(t, c.set), "create", "read", "update", "delete")
		var got []string
		for _, d := range diags {
			if d.Summary() != "Invalid Timeout" {
				t.Errorf("%v: unexpected %s: %s", c.set, d.Summary(), d.Detail())
				continue
			}
			if wp, ok := d.(interface{ Path() path.Path }); ok {
				got = append(got, wp.Path().String())
			}
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%v: errors at %v, want %v", c.set, got, c.want)
		}
	}
}

// TestAccValidate_hostileHostAndUser: hostile host and user values and
// zero or negative timeouts fail terraform's validate, in the resource, the
// data source and the provider block, and nothing connects. The configs
// point at a closed loopback port, so a connection attempt would also be
// visible as a different error.
func TestAccValidate_hostileHostAndUser(t *testing.T) {
	accPreCheck(t)
	prov := "provider \"tcp\" {\n  insecure_ignore_host_key = true\n  password = \"x\"\n%s\n}\n"
	cases := []struct {
		name, config, want string
	}{
		{"resource host", fmt.Sprintf(prov, "") + `
resource "tcp_tuning" "t" {
  host = "h; rm -rf /"
  tcp_fin_timeout = 30
}`, `(?s)Invalid Host.*h; rm -rf /`},
		{"resource user", fmt.Sprintf(prov, "") + `
resource "tcp_tuning" "t" {
  host = "127.0.0.1"
  port = 1
  user = "-oProxyCommand=x"
  tcp_fin_timeout = 30
}`, `(?s)Invalid User Name.*-oProxyCommand=x`},
		{"resource zero timeout", fmt.Sprintf(prov, "") + `
resource "tcp_tuning" "t" {
  host = "127.0.0.1"
  port = 1
  tcp_fin_timeout = 30
  timeouts {
    create = "0s"
  }
}`, `(?s)Invalid Timeout.*timeouts.create`},
		{"data source host", fmt.Sprintf(prov, "") + `
data "tcp_stats" "s" {
  host = "$(reboot)"
}`, `Invalid Host`},
		{"data source user", fmt.Sprintf(prov, "") + `
data "tcp_stats" "s" {
  host = "127.0.0.1"
  port = 1
  user = "-oProxyCommand=x"
}`, `Invalid User Name`},
		{"data source negative timeout", fmt.Sprintf(prov, "") + `
data "tcp_stats" "s" {
  host = "127.0.0.1"
  port = 1
  timeouts {
    read = "-5s"
  }
}`, `(?s)Invalid Timeout.*timeouts.read`},
		{"provider user", fmt.Sprintf(prov, `  user = "-oProxyCommand=x"`) + statsOn127, `Invalid User Name`},
		{"provider bastion_host", fmt.Sprintf(prov, `  bastion_host = "-oProxyCommand=x"`) + statsOn127, `Invalid Host`},
		{"provider bastion_user", fmt.Sprintf(prov, "  bastion_host = \"127.0.0.1\"\n  bastion_user = \"a b\"") + statsOn127, `Invalid User Name`},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			rec := &poolRecorder{}
			tfresource.UnitTest(t, tfresource.TestCase{
				ProtoV6ProviderFactories: rec.factories(),
				Steps: []tfresource.TestStep{{
					Config:      c.config,
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(c.want),
				}},
			})
			if s := rec.stats(); s.Connections != 0 || s.Sessions != 0 {
				t.Errorf("an invalid configuration still connected: %+v", s)
			}
			rec.mu.Lock()
			n := len(rec.pools)
			rec.mu.Unlock()
			if n != 0 {
				t.Errorf("an invalid configuration still configured %d connection pool(s)", n)
			}
		})
	}
}
