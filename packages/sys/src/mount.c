/* mount(2) and umount2(2). Overlay mounts are in overlay.c. */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

static napi_value js_mount(napi_env env, napi_callback_info info) {
  napi_value argv[5], ret = NULL;
  char *source = NULL, *target = NULL, *fstype = NULL, *data = NULL;
  uint32_t flags;
  if (!sys_args(env, info, 5, argv)) return NULL;
  if (!sys_arg_string_or_null(env, argv[0], "source", &source) ||
      !sys_arg_string(env, argv[1], "target", &target) ||
      !sys_arg_string_or_null(env, argv[2], "fstype", &fstype) ||
      !sys_arg_flags(env, argv[3], "flags", true, &flags) ||
      !sys_arg_string_or_null(env, argv[4], "data", &data))
    goto out;
  if (mount(source, target, fstype, (unsigned long)flags, data) != 0) {
    int err = errno;
    napi_value e = sys_errno_error(env, err, "mount", target, NULL, NULL);
    if (e) {
      /* Message reads like Node's rename: mount 'source' -> 'target'; `path` is the target. */
      char *msg = NULL;
      const char *name = sys_errno_name(err);
      napi_value m;
      char nb[16];
      if (!name) { snprintf(nb, sizeof nb, "E%d", err); name = nb; }
      size_t n = strlen(target) + (source ? strlen(source) : 4) + 320;
      if ((msg = malloc(n)) != NULL) {
        char db[256];
        const char *d = strerror_r(err, db, sizeof db);
        char desc[256];
        snprintf(desc, sizeof desc, "%s", d);
        if (desc[0] >= 'A' && desc[0] <= 'Z' && !(desc[1] >= 'A' && desc[1] <= 'Z')) desc[0] += 'a' - 'A';
        snprintf(msg, n, "%s: %s, mount '%s' -> '%s'", name, desc, source ? source : "none", target);
        if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) == napi_ok)
          napi_set_named_property(env, e, "message", m);
        free(msg);
      }
      sys_set_prop(env, e, "source", source);
      sys_set_prop(env, e, "fstype", fstype);
      napi_throw(env, e);
    } else {
      sys_throw_napi_failure(env, "create error");
    }
    goto out;
  }
  ret = sys_undefined(env);
out:
  free(source);
  free(target);
  free(fstype);
  free(data);
  return ret;
}

static napi_value js_umount(napi_env env, napi_callback_info info) {
  napi_value argv[2], ret = NULL;
  char *target = NULL;
  uint32_t flags;
  if (!sys_args(env, info, 2, argv)) return NULL;
  if (!sys_arg_string(env, argv[0], "target", &target)) return NULL;
  if (!sys_arg_flags(env, argv[1], "flags", true, &flags)) goto out;
  if (umount2(target, (int)flags) != 0) sys_throw_errno(env, errno, "umount2", target, NULL, NULL);
  else ret = sys_undefined(env);
out:
  free(target);
  return ret;
}

bool sys_init_mount(napi_env env, napi_value exports) {
  return sys_export(env, exports, "mount", js_mount) && sys_export(env, exports, "umount", js_umount) &&
         sys_export(env, exports, "mountOverlay", sys_js_mount_overlay);
}
