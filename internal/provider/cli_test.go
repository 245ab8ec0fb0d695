package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// The acceptance tests run against whichever CLI TF_ACC_TERRAFORM_PATH
// names: Terraform, or OpenTofu, which terraform-plugin-testing drives like
// Terraform (it runs `tofu version -json`, which reports
// "terraform_version"). `make test` runs them once per CLI of the matrix
// (scripts/versions.env).

// cliVersionLine caches the first line of `<cli> version` per binary.
var cliVersionLine sync.Map

// cliIsOpenTofu reports whether the CLI at TF_ACC_TERRAFORM_PATH is
// OpenTofu ("OpenTofu v1.10.10"), not Terraform ("Terraform v1.11.4").
func cliIsOpenTofu() bool {
	p := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if p == "" {
		return false
	}
	v, ok := cliVersionLine.Load(p)
	if !ok {
		cmd := exec.Command(p, "version")
		cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
		out, _ := cmd.Output()
		first, _, _ := strings.Cut(string(out), "\n")
		v, _ = cliVersionLine.LoadOrStore(p, first)
	}
	line, _ := v.(string)
	return strings.HasPrefix(line, "OpenTofu")
}

// cliProviderAddress makes terraform-plugin-testing serve the provider on
// the registry host of the CLI under test. OpenTofu resolves a provider
// without a source (as in import steps, whose configuration gets no
// required_providers block) on registry.opentofu.org, so with the testing
// default (registry.terraform.io) the reattached provider would not match
// and `tofu init` would try to download it. The namespace stays the testing
// default ("hashicorp") for the same reason; the real address,
// tcptune/tcp, is what the release mirror test installs. An explicit
// TF_ACC_PROVIDER_HOST wins.
func cliProviderAddress(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC_PROVIDER_HOST") == "" && cliIsOpenTofu() {
		t.Setenv("TF_ACC_PROVIDER_HOST", "registry.opentofu.org")
	}
}

// skipOpenTofu is a version check for features whose OpenTofu version
// differs from Terraform's: it skips the test on OpenTofu older than
// version, naming the feature. Pair it with tfversion.SkipBelow for
// Terraform.
func skipOpenTofu(below *version.Version, feature string) tfversion.TerraformVersionCheck {
	return openTofuBelow{below: below, feature: feature}
}

type openTofuBelow struct {
	below   *version.Version
	feature string
}

func (c openTofuBelow) CheckTerraformVersion(_ context.Context, req tfversion.CheckTerraformVersionRequest, resp *tfversion.CheckTerraformVersionResponse) {
	if !cliIsOpenTofu() || !req.TerraformVersion.LessThan(c.below) {
		return
	}
	resp.Skip = fmt.Sprintf("OpenTofu %s does not support %s (needs OpenTofu %s or later): skipping test",
		req.TerraformVersion, c.feature, c.below)
}
