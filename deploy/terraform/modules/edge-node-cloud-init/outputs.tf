output "user_data" {
  description = "cloud-init user data (#cloud-config) that installs and starts the edge node."
  value       = local.user_data
  sensitive   = true
}

output "systemd_unit" {
  description = "The rendered netpulse-edge.service, for images built without cloud-init."
  value       = local.unit
}
