# Authenticate with the ssh-agent, offering only the key whose comment is
# fleet-tuning@ci, and verify host keys against a known_hosts file.
provider "tcp" {
  agent            = true
  agent_identity   = "fleet-tuning@ci"
  known_hosts_file = "~/.ssh/known_hosts"
}
