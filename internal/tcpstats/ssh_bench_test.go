package tcpstats_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
	"github.com/tcptune/terraform-provider-tcp/internal/labtest"
	"github.com/tcptune/terraform-provider-tcp/internal/sshx"
	"github.com/tcptune/terraform-provider-tcp/internal/tcpstats"
)

// BenchmarkStatsOverSSH reads a fleet host holding many TIME_WAIT sockets
// (TCPSTATS_BENCH_TW, default 52,000) through the real sshd, and compares
// the data source's round trip with shipping `ss -tan` whole over the same
// connection. Run as root:
//
//	go test -run '^$' -bench StatsOverSSH -benchtime 5x ./internal/tcpstats/
//
// Reported per read: wall time (ns/op), payload bytes sent (the exec
// command line with the script and its wrapper, plus stdin, as the pool
// counts them: bytes-sent/op) and received (stdout and stderr:
// bytes-received/op), and the TIME_WAIT count seen (time-wait).
func BenchmarkStatsOverSSH(b *testing.B) {
	n := 52000
	if v, err := strconv.Atoi(os.Getenv("TCPSTATS_BENCH_TW")); err == nil && v > 0 {
		n = v
	}
	f := labtest.StartT(b, lab.Options{Hosts: 1})
	h := f.Hosts[0]
	// Enough ephemeral ports for n client-side TIME_WAIT sockets over two
	// destinations (each destination can hold one socket per port).
	if err := h.SetSysctl("net.ipv4.ip_local_port_range", "10000 65535"); err != nil {
		b.Fatal(err)
	}
	// The default tcp_tw_reuse = 2 reuses loopback TIME_WAIT ports after
	// 1 s, which would keep the count down: every closed socket must stay.
	if err := h.SetSysctl("net.ipv4.tcp_tw_reuse", "0"); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i, port := range []int{6379, 6380} {
		res, err := h.Churn(ctx, lab.ChurnOptions{Port: port, N: n/2 + i*(n%2), ClientCloses: true, Workers: 8, Timeout: 2 * time.Minute})
		if err != nil || res.Failed > 0 {
			b.Fatalf("churn: %+v %v", res, err)
		}
		b.Logf("churned %d connections to port %d in %v", res.Succeeded, port, res.Elapsed)
	}
	pool, err := sshx.NewPool(sshx.Config{PrivateKey: f.ClientKey, KnownHostsFile: f.KnownHostsFile, Timeout: 20 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	t := sshx.Target{Host: h.Addr, Port: h.Port}
	// Connect once, so the benchmark measures reads, not the handshake.
	if _, err := pool.Run(ctx, t, sshx.Script{Name: "warm-up", Body: "true"}, nil); err != nil {
		b.Fatal(err)
	}

	b.Run("tcp_stats", func(b *testing.B) {
		var bytes int
		var tw int64
		before := pool.Stats()
		for i := 0; i < b.N; i++ {
			res, err := pool.Run(ctx, t, tcpstats.Script(), tcpstats.Input{Top: tcpstats.DefaultTop}.Marshal())
			if err != nil {
				b.Fatal(err)
			}
			snap, err := tcpstats.DecodeResult(res)
			if err != nil {
				b.Fatal(err)
			}
			bytes = len(res.Stdout) + len(res.Stderr)
			tw = tcpstats.Analyze(snap).TimeWait
		}
		if tw < int64(n)*95/100 {
			b.Fatalf("time_wait = %d, want about %d", tw, n)
		}
		b.ReportMetric(float64(bytes), "bytes-received/op")
		b.ReportMetric(float64(pool.Stats().BytesSent-before.BytesSent)/float64(b.N), "bytes-sent/op")
		b.ReportMetric(float64(tw), "time-wait")
	})
	b.Run("ss_-tan_shipped_whole", func(b *testing.B) {
		var bytes int
		before := pool.Stats()
		for i := 0; i < b.N; i++ {
			res, err := pool.Run(ctx, t, sshx.Script{Name: "ss-tan", Body: "ss -tan"}, nil)
			if err != nil || res.ExitStatus != 0 {
				b.Fatalf("ss -tan: %v %+v", err, res)
			}
			bytes = len(res.Stdout) + len(res.Stderr)
		}
		b.ReportMetric(float64(bytes), "bytes-received/op")
		b.ReportMetric(float64(pool.Stats().BytesSent-before.BytesSent)/float64(b.N), "bytes-sent/op")
	})
}
