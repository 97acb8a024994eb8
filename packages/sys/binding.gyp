{
  "targets": [
    {
      "target_name": "berth_sys",
      "sources": [
        "src/sys.c",
        "src/util.c",
        "src/mount.c",
        "src/overlay.c",
        "src/xattr.c",
        "src/proc.c",
        "src/io.c",
        "src/spawn.c",
        "src/sealed.c"
      ],
      "defines": [
        "_GNU_SOURCE",
        "NAPI_VERSION=8"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-O2",
        "-pthread",
        "-fvisibility=hidden"
      ],
      "ldflags": [
        "-pthread"
      ]
    },
    {
      "target_name": "berth-hide-unified",
      "type": "executable",
      "sources": [
        "src/hide-unified.c"
      ],
      "defines": [
        "_GNU_SOURCE"
      ],
      "cflags": [
        "-Wall",
        "-Wextra",
        "-O2"
      ]
    }
  ]
}
