package provider

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/dirhash"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
	"github.com/tcptune/terraform-provider-tcp/internal/testenv"
)

// release is what `make release-check` (scripts/release-check.sh) left in
// TCP_RELEASE_DIR: goreleaser's snapshot artifacts and a provider mirror.
type release struct {
	dir     string
	version string
	sums    map[string]string // file name -> sha256 hex, from SHA256SUMS
}

func loadRelease(t *testing.T) release {
	t.Helper()
	dir := os.Getenv("TCP_RELEASE_DIR")
	if dir == "" {
		testenv.Unavailable(t, "no release artifacts: set TCP_RELEASE_DIR to the output of make release-check (make test does)")
	}
	meta, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err != nil {
		testenv.Unavailable(t, "no release artifacts in %s (run make release-check): %v", dir, err)
	}
	var m struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(meta, &m); err != nil || m.Version == "" {
		t.Fatalf("%s/metadata.json has no version (%v)", dir, err)
	}
	r := release{dir: dir, version: m.Version, sums: map[string]string{}}
	name := filepath.Join(dir, "terraform-provider-tcp_"+m.Version+"_SHA256SUMS")
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, file, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("%s: malformed line %q", name, line)
		}
		r.sums[file] = sum
	}
	return r
}

// cliEnv is the environment of a CLI run that may install providers only
// from the CLI configuration rc: no reattached provider, no plugin cache,
// no inherited arguments.
func cliEnv(rc string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "TF_REATTACH_PROVIDERS" || k == "TF_CLI_CONFIG_FILE" || k == "TF_PLUGIN_CACHE_DIR" || strings.HasPrefix(k, "TF_CLI_ARGS") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
}

// lockHashes returns the version and hashes .terraform.lock.hcl records for
// provider address.
func lockHashes(t *testing.T, lockFile, address string) (string, []string) {
	t.Helper()
	b, err := os.ReadFile(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, fmt.Sprintf("provider %q {", address))
	if start < 0 {
		t.Fatalf("%s has no block for %s:\n%s", lockFile, address, s)
	}
	block := s[start:]
	if end := strings.Index(block, "\n}"); end >= 0 {
		block = block[:end]
	}
	version := regexp.MustCompile(`version\s*=\s*"([^"]+)"`).FindStringSubmatch(block)
	if version == nil {
		t.Fatalf("lock block for %s has no version:\n%s", address, block)
	}
	var hashes []string
	for _, m := range regexp.MustCompile(`"((?:h1|zh):[^"]+)"`).FindAllStringSubmatch(block, -1) {
		hashes = append(hashes, m[1])
	}
	return version[1], hashes
}

// writeLock writes a dependency lock file with one provider.
func writeLock(t *testing.T, file, address, version string, hashes []string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "provider %q {\n  version     = %q\n  constraints = %q\n  hashes = [\n", address, version, version)
	for _, h := range hashes {
		fmt.Fprintf(&b, "    %q,\n", h)
	}
	b.WriteString("  ]\n}\n")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// TestAccRelease_installFromMirror installs the provider as a user does
