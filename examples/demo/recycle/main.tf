# The copy-pasted advice `net.ipv4.tcp_tw_recycle = 1`, as a tcp_tuning.
# `terraform plan` rejects it before any host is touched: it drops SYNs from
# clients behind NAT, and Linux removed the key in 4.12.

terraform {
  required_version = ">= 1.5"
  required_providers {
    tcp = {
      source = "tcptune/tcp"
    }
  }
}

variable "hosts" {
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

provider "tcp" {
  private_key      = file(var.private_key_file)
  known_hosts_file = var.known_hosts_file
}

resource "tcp_tuning" "copied_from_the_internet" {
  for_each = var.hosts
  host     = each.value.address
  port     = each.value.port

  tcp_tw_reuse   = 1
  tcp_tw_recycle = 1
}
