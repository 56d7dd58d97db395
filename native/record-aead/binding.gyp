{
  "targets": [
    {
      "target_name": "record_aead",
      "sources": ["record_aead.c", "sha256.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
