{
  "targets": [
    {
      "target_name": "berth_sys",
      "sources": ["src/sys.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
