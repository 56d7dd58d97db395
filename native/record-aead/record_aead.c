/*
 * AES-256-GCM for the record layer, in place, with one reusable OpenSSL context per direction and thread.
 *
 * Why: node:crypto needs a new Cipheriv object per record (Node 20 cannot re-IV a GCM context), and building
 * it costs ~4 us, several times the AES-GCM work itself at signaling sizes. Here each call re-keys a context
 * that lives as long as the addon instance (EVP_*Init_ex with a key and IV, no cipher fetch, no allocation),
 * and encrypts or decrypts the caller's bytes where they lie, so a relayed record needs no extra buffers.
 * The OpenSSL used is the one linked into the Node binary (its headers ship with Node's).
 *
 *   seal(key[32], nonce[12], aad, view): view = plaintext || 16 spare bytes; encrypts in place, tag at the end.
 *   open(key[32], nonce[12], aad, view): view = ciphertext || tag; decrypts in place. Returns true when the
 *                                        tag verifies; on false the bytes are zeroed.
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <string.h>

#define TAG_BYTES 16
#define KEY_BYTES 32
#define NONCE_BYTES 12

typedef struct {
  EVP_CIPHER_CTX* enc;
  EVP_CIPHER_CTX* dec;
} aead_state;

static void finalize_state(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  aead_state* st = (aead_state*)data;
  EVP_CIPHER_CTX_free(st->enc);
  EVP_CIPHER_CTX_free(st->dec);
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
  if (EVP_EncryptInit_ex(st->enc, NULL, NULL, a.key, a.nonce) != 1 ||
      EVP_EncryptUpdate(st->enc, NULL, &out, a.aad, (int)a.aad_len) != 1 ||
      (n > 0 && EVP_EncryptUpdate(st->enc, a.view, &out, a.view, n) != 1) ||
      EVP_EncryptFinal_ex(st->enc, a.view + n, &out) != 1 ||
      EVP_CIPHER_CTX_ctrl(st->enc, EVP_CTRL_GCM_GET_TAG, TAG_BYTES, a.view + n) != 1) {
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
  int ok = EVP_DecryptInit_ex(st->dec, NULL, NULL, a.key, a.nonce) == 1 &&
           EVP_CIPHER_CTX_ctrl(st->dec, EVP_CTRL_GCM_SET_TAG, TAG_BYTES, tag) == 1 &&
           EVP_DecryptUpdate(st->dec, NULL, &out, a.aad, (int)a.aad_len) == 1 &&
           (n == 0 || EVP_DecryptUpdate(st->dec, a.view, &out, a.view, n) == 1) &&
           EVP_DecryptFinal_ex(st->dec, a.view + n, &out) == 1;
  if (!ok) OPENSSL_cleanse(a.view, a.view_len);
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  aead_state* st = (aead_state*)calloc(1, sizeof(aead_state));
  if (st == NULL) return fail(env, "out of memory");
  st->enc = EVP_CIPHER_CTX_new();
  st->dec = EVP_CIPHER_CTX_new();
  /* The cipher is bound once; every call then only sets a key and an IV (GCM's default IV length is 12). */
  if (st->enc == NULL || st->dec == NULL ||
      EVP_EncryptInit_ex(st->enc, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
      EVP_DecryptInit_ex(st->dec, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1) {
    finalize_state(env, st, NULL);
    return fail(env, "cannot create AES-256-GCM contexts");
  }
  napi_property_descriptor props[] = {
    {"seal", NULL, seal, NULL, NULL, NULL, napi_default, st},
    {"open", NULL, open_, NULL, NULL, NULL, napi_default, st},
  };
  napi_define_properties(env, exports, 2, props);
  napi_wrap(env, exports, st, finalize_state, NULL, NULL);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
