package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
)

const defaultFile = "90-tcp-tuning.conf"

// hostsLocal renders the fleet's hosts as an HCL list of {addr, port}.
// (terraform-plugin-testing's state shim cannot address for_each
// instances; the for_each fleet example is applied by main_test.go.)
func hostsLocal(f *lab.Fleet) string {
	var b strings.Builder
	b.WriteString("locals {\n  hosts = [\n")
	for _, h := range f.Hosts {
		fmt.Fprintf(&b, "    { addr = %q, port = %d },\n", h.Addr, h.Port)
	}
	b.WriteString("  ]\n}\n")
	return b.String()
}

// originals reads the live values of keys on every host before a test
// changes them, so CheckDestroy can prove they came back.
func originals(t *testing.T, f *lab.Fleet, keys ...string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, h := range f.Hosts {
		out[h.Name] = map[string]string{}
		for _, k := range keys {
			v, err := h.Sysctl(k)
			if err != nil {
				t.Fatalf("read %s on %s: %v", k, h.Name, err)
			}
			out[h.Name][k] = v
		}
	}
	return out
}

// restoredAndRemoved is a CheckDestroy: every host has its original values
// back and no persisted file.
func restoredAndRemoved(f *lab.Fleet, orig map[string]map[string]string, file string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, h := range f.Hosts {
			for k, want := range orig[h.Name] {
				got, err := h.Sysctl(k)
				if err != nil {
					return err
				}
				if collapse(got) != collapse(want) {
					return fmt.Errorf("%s: %s = %q after destroy, want original %q", h.Name, k, got, want)
				}
			}
			if _, ok := persisted(h, file); ok {
				return fmt.Errorf("%s: %s still exists after destroy", h.Name, file)
			}
		}
		return nil
	}
}

func fleetConfig(f *lab.Fleet, body string) string {
	return providerBlock(f) + hostsLocal(f) + `
resource "tcp_tuning" "web" {
  count = length(local.hosts)
  host  = local.hosts[count.index].addr
  port  = local.hosts[count.index].port
` + body + "\n}\n"
}

