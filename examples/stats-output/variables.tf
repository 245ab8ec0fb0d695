variable "hosts" {
  description = "Addresses of the hosts to read."
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
