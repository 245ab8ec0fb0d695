package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
)

// Transport behaviour that users meet through Terraform (issue 10, items 5
// and 8), against the real OpenSSH sshd of the test fleet.

// loginHang is how long the hanging login shell sleeps before it runs the
// command: far longer than the timeouts the tests set.
const loginHang = 40 * time.Second

// TestAccTransport_loginShellHangs: a host whose login shell hangs before
// it runs anything holds every session open. With 8 s timeouts, the apply
// of a tcp_tuning and the read of a tcp_stats fail with a timeout
// diagnostic well before the shell wakes up, instead of waiting for it.
func TestAccTransport_loginShellHangs(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	before := originals(t, f, "net.ipv4.tcp_keepalive_time")
	if err := h.SetExecHook(fmt.Sprintf("sleep %d", int(loginHang/time.Second))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.SetExecHook("") })
	prov := faultProvider(f, "10s")
	deadlineDiag := regexp.MustCompile(`(?s)(?:Timed Out|Outcome Unknown).*` + regexp.QuoteMeta(endpointOf(h)))

	cases := []struct {
		name, config string
	}{
		// The plan's host check is bounded by read, the apply by create.
		{"tcp_tuning apply", prov + fmt.Sprintf(`
resource "tcp_tuning" "t" {
  %s
  tcp_keepalive_time = 900
  timeouts {
    create = "8s"
    read   = "8s"
  }
}
`, hostAttrs(h))},
		{"tcp_stats read", prov + fmt.Sprintf(`
data "tcp_stats" "s" {
  %s
  timeouts {
    read = "8s"
  }
}
`, hostAttrs(h))},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			start := time.Now()
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6Factories,
				Steps:                    []resource.TestStep{{Config: c.config, ExpectError: deadlineDiag}},
			})
			// Each host operation ends by its 8 s timeout plus a moment
			// (the connection is closed); a run that waited for the login
			// shell would take at least 40 s.
			d := time.Since(start)
			t.Logf("%s failed after %s", c.name, d.Round(time.Millisecond))
			if d >= loginHang {
				t.Errorf("%s took %s: the timeouts did not hold against a login shell that hangs %s", c.name, d.Round(time.Millisecond), loginHang)
			}
		})
	}
	if err := h.SetExecHook(""); err != nil {
		t.Fatal(err)
	}
	if err := expectUntouched(h, before[h.Name]); err != nil {
		t.Error(err)
	}
}

// TestAccTransport_wrongPassword: a wrong password is an authentication
// failure, not "Host Unreachable", and the provider tries it once: three
// host operations in one plan (two tcp_stats reads and a tcp_tuning's host
// check) on the same host cost sshd one failed authentication.
func TestAccTransport_wrongPassword(t *testing.T) {
	f := startFleet(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	config := fmt.Sprintf(`
provider "tcp" {
  user             = %q
  password         = "not-the-password"
  known_hosts_file = %q
  timeout          = "20s"
}

data "tcp_stats" "a" {
  %[3]s
}

data "tcp_stats" "b" {
  %[3]s
  top = 3
}

resource "tcp_tuning" "t" {
  %[3]s
  tcp_keepalive_time = 900
}
`, lab.UserPassword, f.KnownHostsFile, hostAttrs(h))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6Factories,
		Steps: []resource.TestStep{{
			Config:      config,
			ExpectError: regexp.MustCompile(`(?s)SSH Authentication Failed.*` + regexp.QuoteMeta(fmt.Sprintf("%s@%s:%d", lab.UserPassword, h.Addr, h.Port))),
		}},
	})
	st, err := h.SSHDStats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Failed != 1 || st.Accepted != 0 || st.Connections != 1 {
		t.Errorf("sshd saw %+v, want one connection with one failed authentication and no login", st)
	}
}