func TestAccTuning_fleetCreateReplanDestroy(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 3})
	keys := []string{"net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_fin_timeout", "net.ipv4.ip_local_port_range", "net.ipv4.ip_local_reserved_ports", "net.core.somaxconn"}
	orig := originals(t, f, keys...)
	cfg := fleetConfig(f, `
  service_ports           = [8080, 7005]
  tcp_tw_reuse            = 1
  tcp_fin_timeout         = 30
  somaxconn               = 8192
  ip_local_port_range     = { min = 10000, max = 65001 }
  ip_local_reserved_ports = ["8003", "8001-8002", "7005", "8080", "8002-8004"]
`)
	var checks []statecheck.StateCheck
	for i, h := range f.Hosts {
		addr := fmt.Sprintf("tcp_tuning.web[%d]", i)
		checks = append(checks,
			expectSysctl(h, "net.ipv4.tcp_tw_reuse", "1"),
			expectSysctl(h, "net.ipv4.tcp_fin_timeout", "30"),
			expectSysctl(h, "net.core.somaxconn", "8192"),
			expectSysctl(h, "net.ipv4.ip_local_port_range", "10000\t65001"),
			expectSysctl(h, "net.ipv4.ip_local_reserved_ports", "7005,8001-8004,8080"),
			expectFileLine(h, defaultFile, "net.ipv4.tcp_tw_reuse", "1"),
			expectFileLine(h, defaultFile, "net.ipv4.ip_local_port_range", "10000 65001"),
			expectFileLine(h, defaultFile, "net.ipv4.ip_local_reserved_ports", "7005,8001-8004,8080"),
			expectAttr(addr, fmt.Sprintf("%s:%d/tcp-tuning", h.Addr, h.Port), "id"),
			expectAttr(addr, "/etc/sysctl.d/"+defaultFile, "persist_path"),
			expectAttr(addr, orig[h.Name]["net.ipv4.tcp_fin_timeout"], "original_values", "net.ipv4.tcp_fin_timeout"),
			expectAttr(addr, collapse(orig[h.Name]["net.ipv4.ip_local_port_range"]), "original_values", "net.ipv4.ip_local_port_range"),
			expectAttr(addr, kernelRelease(t, h), "kernel_release"),
		)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, defaultFile),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: checks},
			{
				// Multi-value keys given unsorted and overlapping: no diff.
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

func singleConfig(f *lab.Fleet, h *lab.Host, body string, providerExtra ...string) string {
	return providerBlock(f, providerExtra...) + `
resource "tcp_tuning" "one" {
  ` + hostAttrs(h) + `
` + body + "\n}\n"
}

func TestAccTuning_driftIsRepaired(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	orig := originals(t, f, "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_tw_reuse")
	cfg := singleConfig(f, h, `
  tcp_fin_timeout = 25
  tcp_tw_reuse    = 1
`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, defaultFile),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{expectSysctl(h, "net.ipv4.tcp_fin_timeout", "25")}},
			{
				PreConfig: func() {
					if err := h.SetSysctl("net.ipv4.tcp_fin_timeout", "44"); err != nil {
						t.Fatal(err)
					}
					if err := os.Remove(filepath.Join(h.SysctlDir(), defaultFile)); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("tcp_tuning.one", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("tcp_tuning.one", tfjsonpath.New("tcp_fin_timeout"), knownvalue.Int64Exact(25)),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					expectSysctl(h, "net.ipv4.tcp_fin_timeout", "25"),
					expectFileLine(h, defaultFile, "net.ipv4.tcp_fin_timeout", "25"),
					expectFileLine(h, defaultFile, "net.ipv4.tcp_tw_reuse", "1"),
				},
			},
			{
				// An edited file alone is drift too.
				PreConfig: func() {
					p := filepath.Join(h.SysctlDir(), defaultFile)
					b, err := os.ReadFile(p)
					if err != nil {
						t.Fatal(err)
					}
					edited := strings.Replace(string(b), "net.ipv4.tcp_tw_reuse = 1", "net.ipv4.tcp_tw_reuse = 0", 1)
					if edited == string(b) {
						t.Fatalf("persisted file has no tcp_tw_reuse line to edit:\n%s", b)
					}
					if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tcp_tuning.one", plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{expectFileLine(h, defaultFile, "net.ipv4.tcp_tw_reuse", "1")},
			},
		},
	})
}

func TestAccTuning_removedSettingIsRestored(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	orig := originals(t, f, "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_keepalive_time")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, defaultFile),
		Steps: []resource.TestStep{
			{Config: singleConfig(f, h, "tcp_fin_timeout = 30\n  tcp_tw_reuse = 1\n")},
			{
				Config: singleConfig(f, h, "tcp_fin_timeout = 20\n  tcp_tw_reuse = 1\n  tcp_keepalive_time = 600\n"),
				ConfigStateChecks: []statecheck.StateCheck{
					expectSysctl(h, "net.ipv4.tcp_fin_timeout", "20"),
					expectSysctl(h, "net.ipv4.tcp_keepalive_time", "600"),
					// The original is captured once, before the first change.
					statecheck.ExpectKnownValue("tcp_tuning.one", tfjsonpath.New("original_values").AtMapKey("net.ipv4.tcp_fin_timeout"), knownvalue.StringExact(orig[h.Name]["net.ipv4.tcp_fin_timeout"])),
					statecheck.ExpectKnownValue("tcp_tuning.one", tfjsonpath.New("original_values").AtMapKey("net.ipv4.tcp_keepalive_time"), knownvalue.StringExact(orig[h.Name]["net.ipv4.tcp_keepalive_time"])),
				},
			},
			{
				Config: singleConfig(f, h, "tcp_tw_reuse = 1\n"),
				ConfigStateChecks: []statecheck.StateCheck{
					expectSysctl(h, "net.ipv4.tcp_fin_timeout", orig[h.Name]["net.ipv4.tcp_fin_timeout"]),
					expectSysctl(h, "net.ipv4.tcp_keepalive_time", orig[h.Name]["net.ipv4.tcp_keepalive_time"]),
					expectSysctl(h, "net.ipv4.tcp_tw_reuse", "1"),
					hostCheck{desc: "file lost removed keys", fn: func() error {
						c, _ := persisted(h, defaultFile)
						if strings.Contains(c, "\nnet.ipv4.tcp_fin_timeout") {
							return fmt.Errorf("file still sets tcp_fin_timeout:\n%s", c)
						}
						return nil
					}},
					statecheck.ExpectKnownValue("tcp_tuning.one", tfjsonpath.New("original_values"), knownvalue.MapSizeExact(1)),
				},
			},
		},
	})
}

