# Read each host's TIME_WAIT picture, keep the first reading as a baseline in
# state (terraform_data), and output the current figures beside the baseline:
# take the baseline before tuning, apply the tuning elsewhere, and compare.
#
#   terraform apply                                   # records the baseline
#   terraform apply                                   # later: current vs baseline
#   terraform apply -replace='terraform_data.baseline["10.0.1.11"]'   # new baseline

provider "tcp" {
  user             = var.ssh_user
  sudo             = true # only used for users other than root
  private_key      = var.private_key_file == null ? null : file(var.private_key_file)
  known_hosts_file = var.known_hosts_file
}

data "tcp_stats" "host" {
  for_each = var.hosts

  host = each.value
  top  = 5
}

locals {
  # The figures worth keeping, per host.
  summary = {
    for host, s in data.tcp_stats.host : host => {
      read_at        = s.read_at
      kernel_release = s.kernel_release
      time_wait      = s.time_wait
      sockstat_tw    = s.sockstat_tw
      usable_ports   = s.ephemeral_ports.usable
      rate_no_reuse  = s.connection_rate_without_reuse
      reuse_ceiling  = s.port_reuse_ceiling
      tw_reuse       = s.tw_reuse
      worst_ratio    = try(s.port_exhaustion.ratio, 0)
    }
  }
}

# terraform_data stores its input in state. ignore_changes keeps the first
# reading, so every later plan compares against it until it is replaced.
resource "terraform_data" "baseline" {
  for_each = var.hosts

  input = local.summary[each.key]

  lifecycle {
    ignore_changes = [input]
  }
}

output "time_wait" {
  description = "Exact TIME_WAIT sockets (IPv4 + IPv6) per host, now."
  value       = { for host, s in data.tcp_stats.host : host => s.time_wait }
}

output "time_wait_by_destination" {
  description = "Client-side TIME_WAIT per destination (top 5) per host: the figure that runs into the ephemeral port range."
  value = {
    for host, s in data.tcp_stats.host : host => [
      for d in s.time_wait_by_destination : format("%s:%d %d", d.address, d.port, d.count)
    ]
  }
}

output "compared_to_baseline" {
  description = "Current figures beside the baseline reading, per host."
  value = {
    for host, now in local.summary : host => {
      baseline_read_at = terraform_data.baseline[host].output.read_at
      time_wait        = "${terraform_data.baseline[host].output.time_wait} -> ${now.time_wait}"
      # Without reuse: usable ports / 60 s (this host closing first, one
      # source address). With reuse the ceiling is theoretical: compare the
      # first line, and read the second as a bound.
      rate_without_reuse = format("%.0f -> %.0f new connections/s per destination", terraform_data.baseline[host].output.rate_no_reuse, now.rate_no_reuse)
      port_reuse_ceiling = format("%.0f -> %.0f (theoretical; tw_reuse %s -> %s)", terraform_data.baseline[host].output.reuse_ceiling, now.reuse_ceiling, terraform_data.baseline[host].output.tw_reuse, now.tw_reuse)
      worst_ratio        = format("%.2f -> %.2f", terraform_data.baseline[host].output.worst_ratio, now.worst_ratio)
    }
  }
}
