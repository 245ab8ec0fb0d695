package provider

import (
	"fmt"
	"strconv"
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

// TestCachedReadsBounded: a process that reads a whole fleet keeps only
// the latest maxCachedReads reads; the newest are still reused and the
// oldest are read again.
func TestCachedReadsBounded(t *testing.T) {
	d := &providerData{}
	const hosts = 3 * maxCachedReads
	keys := []string{"net.ipv4.tcp_fin_timeout"}
	target := func(i int) sshx.Target {
		return sshx.Target{Host: fmt.Sprintf("10.0.%d.%d", i/256, i%256), Port: 22, User: "root"}
	}
	for i := range hosts {
		d.remember(target(i), "/etc/sysctl.d/90-a.conf", keys, &hostops.ReadResult{KernelRelease: strconv.Itoa(i)})
		if got := d.recall(target(i), "/etc/sysctl.d/90-a.conf", keys); got == nil || got.KernelRelease != strconv.Itoa(i) {
			t.Fatalf("host %d: the read just remembered = %+v", i, got)
		}
	}
	if n := len(d.facts); n != maxCachedReads {
		t.Errorf("%d cached reads after %d hosts, want %d", n, hosts, maxCachedReads)
	}
	if got := d.recall(target(0), "/etc/sysctl.d/90-a.conf", keys); got != nil {
		t.Errorf("the oldest read is still kept: %+v", got)
	}
	last := hosts - maxCachedReads
	if got := d.recall(target(last), "/etc/sysctl.d/90-a.conf", keys); got == nil {
		t.Errorf("read %d, among the latest %d, was evicted", last, maxCachedReads)
	}
	if got := d.recall(target(last-1), "/etc/sysctl.d/90-a.conf", keys); got != nil {
		t.Errorf("read %d, older than the latest %d, is still kept", last-1, maxCachedReads)
	}
}
