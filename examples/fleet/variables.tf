variable "hosts" {
  description = <<-EOT
    The fleet, keyed by a stable inventory name (it becomes the resource key, so
    renaming a key replaces that host's resource). address is what SSH dials;
    port, user and host_key override the provider's defaults for one host;
    service_ports lists the ports that host's services listen on.
  EOT
  type = map(object({
    address       = string
    port          = optional(number)
    user          = optional(string)
    host_key      = optional(string)
    service_ports = optional(set(number), [])
  }))
}

variable "ssh_user" {
  description = "SSH user on every host. Any user other than root needs passwordless sudo."
  type        = string
  default     = "root"
}

variable "private_key_file" {
  description = "Private key file. null uses the ssh-agent at SSH_AUTH_SOCK instead."
  type        = string
  default     = "~/.ssh/id_ed25519"
}

variable "known_hosts_file" {
  description = "known_hosts file that holds every host's key (and the bastion's)."
  type        = string
  default     = "~/.ssh/known_hosts"
}

variable "bastion_host" {
  description = "Jump host; null reaches the hosts directly."
  type        = string
  default     = null
}

variable "bastion_user" {
  description = "SSH user on the bastion; null uses ssh_user."
  type        = string
  default     = null
}

variable "bastion_host_key" {
  description = "Pinned key of the bastion (\"ssh-ed25519 AAAA...\"); null looks it up in known_hosts_file."
  type        = string
  default     = null
}

variable "ephemeral_port_range" {
  description = "ip_local_port_range for every host. Each destination ip:port can hold one connection per usable port."
  type = object({
    min = number
    max = number
  })
  default = { min = 10000, max = 65001 }
}

variable "reserved_ports" {
  description = <<-EOT
    ip_local_reserved_ports for every host: ports and ranges ("8001-8100") never
    handed out as ephemeral ports. Every service port inside ephemeral_port_range
    must be covered. null leaves each host's list as it is; [] empties it.
  EOT
  type        = set(string)
  default     = null
}
