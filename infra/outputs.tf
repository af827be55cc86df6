output "ingest_urls" {
  description = "The ingest gateways, one per server (POST /v1/transactions)."
  value       = [for i in range(var.gateways) : "http://${openstack_networking_floatingip_v2.public["gateway-${i}"].address}:8080"]
}

output "proof_url" {
  description = "The proof service: checkpoints and proven reads."
  value       = "http://${openstack_networking_floatingip_v2.public["proof"].address}:8090"
}

output "nats_url" {
  description = "CAIRN_NATS_URL of every service (private addresses)."
  value       = local.nats_url
}

output "servers" {
  description = "Every server's private address, by name."
  value       = { for name, s in local.servers : name => s.ip }
}
