terraform {
  # Provider-defined functions: Terraform 1.8 or later, OpenTofu 1.7 or later.
  required_version = ">= 1.8"

  required_providers {
    tcp = {
      source = "tcptune/tcp"
    }
  }
}
