# Tune a fleet: one tcp_tuning per host, applied in parallel (terraform apply
# -parallelism=N, default 10). Each host is all-or-nothing; a host that fails
# does not stop the others, and the next apply converges it.

provider "tcp" {
  user             = var.ssh_user
  sudo             = true # only used for users other than root (needs NOPASSWD)
  private_key      = var.private_key_file == null ? null : file(var.private_key_file)
  known_hosts_file = var.known_hosts_file

  # One connection to the bastion is shared by every host; null means direct.
  bastion_host     = var.bastion_host
  bastion_user     = var.bastion_user
  bastion_host_key = var.bastion_host_key

  timeout = "30s"
}

resource "tcp_tuning" "fleet" {
  for_each = var.hosts

  host     = each.value.address
  port     = each.value.port
  user     = each.value.user
  host_key = each.value.host_key

  service_ports = each.value.service_ports

  # Reuse TIME_WAIT ports for outgoing connections to every destination
  # (needs timestamps, which are on by default; 1, unlike 2, means the same
  # on every kernel) and widen the ephemeral range.
  tcp_tw_reuse            = 1
  ip_local_port_range     = var.ephemeral_port_range
  ip_local_reserved_ports = var.reserved_ports

  # Bounds orphaned FIN_WAIT2 only; TIME_WAIT stays 60 s whatever this is.
  tcp_fin_timeout = 30

  somaxconn           = 4096
  tcp_max_syn_backlog = 8192

  timeouts {
    create = "3m"
    update = "3m"
  }
}
