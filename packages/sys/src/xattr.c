/* Extended attributes on the path itself (l*xattr: symlinks are not followed). */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

static napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[4], ret = NULL;
  char *path = NULL, *name = NULL, *str = NULL;
  const void *value = NULL;
  size_t size = 0;
  int64_t flags;
  napi_valuetype t;
  bool is_typed = false;
  if (!sys_args(env, info, 4, argv)) return NULL;
  if (!sys_arg_string(env, argv[0], "path", &path) || !sys_arg_string(env, argv[1], "name", &name)) goto out;
  if (napi_typeof(env, argv[2], &t) == napi_ok && t == napi_string) {
    if (napi_get_value_string_utf8(env, argv[2], NULL, 0, &size) != napi_ok) goto napi_fail;
    if (!(str = malloc(size + 1))) { sys_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL); goto out; }
    if (napi_get_value_string_utf8(env, argv[2], str, size + 1, &size) != napi_ok) goto napi_fail;
    value = str;
  } else if (napi_is_typedarray(env, argv[2], &is_typed) == napi_ok && is_typed) {
    napi_typedarray_type tt;
    size_t len, off;
    void *data;
    napi_value ab;
    if (napi_get_typedarray_info(env, argv[2], &tt, &len, &data, &ab, &off) != napi_ok) goto napi_fail;
    if (tt != napi_uint8_array && tt != napi_uint8_clamped_array && tt != napi_int8_array) {
      sys_throw_type(env, "The \"value\" argument must be a string or a Uint8Array");
      goto out;
    }
    value = data;
    size = len;
  } else {
    sys_throw_type(env, "The \"value\" argument must be a string or a Uint8Array");
    goto out;
  }
  if (!sys_arg_int64_opt(env, argv[3], "flags", 0, 3, 0, &flags)) goto out;
  if (lsetxattr(path, name, value, size, (int)flags) != 0)
    sys_throw_errno(env, errno, "lsetxattr", path, NULL, name);
  else
    ret = sys_undefined(env);
  goto out;
napi_fail:
  sys_throw_napi_failure(env, "read value");
out:
  free(path);
  free(name);
  free(str);
  return ret;
}

static napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  napi_value argv[2], ret = NULL;
  char *path = NULL, *name = NULL, *buf = NULL;
  if (!sys_args(env, info, 2, argv)) return NULL;
  if (!sys_arg_string(env, argv[0], "path", &path) || !sys_arg_string(env, argv[1], "name", &name)) goto out;
  for (int tries = 0;; tries++) {
    ssize_t want = lgetxattr(path, name, NULL, 0);
    if (want < 0) {
      if (errno == ENODATA) ret = sys_undefined(env);
      else sys_throw_errno(env, errno, "lgetxattr", path, NULL, name);
      goto out;
    }
    free(buf);
    if (!(buf = malloc(want > 0 ? (size_t)want : 1))) {
      sys_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
      goto out;
    }
    ssize_t got = lgetxattr(path, name, buf, (size_t)want);
    if (got >= 0) {
      if (napi_create_buffer_copy(env, (size_t)got, buf, NULL, &ret) != napi_ok) {
        ret = NULL;
        sys_throw_napi_failure(env, "napi_create_buffer_copy");
      }
      goto out;
    }
    if (errno == ERANGE && tries < 8) continue; /* grew in between: ask again */
    if (errno == ENODATA) ret = sys_undefined(env);
    else sys_throw_errno(env, errno, "lgetxattr", path, NULL, name);
    goto out;
  }
out:
  free(path);
  free(name);
  free(buf);
  return ret;
}

static napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  napi_value argv[1], ret = NULL, arr;
  char *path = NULL, *buf = NULL;
  ssize_t got = 0;
  if (!sys_args(env, info, 1, argv)) return NULL;
  if (!sys_arg_string(env, argv[0], "path", &path)) return NULL;
  for (int tries = 0;; tries++) {
    ssize_t want = llistxattr(path, NULL, 0);
    if (want < 0) { sys_throw_errno(env, errno, "llistxattr", path, NULL, NULL); goto out; }
    free(buf);
    if (!(buf = malloc(want > 0 ? (size_t)want : 1))) {
      sys_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
      goto out;
    }
    got = want == 0 ? 0 : llistxattr(path, buf, (size_t)want);
    if (got >= 0) break;
    if (errno == ERANGE && tries < 8) continue;
    sys_throw_errno(env, errno, "llistxattr", path, NULL, NULL);
    goto out;
  }
  if (napi_create_array(env, &arr) != napi_ok) { sys_throw_napi_failure(env, "napi_create_array"); goto out; }
  uint32_t idx = 0;
  for (ssize_t i = 0; i < got;) {
    size_t n = strnlen(buf + i, (size_t)(got - i));
    if (n > 0) {
      napi_value s;
      if (napi_create_string_utf8(env, buf + i, n, &s) != napi_ok || napi_set_element(env, arr, idx++, s) != napi_ok) {
        sys_throw_napi_failure(env, "napi_set_element");
        goto out;
      }
    }
    i += (ssize_t)n + 1;
  }
  ret = arr;
out:
  free(path);
  free(buf);
  return ret;
}

static napi_value js_lremovexattr(napi_env env, napi_callback_info info) {
  napi_value argv[2], ret = NULL;
  char *path = NULL, *name = NULL;
  if (!sys_args(env, info, 2, argv)) return NULL;
  if (!sys_arg_string(env, argv[0], "path", &path) || !sys_arg_string(env, argv[1], "name", &name)) goto out;
  if (lremovexattr(path, name) != 0 && errno != ENODATA)
    sys_throw_errno(env, errno, "lremovexattr", path, NULL, name);
  else
    ret = sys_undefined(env);
out:
  free(path);
  free(name);
  return ret;
}

bool sys_init_xattr(napi_env env, napi_value exports) {
  return sys_export(env, exports, "lsetxattr", js_lsetxattr) && sys_export(env, exports, "lgetxattr", js_lgetxattr) &&
         sys_export(env, exports, "llistxattr", js_llistxattr) &&
         sys_export(env, exports, "lremovexattr", js_lremovexattr);
}
