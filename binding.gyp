{
  "target_defaults": {
    "cflags": ["-O3", "-fPIC", "-std=gnu11", "-ffp-contract=fast", "-fno-math-errno", "-Wall", "-Wno-missing-field-initializers"],
    "cflags!": ["-O2", "-O1", "-O0"],
    "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-std=gnu11", "-ffp-contract=fast", "-fno-math-errno"] }
  },
  "targets": [
    {
      "target_name": "tatami_generic",
      "type": "static_library",
      "sources": ["native/src/isa_generic.c"]
    },
    {
      "target_name": "tatami_generic_wide",
      "type": "static_library",
      "sources": ["native/src/isa_generic16.c", "native/src/isa_generic8.c"],
      "cflags": ["-Wno-psabi"]
    },
    {
      "target_name": "tatami_avx2",
      "type": "static_library",
      "conditions": [["target_arch=='x64'", {
        "sources": ["native/src/isa_avx2.c"],
        "cflags": ["-mavx2", "-mfma"],
        "xcode_settings": { "OTHER_CFLAGS": ["-mavx2", "-mfma"] }
      }]]
    },
    {
      "target_name": "tatami_avx512",
      "type": "static_library",
      "conditions": [["target_arch=='x64'", {
        "sources": ["native/src/isa_avx512.c"],
        "cflags": ["-mavx512f", "-mavx2", "-mfma"],
        "xcode_settings": { "OTHER_CFLAGS": ["-mavx512f", "-mavx2", "-mfma"] }
      }]]
    },
    {
      "target_name": "tatami",
      "sources": ["native/src/addon.c", "native/src/pool.c"],
      "dependencies": ["tatami_generic", "tatami_generic_wide", "tatami_avx2", "tatami_avx512"],
      "libraries": ["-lpthread"]
    }
  ]
}
