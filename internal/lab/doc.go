// Package lab runs a test fleet of Linux hosts on one machine: every host is a
// network namespace reached through a real OpenSSH sshd on its own loopback
// address, so acceptance tests, the demo and the benchmarks talk SSH to
// something that behaves like a fleet without virtual machines.
//
// How a host works:
//
//   - A network namespace <prefix>-<i> (i = 1..N) with only lo, up. TCP
//     sysctls there start from kernel defaults and are independent of the
//     machine's own values.
//   - /etc/netns/<prefix>-<i>/ holds passwd, group, shadow, sudoers.d and an
//     empty sysctl.d; `ip netns exec` bind-mounts each entry over /etc, so
//     inside the host root's shell is a small wrapper around /bin/sh, users
//     tcpsudo (passwordless sudo) and tcppass (sudo wants a password) exist,
//     and /etc/sysctl.d belongs to the host.
//   - A Go listener on a random 127.A.B.C (A in 100..200), port 22 when free,
//     accepts TCP and starts `ip netns exec NAME sshd -i` per connection,
//     proxying bytes between the two. The proxy is where faults are injected:
//     Down, Mute, CutConnections, Latency.
//   - sshd logs (LogLevel VERBOSE) go to one file per host, so tests can count
//     connections and sessions from the server's side (Host.SSHDStats).
//
// An optional bastion is a real `sshd -D` daemon in the root namespace
// (behind the same kind of proxy), with a configurable MaxStartups.
//
// Everything lives in the fleet's temporary directory, the namespaces and
// /etc/netns/<name>; Close removes all of it. Only root can run a fleet;
// tests use labtest.Require or labtest.StartT (this package does not import
// testing).
//
// The churn worker (RunChurn, the `churn` and `listen` commands of
// cmd/tcplab) runs inside a host's namespace. Host.Churn and Host.Listen
// re-execute the current binary as that worker (see WorkerEnv), so a test
// binary whose TestMain is labtest.Main can drive it without building
// anything.
package lab
