terraform {
  required_version = ">= 1.3"
}

locals {
  label_args = join(" ", [for k, v in var.labels : "--label ${k}=${v}"])
  coordinator_args = join(" ", [for c in var.coordinators : "--coordinator ${c}"])

  unit = templatefile("${path.module}/netpulse-edge.service.tftpl", {
    region           = var.region
    coordinator_args = local.coordinator_args
    label_args       = local.label_args
    allow_icmp       = var.allow_icmp
  })

  user_data = templatefile("${path.module}/cloud-init.yaml.tftpl", {
    unit          = local.unit
    join_token    = var.join_token
    binary_url    = var.binary_url
    binary_sha256 = var.binary_sha256
  })
}
