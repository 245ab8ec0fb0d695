package provider

import (
	"fmt"
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
)

// The tests in this file are the subset `make test` runs on every CLI of
// the version matrix (the oldest Terraform supported, the one on PATH,
// OpenTofu): GNUmakefile's MATRIX_RUN names them, with the provider
// function tests.

// TestAccLifecycle_createReplanUpdateImportDestroy is one resource's whole
// life on one host: create, an empty re-plan, an in-place update that also
// removes a setting, import, destroy; every step checked on the host.
func TestAccLifecycle_createReplanUpdateImportDestroy(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	orig := originals(t, f, "net.ipv4.tcp_fin_timeout", "net.ipv4.ip_local_port_range", "net.ipv4.ip_local_reserved_ports", "net.core.somaxconn")
	create := singleConfig(f, h, `
  tcp_fin_timeout         = 30
  somaxconn               = 8192
  ip_local_port_range     = { min = 20000, max = 60999 }
  ip_local_reserved_ports = ["8003", "8001-8002", "7005"]
`)
	// fin_timeout changes, somaxconn is no longer managed (restored), the
	// reserved ports change.
	update := singleConfig(f, h, `
  tcp_fin_timeout         = 45
  ip_local_port_range     = { min = 20000, max = 60999 }
  ip_local_reserved_ports = ["7005"]
`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, defaultFile),
		Steps: []resource.TestStep{
			{
				Config: create,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tcp_tuning.one", plancheck.ResourceActionCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					expectSysctl(h, "net.ipv4.tcp_fin_timeout", "30"),
					expectSysctl(h, "net.core.somaxconn", "8192"),
					expectSysctl(h, "net.ipv4.ip_local_port_range", "20000\t60999"),
					expectSysctl(h, "net.ipv4.ip_local_reserved_ports", "7005,8001-8003"),
					expectFileLine(h, defaultFile, "net.ipv4.tcp_fin_timeout", "30"),
					expectFileLine(h, defaultFile, "net.ipv4.ip_local_reserved_ports", "7005,8001-8003"),
					expectAttr("tcp_tuning.one", fmt.Sprintf("%s:%d/tcp-tuning", h.Addr, h.Port), "id"),
					expectAttr("tcp_tuning.one", orig[h.Name]["net.core.somaxconn"], "original_values", "net.core.somaxconn"),
				},
			},
			{
				// Nothing changed: the plan is empty (reserved ports given
				// unsorted compare canonically).
				Config: create,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				Config: update,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tcp_tuning.one", plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					expectSysctl(h, "net.ipv4.tcp_fin_timeout", "45"),
					expectSysctl(h, "net.core.somaxconn", orig[h.Name]["net.core.somaxconn"]),
					expectSysctl(h, "net.ipv4.ip_local_reserved_ports", "7005"),
					expectFileLine(h, defaultFile, "net.ipv4.tcp_fin_timeout", "45"),
				},
			},
			{
				Config:                               update,
				ResourceName:                         "tcp_tuning.one",
				ImportState:                          true,
				ImportStateId:                        fmt.Sprintf("%s:%d/tcp-tuning", h.Addr, h.Port),
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "id",
				ImportStateVerifyIgnore:              []string{"timeouts"},
			},
		},
	})
}

// TestAccProvider_ephemeralCredentials gives the provider block its private
// key from an ephemeral input variable (Terraform 1.10 and later) and
// applies a tuning with it.
func TestAccProvider_ephemeralCredentials(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	key, err := os.ReadFile(f.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	// An environment variable, so the value reaches both the plan and the
	// apply of the saved plan (ephemeral values are not saved in plans).
	t.Setenv("TF_VAR_ssh_private_key", string(key))
	orig := originals(t, f, "net.ipv4.tcp_fin_timeout")
	cfg := fmt.Sprintf(`
variable "ssh_private_key" {
  type      = string
  sensitive = true
  ephemeral = true
}

provider "tcp" {
  private_key      = var.ssh_private_key
  known_hosts_file = %q
  timeout          = "20s"
}

resource "tcp_tuning" "one" {
  %s
  tcp_fin_timeout = 33
}
`, f.KnownHostsFile, hostAttrs(h))
	resource.Test(t, resource.TestCase{
		TerraformVersionChecks: []tfversion.TerraformVersionCheck{
			tfversion.SkipBelow(tfversion.Version1_10_0),
			skipOpenTofu(tfversion.Version1_11_0, "ephemeral values"),
		},
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, defaultFile),
		Steps: []resource.TestStep{
			{
				Config:            cfg,
				ConfigStateChecks: []statecheck.StateCheck{expectSysctl(h, "net.ipv4.tcp_fin_timeout", "33")},
			},
		},
	})
}
