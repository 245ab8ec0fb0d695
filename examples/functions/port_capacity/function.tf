# What a client host can sustain towards one destination (say Redis at
# 10.0.0.5:6379) with a widened ephemeral range and some reserved ports.
locals {
  capacity = provider::tcp::port_capacity(
    { min = 10000, max = 65001 },
    ["7005", "8001-8100", "11211"],
  )
}

output "usable_ports" {
  value = local.capacity.usable_ports # 55001: 11211 is in the range, 7005 and 8001-8100 are below it
}

output "connections_per_second_without_reuse" {
  value = floor(local.capacity.max_connection_rate_per_destination) # 916: usable / 60 s
}

output "reuse_ceiling" {
  # A theoretical ceiling, not a rate to plan on: print its assumptions beside it.
  value = "${local.capacity.reuse_ceiling_per_destination}/s at most with tcp_tw_reuse. ${local.capacity.assumptions}"
}