func TestAccTuning_import(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	orig := originals(t, f, "net.ipv4.tcp_fin_timeout", "net.ipv4.ip_local_reserved_ports", "net.ipv4.ip_local_port_range")
	// A non-default name and priority: import finds 70-web.conf by name.
	cfg := singleConfig(f, h, `
  name                    = "web"
  priority                = 70
  tcp_fin_timeout         = 30
  ip_local_port_range     = { min = 20000, max = 60999 }
  ip_local_reserved_ports = ["7005", "8001-8003"]
  extra_sysctls           = { "net.ipv4.tcp_ecn" = "1" }
`)
	const file = "70-web.conf"
	importID := fmt.Sprintf("%s:%d/web", h.Addr, h.Port)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, file),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{expectFileLine(h, file, "net.ipv4.tcp_ecn", "1")}},
			{
				// terraform import, then every attribute compared with the
				// state the create left.
				Config: cfg,
				PreConfig: func() {
					if _, ok := persisted(h, file); !ok {
						t.Fatalf("%s missing before the import", file)
					}
				},
				ResourceName:                         "tcp_tuning.one",
				ImportState:                          true,
				ImportStateId:                        importID,
				ImportStateVerify:                    true,
				ImportStateVerifyIdentifierAttribute: "id",
				ImportStateVerifyIgnore:              []string{"timeouts"},
			},
			{
				// An import block with the same configuration, in a copy of
				// the state without the resource: the plan must be a no-op
				// import (no update), so everything was rebuilt from the
				// host's persisted file and live values.
				Config:          cfg,
				ResourceName:    "tcp_tuning.one",
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   importID,
			},
		},
	})
}

func TestAccTuning_recycleRejected(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	rec := &poolRecorder{}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: rec.factories(),
		Steps: []resource.TestStep{
			{
				Config:      singleConfig(f, h, "tcp_tw_recycle = 1\n"),
				ExpectError: regexp.MustCompile(`(?s)NAT.*4\.12`),
				PlanOnly:    true,
			},
			{
				// Not behind NAT: the host's kernel has no such key.
				PreConfig: func() {
					// The NAT rule is static: the first plan never reached the host.
					if n, c := h.ConnectionsAccepted(), rec.stats().Connections; n != 0 || c != 0 {
						t.Errorf("the rejected behind-NAT plan connected to the host (sshd accepted %d, provider opened %d)", n, c)
					}
				},
				Config:      singleConfig(f, h, "behind_nat = false\n  tcp_tw_recycle = 1\n"),
				ExpectError: regexp.MustCompile(`(?s)tcp_tw_recycle.*` + regexp.QuoteMeta(kernelRelease(t, h))),
				PlanOnly:    true,
			},
		},
	})
	if _, ok := persisted(h, defaultFile); ok {
		t.Fatal("a rejected plan wrote the persisted file")
	}
}

