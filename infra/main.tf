# A Cairn cluster on OpenStack: a 3-node NATS JetStream cluster holding the ledger stream with 3
# replicas, one server per shard worker (RocksDB on its own volume), ingest gateways and the proof
# service with floating IPs, on one private subnet. infra/README.md says how to plan, test and
# apply it, and what it leaves out.

locals {
  # Three NATS nodes keep the stream writable through the loss of any one (the load test
  # load-tests/test/broker.test.ts kills the stream leader and checks every acknowledgement).
  nats_nodes = 3
  replicas   = 3

  # Fixed private addresses: NATS routes and every service's CAIRN_NATS_URL go into user data,
  # which is rendered before any server exists. DHCP keeps to .2-.9 (the allocation pool).
  nats_ips    = [for i in range(local.nats_nodes) : cidrhost(var.subnet_cidr, 10 + i)]
  proof_ip    = cidrhost(var.subnet_cidr, 20)
  gateway_ips = [for i in range(var.gateways) : cidrhost(var.subnet_cidr, 32 + i)]
  shard_ips   = [for i in range(var.shards) : cidrhost(var.subnet_cidr, 64 + i)]

  # Servers with a floating IP, named apart from local.servers: a gateway's env holds its address.
  public_servers = toset(concat([for i in range(var.gateways) : "gateway-${i}"], ["proof"]))

  nats_url  = join(",", [for ip in local.nats_ips : "nats://${ip}:4222"])
  data_root = "/var/lib/cairn"
  # Every Cairn service reads the broker's client token from here (readable by the cairn user only).
  nats_token_file = "/etc/cairn/nats-token"
  nats_token      = { path = local.nats_token_file, content = var.nats_token, permissions = "0600" }
  # Gateways listen beyond loopback, so they refuse to start without API keys (docs/design/ingest.md).
  api_keys_file = "/etc/cairn/ingest-api-keys.json"
  node_bin      = "/opt/node/bin/node"
  services      = "/opt/cairn/services"

  # What every Cairn service must agree on (docs/design/config.md: one environment, one meaning).
  cluster_env = {
    CAIRN_NATS_URL        = local.nats_url
    CAIRN_NATS_TOKEN_FILE = local.nats_token_file
    CAIRN_SHARDS          = tostring(var.shards)
    CAIRN_REPLICAS        = tostring(local.replicas)
  }
}

# ---- network ---------------------------------------------------------------------------------

resource "openstack_networking_network_v2" "cairn" {
  name           = "${var.name_prefix}-net"
  admin_state_up = true
}

resource "openstack_networking_subnet_v2" "cairn" {
  name       = "${var.name_prefix}-subnet"
  network_id = openstack_networking_network_v2.cairn.id
  cidr       = var.subnet_cidr
  ip_version = 4
  allocation_pool {
    start = cidrhost(var.subnet_cidr, 2)
    end   = cidrhost(var.subnet_cidr, 9)
  }
}

data "openstack_networking_network_v2" "external" {
  name = var.external_network_name
}

resource "openstack_networking_router_v2" "cairn" {
  name                = "${var.name_prefix}-router"
  external_network_id = data.openstack_networking_network_v2.external.id
}

resource "openstack_networking_router_interface_v2" "cairn" {
  router_id = openstack_networking_router_v2.cairn.id
  subnet_id = openstack_networking_subnet_v2.cairn.id
}

# ---- security groups: each port opens only what its role serves ------------------------------

resource "openstack_networking_secgroup_v2" "role" {
  for_each             = toset(["nats", "shard", "gateway", "proof", "admin"])
  name                 = "${var.name_prefix}-${each.key}"
  delete_default_rules = false
}

locals {
  # role, port, from: a CIDR or another role's group. NATS clients (4222) and shard metrics
  # (9464) stay inside the subnet; routes (6222) only between NATS nodes; the public ports only
  # from client_cidrs; ssh only from admin_cidrs.
  rules = concat(
    [{ role = "nats", port = 4222, cidr = var.subnet_cidr, group = "" }],
    [{ role = "nats", port = 6222, cidr = "", group = "nats" }],
    [{ role = "shard", port = 9464, cidr = var.subnet_cidr, group = "" }],
    [for c in var.client_cidrs : { role = "gateway", port = 8080, cidr = c, group = "" }],
    [for c in var.client_cidrs : { role = "proof", port = 8090, cidr = c, group = "" }],
    [for c in var.admin_cidrs : { role = "admin", port = 22, cidr = c, group = "" }],
  )
}

resource "openstack_networking_secgroup_rule_v2" "role" {
  for_each          = { for r in local.rules : "${r.role}-${r.port}-${r.cidr}${r.group}" => r }
  security_group_id = openstack_networking_secgroup_v2.role[each.value.role].id
  direction         = "ingress"
  ethertype         = "IPv4"
  protocol          = "tcp"
  port_range_min    = each.value.port
  port_range_max    = each.value.port
  remote_ip_prefix  = each.value.cidr == "" ? null : each.value.cidr
  remote_group_id   = each.value.group == "" ? null : openstack_networking_secgroup_v2.role[each.value.group].id
}

# ---- servers ---------------------------------------------------------------------------------

