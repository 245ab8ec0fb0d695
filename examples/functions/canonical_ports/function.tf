# The kernel's form of a port list: sorted, adjacent and overlapping
# entries merged, as tcp_tuning stores ip_local_reserved_ports.
output "reserved" {
  value = provider::tcp::canonical_ports(["8003", "8001-8002", "7005", "8002-8010"]) # ["7005", "8001-8010"]
}

# Reserved ports gathered from several teams, as one canonical list.
locals {
  team_ports = {
    cache  = ["11211"]
    search = ["9200", "9300"]
    api    = ["8001-8100", "9201-9299"]
  }
}

output "all_reserved" {
  value = provider::tcp::canonical_ports(flatten(values(local.team_ports))) # ["8001-8100", "9200-9300", "11211"]
}