// kernelRelease is the fleet's kernel (namespaces share the kernel).
func kernelRelease(t *testing.T, h *lab.Host) string {
	out, err := h.Exec(context.Background(), nil, "uname", "-r")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestAccTuning_listeningPortInsideNewRange(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	stop, err := h.Listen(context.Background(), 20123)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{{
			Config:      singleConfig(f, h, "ip_local_port_range = { min = 10000, max = 65001 }\n"),
			ExpectError: regexp.MustCompile(`20123`),
			PlanOnly:    true,
		}},
	})
}

func TestAccTuning_failedApplyChangesNothing(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	before := originals(t, f, "net.core.somaxconn", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_ecn")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{{
			// Keys are written in order; tcp_ecn (rejected with EINVAL)
			// comes after two valid keys.
			Config: singleConfig(f, h, `
  somaxconn           = 8192
  ip_local_port_range = { min = 20000, max = 60999 }
  extra_sysctls       = { "net.ipv4.tcp_ecn" = "7" }
`),
			ExpectError: regexp.MustCompile(`(?s)net\.ipv4\.tcp_ecn.*EINVAL`),
		}},
	})
	for k, want := range before[h.Name] {
		got, err := h.Sysctl(k)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %q after a failed apply, want %q (unchanged)", k, got, want)
		}
	}
	if _, ok := persisted(h, defaultFile); ok {
		t.Error("a failed apply left the persisted file")
	}
}

// TestAccTuning_failedUpdateChangesNothing: an update that fails on its
// last key leaves the live values and the persisted file byte for byte as
// the previous apply left them, and the next plan against the previous
// configuration is empty.
func TestAccTuning_failedUpdateChangesNothing(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	orig := originals(t, f, "net.core.somaxconn", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_ecn")
	good := singleConfig(f, h, `
  somaxconn           = 2048
  ip_local_port_range = { min = 20000, max = 60999 }
  extra_sysctls       = { "net.ipv4.tcp_ecn" = "1" }
`)
	var before map[string]map[string]string
	var file string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, defaultFile),
		Steps: []resource.TestStep{
			{
				Config: good,
				ConfigStateChecks: []statecheck.StateCheck{hostCheck{desc: "record the applied host", fn: func() error {
					before = originals(t, f, "net.core.somaxconn", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_ecn")
					var ok bool
					if file, ok = persisted(h, defaultFile); !ok {
						return fmt.Errorf("%s missing after the apply", defaultFile)
					}
					return nil
				}}},
			},
			{
				// Two valid changes written first, then tcp_ecn = 7 (EINVAL).
				Config: singleConfig(f, h, `
  somaxconn           = 8192
  ip_local_port_range = { min = 30000, max = 60999 }
  extra_sysctls       = { "net.ipv4.tcp_ecn" = "7" }
`),
				ExpectError: regexp.MustCompile(`(?s)net\.ipv4\.tcp_ecn.*7.*EINVAL`),
			},
			{
				PreConfig: func() {
					for k, want := range before[h.Name] {
						if got, err := h.Sysctl(k); err != nil || got != want {
							t.Errorf("%s = %q (%v) after a failed update, want %q as before it", k, got, err, want)
						}
					}
					if got, ok := persisted(h, defaultFile); !ok || got != file {
						t.Errorf("persisted file after a failed update:\n%s\nwant, byte for byte:\n%s", got, file)
					}
				},
				Config: good,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

func TestAccTuning_sudoUser(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	orig := originals(t, f, "net.ipv4.tcp_keepalive_intvl")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, defaultFile),
		Steps: []resource.TestStep{{
			Config: singleConfig(f, h, "tcp_keepalive_intvl = 30\n", `  user = "tcpsudo"`, `  sudo = true`),
			ConfigStateChecks: []statecheck.StateCheck{
				expectSysctl(h, "net.ipv4.tcp_keepalive_intvl", "30"),
				expectFileLine(h, defaultFile, "net.ipv4.tcp_keepalive_intvl", "30"),
			},
		}},
	})
}

func TestAccTuning_sudoPasswordIsExplained(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{{
			Config:      singleConfig(f, h, "tcp_keepalive_intvl = 30\n", `  user = "tcppass"`, `  sudo = true`),
			ExpectError: regexp.MustCompile(`(?s)sudo Needs a Password`),
		}},
	})
}

