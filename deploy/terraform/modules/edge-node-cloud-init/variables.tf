variable "region" {
  description = "NetPulse region tag of this edge node ([a-z0-9-], 1-32 chars), e.g. eu-west."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9-]{1,32}$", var.region))
    error_message = "region must be 1-32 characters of a-z, 0-9 and '-'."
  }
}

variable "coordinators" {
  description = "QUIC addresses (host:port) of the coordinators; the node tries them in turn."
  type        = list(string)
  validation {
    condition     = length(var.coordinators) > 0
    error_message = "name at least one coordinator."
  }
}

variable "join_token" {
  description = "Join token from POST /v1/join-tokens. Needed only for the first start; it pins the cluster CA, so a copy in user data cannot be used to impersonate the coordinators."
  type        = string
  sensitive   = true
}

variable "binary_url" {
  description = "HTTPS URL of the netpulse binary for the instance's architecture."
  type        = string
}

variable "binary_sha256" {
  description = "SHA-256 of the binary at binary_url; the install fails on mismatch."
  type        = string
}

variable "labels" {
  description = "Labels reported by the node (provider, datacentre, ...)."
  type        = map(string)
  default     = {}
}

variable "allow_icmp" {
  description = "Grant CAP_NET_RAW so ICMP checks work without running as root."
  type        = bool
  default     = true
}
