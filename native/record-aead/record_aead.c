/*
 * AES-256-GCM for the record layer, in place, with OpenSSL contexts that keep their key schedule.
 *
 * Why: node:crypto needs a new Cipheriv object per record (Node 20 cannot re-IV a GCM context), and building
 * it costs ~4 us, several times the AES-GCM work itself at signaling sizes. Here contexts live as long as the
 * addon instance and encrypt or decrypt the caller's bytes where they lie, so a relayed record needs no extra
 * buffers. Setting a key (the AES key expansion and GHASH's table) was then about half of what a small record
 * still cost, so each direction has a small direct-mapped cache of keyed contexts: a record under a key the
 * slot already holds only sets its IV. The cache is keyed by the key's bytes (compared in constant time),
 * so a miss or a collision only costs the key setup every call used to pay. Traffic keys are uniformly
 * random, so their first bytes pick the slot. `forget(key)` wipes a key's slot when its session ends.
 * The OpenSSL used is the one linked into the Node binary (its headers ship with Node's).
 *
 *   seal(key[32], nonce[12], aad, view): view = plaintext || 16 spare bytes; encrypts in place, tag at the end.
 *   open(key[32], nonce[12], aad, view): view = ciphertext || tag; decrypts in place. Returns true when the
 *                                        tag verifies; on false the bytes are zeroed.
 *   forget(key[32]):                     wipes any cached context and copy of this key; true if there was one.
 *
 * The same addon also exports sha256 and hmacSha256 (sha256.c).
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TAG_BYTES 16
#define KEY_BYTES 32
#define NONCE_BYTES 12
/* Per direction. A context is about 1 KB and is allocated on first use, so at most ~0.5 MB per thread. */
#define SLOTS 256

typedef struct {
  EVP_CIPHER_CTX* ctx;
  int keyed;
  uint8_t key[KEY_BYTES];
} slot;

typedef struct {
  slot enc[SLOTS];
  slot dec[SLOTS];
} aead_state;

static const uint8_t ZERO_KEY[KEY_BYTES] = {0};

static slot* slot_for(slot* table, const uint8_t* key) {
  uint32_t h;
  memcpy(&h, key, sizeof h);
  return &table[h & (SLOTS - 1)];
}

/* Whether the slot holds key (compared in constant time). */
static int holds(const slot* s, const uint8_t* key) {
  return s->keyed && CRYPTO_memcmp(s->key, key, KEY_BYTES) == 0;
}

/* The slot's context set up for one record under key and nonce, or NULL when OpenSSL fails. */
static EVP_CIPHER_CTX* ready(slot* table, int enc, const uint8_t* key, const uint8_t* nonce) {
  slot* s = slot_for(table, key);
  if (s->ctx == NULL) {
    s->ctx = EVP_CIPHER_CTX_new();
    /* The cipher is bound once; GCM's default IV length is 12. */
    if (s->ctx == NULL || EVP_CipherInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1) {
      EVP_CIPHER_CTX_free(s->ctx);
      s->ctx = NULL;
      return NULL;
    }
  }
  int hit = holds(s, key);
  if (EVP_CipherInit_ex(s->ctx, NULL, NULL, hit ? NULL : key, nonce, enc) != 1) {
    s->keyed = 0;
    OPENSSL_cleanse(s->key, KEY_BYTES);
    return NULL;
  }
  if (!hit) {
    memcpy(s->key, key, KEY_BYTES);
    s->keyed = 1;
  }
  return s->ctx;
}

/* Overwrites the slot's key schedule and copy of the key. */
static void wipe_slot(slot* s, int enc) {
  if (s->ctx != NULL) EVP_CipherInit_ex(s->ctx, NULL, NULL, ZERO_KEY, NULL, enc);
  OPENSSL_cleanse(s->key, KEY_BYTES);
  s->keyed = 0;
}

static void finalize_state(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  aead_state* st = (aead_state*)data;
  for (int i = 0; i < SLOTS; i++) {
    OPENSSL_cleanse(st->enc[i].key, KEY_BYTES);
    OPENSSL_cleanse(st->dec[i].key, KEY_BYTES);
    /* OpenSSL clears a GCM context's key material when it frees it. */
    EVP_CIPHER_CTX_free(st->enc[i].ctx);
    EVP_CIPHER_CTX_free(st->dec[i].ctx);
  }
  free(st);
}

static int bytes_arg(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  napi_typedarray_type type;
  size_t length;
  void* ptr;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, &ab, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (uint8_t*)ptr;
  *len = length;
  return 1;
}

