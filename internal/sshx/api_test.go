package sshx

import "testing"

func TestTargetAddrAndLabel(t *testing.T) {
	for _, c := range []struct {
		t           Target
		addr, label string
	}{
		{Target{Host: "web1", Port: 22, User: "root"}, "web1:22", "root@web1:22"},
		{Target{Host: "10.0.1.11", Port: 2222, User: "deploy"}, "10.0.1.11:2222", "deploy@10.0.1.11:2222"},
		{Target{Host: "::1", Port: 22, User: "root"}, "[::1]:22", "root@[::1]:22"},
		{Target{Host: "[2001:db8::5]", Port: 2200, User: "ops"}, "[2001:db8::5]:2200", "ops@[2001:db8::5]:2200"},
	} {
		if got := c.t.Addr(); got != c.addr {
			t.Errorf("%+v Addr = %q, want %q", c.t, got, c.addr)
		}
		if got := c.t.Label(); got != c.label {
			t.Errorf("%+v Label = %q, want %q", c.t, got, c.label)
		}
	}
}
