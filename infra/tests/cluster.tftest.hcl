# `tofu test` of the cluster against a mocked OpenStack provider: no cloud, no credentials. Each
# run applies the configuration to the mock and checks what a real apply would create: servers per
# role, what each server's user data starts, who may reach which port, and that bad inputs are
# refused at plan time. infra/README.md: `npm test -w @cairn/infra`.

mock_provider "openstack" {}

# Known at plan time, so that user data (which names both) can be checked without an apply.
override_resource {
  target = openstack_networking_floatingip_v2.public
  values = {
    address = "203.0.113.7"
  }
}

override_resource {
  target = openstack_blockstorage_volume_v3.data
  values = {
    id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
  }
}

variables {
  external_network_name = "public"
  ssh_key_name          = "ops"
  client_cidrs          = ["198.51.100.0/24"]
  admin_cidrs           = ["192.0.2.10/32"]
  origin                = "ledger.example.com/cairn"
  signer_key            = "PRIVATE+KEY+ledger.example.com/cairn+0a1b2c3d+AAAAtestonlytestonlytestonlytestonly"
  nats_token            = "natstokentestonly0123456789abcdef0123456789"
  ingest_api_keys = [
    { name = "shop42-backend", sha256 = "4444444444444444444444444444444444444444444444444444444444444444", tags = ["shop42"] },
    { name = "ops", sha256 = "5555555555555555555555555555555555555555555555555555555555555555", tags = ["*"] },
  ]
  artifacts = {
    node_url       = "https://artifacts.example.com/node-v20.19.0-linux-x64.tar.xz"
    node_sha256    = "1111111111111111111111111111111111111111111111111111111111111111"
    nats_url       = "https://artifacts.example.com/nats-server-v2.15.2-linux-amd64.tar.gz"
    nats_sha256    = "2222222222222222222222222222222222222222222222222222222222222222"
    release_url    = "https://artifacts.example.com/cairn-1.0.0.tar.gz"
    release_sha256 = "3333333333333333333333333333333333333333333333333333333333333333"
  }
}

run "a_default_cluster" {
  command = plan

  assert {
    condition     = length(openstack_compute_instance_v2.server) == 3 + 4 + 2 + 1
    error_message = "3 NATS nodes, 4 shards, 2 gateways and 1 proof server expected"
  }
  assert {
    condition     = length(openstack_blockstorage_volume_v3.data) == 3 + 4 + 1 && !contains(keys(openstack_blockstorage_volume_v3.data), "gateway-0")
    error_message = "NATS nodes, shards and the proof server hold data on volumes; gateways hold none"
  }
  assert {
    condition     = alltrue([for i in range(4) : strcontains(openstack_compute_instance_v2.server["shard-${i}"].user_data, "CAIRN_SHARD=${i}\n") && strcontains(openstack_compute_instance_v2.server["shard-${i}"].user_data, "CAIRN_SHARD_DURABLE=shard-${i}\n")])
    error_message = "shard n runs as shard n with its own durable consumer"
  }
  assert {
    condition     = alltrue([for name, s in openstack_compute_instance_v2.server : strcontains(s.user_data, "CAIRN_NATS_URL=nats://10.42.0.10:4222,nats://10.42.0.11:4222,nats://10.42.0.12:4222\n") && strcontains(s.user_data, "CAIRN_REPLICAS=3\n") && strcontains(s.user_data, "CAIRN_SHARDS=4\n") if !startswith(name, "nats-")])
    error_message = "every Cairn service gets every NATS node, the stream's 3 replicas and the shard count"
  }
  assert {
    condition     = strcontains(openstack_compute_instance_v2.server["nats-1"].user_data, "\"nats-route://10.42.0.10:6222\"") && strcontains(openstack_compute_instance_v2.server["nats-1"].user_data, "\"nats-route://10.42.0.12:6222\"") && !strcontains(openstack_compute_instance_v2.server["nats-1"].user_data, "nats-route://10.42.0.11:")
    error_message = "a NATS node routes to the two others, not to itself"
  }
  assert {
    condition     = alltrue([for i in range(3) : strcontains(openstack_compute_instance_v2.server["nats-${i}"].user_data, "token: \"${var.nats_token}\"")])
    error_message = "every NATS node asks clients for the token"
  }
  assert {
    condition     = alltrue([for name, s in openstack_compute_instance_v2.server : strcontains(s.user_data, "CAIRN_NATS_TOKEN_FILE=/etc/cairn/nats-token\n") && strcontains(s.user_data, "path: /etc/cairn/nats-token\n") if !startswith(name, "nats-")])
    error_message = "every Cairn service reads the NATS token from its file"
  }
  assert {
    condition     = alltrue([for i in range(3) : strcontains(openstack_compute_instance_v2.server["nats-${i}"].user_data, "server_name: cairn-nats-${i}\n")])
    error_message = "NATS nodes have distinct server names (JetStream clustering needs them)"
  }
  assert {
    condition     = strcontains(openstack_compute_instance_v2.server["proof"].user_data, "CAIRN_SIGNER_KEY_FILE=/etc/cairn/signer.key\n") && strcontains(openstack_compute_instance_v2.server["proof"].user_data, var.signer_key)
    error_message = "the proof server gets the signer key as a file"
  }
  assert {
    condition     = alltrue([for name, s in openstack_compute_instance_v2.server : !strcontains(s.user_data, "PRIVATE+KEY") if name != "proof"])
    error_message = "no server but the proof server sees the signer key"
  }
  assert {
    condition     = strcontains(openstack_compute_instance_v2.server["gateway-1"].user_data, "CAIRN_INGEST_ALLOWED_HOSTS=10.42.0.33,203.0.113.7\n")
    error_message = "a gateway answers its private address and its floating IP"
  }
  assert {
    condition     = alltrue([for i in range(2) : strcontains(openstack_compute_instance_v2.server["gateway-${i}"].user_data, "CAIRN_INGEST_API_KEYS_FILE=/etc/cairn/ingest-api-keys.json\n") && strcontains(openstack_compute_instance_v2.server["gateway-${i}"].user_data, jsonencode(jsonencode({ keys = var.ingest_api_keys })))])
    error_message = "every gateway holds the API keys file (digests and tags) and is started with it"
  }
  assert {
    condition     = alltrue([for name, s in openstack_compute_instance_v2.server : !strcontains(s.user_data, "4444444444") if !startswith(name, "gateway-")])
    error_message = "only gateways hold the API keys file"
  }
  assert {
    condition     = strcontains(openstack_compute_instance_v2.server["shard-0"].user_data, "echo \"$3  $2\" | sha256sum -c -") && strcontains(openstack_compute_instance_v2.server["shard-0"].user_data, var.artifacts.release_sha256)
    error_message = "every download is checked against its SHA-256"
  }
  assert {
    condition     = alltrue([for name, s in openstack_compute_instance_v2.server : strcontains(s.user_data, "StartLimitIntervalSec=0\n") && strcontains(s.user_data, "Restart=on-failure\n")])
    error_message = "every service restarts until the NATS nodes it needs are up, with no start limit"
  }
  assert {
    condition     = alltrue([for name, s in openstack_compute_instance_v2.server : strcontains(s.user_data, "ExecReload=/bin/kill -HUP $MAINPID\n") == (startswith(name, "gateway-") || startswith(name, "nats-"))])
    error_message = "systemctl reload sends SIGHUP to the gateways (API keys file) and NATS (config) only: SIGHUP would end a shard or the proof service"
  }
  assert {
    condition     = strcontains(openstack_compute_instance_v2.server["shard-0"].user_data, "/dev/disk/by-id/virtio-0f1e2d3c-4b5a-6978-8")
    error_message = "a server mounts the volume made for it"
  }
  assert {
    condition     = length(output.ingest_urls) == 2 && output.proof_url == "http://203.0.113.7:8090"
    error_message = "outputs name every gateway and the proof service"
  }
}

