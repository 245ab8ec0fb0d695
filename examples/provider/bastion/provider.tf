# Reach every host through one jump host. The bastion has its own user, key
# and pinned host key; each host is still authenticated end to end.
provider "tcp" {
  user             = "root"
  private_key      = file("~/.ssh/fleet_ed25519")
  known_hosts_file = "~/.ssh/known_hosts"

  bastion_host        = "bastion.example.com"
  bastion_user        = "jump"
  bastion_private_key = file("~/.ssh/jump_ed25519")
  bastion_host_key    = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPn41BbrXyTitu6RB77ATu7heGUXnzQ//qpi71W1TzwV bastion"
}
