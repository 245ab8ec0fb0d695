terraform {
  required_version = ">= 1.5"

  required_providers {
    tcp = {
      source = "tcptune/tcp"
    }
  }
}
