/* Argument checking and errno errors shaped like Node's fs errors. */
#include "common.h"

#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sys_errno_name(int err) {
  switch (err) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF)
    E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(ENOTBLK) E(EBUSY) E(EEXIST)
    E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY)
    E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(EDOM) E(ERANGE)
    E(EDEADLK) E(ENAMETOOLONG) E(ENOLCK) E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENOMSG)
    E(EIDRM) E(ENOSTR) E(ENODATA) E(ETIME) E(ENOSR) E(ENOLINK) E(EPROTO) E(EBADMSG)
    E(EOVERFLOW) E(EILSEQ) E(EUSERS) E(ENOTSOCK) E(EDESTADDRREQ) E(EMSGSIZE)
    E(EPROTOTYPE) E(ENOPROTOOPT) E(EPROTONOSUPPORT) E(EAFNOSUPPORT) E(EADDRINUSE)
    E(EADDRNOTAVAIL) E(ENETDOWN) E(ENETUNREACH) E(ECONNABORTED) E(ECONNRESET)
    E(ENOBUFS) E(EISCONN) E(ENOTCONN) E(ETIMEDOUT) E(ECONNREFUSED) E(EHOSTUNREACH)
    E(EALREADY) E(EINPROGRESS) E(ESTALE) E(EDQUOT) E(ECANCELED) E(EOWNERDEAD)
    E(ENOTRECOVERABLE) E(ENOMEDIUM) E(EMEDIUMTYPE) E(EUCLEAN) E(ENOKEY) E(EKEYEXPIRED)
    E(EKEYREVOKED) E(EKEYREJECTED) E(ERFKILL) E(EHWPOISON)
#undef E
    /* Node (libuv) calls 95 ENOTSUP; Linux's EOPNOTSUPP is the same number. */
    case ENOTSUP: return "ENOTSUP";
    default: return NULL;
  }
}

void sys_throw_napi_failure(napi_env env, const char *what) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  char msg[256];
  snprintf(msg, sizeof msg, "@berth/sys: N-API call failed: %s (%s)", what,
           info && info->error_message ? info->error_message : "unknown");
  napi_throw_error(env, NULL, msg);
}

void sys_set_prop(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  if (value == NULL) return;
  if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok)
    napi_set_named_property(env, obj, key, v);
}

/* Appends to a growing heap string; on allocation failure the string is left as is. */
static void append(char **buf, size_t *len, size_t *cap, const char *s) {
  size_t n = strlen(s);
  if (*len + n + 1 > *cap) {
    size_t ncap = (*cap ? *cap : 64);
    while (*len + n + 1 > ncap) ncap *= 2;
    char *nb = realloc(*buf, ncap);
    if (!nb) return;
    *buf = nb;
    *cap = ncap;
  }
  memcpy(*buf + *len, s, n + 1);
  *len += n;
}

napi_value sys_errno_error(napi_env env, int err, const char *syscall, const char *path,
                           const char *dest, const char *detail) {
  char namebuf[32], descbuf[256];
  const char *name = sys_errno_name(err);
  if (!name) {
    snprintf(namebuf, sizeof namebuf, "E%d", err);
    name = namebuf;
  }
  /* GNU strerror_r: thread-safe, returns the message. libuv-style: lower-case first letter. */
  const char *d = strerror_r(err, descbuf, sizeof descbuf);
  char desc[256];
  snprintf(desc, sizeof desc, "%s", d ? d : "unknown error");
  if (desc[0] && isupper((unsigned char)desc[0]) && !(desc[1] && isupper((unsigned char)desc[1])))
    desc[0] = (char)tolower((unsigned char)desc[0]);

  char *msg = NULL;
  size_t len = 0, cap = 0;
  append(&msg, &len, &cap, name);
  append(&msg, &len, &cap, ": ");
  append(&msg, &len, &cap, desc);
  append(&msg, &len, &cap, ", ");
  append(&msg, &len, &cap, syscall);
  if (path) {
    append(&msg, &len, &cap, " '");
    append(&msg, &len, &cap, path);
    append(&msg, &len, &cap, "'");
  }
  if (dest) {
    append(&msg, &len, &cap, " -> '");
    append(&msg, &len, &cap, dest);
    append(&msg, &len, &cap, "'");
  }
  if (detail && detail[0]) {
    append(&msg, &len, &cap, " (");
    append(&msg, &len, &cap, detail);
    append(&msg, &len, &cap, ")");
  }

  napi_value code, message, error, errnum;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, msg ? msg : name, NAPI_AUTO_LENGTH, &message) != napi_ok ||
      napi_create_error(env, code, message, &error) != napi_ok) {
    free(msg);
    return NULL;
  }
  free(msg);
  if (napi_create_int32(env, err, &errnum) == napi_ok)
    napi_set_named_property(env, error, "errno", errnum);
  sys_set_prop(env, error, "syscall", syscall);
  sys_set_prop(env, error, "path", path);
  sys_set_prop(env, error, "dest", dest);
  if (detail && detail[0]) sys_set_prop(env, error, "detail", detail);
  return error;
}

