variable "hosts" {
  description = "Addresses of the client hosts to tune."
  type        = set(string)
  default     = []
}

variable "port_range" {
  description = "Ephemeral port range to apply."
  type        = object({ min = number, max = number })
  default     = { min = 10000, max = 65001 }
}

variable "service_ports" {
  description = "Ports each team's services listen on, per team; they are reserved."
  type        = map(list(number))
  default = {
    cache = [11211]
    api   = [8080, 8443]
  }
}

variable "target_rate" {
  description = "New connections per second each host must sustain to one destination, without TIME_WAIT reuse."
  type        = number
  default     = 500
}

variable "private_key_file" {
  description = "Private key file."
  type        = string
  default     = "~/.ssh/id_ed25519"
}

variable "known_hosts_file" {
  description = "known_hosts file that holds every host's key."
  type        = string
  default     = "~/.ssh/known_hosts"
}
