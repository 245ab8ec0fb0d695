# One SSH round trip; the host aggregates its sockets and sends back counts
# and the top entries only, however many sockets it holds.
data "tcp_stats" "api" {
  host = "10.0.1.11"
  top  = 5
}

output "api_time_wait" {
  description = "TIME_WAIT on the host, its busiest destinations and the ceiling on new connections per second to one destination."
  value = {
    time_wait         = data.tcp_stats.api.time_wait
    by_destination    = data.tcp_stats.api.time_wait_by_destination
    usable_ports      = data.tcp_stats.api.ephemeral_ports.usable
    max_rate_per_dest = data.tcp_stats.api.max_connection_rate_per_destination
    worst_destination = data.tcp_stats.api.port_exhaustion
    recommendations   = data.tcp_stats.api.recommendations
  }
}

# Warn (plan and apply go on) when one destination holds more than 80% of the
# usable ephemeral ports: the next burst of short connections to it may fail
# with EADDRNOTAVAIL ("Cannot assign requested address").
check "api_ephemeral_ports" {
  assert {
    condition = try(data.tcp_stats.api.port_exhaustion.ratio, 0) <= 0.8
    error_message = format(
      "%s:%d holds %d of %d usable ephemeral ports on %s (%.0f%%). %s",
      data.tcp_stats.api.port_exhaustion.address,
      data.tcp_stats.api.port_exhaustion.port,
      data.tcp_stats.api.port_exhaustion.in_use,
      data.tcp_stats.api.port_exhaustion.usable,
      data.tcp_stats.api.host,
      data.tcp_stats.api.port_exhaustion.ratio * 100,
      join(" ", data.tcp_stats.api.recommendations),
    )
  }
}
