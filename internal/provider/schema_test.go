package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
)

func tuningSchema(t *testing.T) schema.Schema {
	t.Helper()
	var resp resource.SchemaResponse
	NewTuningResource().Schema(context.Background(), resource.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("schema: %v", resp.Diagnostics)
	}
	if diags := resp.Schema.ValidateImplementation(context.Background()); diags.HasError() {
		t.Fatalf("schema implementation: %v", diags)
	}
	return resp.Schema
}

// Every catalogue setting is a schema attribute whose description is the
// catalogue's, so the docs cannot drift from the table the rules use.
func TestSchemaDescriptionsComeFromCatalogue(t *testing.T) {
	sch := tuningSchema(t)
	seen := map[string]bool{}
	for name, a := range sch.Attributes {
		s, ok := catalog.ByAttribute(name)
		if !ok {
			continue
		}
		seen[name] = true
		if got, want := a.GetMarkdownDescription(), s.MarkdownDescription(); got != want {
			t.Errorf("%s MarkdownDescription\n got: %s\nwant: %s", name, got, want)
		}
		if !a.IsOptional() || a.IsRequired() || a.IsComputed() {
			t.Errorf("%s: want optional, not computed", name)
		}
	}
	for _, s := range catalog.All() {
		if !seen[s.Attribute] {
			t.Errorf("catalogue setting %s (%s) has no schema attribute", s.Attribute, s.Kind)
		}
	}
}

// The validators' bounds are the catalogue's: the schema checks what the
// description promises.
func TestSchemaBoundsComeFromCatalogue(t *testing.T) {
	ctx := context.Background()
	sch := tuningSchema(t)
	for _, s := range catalog.All() {
		switch s.Kind {
		case catalog.KindInt:
			a, ok := sch.Attributes[s.Attribute].(schema.Int64Attribute)
			if !ok {
				t.Errorf("%s: %T, want Int64Attribute", s.Attribute, sch.Attributes[s.Attribute])
				continue
			}
			want := int64validator.Between(s.Min, s.Max).Description(ctx)
			if len(s.OneOf) > 0 {
				want = int64validator.OneOf(s.OneOf...).Description(ctx)
			}
			if len(a.Validators) != 1 || a.Validators[0].Description(ctx) != want {
				t.Errorf("%s validators = %v, want one: %s", s.Attribute, a.Validators, want)
			}
		case catalog.KindPortRange:
			a, ok := sch.Attributes[s.Attribute].(schema.SingleNestedAttribute)
			if !ok {
				t.Errorf("%s: %T, want SingleNestedAttribute", s.Attribute, sch.Attributes[s.Attribute])
				continue
			}
			want := int64validator.Between(s.Min, s.Max).Description(ctx)
			for _, field := range []string{"min", "max"} {
				f, ok := a.Attributes[field].(schema.Int64Attribute)
				if !ok || !f.Required {
					t.Errorf("%s.%s: %T, want a required Int64Attribute", s.Attribute, field, a.Attributes[field])
					continue
				}
				if len(f.Validators) != 1 || f.Validators[0].Description(ctx) != want {
					t.Errorf("%s.%s validators = %v, want one: %s", s.Attribute, field, f.Validators, want)
				}
			}
		case catalog.KindPortList:
			if _, ok := sch.Attributes[s.Attribute].(schema.SetAttribute); !ok {
				t.Errorf("%s: %T, want SetAttribute", s.Attribute, sch.Attributes[s.Attribute])
			}
		}
	}
}

// A catalogue row with other bounds gives other validators and text: the
// bounds are not hard-coded in the schema.
func TestSchemaPortRangeFollowsCatalogueRow(t *testing.T) {
	ctx := context.Background()
	s, _ := catalog.ByAttribute("ip_local_port_range")
	s.Min, s.Max, s.Default = 1024, 61000, "1024 61000"
	a, ok := settingAttribute(s)
	if !ok {
		t.Fatal("no attribute for ip_local_port_range")
	}
	n, ok := a.(schema.SingleNestedAttribute)
	if !ok {
		t.Fatalf("ip_local_port_range is %T, want schema.SingleNestedAttribute", a)
	}
	if got := n.MarkdownDescription; got != s.MarkdownDescription() {
		t.Errorf("description = %q", got)
	}
	for _, want := range []string{"`1024` <= `min` <= `max` <= `61000`", "`min = 1024`, `max = 61000`"} {
		if !strings.Contains(n.MarkdownDescription, want) {
			t.Errorf("description lacks %q: %s", want, n.MarkdownDescription)
		}
	}
	minAttr, ok := n.Attributes["min"].(schema.Int64Attribute)
	if !ok {
		t.Fatalf("min is %T, want schema.Int64Attribute", n.Attributes["min"])
	}
	if got, want := minAttr.Validators[0].Description(ctx), int64validator.Between(1024, 61000).Description(ctx); got != want {
		t.Errorf("min validator = %q, want %q", got, want)
	}
	if minAttr.MarkdownDescription != "Lowest ephemeral port, between `1024` and `61000`." {
		t.Errorf("min description = %q", minAttr.MarkdownDescription)
	}
}
