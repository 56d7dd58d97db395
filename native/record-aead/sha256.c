/*
 * SHA-256 and HMAC-SHA256 for the handshake's transcript and key schedule, and for access tokens.
 *
 * Why: on Node 20, node:crypto builds a Hash or Hmac object per call, and OpenSSL 3 looks the digest up
 * through its provider machinery each time: 3 to 8 us per call, against well under one for the hashing
 * itself at these sizes. A join hashes a dozen times (the token's signature, the transcript, HKDF's extract
 * and its expansions, the finished messages). Here the digest runs straight on OpenSSL's SHA-256 (the one
 * linked into Node), and the result goes into the caller's buffer.
 *
 *   sha256(data, out[32]):             out = SHA-256(data)
 *   hmacSha256(key, data, out[32]):    out = HMAC-SHA256(key, data) (RFC 2104; a key over 64 bytes is hashed first)
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

#define BLOCK 64
#define DIGEST 32

static int bytes_of(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  void* ptr;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, &ab, &offset) != napi_ok || type != napi_uint8_array) return 0;
  *data = (uint8_t*)ptr;
  return 1;
}

static napi_value type_error(napi_env env, const char* message) {
  napi_throw_type_error(env, "ERR_SHA256", message);
  return NULL;
}

static napi_value sha256(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint8_t *data, *out;
  size_t len, out_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 || !bytes_of(env, argv[0], &data, &len) ||
      !bytes_of(env, argv[1], &out, &out_len) || out_len != DIGEST) {
    return type_error(env, "sha256(data, out[32]) expects Uint8Arrays");
  }
  SHA256_CTX c;
  SHA256_Init(&c);
  SHA256_Update(&c, data, len);
  SHA256_Final(out, &c);
  return NULL;
}

static napi_value hmac_sha256(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint8_t *key, *data, *out;
  size_t key_len, len, out_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 || !bytes_of(env, argv[0], &key, &key_len) ||
      !bytes_of(env, argv[1], &data, &len) || !bytes_of(env, argv[2], &out, &out_len) || out_len != DIGEST) {
    return type_error(env, "hmacSha256(key, data, out[32]) expects Uint8Arrays");
  }
  uint8_t k[BLOCK] = {0};
  uint8_t pad[BLOCK];
  uint8_t inner[DIGEST];
  SHA256_CTX c;
  if (key_len > BLOCK) {
    SHA256_Init(&c);
    SHA256_Update(&c, key, key_len);
    SHA256_Final(k, &c);
  } else if (key_len > 0) {
    memcpy(k, key, key_len);
  }
  for (int i = 0; i < BLOCK; i++) pad[i] = k[i] ^ 0x36;
  SHA256_Init(&c);
  SHA256_Update(&c, pad, BLOCK);
  SHA256_Update(&c, data, len);
  SHA256_Final(inner, &c);
  for (int i = 0; i < BLOCK; i++) pad[i] = k[i] ^ 0x5c;
  SHA256_Init(&c);
  SHA256_Update(&c, pad, BLOCK);
  SHA256_Update(&c, inner, DIGEST);
  SHA256_Final(out, &c);
  /* The padded key and the inner state are as good as the key. */
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(inner, sizeof inner);
  OPENSSL_cleanse(&c, sizeof c);
  return NULL;
}

/* Adds sha256 and hmacSha256 to the addon's exports. */
void define_sha256(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"sha256", NULL, sha256, NULL, NULL, NULL, napi_default, NULL},
    {"hmacSha256", NULL, hmac_sha256, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 2, props);
}
