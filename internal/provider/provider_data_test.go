package provider

import (
	"testing"

	"github.com/tcptune/terraform-provider-tcp/internal/hostops"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
)

// TestDropForgetsOneResource: drop forgets one resource's cached read and
// keeps the other resources' reads of the same host.
func TestDropForgetsOneResource(t *testing.T) {
	d := &providerData{}
	tg := sshx.Target{Host: "h", Port: 22, User: "root"}
	a, b := &hostops.ReadResult{KernelRelease: "a"}, &hostops.ReadResult{KernelRelease: "b"}
	d.remember(tg, "/etc/sysctl.d/90-a.conf", []string{"net.ipv4.tcp_fin_timeout"}, a)
	d.remember(tg, "/etc/sysctl.d/90-b.conf", []string{"net.ipv4.tcp_fin_timeout"}, b)
	d.drop(tg, "/etc/sysctl.d/90-a.conf")
	if got := d.recall(tg, "/etc/sysctl.d/90-a.conf", nil); got != nil {
		t.Errorf("dropped read still cached: %+v", got)
	}
	if got := d.recall(tg, "/etc/sysctl.d/90-b.conf", nil); got != b {
		t.Errorf("the other resource's read = %+v, want it kept", got)
	}
	if n := len(d.facts); n != 1 {
		t.Errorf("%d cached reads, want 1", n)
	}
}
