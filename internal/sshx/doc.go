// Package sshx runs one embedded script on one host over SSH, with its input
// on stdin, through a pool that keeps one connection per user@host:port.
//
// A [Pool] is built once per provider process from a [Config] that mirrors the
// provider block. [NewPool] validates and parses everything up front (keys,
// passphrases, certificates, host keys, the known_hosts file) and reports bad
// input as a [*ConfigError] naming the provider attribute; it opens no
// connection. [Pool.Run] then connects lazily:
//
//   - One *ssh.Client per user@host:port, shared by concurrent Run calls:
//     concurrent callers for a new host wait for a single dial. At most
//     Config.MaxSessionsPerHost sessions run at once on one connection.
//   - Host keys fail closed: a pinned host_key (plain key or certificate
//     authority), otherwise the known_hosts file (hashed entries,
//     "[host]:port" for non-22 ports, @cert-authority and @revoked markers),
//     unless insecure_ignore_host_key is set. Host key algorithms are ordered
//     from the key types known for the host so that Go does not negotiate a
//     type the user never recorded.
//   - The connect budget (Config.Timeout) covers dial, handshake,
//     authentication and retries. Only transient failures (refused,
//     unreachable, reset, EOF before the key exchange) are retried, with
//     capped exponential backoff; host-key and authentication failures never
//     are, and are remembered for the life of the pool.
//   - A jump host (Config.Bastion) is dialled once and shared by all targets;
//     it has its own host key check and authentication.
//   - Keepalive requests detect dead connections, which are dropped and
//     re-dialled by the next Run.
//
// A script body is a constant of this program. It runs as `sh -c '<body>'`,
// optionally under `sudo -n` and GNU/busybox `timeout` (bounded by the
// context's deadline, because closing a session does not kill a remote
// command). Its input goes on stdin; nothing is ever interpolated into the
// command line. The context's end also ends the call when the host holds
// the session open (OpenSSH keeps a session until its command exits, so a
// hanging login shell would hold it): the connection is then closed and
// dropped from the pool.
//
// Every failure of Run is an [*Error] whose [Kind] tells the caller what may
// have happened on the host: in particular [KindOutcomeUnknown] means the
// script may have run, and is never reported as success. A non-zero exit
// status is not an error: it is returned in [Result.ExitStatus].
package sshx