type fileStamp struct {
	ino, mtime, dirMtime int64
}

func stampOf(h *lab.Host, file string) (fileStamp, error) {
	var st, dst syscall.Stat_t
	if err := syscall.Stat(filepath.Join(h.SysctlDir(), file), &st); err != nil {
		return fileStamp{}, err
	}
	if err := syscall.Stat(h.SysctlDir(), &dst); err != nil {
		return fileStamp{}, err
	}
	return fileStamp{int64(st.Ino), st.Mtim.Nano(), dst.Mtim.Nano()}, nil
}

// TestAccTuning_zeroWritesWhenUnchanged: an apply whose update changes
// nothing on the host (only service_ports, a validation input) runs the
// apply script, which opens no /proc/sys file for writing and leaves the
// file (inode, mtime) and its directory alone. The host's scripts run under
// strace, which sees the writes of the create, so it would see any write of
// the update, whatever the script writes with.
func TestAccTuning_zeroWritesWhenUnchanged(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	traces := traceHook(t, h, "", writeTraceFilter...)
	clearTraces := func() error {
		files, _ := filepath.Glob(filepath.Join(traces, "trace.*"))
		for _, f := range files {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
		return nil
	}
	body := "tcp_fin_timeout = 31\n  tcp_keepalive_time = 900\n  service_ports = %s\n"
	var stamp fileStamp
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{
			{
				Config: singleConfig(f, h, fmt.Sprintf(body, "[8080]")),
				ConfigStateChecks: []statecheck.StateCheck{hostCheck{desc: "the create writes, and the trace sees it", fn: func() error {
					w := strings.Join(hostWrites(t, traces), "\n")
					for _, want := range []string{"/proc/sys/net/ipv4/tcp_fin_timeout", "/proc/sys/net/ipv4/tcp_keepalive_time", "rename"} {
						if !strings.Contains(w, want) {
							return fmt.Errorf("the trace of the create lacks %s:\n%s", want, w)
						}
					}
					var err error
					if stamp, err = stampOf(h, defaultFile); err != nil {
						return err
					}
					return clearTraces()
				}}},
			},
			{
				Config: singleConfig(f, h, fmt.Sprintf(body, "[8080, 9090]")),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tcp_tuning.one", plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					expectSysctl(h, "net.ipv4.tcp_fin_timeout", "31"),
					hostCheck{desc: "a no-change update writes nothing", fn: func() error {
						if !tracedScript(t, traces, applyMarker) {
							return fmt.Errorf("no apply script was traced during the update: the test did not exercise it")
						}
						if w := hostWrites(t, traces); len(w) != 0 {
							return fmt.Errorf("the update wrote on the host:\n%s", strings.Join(w, "\n"))
						}
						got, err := stampOf(h, defaultFile)
						if err != nil {
							return err
						}
						if got != stamp {
							return fmt.Errorf("persisted file or its directory changed: %+v, before %+v", got, stamp)
						}
						return nil
					}},
				},
			},
		},
	})
}

