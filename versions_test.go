package main

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListTestedVersions checks that the README and the provider page
// name the CLI versions the test matrix runs (scripts/versions.env), so the
// docs cannot drift from what is tested.
func TestDocsListTestedVersions(t *testing.T) {
	b, err := os.ReadFile("scripts/versions.env")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vars[k] = v
		}
	}
	want := []string{"Terraform " + vars["TF_MIN_VERSION"], "OpenTofu " + vars["TOFU_VERSION"]}
	if vars["TF_MIN_VERSION"] == "" || vars["TOFU_VERSION"] == "" {
		t.Fatalf("scripts/versions.env lacks TF_MIN_VERSION or TOFU_VERSION: %v", vars)
	}
	for _, doc := range []string{"README.md", "templates/index.md.tmpl", "docs/index.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s does not name %q, which make test runs", doc, w)
			}
		}
		if !strings.Contains(string(b), "registry.opentofu.org/tcptune/tcp") {
			t.Errorf("%s does not show the OpenTofu source address", doc)
		}
	}
}
