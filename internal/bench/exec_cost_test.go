package bench

import (
	"context"
	"testing"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/catalog"
	"github.com/tcptune/terraform-provider-tcp/internal/hostops"
	"github.com/tcptune/terraform-provider-tcp/internal/lab"
	"github.com/tcptune/terraform-provider-tcp/internal/labtest"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
	"github.com/tcptune/terraform-provider-tcp/internal/tuning"
)

// BenchmarkExecCost is each exec's cost on one fleet host over one open
// connection (no login in the loop), one at a time: `true` (the session
// and its wrapper alone), the tcp_tuning read with facts, an apply that
// changes nothing, an apply that repairs one drifted key, and a login
// with `true` (a new connection each time). Reproduce (root):
//
//	go test -run '^$' -bench ExecCost -benchtime 40x ./internal/bench/
func BenchmarkExecCost(b *testing.B) {
	labtest.RequireAcc(b, "exec cost benchmark")
	f := labtest.StartT(b, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	cfg := sshx.Config{PrivateKey: f.ClientKey, KnownHostsFile: f.KnownHostsFile, Timeout: time.Minute, IdleTimeout: time.Hour}
	p, err := sshx.NewPool(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	t := sshx.Target{Host: h.Addr, Port: h.Port}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	desired := map[string]string{}
	for _, s := range Settings {
		c, err := catalog.CanonicalForKey(s.Key, s.Value)
		if err != nil {
			b.Fatal(err)
		}
		desired[s.Key] = c
	}
	spec := tuning.Spec{Name: "bench", PersistPath: "/etc/sysctl.d/90-bench.conf", Persist: true, Desired: desired}
	var keys []string
	for k := range desired {
		keys = append(keys, k)
	}
	read := func() *hostops.ReadResult {
		res, err := hostops.Read(ctx, p, t, hostops.ReadRequest{Keys: keys, PersistPath: spec.PersistPath, Facts: true})
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	if _, err := tuning.Apply(ctx, p, t, spec, nil, read()); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_, _ = tuning.Delete(context.Background(), p, t, spec, nil, false)
	}()
	b.Run("true", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := p.Run(ctx, t, sshx.Script{Name: "true", Body: "true"}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			read()
		}
	})
	facts := read()
	b.Run("apply-no-change", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := tuning.Apply(ctx, p, t, spec, &tuning.Prior{Spec: spec}, facts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("apply-one-drift", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			if err := h.SetSysctl(DriftKey, "61"); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := tuning.Apply(ctx, p, t, spec, &tuning.Prior{Spec: spec}, facts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("login-and-true", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			q, err := sshx.NewPool(cfg)
			if err != nil {
				b.Fatal(err)
			}
			_, err = q.Run(ctx, t, sshx.Script{Name: "true", Body: "true"}, nil)
			_ = q.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
