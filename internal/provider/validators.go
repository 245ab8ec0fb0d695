package provider

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Syntax checks for the values that name where and as whom the provider
// connects. They run at validate, so a hostile or mistyped value stops
// Terraform before any connection is attempted.

var (
	_ validator.String = hostValidator{}
	_ validator.String = userValidator{}
)

// maxUserLength is the longest login name accepted (useradd's limit).
const maxUserLength = 32

// userNameRE is a POSIX-ish login name: portable filename characters, not
// starting with '-', with an optional trailing '$' (machine accounts).
var userNameRE = regexp.MustCompile(`^[A-Za-z0-9._][A-Za-z0-9._-]*\$?$`)

// hostLabelRE is one DNS label: letters, digits, '-' and '_' (service
// names), not starting or ending with '-'.
var hostLabelRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$`)

// zoneRE is an IPv6 zone (an interface name or index).
var zoneRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// checkHost returns why h is not a DNS name, IPv4 address or IPv6 address
// (optionally in brackets, optionally with a zone), or "".
func checkHost(h string) string {
	switch {
	case h == "":
		return "it is empty"
	case strings.TrimSpace(h) != h || strings.ContainsAny(h, " \t\r\n"):
		return "it contains white space"
	case strings.HasPrefix(h, "-"):
		return "it starts with '-'"
	case strings.ContainsAny(h, "@/"):
		return "it contains '@' or '/': give the user in user and the port in port"
	}
	inner := h
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		inner = h[1 : len(h)-1]
		if !strings.Contains(inner, ":") {
			return "brackets are only for IPv6 addresses"
		}
	}
	if strings.Contains(inner, ":") {
		a, err := netip.ParseAddr(inner)
		if err != nil || !a.Is6() {
			return "it contains ':' but is not an IPv6 address (give the port in port)"
		}
		if z := a.Zone(); z != "" && !zoneRE.MatchString(z) {
			return "its IPv6 zone has characters other than letters, digits, '.', '_' and '-'"
		}
		return ""
	}
	if _, err := netip.ParseAddr(inner); err == nil {
		return ""
	}
	name := strings.TrimSuffix(inner, ".")
	if len(name) > 253 {
		return "it is longer than 253 characters"
	}
	labels := strings.Split(name, ".")
	allDigits := true
	for _, l := range labels {
		if len(l) > 63 {
			return "a label is longer than 63 characters"
		}
		if !hostLabelRE.MatchString(l) {
			return "it is not an IP address, and as a DNS name it may only hold letters, digits, '-' and '_' in dot-separated labels that do not start or end with '-'"
		}
		if strings.Trim(l, "0123456789") != "" {
			allDigits = false
		}
	}
	if allDigits {
		return "it looks like an IPv4 address but is not one"
	}
	return ""
}

// checkUser returns why u is not a login name, or "".
func checkUser(u string) string {
	switch {
	case u == "":
		return "it is empty"
	case len(u) > maxUserLength:
		return fmt.Sprintf("it is longer than %d characters", maxUserLength)
	case strings.HasPrefix(u, "-"):
		return "it starts with '-'"
	case !userNameRE.MatchString(u):
		return "it may only hold letters, digits, '.', '_' and '-' (and a final '$')"
	}
	return ""
}

// hostValidator checks a host (or bastion_host) attribute.
type hostValidator struct{}

func (hostValidator) Description(context.Context) string {
	return "value must be a DNS name, an IPv4 address or an IPv6 address"
}
func (v hostValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (hostValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	h := req.ConfigValue.ValueString()
	if why := checkHost(h); why != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Host",
			"A host is a DNS name (web-1.example.com), an IPv4 address (10.0.0.5) or an IPv6 address (2001:db8::5); "+
				"the port and user have their own attributes. This value is refused before any connection: "+why+"."+
				facts("Value", fmt.Sprintf("%q", h)))
	}
}

// userValidator checks a user (or bastion_user) attribute.
type userValidator struct{}

func (userValidator) Description(context.Context) string {
	return fmt.Sprintf("value must be a login name: letters, digits, '.', '_' and '-', not starting with '-', at most %d characters", maxUserLength)
}
func (v userValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (userValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	u := req.ConfigValue.ValueString()
	if why := checkUser(u); why != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid User Name",
			fmt.Sprintf("A user is a login name: letters, digits, '.', '_' and '-', not starting with '-', at most %d characters, "+
				"optionally ending in '$'. This value is refused before any connection: %s.", maxUserLength, why)+
				facts("Value", fmt.Sprintf("%q", u)))
	}
}

// validateTimeouts reports every entry of the timeouts block among names
// that is zero or negative, on its attribute path. The timeouts package
// already reports values that do not parse; unset and unknown values are
// left to it too.
func validateTimeouts(ctx context.Context, g attrGetter, names ...string) diag.Diagnostics {
	var diags diag.Diagnostics
	for _, name := range names {
		p := path.Root("timeouts").AtName(name)
		var v types.String
		if d := g.GetAttribute(ctx, p, &v); d.HasError() || v.IsNull() || v.IsUnknown() {
			continue
		}
		d, err := time.ParseDuration(v.ValueString())
		if err != nil || d > 0 {
			continue
		}
		diags.AddAttributeError(p, "Invalid Timeout",
			fmt.Sprintf("timeouts.%s must be a positive duration such as \"30s\" or \"5m\": an operation with no time at all would fail at once, "+
				"and without the check it only fails at apply.", name)+facts("Value", fmt.Sprintf("%q", v.ValueString())))
	}
	return diags
}
