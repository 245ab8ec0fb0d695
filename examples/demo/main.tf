# The `make demo` scenario: three web hosts whose clients reconnect to one
# Redis (127.0.0.1:6379) for every request. tcp_stats shows the TIME_WAIT
# pile-up and the ports running out; tcp_tuning fixes it on every host.

terraform {
  required_version = ">= 1.5"
  required_providers {
    tcp = {
      source = "tcptune/tcp"
    }
  }
}

variable "hosts" {
  description = "Hosts by name: SSH address and port."
  type = map(object({
    address = string
    port    = number
  }))
}

variable "private_key_file" {
  type = string
}

variable "known_hosts_file" {
  type = string
}

variable "apply_tuning" {
  description = "Manage the tuning (false: only read the statistics)."
  type        = bool
  default     = false
}

provider "tcp" {
  private_key      = file(var.private_key_file)
  known_hosts_file = var.known_hosts_file
  timeout          = "20s"
}

data "tcp_stats" "web" {
  for_each = var.hosts
  host     = each.value.address
  port     = each.value.port
  top      = 3
}

resource "tcp_tuning" "web" {
  for_each = var.apply_tuning ? var.hosts : {}
  host     = each.value.address
  port     = each.value.port

  service_ports = [6379, 8080]

  # Let new outgoing connections take over TIME_WAIT ports to every
  # destination once the reuse delay has passed (tcp_tw_reuse_delay, 1 s by
  # default, on Linux 6.14+; a fixed rule of about a second before), which
  # needs TCP timestamps (on by default), and widen the ephemeral range.
  tcp_tw_reuse            = 1
  ip_local_port_range     = { min = 10000, max = 65001 }
  ip_local_reserved_ports = ["6379", "8080"]
}

output "time_wait" {
  description = "TIME_WAIT picture per host."
  value = {
    for name, s in data.tcp_stats.web : name => {
      time_wait         = s.time_wait
      worst_destination = "${s.port_exhaustion.address}:${s.port_exhaustion.port}"
      ports_in_use      = "${s.port_exhaustion.in_use} of ${s.port_exhaustion.usable} usable"
      exhaustion_ratio  = s.port_exhaustion.ratio
      tw_reuse          = s.tw_reuse
      # usable ports / 60 s: what one destination sustains without reuse.
      rate_without_reuse = floor(s.connection_rate_without_reuse)
      # usable ports / reuse delay, 0 when reuse is off: a theoretical
      # ceiling, not a rate the host will sustain.
      port_reuse_ceiling = floor(s.port_reuse_ceiling)
      reuse_delay        = s.reuse_delay
      # TcpExt TWRecycled: TIME_WAIT ports taken over by connect() (the
      # kernel's historical name; it has nothing to do with tcp_tw_recycle).
      time_wait_taken_over = lookup(s.counters, "TWRecycled", 0)
    }
  }
}

output "recommendations" {
  value = { for name, s in data.tcp_stats.web : name => s.recommendations }
}

check "ephemeral_ports" {
  assert {
    condition     = alltrue([for s in data.tcp_stats.web : s.port_exhaustion.ratio <= 0.8])
    error_message = "A host uses more than 80% of its usable ephemeral ports to one destination."
  }
}
