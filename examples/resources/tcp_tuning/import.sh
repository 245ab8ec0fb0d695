# The import ID is user@host:port/name. user and port are optional and default
# to the provider's; name is the resource's name (default "tcp-tuning"), which
# selects the persisted file /etc/sysctl.d/<priority>-<name>.conf on the host.
terraform import 'tcp_tuning.web["10.0.1.11"]' 'root@10.0.1.11:22/tcp-tuning'

# The same host with the provider's user and port:
terraform import 'tcp_tuning.web["10.0.1.11"]' '10.0.1.11/tcp-tuning'