// from a release: the CLI's only installation method is a filesystem mirror
// of goreleaser's zips (no registry, no dev_overrides, no reattach), and
// `init` runs in a network namespace without any network. The zip must
// match the zh: hashes a registry derives from SHA256SUMS (a lock file
// holding a wrong one must stop init) and the lock file gains the zip's
// h1: hash; then the installed binary applies a tuning to a fleet host,
// re-plans empty and destroys it.
func TestAccRelease_installFromMirror(t *testing.T) {
	accPreCheck(t)
	rel := loadRelease(t)
	cli := os.Getenv("TF_ACC_TERRAFORM_PATH")
	host := "registry.terraform.io"
	if cliIsOpenTofu() {
		host = "registry.opentofu.org"
	}
	address := host + "/tcptune/tcp"
	mirror := filepath.Join(rel.dir, "mirror")
	platform := runtime.GOOS + "_" + runtime.GOARCH
	zip := fmt.Sprintf("terraform-provider-tcp_%s_%s.zip", rel.version, platform)
	if _, err := os.Stat(filepath.Join(mirror, address, zip)); err != nil {
		t.Fatalf("mirror has no %s for this platform: %v", zip, err)
	}

	work := t.TempDir()
	rc := filepath.Join(work, "cli.tfrc")
	if err := os.WriteFile(rc, fmt.Appendf(nil, `provider_installation {
  filesystem_mirror {
    path    = %q
    include = [%q]
  }
}
`, mirror, address), 0o600); err != nil {
		t.Fatal(err)
	}
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	orig := originals(t, f, "net.ipv4.tcp_fin_timeout", "net.ipv4.ip_local_reserved_ports")
	cfgDir := filepath.Join(work, "config")
	if err := os.Mkdir(cfgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`terraform {
  required_providers {
    tcp = {
      source  = "tcptune/tcp"
      version = "= %s"
    }
  }
}
%s
resource "tcp_tuning" "one" {
  %s
  tcp_fin_timeout         = 37
  ip_local_reserved_ports = ["8003", "8001-8002"]
}
`, rel.version, providerBlock(f), hostAttrs(h))
	if err := os.WriteFile(filepath.Join(cfgDir, "main.tf"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(netless bool, args ...string) string {
		t.Helper()
		name, argv := cli, args
		if netless {
			// No network at all, not even loopback: init must need none.
			name, argv = "unshare", append([]string{"--net", "--", cli}, args...)
		}
		cmd := exec.Command(name, argv...)
		cmd.Dir = cfgDir
		cmd.Env = cliEnv(rc)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", filepath.Base(cli), strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// A lock file as a registry install writes it: the zh: hashes of every
	// platform's zip, which the registry takes from the release's
	// SHA256SUMS. (A filesystem mirror alone records only h1:.) init must
	// accept the mirror's zip against them, and add its h1: hash.
	var zh []string
	for file, sum := range rel.sums {
		if strings.HasSuffix(file, ".zip") {
			zh = append(zh, "zh:"+sum)
		}
	}
	slices.Sort(zh)
	lockFile := filepath.Join(cfgDir, ".terraform.lock.hcl")
	writeLock(t, lockFile, address, rel.version, zh)
	out := run(true, "init", "-input=false", "-no-color")
	if !strings.Contains(out, "Installing tcptune/tcp v"+rel.version) {
		t.Errorf("init did not install tcptune/tcp %s from the mirror:\n%s", rel.version, out)
	}
	version, hashes := lockHashes(t, lockFile, address)
	if version != rel.version {
		t.Errorf("lock file records version %s, want %s", version, rel.version)
	}
	h1, err := dirhash.HashZip(filepath.Join(mirror, address, zip), dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(slices.Clone(zh), h1); !sameSet(hashes, want) {
		t.Errorf("lock file hashes after init:\n%v\nwant the release's zh: hashes and the zip's h1:\n%v", hashes, want)
	}

	// The control: a lock whose zh: hash is not the zip's must stop init.
	bad := filepath.Join(work, "bad")
	if err := os.Mkdir(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "main.tf"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	writeLock(t, filepath.Join(bad, ".terraform.lock.hcl"), address, rel.version, []string{"zh:" + rel.sums["terraform-provider-tcp_"+rel.version+"_manifest.json"]})
	cmd := exec.Command("unshare", "--net", "--", cli, "init", "-input=false", "-no-color")
	cmd.Dir, cmd.Env = bad, cliEnv(rc)
	if out, err := cmd.CombinedOutput(); err == nil || !regexp.MustCompile(`checksums\s+previously\s+recorded`).Match(out) {
		t.Errorf("init with a wrong zh: hash in the lock file: err=%v, want a checksum mismatch:\n%s", err, out)
	}

	applied := false
	t.Cleanup(func() {
		if applied { // best effort when a later step failed
			cmd := exec.Command(cli, "destroy", "-auto-approve", "-input=false", "-no-color")
			cmd.Dir, cmd.Env = cfgDir, cliEnv(rc)
			_ = cmd.Run()
		}
	})
	applied = true
	run(false, "apply", "-auto-approve", "-input=false", "-no-color")
	for _, c := range []hostCheck{
		expectSysctl(h, "net.ipv4.tcp_fin_timeout", "37"),
		expectSysctl(h, "net.ipv4.ip_local_reserved_ports", "8001-8003"),
		expectFileLine(h, defaultFile, "net.ipv4.tcp_fin_timeout", "37"),
	} {
		if err := c.fn(); err != nil {
			t.Errorf("after apply: %s: %v", c.desc, err)
		}
	}
	if out := run(false, "plan", "-detailed-exitcode", "-input=false", "-no-color"); !strings.Contains(out, "No changes") {
		t.Errorf("re-plan after apply is not empty:\n%s", out)
	}
	run(false, "destroy", "-auto-approve", "-input=false", "-no-color")
	applied = false
	if err := restoredAndRemoved(f, orig, defaultFile)(nil); err != nil {
		t.Errorf("after destroy: %v", err)
	}
}
