variable "hosts" {
  description = "Addresses of the hosts to watch."
  type        = set(string)
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
  description = "known_hosts file that holds every host's key."
  type        = string
  default     = "~/.ssh/known_hosts"
}

variable "max_port_ratio" {
  description = "Largest acceptable share of the usable ephemeral ports held by one destination (0 to 1)."
  type        = number
  default     = 0.8

  validation {
    condition     = var.max_port_ratio > 0 && var.max_port_ratio <= 1
    error_message = "max_port_ratio must be greater than 0 and at most 1."
  }
}

variable "max_tw_bucket_ratio" {
  description = "Largest acceptable tw_buckets.ratio: TIME_WAIT and orphaned FIN_WAIT2 sockets against tcp_max_tw_buckets (0 to 1)."
  type        = number
  default     = 0.5
}
