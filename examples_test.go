package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	goversion "github.com/hashicorp/go-version"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
	"github.com/tcptune/terraform-provider-tcp/internal/labtest"
)

// copyExample copies the .tf files of an example into a fresh directory.
func copyExample(t *testing.T, dir string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tf") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// exampleDirs lists every directory of examples/ that holds .tf files.
func exampleDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir("examples", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if m, _ := filepath.Glob(filepath.Join(p, "*.tf")); len(m) > 0 {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 6 {
		t.Fatalf("found only %d example directories: %v", len(dirs), dirs)
	}
	return dirs
}

// skipBelowRequiredVersion skips an example whose versions.tf asks for a
// newer terraform (">= 1.8" for the provider functions) than the one the
// tests run; an older terraform cannot even parse it.
func skipBelowRequiredVersion(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "versions.tf"))
	if err != nil {
		return
	}
	m := regexp.MustCompile(`required_version\s*=\s*">=\s*([0-9.]+)"`).FindSubmatch(b)
	if m == nil {
		return
	}
	out, err := exec.Command(terraformBin(t), "version", "-json").Output()
	if err != nil {
		t.Fatalf("terraform version -json: %v", err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("terraform version -json: %v\n%s", err, out)
	}
	have, err1 := goversion.NewVersion(v.Version)
	need, err2 := goversion.NewVersion(string(m[1]))
	if err1 != nil || err2 != nil {
		t.Fatalf("versions %q, %q: %v %v", v.Version, m[1], err1, err2)
	}
	if have.LessThan(need) {
		t.Skipf("%s needs terraform >= %s; the tests run %s", dir, need, have)
	}
}

// TestExamplesValidate runs `terraform validate` on every example with the
// real provider; the demo's tcp_tw_recycle example must fail validation.
func TestExamplesValidate(t *testing.T) {
	for _, dir := range exampleDirs(t) {
		t.Run(dir, func(t *testing.T) {
			skipBelowRequiredVersion(t, dir)
			work := copyExample(t, dir)
			cmd := exec.Command(terraformBin(t), "validate", "-no-color")
			cmd.Dir = work
			cmd.Env = devEnv(t)
			out, err := cmd.CombinedOutput()
			if filepath.Base(dir) == "recycle" {
				if err == nil || !strings.Contains(string(out), "TIME_WAIT Recycling Breaks Clients Behind NAT") {
					t.Fatalf("tcp_tw_recycle = 1 behind NAT must fail validation, got err=%v:\n%s", err, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("terraform validate: %v\n%s", err, out)
			}
		})
	}
}

// TestExamplesTemplatesUseValidatedFiles checks that every file a docs
// template includes with tffile lies in a directory TestExamplesValidate
// runs `terraform validate` on, so no configuration shown in docs/ goes
// unchecked; the three provider variants must be among them.
func TestExamplesTemplatesUseValidatedFiles(t *testing.T) {
	validated := map[string]bool{}
	for _, d := range exampleDirs(t) {
		validated[d] = true
	}
	tffile := regexp.MustCompile(`\{\{-?\s*tffile\s+"([^"]+)"\s*-?\}\}`)
	included := map[string]bool{}
	err := filepath.WalkDir("templates", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".tmpl") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range tffile.FindAllStringSubmatch(string(b), -1) {
			f := filepath.Clean(m[1])
			included[f] = true
			if _, err := os.Stat(f); err != nil {
				t.Errorf("%s includes %s: %v", p, f, err)
			} else if !validated[filepath.Dir(f)] {
				t.Errorf("%s includes %s, which is not in a directory TestExamplesValidate validates", p, f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"examples/provider/provider.tf", "examples/provider/agent/provider.tf", "examples/provider/bastion/provider.tf"} {
		if !included[f] {
			t.Errorf("no template includes %s with tffile", f)
		}
	}
}

// TestFleetExampleForEach applies examples/fleet (for_each over a map of
// hosts) to a 3-host test fleet with the real terraform and checks the
// hosts themselves: values live and persisted, a second plan empty, and
// destroy restoring the original values and removing the files.
func TestFleetExampleForEach(t *testing.T) {
	terraformBin(t)
	f := labtest.StartT(t, lab.Options{Hosts: 3})
	work := copyExample(t, "examples/fleet")
	hosts := map[string]map[string]any{}
	for i, h := range f.Hosts {
		hosts[fmt.Sprintf("web-%d", i+1)] = map[string]any{"address": h.Addr, "port": h.Port, "service_ports": []int{8080}}
	}
	vars, _ := json.Marshal(map[string]any{
		"hosts": hosts, "private_key_file": f.ClientKeyFile, "known_hosts_file": f.KnownHostsFile,
		"reserved_ports": []string{"11211", "8001-8100"},
	})
	if err := os.WriteFile(filepath.Join(work, "terraform.tfvars.json"), vars, 0o600); err != nil {
		t.Fatal(err)
	}
	keys := []string{"net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_fin_timeout", "net.ipv4.ip_local_port_range", "net.ipv4.ip_local_reserved_ports", "net.core.somaxconn", "net.ipv4.tcp_max_syn_backlog"}
	orig := map[string]map[string]string{}
	for _, h := range f.Hosts {
		orig[h.Name] = map[string]string{}
		for _, k := range keys {
			v, err := h.Sysctl(k)
			if err != nil {
				t.Fatal(err)
			}
			orig[h.Name][k] = v
		}
	}

	runTerraform(t, work, "apply", "-auto-approve", "-no-color", "-parallelism=3")
	want := map[string]string{
		"net.ipv4.tcp_tw_reuse": "1", "net.ipv4.tcp_fin_timeout": "30", "net.ipv4.ip_local_port_range": "10000\t65001",
		"net.ipv4.ip_local_reserved_ports": "8001-8100,11211", "net.core.somaxconn": "4096", "net.ipv4.tcp_max_syn_backlog": "8192",
	}
	for _, h := range f.Hosts {
		for k, v := range want {
			if got, _ := h.Sysctl(k); got != v {
				t.Errorf("%s: %s = %q, want %q", h.Name, k, got, v)
			}
		}
		b, err := os.ReadFile(filepath.Join(h.SysctlDir(), "90-tcp-tuning.conf"))
		if err != nil || !strings.Contains(string(b), "net.ipv4.tcp_tw_reuse = 1\n") {
			t.Errorf("%s: persisted file: %v\n%s", h.Name, err, b)
		}
	}

	// A second plan finds nothing to do (-detailed-exitcode: 0 = no changes).
	cmd := exec.Command(terraformBin(t), "plan", "-detailed-exitcode", "-no-color")
	cmd.Dir = work
	cmd.Env = devEnv(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("second plan is not empty (%v):\n%s", err, out)
	}

	runTerraform(t, work, "destroy", "-auto-approve", "-no-color")
	for _, h := range f.Hosts {
		for k, v := range orig[h.Name] {
			if got, _ := h.Sysctl(k); got != v {
				t.Errorf("%s after destroy: %s = %q, want original %q", h.Name, k, got, v)
			}
		}
		if _, err := os.Stat(filepath.Join(h.SysctlDir(), "90-tcp-tuning.conf")); !os.IsNotExist(err) {
			t.Errorf("%s: persisted file still there after destroy (%v)", h.Name, err)
		}
	}
}
