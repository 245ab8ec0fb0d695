# Watch a fleet's TIME_WAIT picture with check blocks. terraform plan reads
# every host (one SSH round trip each) and reports a failed assertion as a
# warning; nothing is changed on any host.

provider "tcp" {
  user             = var.ssh_user
  sudo             = true # only used for users other than root
  private_key      = var.private_key_file == null ? null : file(var.private_key_file)
  known_hosts_file = var.known_hosts_file
}

# check blocks cannot use for_each, so the fleet is read by one data source
# with for_each and each check asserts over all of it. A host that cannot be
# read fails the plan with its error (see the guide for a scoped data source,
# whose errors become warnings).
data "tcp_stats" "fleet" {
  for_each = var.hosts

  host = each.value
  top  = 3
}

locals {
  # Hosts where one destination holds too many of the usable ephemeral ports.
  near_exhaustion = {
    for host, s in data.tcp_stats.fleet : host => s.port_exhaustion
    if try(s.port_exhaustion.ratio, 0) > var.max_port_ratio
  }

  # Hosts whose TIME_WAIT (and orphaned FIN_WAIT2) count approaches
  # tcp_max_tw_buckets. At the limit, sockets that close skip TIME_WAIT;
  # existing TIME_WAIT sockets are not cleared.
  tw_bucket_pressure = {
    for host, s in data.tcp_stats.fleet : host => s.tw_buckets
    if try(s.tw_buckets.ratio, 0) > var.max_tw_bucket_ratio
  }

  # Hosts where closing sockets have skipped TIME_WAIT since boot.
  tw_overflow = {
    for host, s in data.tcp_stats.fleet : host => lookup(s.counters, "TCPTimeWaitOverflow", 0)
    if lookup(s.counters, "TCPTimeWaitOverflow", 0) > 0
  }
}

check "ephemeral_ports" {
  assert {
    condition = length(local.near_exhaustion) == 0
    error_message = format(
      "Close to ephemeral port exhaustion (connect() to these destinations will fail with EADDRNOTAVAIL once every usable port is held): %s",
      join("; ", [
        for host, p in local.near_exhaustion :
        format("%s -> %s:%d holds %d of %d usable ports (%.0f%%)", host, p.address, p.port, p.in_use, p.usable, p.ratio * 100)
      ]),
    )
  }
}

check "time_wait_buckets" {
  assert {
    condition = length(local.tw_bucket_pressure) == 0
    error_message = format(
      "TIME_WAIT close to tcp_max_tw_buckets: %s",
      join("; ", [
        for host, b in local.tw_bucket_pressure :
        format("%s uses %d of %d (%.0f%%)", host, b.used, b.limit, b.ratio * 100)
      ]),
    )
  }
}

check "time_wait_overflow" {
  assert {
    condition = length(local.tw_overflow) == 0
    error_message = format(
      "Sockets skipped TIME_WAIT because tcp_max_tw_buckets was reached (TcpExt TCPTimeWaitOverflow since boot): %s",
      join("; ", [for host, n in local.tw_overflow : format("%s: %d", host, n)]),
    )
  }
}

output "time_wait" {
  description = "Exact TIME_WAIT sockets (IPv4 + IPv6) per host."
  value       = { for host, s in data.tcp_stats.fleet : host => s.time_wait }
}

output "recommendations" {
  description = "The provider's recommendations per host, each naming its evidence and the lever."
  value       = { for host, s in data.tcp_stats.fleet : host => s.recommendations if length(s.recommendations) > 0 }
}
