# One SSH round trip; the host aggregates its sockets and sends back counts
# and the top entries only, however many sockets it holds. sample_seconds
# reads the kernel counters twice, 3 s apart, in that same round trip, for
# per-second rates.
data "tcp_stats" "api" {
  host           = "10.0.1.11"
  top            = 5
  sample_seconds = 3
}

output "api_time_wait" {
  description = "TIME_WAIT on the host, its busiest destinations and the ceiling on new connections per second to one destination."
  value = {
    time_wait         = data.tcp_stats.api.time_wait
    by_destination    = data.tcp_stats.api.time_wait_by_destination
    usable_ports      = data.tcp_stats.api.ephemeral_ports.usable
    rate_no_reuse     = data.tcp_stats.api.connection_rate_without_reuse
    port_reuse_limit  = data.tcp_stats.api.port_reuse_ceiling # 0 unless reuse applies; theoretical
    tw_reuse          = data.tcp_stats.api.tw_reuse
    assumptions       = data.tcp_stats.api.rate_assumptions
    new_conns_per_s   = data.tcp_stats.api.rates.new_outgoing_connections
    exhausted_in_s    = data.tcp_stats.api.rates.seconds_to_exhaustion # -1: the rate fits
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
