# Terraform 1.5 and later: import with an import block, then run terraform plan.
import {
  to = tcp_tuning.web["10.0.1.11"]
  id = "root@10.0.1.11:22/tcp-tuning"
}
