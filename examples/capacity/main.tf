# Size the ephemeral port range before applying it: the provider functions
# compute, with the same code tcp_tuning's rules use, how many connections
# per second each host can open to one destination, and a precondition
# stops the plan when the range cannot carry the target rate.
#
#   terraform plan -var='hosts=["10.0.1.11"]' -var='target_rate=800'

provider "tcp" {
  private_key      = file(var.private_key_file)
  known_hosts_file = var.known_hosts_file
}

locals {
  # Every team's service ports, reserved as one list in the kernel's form.
  service_ports = flatten(values(var.service_ports))
  reserved      = provider::tcp::canonical_ports([for p in local.service_ports : tostring(p)])
  capacity      = provider::tcp::port_capacity(var.port_range, local.reserved)
}

resource "tcp_tuning" "client" {
  for_each = var.hosts
  host     = each.value

  service_ports           = local.service_ports
  tcp_tw_reuse            = 1
  ip_local_port_range     = var.port_range
  ip_local_reserved_ports = local.reserved

  lifecycle {
    precondition {
      condition     = local.capacity.max_connection_rate_per_destination >= var.target_rate
      error_message = "The range ${var.port_range.min}-${var.port_range.max} minus ${length(local.reserved)} reserved entries leaves ${local.capacity.usable_ports} ports: ${floor(local.capacity.max_connection_rate_per_destination)} new connections/s to one destination without reuse, below the target ${var.target_rate}/s. Widen the range, add destinations or pool connections."
    }
  }
}

output "capacity" {
  value = {
    usable_ports                    = local.capacity.usable_ports
    connections_per_second_no_reuse = floor(local.capacity.max_connection_rate_per_destination)
    reuse_ceiling_theoretical       = local.capacity.reuse_ceiling_per_destination
    assumptions                     = local.capacity.assumptions
  }
}
