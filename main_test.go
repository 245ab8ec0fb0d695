package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tcptune/terraform-provider-tcp/internal/testenv"
)

// These tests build the real provider binary and drive the real terraform
// CLI with a dev_overrides configuration, as a user of `make demo` would.

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func terraformBin(t *testing.T) string {
	t.Helper()
	for _, env := range []string{"TF_ACC_TERRAFORM_PATH", "TCP_TERRAFORM"} {
		if p := os.Getenv(env); p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	p, err := exec.LookPath("terraform")
	if err != nil {
		testenv.Unavailable(t, "no terraform on PATH (make deps builds one)")
	}
	return p
}

// devEnv builds the provider once and returns the environment that makes
// terraform use it without a registry.
func devEnv(t *testing.T) []string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "tcp-provider-build-")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(buildDir, "terraform-provider-tcp"), ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		rc := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"tcptune/tcp\" = %q\n  }\n  direct {}\n}\n", buildDir)
		buildErr = os.WriteFile(filepath.Join(buildDir, "terraformrc"), []byte(rc), 0o600)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return append(os.Environ(), "TF_CLI_CONFIG_FILE="+filepath.Join(buildDir, "terraformrc"), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func runTerraform(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(terraformBin(t), args...)
	cmd.Dir = dir
	cmd.Env = devEnv(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("terraform %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

func TestProvidersSchemaShowsProviderBlock(t *testing.T) {
	dir := t.TempDir()
	cfg := "terraform {\n  required_providers {\n    tcp = { source = \"tcptune/tcp\" }\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out := runTerraform(t, dir, "providers", "schema", "-json")
	var schema struct {
		ProviderSchemas map[string]struct {
			Provider struct {
				Block struct {
					Attributes map[string]struct {
						Sensitive bool `json:"sensitive"`
					} `json:"attributes"`
				} `json:"block"`
			} `json:"provider"`
			ResourceSchemas   map[string]json.RawMessage `json:"resource_schemas"`
			DataSourceSchemas map[string]json.RawMessage `json:"data_source_schemas"`
		} `json:"provider_schemas"`
	}
	// dev_overrides prints a warning before the JSON on some versions.
	if i := strings.Index(out, "{"); i > 0 {
		out = out[i:]
	}
	if err := json.Unmarshal([]byte(out), &schema); err != nil {
		t.Fatalf("schema JSON: %v\n%s", err, out)
	}
	p, ok := schema.ProviderSchemas["registry.terraform.io/tcptune/tcp"]
	if !ok {
		t.Fatalf("provider tcptune/tcp missing from schema; have %v", keys(schema.ProviderSchemas))
	}
	want := []string{"user", "port", "password", "private_key", "private_key_passphrase", "certificate", "agent", "agent_identity",
		"known_hosts_file", "host_key", "insecure_ignore_host_key", "bastion_host", "bastion_port", "bastion_user",
		"bastion_password", "bastion_private_key", "bastion_certificate", "bastion_host_key", "sudo", "timeout", "max_sessions_per_host"}
	for _, a := range want {
		if _, ok := p.Provider.Block.Attributes[a]; !ok {
			t.Errorf("provider block lacks %q", a)
		}
	}
	for _, a := range []string{"password", "private_key", "private_key_passphrase", "bastion_password", "bastion_private_key"} {
		if !p.Provider.Block.Attributes[a].Sensitive {
			t.Errorf("%s is not sensitive", a)
		}
	}
	if _, ok := p.ResourceSchemas["tcp_tuning"]; !ok {
		t.Error("resource tcp_tuning missing")
	}
	if _, ok := p.DataSourceSchemas["tcp_stats"]; !ok {
		t.Error("data source tcp_stats missing")
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
