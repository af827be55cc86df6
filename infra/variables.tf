# Every input has a default or is required, and each is checked here, at plan time, so that a
# cluster that could not work (a shard count the stream layout refuses, an origin the proof service
# refuses, a subnet too small for the fixed addresses) never reaches the cloud.

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "cairn"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,20}$", var.name_prefix))
    error_message = "name_prefix: lower-case letters, digits and '-', at most 21 characters, starting with a letter."
  }
}

variable "shards" {
  description = "Shard workers, one server each. Fixed when the cluster is created: keys are routed by shard count."
  type        = number
  default     = 4
  validation {
    # SHARD_COUNT_MAX of @cairn/transport is 1024; the subnet layout (main.tf) bounds it further.
    condition     = var.shards >= 1 && var.shards <= 1024 && floor(var.shards) == var.shards
    error_message = "shards must be an integer in [1, 1024]."
  }
}

variable "gateways" {
  description = "Ingest gateway servers (each with a floating IP; put a load balancer or DNS round robin in front)."
  type        = number
  default     = 2
  validation {
    condition     = var.gateways >= 1 && var.gateways <= 16 && floor(var.gateways) == var.gateways
    error_message = "gateways must be an integer in [1, 16]."
  }
}

variable "ingest_workers" {
  description = "Gateway processes per gateway server (CAIRN_INGEST_WORKERS): about one per core."
  type        = number
  default     = 2
  validation {
    condition     = var.ingest_workers >= 1 && var.ingest_workers <= 64 && floor(var.ingest_workers) == var.ingest_workers
    error_message = "ingest_workers must be an integer in [1, 64]."
  }
}

variable "subnet_cidr" {
  description = "Private IPv4 subnet of the cluster. Servers get fixed addresses in it (main.tf, locals): shard n is host 64 + n."
  type        = string
  default     = "10.42.0.0/24"
  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0)) && !can(regex(":", var.subnet_cidr))
    error_message = "subnet_cidr must be an IPv4 CIDR block."
  }
  validation {
    # The last shard's address must not be the subnet's broadcast address or beyond it.
    condition     = !can(cidrhost(var.subnet_cidr, 0)) || can(cidrhost(var.subnet_cidr, 64 + var.shards))
    error_message = "subnet_cidr is too small for the shards: shard n takes host 64 + n."
  }
}

variable "external_network_name" {
  description = "OpenStack external network: the router's gateway and the floating IP pool."
  type        = string
}

variable "image_name" {
  description = "Server image with cloud-init and systemd (Debian 12 or Ubuntu 24.04)."
  type        = string
  default     = "debian-12"
}

variable "flavors" {
  description = "Flavor per role. Shards want fast local CPU; NATS nodes want disk throughput."
  type = object({
    nats    = string
    shard   = string
    gateway = string
    proof   = string
  })
  default = {
    nats    = "m1.large"
    shard   = "c1.xlarge"
    gateway = "c1.large"
    proof   = "m1.medium"
  }
}

variable "volume_gb" {
  description = "Size of the block-storage volume per role: JetStream store, RocksDB, state log."
  type = object({
    nats  = number
    shard = number
    proof = number
  })
  default = {
    nats  = 200
    shard = 200
    proof = 20
  }
  validation {
    condition     = alltrue([for v in values(var.volume_gb) : v >= 10 && v <= 16384])
    error_message = "every volume size must be in [10, 16384] GB."
  }
}

variable "ssh_key_name" {
  description = "Existing OpenStack key pair put on every server."
  type        = string
}

variable "admin_cidrs" {
  description = "Who may reach port 22 of any server. Empty: nobody."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0))])
    error_message = "admin_cidrs must hold CIDR blocks."
  }
}

variable "client_cidrs" {
  description = "Who may reach the ingest gateways (8080) and the proof service (8090). Writes also need an API key (ingest_api_keys)."
  type        = list(string)
  validation {
    condition     = length(var.client_cidrs) > 0 && alltrue([for c in var.client_cidrs : can(cidrhost(c, 0))])
    error_message = "client_cidrs must hold at least one CIDR block."
  }
}

variable "ingest_api_keys" {
  description = "The gateways' API keys: name, SHA-256 of the token, and the hash tags it may write under (or [\"*\"]). `cairn-ingest apikey --name N --tags a,b` prints a token and its entry. Writes without a key get 401, outside its tags 403."
  type = list(object({
    name   = string
    sha256 = string
    tags   = list(string)
  }))
  validation {
    condition     = length(var.ingest_api_keys) > 0 && alltrue([for k in var.ingest_api_keys : can(regex("^[0-9a-f]{64}$", k.sha256)) && can(regex("^[A-Za-z0-9._:-]{1,64}$", k.name)) && length(k.tags) > 0])
    error_message = "ingest_api_keys: at least one key; each with a 1-64 character name, a 64-hex-digit sha256 and at least one tag."
  }
  validation {
    condition     = length(distinct([for k in var.ingest_api_keys : k.sha256])) == length(var.ingest_api_keys)
    error_message = "ingest_api_keys: every token digest must be unique."
  }
}

variable "artifacts" {
  description = "Where servers download what they run, with the SHA-256 each download must have: a Node.js 20 linux-x64 tarball, a nats-server (>= 2.12) linux-amd64 tarball, and a Cairn release tarball (the built repository: `npm ci && npm run build`, then tar)."
  type = object({
    node_url       = string
    node_sha256    = string
    nats_url       = string
    nats_sha256    = string
    release_url    = string
    release_sha256 = string
  })
  validation {
    condition = alltrue([
      for k in ["node", "nats", "release"] :
      can(regex("^https://", var.artifacts["${k}_url"])) && can(regex("^[0-9a-f]{64}$", var.artifacts["${k}_sha256"]))
    ])
    error_message = "artifacts: every *_url must be https:// and every *_sha256 64 lower-case hex digits."
  }
}

variable "origin" {
  description = "Cluster name: the checkpoint origin line, and the name of the signer key (cairn keygen)."
  type        = string
  validation {
    # The proof service's own pattern for it (services/proof/src/config.ts).
    condition     = can(regex("^[A-Za-z0-9._:/-]{1,255}$", var.origin))
    error_message = "origin: 1-255 of A-Z a-z 0-9 . _ : / -"
  }
}

variable "signer_key" {
  description = "The proof service's Ed25519 signer key (PRIVATE+KEY+..., from cairn keygen). It reaches the proof server through its user data."
  type        = string
  sensitive   = true
  validation {
    condition     = can(regex("^PRIVATE\\+KEY\\+\\S+$", var.signer_key))
    error_message = "signer_key must be a PRIVATE+KEY+... signer key."
  }
}

variable "nats_token" {
  description = "The token every Cairn service presents to the NATS nodes (authorization { token }). Make one with `openssl rand -hex 32`."
  type        = string
  sensitive   = true
  validation {
    condition     = can(regex("^[A-Za-z0-9._~+/=-]+$", var.nats_token)) && length(var.nats_token) >= 32 && length(var.nats_token) <= 4096
    error_message = "nats_token: 32 or more characters of A-Z a-z 0-9 . _ ~ + / = - (no spaces)."
  }
}

variable "epoch_interval_ms" {
  description = "Time between epoch seals (CAIRN_EPOCH_INTERVAL_MS)."
  type        = number
  default     = 1000
  validation {
    condition     = var.epoch_interval_ms >= 10 && var.epoch_interval_ms <= 3600000
    error_message = "epoch_interval_ms must be in [10, 3600000]."
  }
}
