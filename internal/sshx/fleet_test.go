package sshx_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
	"github.com/tcptune/terraform-provider-tcp/internal/labtest"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// These tests run the transport against the real OpenSSH sshd of the test
// fleet (root, netns and sshd required; skipped otherwise unless
// TCP_REQUIRE_LAB=1).

func fleetPool(t *testing.T, f *lab.Fleet, user string, sudo bool) *sshx.Pool {
	t.Helper()
	p, err := sshx.NewPool(sshx.Config{
		User:           user,
		PrivateKey:     f.ClientKey,
		KnownHostsFile: f.KnownHostsFile,
		Sudo:           sudo,
		Timeout:        20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func target(h *lab.Host) sshx.Target { return sshx.Target{Host: h.Addr, Port: h.Port} }

// writeFinTimeout sets net.ipv4.tcp_fin_timeout from stdin and prints it
// back with the user id, as host operations do: the value travels on stdin,
// never in the command line.
var writeFinTimeout = sshx.Script{Name: "fleet-test", Body: `
read -r v
printf '%s\n' "$v" > /proc/sys/net/ipv4/tcp_fin_timeout || exit 3
printf '%s %s\n' "$(id -u)" "$(cat /proc/sys/net/ipv4/tcp_fin_timeout)"
`}

func TestFleetScriptRunsInThatHostsNamespace(t *testing.T) {
	f := labtest.StartT(t, lab.Options{Hosts: 3})
	own, err := os.ReadFile("/proc/sys/net/ipv4/tcp_fin_timeout")
	if err != nil {
		t.Fatal(err)
	}
	p := fleetPool(t, f, "root", false)
	h2 := f.Hosts[1]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.Run(ctx, target(h2), writeFinTimeout, []byte("17\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitStatus != 0 || strings.TrimSpace(string(res.Stdout)) != "0 17" {
		t.Fatalf("script: exit %d, stdout %q, stderr %q", res.ExitStatus, res.Stdout, res.Stderr)
	}
	// The host's namespace has the value, seen from outside through
	// ip netns exec; the other hosts and the machine itself do not.
	if v, _ := h2.Sysctl("net.ipv4.tcp_fin_timeout"); v != "17" {
		t.Errorf("host 2 tcp_fin_timeout = %q, want 17", v)
	}
	for _, h := range []*lab.Host{f.Hosts[0], f.Hosts[2]} {
		if v, _ := h.Sysctl("net.ipv4.tcp_fin_timeout"); v == "17" {
			t.Errorf("%s changed too", h.Name)
		}
	}
	now, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_fin_timeout")
	if string(now) != string(own) {
		t.Errorf("the machine's own tcp_fin_timeout changed: %q -> %q", own, now)
	}
	if s := p.Stats(); s.Connections != 1 || s.Sessions != 1 {
		t.Errorf("stats = %+v, want one connection and one session", s)
	}
	if st, err := h2.SSHDStats(); err != nil || st.Sessions != 1 {
		t.Errorf("sshd saw %+v (%v), want exactly one session", st, err)
	}
}

func TestFleetSudoUser(t *testing.T) {
	f := labtest.StartT(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	p := fleetPool(t, f, lab.UserSudo, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := p.Run(ctx, target(h), writeFinTimeout, []byte("23\n"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(res.Stdout)) != "0 23" {
		t.Fatalf("sudo script: exit %d, stdout %q, stderr %q", res.ExitStatus, res.Stdout, res.Stderr)
	}
	if v, _ := h.Sysctl("net.ipv4.tcp_fin_timeout"); v != "23" {
		t.Errorf("tcp_fin_timeout = %q, want 23", v)
	}
}

func TestFleetSudoPasswordIsATypedError(t *testing.T) {
	f := labtest.StartT(t, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	before, _ := h.Sysctl("net.ipv4.tcp_fin_timeout")
	p := fleetPool(t, f, lab.UserPassword, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := p.Run(ctx, target(h), writeFinTimeout, []byte("29\n"))
	var se *sshx.Error
	if !errors.As(err, &se) || se.Kind != sshx.KindSudoPassword {
		t.Fatalf("err = %v, want KindSudoPassword", err)
	}
	if ctx.Err() != nil {
		t.Fatal("sudo waited for a password until the deadline instead of failing")
	}
	if v, _ := h.Sysctl("net.ipv4.tcp_fin_timeout"); v != before {
		t.Errorf("tcp_fin_timeout changed to %q without sudo", v)
	}
}