napi_value sys_throw_errno(napi_env env, int err, const char *syscall, const char *path,
                           const char *dest, const char *detail) {
  napi_value e = sys_errno_error(env, err, syscall, path, dest, detail);
  if (e) napi_throw(env, e);
  else sys_throw_napi_failure(env, "create error");
  return NULL;
}

static napi_value vthrow(napi_env env, const char *code, bool range, const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (range) napi_throw_range_error(env, code, msg);
  else napi_throw_type_error(env, code, msg);
  return NULL;
}

napi_value sys_throw_type(napi_env env, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vthrow(env, "ERR_INVALID_ARG_TYPE", false, fmt, ap);
  va_end(ap);
  return NULL;
}

napi_value sys_throw_range(napi_env env, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vthrow(env, "ERR_OUT_OF_RANGE", true, fmt, ap);
  va_end(ap);
  return NULL;
}

bool sys_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    sys_throw_napi_failure(env, "napi_get_cb_info");
    return false;
  }
  return true; /* N-API fills missing ones with undefined */
}

bool sys_is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  return t == napi_undefined || t == napi_null;
}

static const char *type_name(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return "unknown";
  switch (t) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_object: return "object";
    case napi_function: return "function";
    case napi_external: return "external";
    case napi_bigint: return "bigint";
  }
  return "unknown";
}

bool sys_arg_string(napi_env env, napi_value v, const char *name, char **out) {
  napi_valuetype t;
  *out = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    sys_throw_type(env, "The \"%s\" argument must be of type string. Received %s", name,
                   type_name(env, v));
    return false;
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    sys_throw_napi_failure(env, "napi_get_value_string_utf8");
    return false;
  }
  char *s = malloc(len + 1);
  if (!s) {
    sys_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
    return false;
  }
  if (napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
    free(s);
    sys_throw_napi_failure(env, "napi_get_value_string_utf8");
    return false;
  }
  if (strlen(s) != len) {
    free(s);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                          "The argument must be a string without null bytes");
    return false;
  }
  *out = s;
  return true;
}

bool sys_arg_string_or_null(napi_env env, napi_value v, const char *name, char **out) {
  *out = NULL;
  if (sys_is_nullish(env, v)) return true;
  return sys_arg_string(env, v, name, out);
}

bool sys_arg_int64(napi_env env, napi_value v, const char *name, int64_t min, int64_t max, int64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    sys_throw_type(env, "The \"%s\" argument must be of type number. Received %s", name,
                   type_name(env, v));
    return false;
  }
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) {
    sys_throw_napi_failure(env, "napi_get_value_double");
    return false;
  }
  if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)max) {
    sys_throw_range(env, "The value of \"%s\" is out of range. It must be an integer >= %lld and <= %lld. Received %g",
                    name, (long long)min, (long long)max, d);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

bool sys_arg_int64_opt(napi_env env, napi_value v, const char *name, int64_t min, int64_t max,
                       int64_t def, int64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_undefined) {
    *out = def;
    return true;
  }
  return sys_arg_int64(env, v, name, min, max, out);
}

bool sys_arg_flags(napi_env env, napi_value v, const char *name, bool optional, uint32_t *out) {
  int64_t x;
  if (optional) {
    if (!sys_arg_int64_opt(env, v, name, INT32_MIN, UINT32_MAX, 0, &x)) return false;
  } else if (!sys_arg_int64(env, v, name, INT32_MIN, UINT32_MAX, &x)) {
    return false;
  }
  *out = (uint32_t)x;
  return true;
}

napi_value sys_undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

bool sys_export(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, name, fn) != napi_ok) {
    sys_throw_napi_failure(env, "export");
    return false;
  }
  return true;
}

napi_value sys_promise_on_thread(napi_env env, const char *name, void *req, napi_deferred *deferred,
                                 napi_threadsafe_function *tsfn, napi_threadsafe_function_call_js settle,
                                 void *(*thread)(void *)) {
  napi_value promise, resource_name;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_create_promise(env, deferred, &promise) != napi_ok) {
    free(req);
    sys_throw_napi_failure(env, "napi_create_promise");
    return NULL;
  }
  if (napi_create_threadsafe_function(env, NULL, NULL, resource_name, 0, 1, NULL, NULL, NULL, settle, tsfn) != napi_ok) {
    sys_throw_napi_failure(env, "napi_create_threadsafe_function");
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_reject_deferred(env, *deferred, exc);
    free(req);
    return promise;
  }
  pthread_attr_t attr;
  pthread_t th;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  int e = pthread_create(&th, &attr, thread, req);
  pthread_attr_destroy(&attr);
  if (e != 0) {
    napi_release_threadsafe_function(*tsfn, napi_tsfn_abort);
    napi_value err = sys_errno_error(env, e, "pthread_create", NULL, NULL, NULL);
    if (err) napi_reject_deferred(env, *deferred, err);
    free(req);
  }
  return promise;
}

void sys_reject_pending(napi_env env, napi_deferred deferred) {
  napi_value exc;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env, &exc) == napi_ok)
    napi_reject_deferred(env, deferred, exc);
}