locals {
  # One entry per server: its role, fixed address, volume size (0: none) and its systemd units.
  servers = merge(
    { for i, ip in local.nats_ips : "nats-${i}" => {
      role = "nats", ip = ip, volume_gb = var.volume_gb.nats, files = []
      units = [{
        name = "nats", exec = "/opt/nats/nats-server -c /etc/nats/nats.conf", env = {}, reload = true
      }]
      nats_conf = templatefile("${path.module}/templates/nats.conf.tftpl", {
        server_name = "${var.name_prefix}-nats-${i}"
        cluster     = "${var.name_prefix}-nats"
        store_dir   = "${local.data_root}/jetstream"
        routes      = [for j, peer in local.nats_ips : "nats-route://${peer}:6222" if j != i]
        token       = var.nats_token
      })
    } },
    { for i, ip in local.shard_ips : "shard-${i}" => {
      role = "shard", ip = ip, volume_gb = var.volume_gb.shard, nats_conf = "", files = [local.nats_token]
      units = [{
        name = "cairn-shard", exec = "${local.node_bin} ${local.services}/shard/dist/src/main.js", reload = false
        env = merge(local.cluster_env, {
          CAIRN_SHARD                = tostring(i)
          CAIRN_DATA_DIR             = "${local.data_root}/shard"
          CAIRN_SHARD_DURABLE        = "shard-${i}"
          CAIRN_SHARD_METRICS_LISTEN = "${ip}:9464"
        })
      }]
    } },
    { for i, ip in local.gateway_ips : "gateway-${i}" => {
      role = "gateway", ip = ip, volume_gb = 0, nats_conf = ""
      # Digests and tags only: the tokens stay with the clients (services/ingest/src/auth.ts).
      files = [local.nats_token, { path = local.api_keys_file, content = jsonencode({ keys = var.ingest_api_keys }), permissions = "0640" }]
      units = [{
        # `systemctl reload cairn-ingest` after the API keys file changes: SIGHUP, no restart.
        name = "cairn-ingest", exec = "${local.node_bin} ${local.services}/ingest/dist/src/main.js", reload = true
        env = merge(local.cluster_env, {
          CAIRN_INGEST_HOST          = "0.0.0.0"
          CAIRN_INGEST_PORT          = "8080"
          CAIRN_INGEST_WORKERS       = tostring(var.ingest_workers)
          CAIRN_INGEST_API_KEYS_FILE = local.api_keys_file
          CAIRN_INGEST_ALLOWED_HOSTS = join(",", [ip, openstack_networking_floatingip_v2.public["gateway-${i}"].address])
        })
      }]
    } },
    { "proof" = {
      role  = "proof", ip = local.proof_ip, volume_gb = var.volume_gb.proof, nats_conf = ""
      files = [local.nats_token, { path = "/etc/cairn/signer.key", content = var.signer_key, permissions = "0600" }]
      units = [{
        name = "cairn-proof", exec = "${local.node_bin} ${local.services}/proof/dist/src/main.js", reload = false
        env = merge(local.cluster_env, {
          CAIRN_PROOF_HOST        = "0.0.0.0"
          CAIRN_PROOF_PORT        = "8090"
          CAIRN_PROOF_DATA_DIR    = "${local.data_root}/proof"
          CAIRN_ORIGIN            = var.origin
          CAIRN_SIGNER_KEY_FILE   = "/etc/cairn/signer.key"
          CAIRN_EPOCH_INTERVAL_MS = tostring(var.epoch_interval_ms)
        })
      }]
    } },
  )
  volume_servers = toset([for name, s in local.servers : name if s.volume_gb > 0])
}

resource "openstack_networking_port_v2" "server" {
  for_each           = local.servers
  name               = "${var.name_prefix}-${each.key}"
  network_id         = openstack_networking_network_v2.cairn.id
  security_group_ids = [openstack_networking_secgroup_v2.role[each.value.role].id, openstack_networking_secgroup_v2.role["admin"].id]
  fixed_ip {
    subnet_id  = openstack_networking_subnet_v2.cairn.id
    ip_address = each.value.ip
  }
}

resource "openstack_blockstorage_volume_v3" "data" {
  for_each = local.volume_servers
  name     = "${var.name_prefix}-${each.key}-data"
  size     = local.servers[each.key].volume_gb
  # A lost volume is a lost shard (or JetStream replica, or state log): never replace one in place.
  lifecycle {
    prevent_destroy = true
  }
}

resource "openstack_networking_floatingip_v2" "public" {
  for_each = local.public_servers
  pool     = var.external_network_name
}

resource "openstack_compute_instance_v2" "server" {
  for_each    = local.servers
  name        = "${var.name_prefix}-${each.key}"
  image_name  = var.image_name
  flavor_name = var.flavors[each.value.role]
  key_pair    = var.ssh_key_name
  user_data = templatefile("${path.module}/templates/cloud-init.yaml.tftpl", {
    hostname  = "${var.name_prefix}-${each.key}"
    artifacts = var.artifacts
    data_root = local.data_root
    volume_id = contains(local.volume_servers, each.key) ? openstack_blockstorage_volume_v3.data[each.key].id : ""
    units     = each.value.units
    nats_conf = each.value.nats_conf
    files     = each.value.files
  })
  network {
    port = openstack_networking_port_v2.server[each.key].id
  }
  # A new image or user data must not replace a server holding data: roll those out by hand.
  lifecycle {
    ignore_changes = [image_name, user_data]
  }
}

resource "openstack_compute_volume_attach_v2" "data" {
  for_each    = local.volume_servers
  instance_id = openstack_compute_instance_v2.server[each.key].id
  volume_id   = openstack_blockstorage_volume_v3.data[each.key].id
}

resource "openstack_networking_floatingip_associate_v2" "public" {
  for_each    = local.public_servers
  floating_ip = openstack_networking_floatingip_v2.public[each.key].address
  port_id     = openstack_networking_port_v2.server[each.key].id
  depends_on  = [openstack_networking_router_interface_v2.cairn]
}
