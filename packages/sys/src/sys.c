/*
 * @berth/sys: the few Linux calls Node lacks, as a plain-C N-API addon.
 * This file: module setup, device numbers, mknod, the child-subreaper prctl, posix_fadvise and fallocate.
 * mount.c: mount/umount; overlay.c: overlayfs; xattr.c: extended attributes; proc.c: pidfds and reaping;
 * io.c: pipes, ptys, window sizes and fd passing over unix sockets; spawn.c: starting a program without forking this process; sealed.c: sealed memfd copies of programs.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#define MAX_SAFE_INTEGER 9007199254740991LL

static napi_value js_makedev(napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  int64_t ma, mi;
  if (!sys_args(env, info, 2, argv)) return NULL;
  if (!sys_arg_int64(env, argv[0], "major", 0, UINT32_MAX, &ma)) return NULL;
  if (!sys_arg_int64(env, argv[1], "minor", 0, UINT32_MAX, &mi)) return NULL;
  uint64_t dev = (uint64_t)makedev((unsigned int)ma, (unsigned int)mi);
  if (dev > (uint64_t)MAX_SAFE_INTEGER)
    return sys_throw_range(env, "makedev(%lld, %lld) does not fit in a JavaScript number exactly",
                           (long long)ma, (long long)mi);
  NAPI_CALL(env, napi_create_double(env, (double)dev, &out));
  return out;
}

static napi_value dev_part(napi_env env, napi_callback_info info, bool want_major) {
  napi_value argv[1], out;
  int64_t dev;
  if (!sys_args(env, info, 1, argv)) return NULL;
  if (!sys_arg_int64(env, argv[0], "dev", 0, MAX_SAFE_INTEGER, &dev)) return NULL;
  unsigned int v = want_major ? major((dev_t)dev) : minor((dev_t)dev);
  NAPI_CALL(env, napi_create_uint32(env, v, &out));
  return out;
}

static napi_value js_major(napi_env env, napi_callback_info info) { return dev_part(env, info, true); }
static napi_value js_minor(napi_env env, napi_callback_info info) { return dev_part(env, info, false); }

static napi_value js_mknod(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char *path = NULL;
  int64_t mode, dev;
  if (!sys_args(env, info, 3, argv)) return NULL;
  if (!sys_arg_string(env, argv[0], "path", &path)) return NULL;
  if (!sys_arg_int64(env, argv[1], "mode", 0, UINT32_MAX, &mode) ||
      !sys_arg_int64(env, argv[2], "dev", 0, MAX_SAFE_INTEGER, &dev)) {
    free(path);
    return NULL;
  }
  napi_value ret = sys_undefined(env);
  if (mknod(path, (mode_t)mode, (dev_t)dev) != 0) ret = sys_throw_errno(env, errno, "mknod", path, NULL, NULL);
  free(path);
  return ret;
}

static napi_value js_set_child_subreaper(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  bool on;
  if (!sys_args(env, info, 1, argv)) return NULL;
  if (napi_get_value_bool(env, argv[0], &on) != napi_ok)
    return sys_throw_type(env, "The \"enabled\" argument must be of type boolean");
  if (prctl(PR_SET_CHILD_SUBREAPER, on ? 1UL : 0UL, 0UL, 0UL, 0UL) != 0)
    return sys_throw_errno(env, errno, "prctl", NULL, NULL, "PR_SET_CHILD_SUBREAPER");
  return sys_undefined(env);
}

static napi_value js_is_child_subreaper(napi_env env, napi_callback_info info) {
  (void)info;
  int v = 0;
  napi_value out;
  if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&v, 0UL, 0UL, 0UL) != 0)
    return sys_throw_errno(env, errno, "prctl", NULL, NULL, "PR_GET_CHILD_SUBREAPER");
  NAPI_CALL(env, napi_get_boolean(env, v != 0, &out));
  return out;
}

static napi_value js_fadvise(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int64_t fd, offset, length, advice;
  if (!sys_args(env, info, 4, argv)) return NULL;
  if (!sys_arg_int64(env, argv[0], "fd", 0, 2147483647LL, &fd) ||
      !sys_arg_int64(env, argv[1], "offset", 0, MAX_SAFE_INTEGER, &offset) ||
      !sys_arg_int64(env, argv[2], "length", 0, MAX_SAFE_INTEGER, &length) ||
      !sys_arg_int64(env, argv[3], "advice", 0, 5, &advice))
    return NULL;
  /* posix_fadvise returns the error number instead of setting errno. */
  int err = posix_fadvise((int)fd, (off_t)offset, (off_t)length, (int)advice);
  if (err != 0) return sys_throw_errno(env, err, "posix_fadvise", NULL, NULL, NULL);
  return sys_undefined(env);
}

static napi_value js_fallocate(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int64_t fd, mode, offset, length;
  if (!sys_args(env, info, 4, argv)) return NULL;
  if (!sys_arg_int64(env, argv[0], "fd", 0, 2147483647LL, &fd) ||
      !sys_arg_int64(env, argv[1], "mode", 0, 0x7f, &mode) ||
      !sys_arg_int64(env, argv[2], "offset", 0, MAX_SAFE_INTEGER, &offset) ||
      !sys_arg_int64(env, argv[3], "length", 1, MAX_SAFE_INTEGER, &length))
    return NULL;
  if (fallocate((int)fd, (int)mode, (off_t)offset, (off_t)length) != 0)
    return sys_throw_errno(env, errno, "fallocate", NULL, NULL, NULL);
  return sys_undefined(env);
}

static napi_value init(napi_env env, napi_value exports) {
  if (!sys_export(env, exports, "makedev", js_makedev) ||
      !sys_export(env, exports, "major", js_major) ||
      !sys_export(env, exports, "minor", js_minor) ||
      !sys_export(env, exports, "mknod", js_mknod) ||
      !sys_export(env, exports, "setChildSubreaper", js_set_child_subreaper) ||
      !sys_export(env, exports, "isChildSubreaper", js_is_child_subreaper) ||
      !sys_export(env, exports, "fadvise", js_fadvise) ||
      !sys_export(env, exports, "fallocate", js_fallocate) ||
      !sys_init_mount(env, exports) || !sys_init_xattr(env, exports) || !sys_init_proc(env, exports) ||
      !sys_init_io(env, exports) || !sys_init_spawn(env, exports) ||
      !sys_init_sealed(env, exports))
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
