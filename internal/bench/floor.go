package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/tcptune/terraform-provider-tcp/internal/lab"
)

// Floor phases: a bare Go SSH client (golang.org/x/crypto/ssh, the same key
// auth and known_hosts check as the provider, nothing else) logs in to
// every host 1 or 2 times and runs `true` once per login, -parallelism
// hosts at a time, one round of logins per login. Two rounds are the floor
// of a `terraform apply` by design (Terraform plans in one provider process
// and applies in another, each with its own connection), one round the
// floor of a plan.
const (
	PhaseFloor1 = "1 login per host"
	PhaseFloor2 = "2 logins per host"
)

// floor measures the bare-client floor rows.
func (r *runner) floor(ctx context.Context) error {
	key, err := os.ReadFile(r.f.ClientKeyFile)
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return err
	}
	hk, err := knownhosts.New(r.f.KnownHostsFile)
	if err != nil {
		return err
	}
	cfg := &ssh.ClientConfig{User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: hk, Timeout: 2 * time.Minute}
	for _, logins := range []int{1, 2} {
		phase := PhaseFloor1
		if logins == 2 {
			phase = PhaseFloor2
		}
		p, _, err := r.measureFunc(ctx, ToolFloor, phase, func(ctx context.Context) ([]byte, error) {
			for round := 0; round < logins; round++ {
				if err := floorRound(ctx, r.f.Hosts, r.o.Parallelism, cfg); err != nil {
					return nil, err
				}
			}
			return nil, nil
		}, "")
		if err != nil {
			return err
		}
		if p.SSHDConns.Min != logins || p.SSHDConns.Max != logins || p.SSHDExecs.Min != logins || p.SSHDExecs.Max != logins {
			return fmt.Errorf("floor %s: sshd saw %s connections and %s sessions per host, want %d", phase, p.SSHDConns, p.SSHDExecs, logins)
		}
		p.Note = fmt.Sprintf("bare x/crypto/ssh client: %d login(s) and `true` per host", logins)
	}
	return nil
}

// floorRound logs in to every host once, par at a time, and runs `true`.
func floorRound(ctx context.Context, hosts []*lab.Host, par int, cfg *ssh.ClientConfig) error {
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	var failed atomic.Value
	for _, h := range hosts {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func(h *lab.Host) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := floorLogin(ctx, h, cfg); err != nil {
				failed.CompareAndSwap(nil, fmt.Errorf("%s: %w", h.Endpoint(), err))
			}
		}(h)
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return err
	}
	return nil
}

func floorLogin(ctx context.Context, h *lab.Host, cfg *ssh.ClientConfig) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", h.Endpoint())
	if err != nil {
		return err
	}
	cc, chans, reqs, err := ssh.NewClientConn(conn, h.Endpoint(), cfg)
	if err != nil {
		_ = conn.Close()
		return err
	}
	client := ssh.NewClient(cc, chans, reqs)
	defer func() { _ = client.Close() }()
	sess, err := client.NewSession()
	if err != nil {
		return err
	}
	defer func() { _ = sess.Close() }()
	return sess.Run("true")
}

// connSampler records the peak number of SSH connections open on the
// fleet at once (the lab's proxies count them), sampled every tick.
type connSampler struct {
	hosts []*lab.Host
	stop  chan struct{}
	done  chan struct{}
	peak  int
}

func startConns(hosts []*lab.Host, every time.Duration) *connSampler {
	s := &connSampler{hosts: hosts, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			n := 0
			for _, h := range s.hosts {
				n += h.LiveConnections()
			}
			s.peak = max(s.peak, n)
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends sampling and returns the peak.
func (s *connSampler) Stop() int {
	close(s.stop)
	<-s.done
	return s.peak
}
