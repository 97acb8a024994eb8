/* Shared helpers for the @berth/sys addon: argument checking and errno errors. */
#ifndef BERTH_SYS_COMMON_H
#define BERTH_SYS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_ARGS 6

/* Evaluates a napi call; on failure makes sure an exception is pending and returns NULL. */
#define NAPI_CALL(env, call)                                                                   \
  do {                                                                                         \
    if ((call) != napi_ok) {                                                                   \
      sys_throw_napi_failure(env, #call);                                                      \
      return NULL;                                                                             \
    }                                                                                          \
  } while (0)

void sys_throw_napi_failure(napi_env env, const char *what);

/* The errno name ("EPERM", ...), or NULL when not in the table. */
const char *sys_errno_name(int err);

/* Builds an Error like Node's fs errors: code, errno, syscall, path (and dest/detail when given). */
napi_value sys_errno_error(napi_env env, int err, const char *syscall, const char *path,
                           const char *dest, const char *detail);
/* Throws the above; always returns NULL so callers can `return sys_throw_errno(...)`. */
napi_value sys_throw_errno(napi_env env, int err, const char *syscall, const char *path,
                           const char *dest, const char *detail);
/* Sets one extra string property on an error (ignored if value is NULL). */
void sys_set_prop(napi_env env, napi_value obj, const char *key, const char *value);

/* Throws a TypeError with code ERR_INVALID_ARG_TYPE; returns NULL. */
napi_value sys_throw_type(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Throws a RangeError with code ERR_OUT_OF_RANGE; returns NULL. */
napi_value sys_throw_range(napi_env env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads the call's arguments (missing ones are `undefined`). Returns false if an exception is pending. */
bool sys_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);

bool sys_is_nullish(napi_env env, napi_value v);

/* A string argument as a malloc'ed, NUL-free C string. Returns false with a TypeError thrown. */
bool sys_arg_string(napi_env env, napi_value v, const char *name, char **out);
/* Same, but null/undefined give *out = NULL. */
bool sys_arg_string_or_null(napi_env env, napi_value v, const char *name, char **out);
/* An integral number in [min, max]. */
bool sys_arg_int64(napi_env env, napi_value v, const char *name, int64_t min, int64_t max, int64_t *out);
/* Like sys_arg_int64 but undefined gives `def`. */
bool sys_arg_int64_opt(napi_env env, napi_value v, const char *name, int64_t min, int64_t max,
                       int64_t def, int64_t *out);
/* A flags word: any integer in [-2^31, 2^32) taken as its low 32 bits (JS `|` yields int32). */
bool sys_arg_flags(napi_env env, napi_value v, const char *name, bool optional, uint32_t *out);

napi_value sys_undefined(napi_env env);

/*
 * A promise settled from a detached thread of its own (64 KiB stack), never the libuv pool:
 * creates the promise in *deferred and a threadsafe function in *tsfn whose call_js is
 * `settle`, then runs `thread(req)`, which must call *tsfn exactly once. On a failure before
 * the thread runs, `req` is freed and the promise rejected (or, when not even the promise
 * exists, an exception is pending and NULL returned). `name` labels the async resource.
 */
/* Rejects `deferred` with the exception pending on `env`, if any (clearing it). */
void sys_reject_pending(napi_env env, napi_deferred deferred);

napi_value sys_promise_on_thread(napi_env env, const char *name, void *req, napi_deferred *deferred,
                                 napi_threadsafe_function *tsfn, napi_threadsafe_function_call_js settle,
                                 void *(*thread)(void *));

/* Registration of each part's functions on `exports`. */
bool sys_init_mount(napi_env env, napi_value exports);
napi_value sys_js_mount_overlay(napi_env env, napi_callback_info info);
bool sys_init_xattr(napi_env env, napi_value exports);
bool sys_init_proc(napi_env env, napi_value exports);
bool sys_init_io(napi_env env, napi_value exports);
bool sys_init_spawn(napi_env env, napi_value exports);
bool sys_init_sealed(napi_env env, napi_value exports);
bool sys_export(napi_env env, napi_value exports, const char *name, napi_callback cb);

#endif
