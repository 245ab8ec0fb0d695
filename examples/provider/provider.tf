# Reach every host as root with a private key file, and verify each host's key
# against a known_hosts file. Host keys fail closed: a host that is not listed
# there, or that presents a different key, is refused before anything runs.
provider "tcp" {
  user             = "root"
  private_key      = file("~/.ssh/id_ed25519")
  known_hosts_file = "~/.ssh/known_hosts"

  # Budget for reaching one host: dial, handshake, authentication and retries
  # of transient failures.
  timeout = "30s"
}