func TestAccTuning_twoResourcesSameKeyIsAnError(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	orig := originals(t, f, "net.ipv4.tcp_fin_timeout")
	first := `
resource "tcp_tuning" "a" {
  ` + hostAttrs(h) + `
  name            = "app-a"
  tcp_fin_timeout = 30
}
`
	second := `
resource "tcp_tuning" "b" {
  ` + hostAttrs(h) + `
  name            = "app-b"
  tcp_fin_timeout = 20
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, "90-app-a.conf"),
		Steps: []resource.TestStep{
			{Config: providerBlock(f) + first, ConfigStateChecks: []statecheck.StateCheck{expectSysctl(h, "net.ipv4.tcp_fin_timeout", "30")}},
			{
				Config:      providerBlock(f) + first + second,
				ExpectError: regexp.MustCompile(`(?s)90-app-a\.conf`),
			},
			{
				// The rejected resource changed nothing.
				Config: providerBlock(f) + first,
				ConfigStateChecks: []statecheck.StateCheck{
					expectSysctl(h, "net.ipv4.tcp_fin_timeout", "30"),
					expectNoFile(h, "90-app-b.conf"),
				},
			},
		},
	})
}

func TestAccTuning_twoNewResourcesSameKeyInOneApply(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	before, _ := h.Sysctl("net.ipv4.tcp_fin_timeout")
	cfg := providerBlock(f) + `
resource "tcp_tuning" "a" {
  ` + hostAttrs(h) + `
  name            = "app-a"
  tcp_fin_timeout = 30
}
resource "tcp_tuning" "b" {
  ` + hostAttrs(h) + `
  name            = "app-b"
  tcp_fin_timeout = 20
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps:                    []resource.TestStep{{Config: cfg, ExpectError: regexp.MustCompile(`Key Managed by Two Resources`)}},
	})
	if v, _ := h.Sysctl("net.ipv4.tcp_fin_timeout"); v != before {
		t.Errorf("tcp_fin_timeout = %q after a rejected plan, want %q", v, before)
	}
}

func TestAccTuning_taintedResourceIsReplaced(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	orig := originals(t, f, "net.ipv4.tcp_fin_timeout")
	cfg := singleConfig(f, h, "tcp_fin_timeout = 33\n")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, defaultFile),
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				// Destroy-then-create: the old file is gone when the new
				// resource checks the path, and the original value survives.
				Config: cfg,
				Taint:  []string{"tcp_tuning.one"},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tcp_tuning.one", plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					expectSysctl(h, "net.ipv4.tcp_fin_timeout", "33"),
					statecheck.ExpectKnownValue("tcp_tuning.one", tfjsonpath.New("original_values").AtMapKey("net.ipv4.tcp_fin_timeout"), knownvalue.StringExact(orig[h.Name]["net.ipv4.tcp_fin_timeout"])),
				},
			},
		},
	})
}

func TestAccTuning_foreignFileAtPersistPathIsKept(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	p := filepath.Join(h.SysctlDir(), defaultFile)
	const mine = "# the administrator's own file\nnet.core.somaxconn = 1234\n"
	if err := os.WriteFile(p, []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{{
			Config:      singleConfig(f, h, "tcp_fin_timeout = 33\n"),
			ExpectError: regexp.MustCompile(`Persist Path Holds Another File`),
		}},
	})
	if b, err := os.ReadFile(p); err != nil || string(b) != mine {
		t.Errorf("the administrator's file changed: %q, %v", b, err)
	}
}

