// Batch SHA-256 for the storage engine's hot path, as a Node-API addon (docs/design/storage.md,
// "Native hashing"). Why: node:crypto's hash() costs about 1 us per call on short inputs, of which
// the SHA-256 itself (SHA-NI) is a few percent; one call here hashes a whole batch. The digests
// come from OpenSSL's SHA256 as exported by the node binary itself, so they are the very bytes
// node:crypto gives; the loader falls back to node:crypto when this file is not built.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <node_api.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

// Mirrors src/hash-task.ts: the record and transaction table layouts and the 32-byte hashes.
#define RECORD_FIELDS 5
#define TX_FIELDS 2
#define HASH_BYTES 32
#define LEAF_PREFIX 0x00
#define NODE_PREFIX 0x01

static uint32_t read_u32(const uint8_t *at) {
  uint32_t value;
  memcpy(&value, at, 4); // host order, as the Uint32Array that wrote it
  return value;
}

// SHA256_Init/Update/Final rather than the one-shot SHA256(): in OpenSSL 3 the one-shot goes
// through EVP (a digest fetch per call), measured ~2x the cost of the hash on these short inputs.
static void plain_hash(const uint8_t *data, size_t length, uint8_t *out) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data, length);
  SHA256_Final(out, &ctx);
}

static void prefixed_hash(uint8_t prefix, const uint8_t *data, size_t length, uint8_t *out) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, &prefix, 1);
  SHA256_Update(&ctx, data, length);
  SHA256_Final(out, &ctx);
}

static napi_value fail(napi_env env, const char *message) {
  napi_throw_range_error(env, "CAIRN_NATIVE_HASH", message);
  return NULL;
}

// Reads a Uint8Array argument and unsigned integer arguments; returns 0 on a bad argument.
static int read_args(napi_env env, napi_callback_info info, size_t want, uint8_t **bytes, size_t *length, uint32_t *ints) {
  napi_value argv[8];
  size_t argc = 8;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != want) return 0;
  napi_typedarray_type type;
  void *data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, argv[0], &type, length, &data, &buffer, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *bytes = (uint8_t *)data;
  for (size_t i = 1; i < want; i += 1) {
    if (napi_get_value_uint32(env, argv[i], &ints[i - 1]) != napi_ok) return 0;
  }
  return 1;
}

// hashRecords(bytes, recordTable, txTable, leafHashes, begin, end): see hashRecords in hash-task.ts.
static napi_value hash_records(napi_env env, napi_callback_info info) {
  uint8_t *bytes;
  size_t length;
  uint32_t a[5];
  if (!read_args(env, info, 6, &bytes, &length, a)) return fail(env, "hashRecords(bytes, recordTable, txTable, leafHashes, begin, end)");
  const uint32_t record_table = a[0], tx_table = a[1], leaf_hashes = a[2], begin = a[3], end = a[4];
  if (begin > end || (uint64_t)leaf_hashes + (uint64_t)HASH_BYTES * end > length ||
      (uint64_t)record_table + 4ull * RECORD_FIELDS * end > length) {
    return fail(env, "hashRecords: tables out of bounds");
  }
  uint8_t meta_hash[HASH_BYTES];
  int64_t last_tx = -1;
  for (uint32_t i = begin; i < end; i += 1) {
    const uint8_t *row = bytes + record_table + 4ull * RECORD_FIELDS * i;
    const uint32_t value_at = read_u32(row), value_length = read_u32(row + 4);
    const uint32_t leaf_at = read_u32(row + 8), leaf_length = read_u32(row + 12), tx = read_u32(row + 16);
    if ((uint64_t)value_at + value_length > length || (uint64_t)leaf_at + leaf_length > length || leaf_length < 2 * HASH_BYTES) {
      return fail(env, "hashRecords: record out of bounds");
    }
    if ((int64_t)tx != last_tx) {
      const uint8_t *tx_row = bytes + tx_table + 4ull * TX_FIELDS * tx;
      if ((uint64_t)tx_table + 4ull * TX_FIELDS * (tx + 1ull) > length) return fail(env, "hashRecords: tx out of bounds");
      const uint32_t meta_at = read_u32(tx_row), meta_length = read_u32(tx_row + 4);
      if ((uint64_t)meta_at + meta_length > length) return fail(env, "hashRecords: meta out of bounds");
      plain_hash(bytes + meta_at, meta_length, meta_hash);
      last_tx = tx;
    }
    uint8_t *trailer = bytes + leaf_at + leaf_length - 2 * HASH_BYTES;
    plain_hash(bytes + value_at, value_length, trailer);
    memcpy(trailer + HASH_BYTES, meta_hash, HASH_BYTES);
    prefixed_hash(LEAF_PREFIX, bytes + leaf_at, leaf_length, bytes + leaf_hashes + (uint64_t)HASH_BYTES * i);
  }
  napi_value result;
  napi_create_uint32(env, end - begin, &result);
  return result;
}

// hashPairs(bytes, inAt, pairs, outAt): for each i < pairs, the RFC 6962 node hash
// SHA-256(0x01 || left || right) of the 64 bytes at inAt + 64 i goes to outAt + 32 i.
// outAt may be up to inAt + 32 (a level reduced in place): pair i is read before output i is
// written, and output i only overwrites bytes of pairs already read.
static napi_value hash_pairs(napi_env env, napi_callback_info info) {
  uint8_t *bytes;
  size_t length;
  uint32_t a[3];
  if (!read_args(env, info, 4, &bytes, &length, a)) return fail(env, "hashPairs(bytes, inAt, pairs, outAt)");
  const uint32_t in_at = a[0], pairs = a[1], out_at = a[2];
  if ((uint64_t)in_at + 64ull * pairs > length || (uint64_t)out_at + 32ull * pairs > length || (out_at > in_at + 32ull && pairs > 0)) {
    return fail(env, "hashPairs: out of bounds or output after input");
  }
  uint8_t digest[HASH_BYTES];
  for (uint32_t i = 0; i < pairs; i += 1) {
    prefixed_hash(NODE_PREFIX, bytes + in_at + 64ull * i, 64, digest);
    memcpy(bytes + out_at + 32ull * i, digest, HASH_BYTES);
  }
  napi_value result;
  napi_create_uint32(env, pairs, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"hashRecords", NULL, hash_records, NULL, NULL, NULL, napi_enumerable, NULL},
    {"hashPairs", NULL, hash_pairs, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, 2, props) != napi_ok) return NULL;
  return exports;
}
