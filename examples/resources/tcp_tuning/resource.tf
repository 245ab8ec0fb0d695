variable "web_hosts" {
  description = "Addresses of the web servers to tune."
  type        = list(string)
}

resource "tcp_tuning" "web" {
  for_each = toset(var.web_hosts)
  host     = each.value

  behind_nat    = true         # default: tcp_tw_recycle = 1 is rejected
  service_ports = [8080, 7005] # must not be handed out as ephemeral ports

  tcp_tw_reuse            = 1
  tcp_fin_timeout         = 30     # orphaned FIN_WAIT2 only; TIME_WAIT stays 60 s
  tcp_max_tw_buckets      = 262144 # a cap; reaching it never clears TIME_WAIT
  ip_local_port_range     = { min = 10000, max = 65001 }
  ip_local_reserved_ports = ["7005", "8001-8100"]
  extra_sysctls           = { "net.core.netdev_budget_usecs" = "4000" }
}