// Renaming (and a new priority) moves the tuning in place: its previous
// file and record entries are its own, the values are never restored in
// between, and the originals carry over; with create_before_destroy too. A
// forced replacement (-replace) under create_before_destroy leaves the new
// object holding the keys.
func TestAccTuning_renameInPlace(t *testing.T) {
	for _, cbd := range []bool{false, true} {
		t.Run(fmt.Sprintf("create_before_destroy=%v", cbd), func(t *testing.T) {
			f := startFleet(t, lab.Options{Hosts: 1})
			h := f.Hosts[0]
			orig := originals(t, f, "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_tw_reuse")
			lifecycle := ""
			if cbd {
				lifecycle = "lifecycle {\n    create_before_destroy = true\n  }\n"
			}
			body := func(name string, prio int) string {
				return fmt.Sprintf("name = %q\n  priority = %d\n  tcp_fin_timeout = 31\n  tcp_tw_reuse = 1\n  %s", name, prio, lifecycle)
			}
			recordHas := func(want string) hostCheck {
				return hostCheck{desc: "the record names the new owner only", fn: func() error {
					b, err := os.ReadFile(filepath.Join(h.SysctlDir(), ".tcp-tuning.record"))
					if err != nil {
						return err
					}
					if strings.Contains(string(b), " alpha ") || !strings.Contains(string(b), want) {
						return fmt.Errorf("record:\n%s", b)
					}
					return nil
				}}
			}
			wantEntry := "o net.ipv4.tcp_fin_timeout beta " + orig[h.Name]["net.ipv4.tcp_fin_timeout"] + "\n"
			steps := []resource.TestStep{
				{Config: singleConfig(f, h, body("alpha", 70)), ConfigStateChecks: []statecheck.StateCheck{expectFileLine(h, "70-alpha.conf", "net.ipv4.tcp_fin_timeout", "31")}},
				{
					Config: singleConfig(f, h, body("beta", 90)),
					ConfigPlanChecks: resource.ConfigPlanChecks{
						PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tcp_tuning.one", plancheck.ResourceActionUpdate)},
					},
					ConfigStateChecks: []statecheck.StateCheck{
						expectFileLine(h, "90-beta.conf", "net.ipv4.tcp_fin_timeout", "31"),
						expectNoFile(h, "70-alpha.conf"),
						expectSysctl(h, "net.ipv4.tcp_fin_timeout", "31"),
						statecheck.ExpectKnownValue("tcp_tuning.one", tfjsonpath.New("original_values").AtMapKey("net.ipv4.tcp_fin_timeout"), knownvalue.StringExact(orig[h.Name]["net.ipv4.tcp_fin_timeout"])),
						statecheck.ExpectKnownValue("tcp_tuning.one", tfjsonpath.New("id"), knownvalue.StringExact(fmt.Sprintf("%s:%d/beta", h.Addr, h.Port))),
						recordHas(wantEntry),
					},
				},
				{Config: singleConfig(f, h, body("beta", 90)), PlanOnly: true},
			}
			if cbd {
				steps = append(steps, resource.TestStep{
					Config: singleConfig(f, h, body("beta", 90)),
					Taint:  []string{"tcp_tuning.one"},
					ConfigPlanChecks: resource.ConfigPlanChecks{
						PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("tcp_tuning.one", plancheck.ResourceActionCreateBeforeDestroy)},
					},
					ConfigStateChecks: []statecheck.StateCheck{
						expectSysctl(h, "net.ipv4.tcp_fin_timeout", "31"),
						expectSysctl(h, "net.ipv4.tcp_tw_reuse", "1"),
						expectFileLine(h, "90-beta.conf", "net.ipv4.tcp_fin_timeout", "31"),
						recordHas(wantEntry),
					},
				})
			}
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6Factories,
				CheckDestroy:             restoredAndRemoved(f, orig, "90-beta.conf"),
				Steps:                    steps,
			})
		})
	}
}

// A resource with persist = false leaves no file: after its state is
// lost, terraform import finds it in the host's record, with its
// originals, and destroy restores them.
func TestAccTuning_importWithoutFile(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	orig := originals(t, f, "net.ipv4.tcp_keepalive_time")
	cfg := singleConfig(f, h, "name = \"nofile\"\n  persist = false\n  tcp_keepalive_time = 900\n")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		CheckDestroy:             restoredAndRemoved(f, orig, "90-nofile.conf"),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{expectSysctl(h, "net.ipv4.tcp_keepalive_time", "900"), expectNoFile(h, "90-nofile.conf")}},
			{
				Config:                  cfg,
				ResourceName:            "tcp_tuning.one",
				ImportState:             true,
				ImportStateId:           fmt.Sprintf("%s:%d/nofile", h.Addr, h.Port),
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "id"},
			},
		},
	})
}

// A user that is not root and has no sudo: the plan says so, before any
// change, instead of calling the key global to the machine.
func TestAccTuning_noSudoIsExplainedAtPlan(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{{
			Config:      singleConfig(f, h, "tcp_keepalive_intvl = 30\n", `  user = "tcpsudo"`),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)SSH User Cannot Write /proc/sys.*cannot write /proc/sys without\s+sudo`),
		}},
	})
}