static napi_value fail(napi_env env, const char* message) {
  napi_throw_type_error(env, "ERR_RECORD_AEAD", message);
  return NULL;
}

typedef struct {
  uint8_t *key, *nonce, *aad, *view;
  size_t key_len, nonce_len, aad_len, view_len;
} call_args;

static int read_args(napi_env env, napi_callback_info info, call_args* a, aead_state** st) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void**)st) != napi_ok || argc != 4) return 0;
  if (!bytes_arg(env, argv[0], &a->key, &a->key_len) || a->key_len != KEY_BYTES) return 0;
  if (!bytes_arg(env, argv[1], &a->nonce, &a->nonce_len) || a->nonce_len != NONCE_BYTES) return 0;
  if (!bytes_arg(env, argv[2], &a->aad, &a->aad_len) || a->aad_len > 0x7fffffff) return 0;
  if (!bytes_arg(env, argv[3], &a->view, &a->view_len) || a->view_len < TAG_BYTES || a->view_len > 0x7fffffff) return 0;
  return 1;
}

static napi_value seal(napi_env env, napi_callback_info info) {
  call_args a;
  aead_state* st;
  if (!read_args(env, info, &a, &st)) return fail(env, "seal(key[32], nonce[12], aad, view[>=16]) expects Uint8Arrays");
  int n = (int)(a.view_len - TAG_BYTES);
  int out = 0;
  EVP_CIPHER_CTX* ctx = ready(st->enc, 1, a.key, a.nonce);
  if (ctx == NULL ||
      EVP_EncryptUpdate(ctx, NULL, &out, a.aad, (int)a.aad_len) != 1 ||
      (n > 0 && EVP_EncryptUpdate(ctx, a.view, &out, a.view, n) != 1) ||
      EVP_EncryptFinal_ex(ctx, a.view + n, &out) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, a.view + n) != 1) {
    return fail(env, "AES-256-GCM seal failed");
  }
  return NULL;
}

static napi_value open_(napi_env env, napi_callback_info info) {
  call_args a;
  aead_state* st;
  if (!read_args(env, info, &a, &st)) return fail(env, "open(key[32], nonce[12], aad, view[>=16]) expects Uint8Arrays");
  int n = (int)(a.view_len - TAG_BYTES);
  int out = 0;
  uint8_t tag[TAG_BYTES];
  memcpy(tag, a.view + n, TAG_BYTES);
  EVP_CIPHER_CTX* ctx = ready(st->dec, 0, a.key, a.nonce);
  int ok = ctx != NULL &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) == 1 &&
           EVP_DecryptUpdate(ctx, NULL, &out, a.aad, (int)a.aad_len) == 1 &&
           (n == 0 || EVP_DecryptUpdate(ctx, a.view, &out, a.view, n) == 1) &&
           EVP_DecryptFinal_ex(ctx, a.view + n, &out) == 1;
  if (!ok) OPENSSL_cleanse(a.view, a.view_len);
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

static napi_value forget(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  aead_state* st;
  uint8_t* key;
  size_t key_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void**)&st) != napi_ok || argc != 1 ||
      !bytes_arg(env, argv[0], &key, &key_len) || key_len != KEY_BYTES) {
    return fail(env, "forget(key[32]) expects a Uint8Array");
  }
  int found = 0;
  slot* e = slot_for(st->enc, key);
  slot* d = slot_for(st->dec, key);
  if (holds(e, key)) {
    wipe_slot(e, 1);
    found = 1;
  }
  if (holds(d, key)) {
    wipe_slot(d, 0);
    found = 1;
  }
  napi_value result;
  napi_get_boolean(env, found, &result);
  return result;
}

/* sha256.c: the handshake's hashes, in the same addon (one build, one load). */
void define_sha256(napi_env env, napi_value exports);

static napi_value init(napi_env env, napi_value exports) {
  aead_state* st = (aead_state*)calloc(1, sizeof(aead_state));
  if (st == NULL) return fail(env, "out of memory");
  napi_property_descriptor props[] = {
    {"seal", NULL, seal, NULL, NULL, NULL, napi_default, st},
    {"open", NULL, open_, NULL, NULL, NULL, napi_default, st},
    {"forget", NULL, forget, NULL, NULL, NULL, napi_default, st},
  };
  napi_define_properties(env, exports, 3, props);
  define_sha256(env, exports);
  napi_wrap(env, exports, st, finalize_state, NULL, NULL);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
