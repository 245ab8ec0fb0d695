# The import ID is user@host:port/name; name is the resource's name (default
# "tcp-tuning"), which selects the persisted file
# /etc/sysctl.d/<priority>-<name>.conf on the host. Write user@ and :port
# exactly when the resource's configuration sets `user` and `port`, so the
# plan after the import is empty. With the provider's user and port:
terraform import 'tcp_tuning.web["10.0.1.11"]' '10.0.1.11/tcp-tuning'

# A resource that sets user = "deploy" and port = 2222:
terraform import 'tcp_tuning.cache' 'deploy@10.0.2.5:2222/tcp-tuning'