run "ports_open_only_to_whom_they_serve" {
  command = plan

  assert {
    condition     = alltrue([for r in openstack_networking_secgroup_rule_v2.role : r.remote_ip_prefix != "0.0.0.0/0"])
    error_message = "no port is open to the whole internet"
  }
  assert {
    condition     = toset([for r in openstack_networking_secgroup_rule_v2.role : r.remote_ip_prefix if contains([8080, 8090], r.port_range_min)]) == toset(["198.51.100.0/24"])
    error_message = "the ingest and proof ports are open to client_cidrs only"
  }
  assert {
    condition     = alltrue([for r in openstack_networking_secgroup_rule_v2.role : r.remote_ip_prefix == "10.42.0.0/24" if contains([4222, 9464], r.port_range_min)])
    error_message = "NATS clients and shard metrics stay inside the subnet"
  }
  assert {
    condition     = one([for r in openstack_networking_secgroup_rule_v2.role : r.remote_group_id if r.port_range_min == 6222]) == openstack_networking_secgroup_v2.role["nats"].id
    error_message = "NATS routes only between NATS nodes"
  }
  assert {
    condition     = toset([for r in openstack_networking_secgroup_rule_v2.role : r.remote_ip_prefix if r.port_range_min == 22]) == toset(["192.0.2.10/32"])
    error_message = "ssh from admin_cidrs only"
  }
}

run "a_shard_count_the_stream_layout_refuses" {
  command = plan
  variables {
    shards = 0
  }
  expect_failures = [var.shards]
}

run "a_subnet_too_small_for_the_shards" {
  command = plan
  variables {
    subnet_cidr = "10.42.0.0/26"
    shards      = 8
  }
  expect_failures = [var.subnet_cidr]
}

run "downloads_without_a_checksum" {
  command = plan
  variables {
    artifacts = {
      node_url       = "https://artifacts.example.com/node.tar.xz"
      node_sha256    = "not-a-digest"
      nats_url       = "https://artifacts.example.com/nats.tar.gz"
      nats_sha256    = "2222222222222222222222222222222222222222222222222222222222222222"
      release_url    = "http://artifacts.example.com/cairn.tar.gz"
      release_sha256 = "3333333333333333333333333333333333333333333333333333333333333333"
    }
  }
  expect_failures = [var.artifacts]
}

run "a_signer_key_that_is_not_one" {
  command = plan
  variables {
    signer_key = "VERIFIER+KEY+whatever"
  }
  expect_failures = [var.signer_key]
}

run "no_api_keys" {
  command = plan
  variables {
    ingest_api_keys = []
  }
  expect_failures = [var.ingest_api_keys]
}

run "a_short_nats_token" {
  command = plan
  variables {
    nats_token = "short"
  }
  expect_failures = [var.nats_token]
}

run "no_clients" {
  command = plan
  variables {
    client_cidrs = []
  }
  expect_failures = [var.client_cidrs]
}

# Last: it grows the cluster, and a later run with fewer shards would have to destroy shard
# volumes, which prevent_destroy refuses.
run "more_shards_more_servers" {
  command = plan
  variables {
    shards   = 16
    gateways = 1
  }
  assert {
    condition     = length([for name, s in openstack_compute_instance_v2.server : name if startswith(name, "shard-")]) == 16 && strcontains(openstack_compute_instance_v2.server["shard-15"].user_data, "CAIRN_SHARD=15\n")
    error_message = "16 shard servers, the last one shard 15"
  }
}
