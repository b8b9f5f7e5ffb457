# Renders user data for an edge node in eu-west; hand `user_data` to your provider's instance.
variable "join_token" {
  type      = string
  sensitive = true
}

module "edge_eu_west" {
  source        = "../../modules/edge-node-cloud-init"
  region        = "eu-west"
  coordinators  = ["10.0.0.1:7400", "10.0.0.2:7400", "10.0.0.3:7400"]
  join_token    = var.join_token
  binary_url    = "https://downloads.example.internal/netpulse/0.1.0/netpulse-x86_64-linux"
  binary_sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
  labels        = { provider = "hetzner", datacentre = "fsn1" }
}

output "user_data" {
  value     = module.edge_eu_west.user_data
  sensitive = true
}
