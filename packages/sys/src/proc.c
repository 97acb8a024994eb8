/* pidfds, waiting and reaping. */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef SYS_pidfd_open /* same numbers on every architecture */
#define SYS_pidfd_send_signal 424
#define SYS_pidfd_open 434
#endif

/* {pid, exitCode, signal?, coreDumped?} */
static napi_value exit_status(napi_env env, pid_t pid, bool exited, int code_or_sig, bool core) {
  napi_value o, v;
  NAPI_CALL(env, napi_create_object(env, &o));
  NAPI_CALL(env, napi_create_int32(env, pid, &v));
  NAPI_CALL(env, napi_set_named_property(env, o, "pid", v));
  NAPI_CALL(env, napi_create_int32(env, exited ? code_or_sig : 128 + code_or_sig, &v));
  NAPI_CALL(env, napi_set_named_property(env, o, "exitCode", v));
  if (!exited) {
    NAPI_CALL(env, napi_create_int32(env, code_or_sig, &v));
    NAPI_CALL(env, napi_set_named_property(env, o, "signal", v));
    NAPI_CALL(env, napi_get_boolean(env, core, &v));
    NAPI_CALL(env, napi_set_named_property(env, o, "coreDumped", v));
  }
  return o;
}

static napi_value js_pidfd_open(napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  int64_t pid, flags;
  if (!sys_args(env, info, 2, argv)) return NULL;
  if (!sys_arg_int64(env, argv[0], "pid", 1, INT_MAX, &pid)) return NULL;
  if (!sys_arg_int64_opt(env, argv[1], "flags", 0, UINT32_MAX, 0, &flags)) return NULL;
  long fd = syscall(SYS_pidfd_open, (pid_t)pid, (unsigned)flags); /* always O_CLOEXEC */
  if (fd < 0) return sys_throw_errno(env, errno, "pidfd_open", NULL, NULL, NULL);
  NAPI_CALL(env, napi_create_int32(env, (int32_t)fd, &out));
  return out;
}

static napi_value js_pidfd_send_signal(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t fd, sig;
  if (!sys_args(env, info, 2, argv)) return NULL;
  if (!sys_arg_int64(env, argv[0], "pidfd", 0, INT_MAX, &fd)) return NULL;
  if (!sys_arg_int64(env, argv[1], "signal", 0, 64, &sig)) return NULL;
  if (syscall(SYS_pidfd_send_signal, (int)fd, (int)sig, NULL, 0U) != 0)
    return sys_throw_errno(env, errno, "pidfd_send_signal", NULL, NULL, NULL);
  return sys_undefined(env);
}

static napi_value js_reap_all(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr;
  uint32_t n = 0;
  NAPI_CALL(env, napi_create_array(env, &arr));
  for (;;) {
    int st = 0;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    if (pid == 0) break;
    if (pid < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) break;
      return sys_throw_errno(env, errno, "waitpid", NULL, NULL, NULL);
    }
    napi_value s;
    if (WIFEXITED(st)) s = exit_status(env, pid, true, WEXITSTATUS(st), false);
    else if (WIFSIGNALED(st)) s = exit_status(env, pid, false, WTERMSIG(st), WCOREDUMP(st) != 0);
    else continue; /* stopped/continued: not reported without WUNTRACED/WCONTINUED */
    if (!s) return NULL;
    NAPI_CALL(env, napi_set_element(env, arr, n++, s));
  }
  return arr;
}

/* waitpid(pid, WNOHANG) for one child: its ExitStatus, or null while it runs. Never touches other children. */
static napi_value js_reap_pid(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  int64_t pid;
  if (!sys_args(env, info, 1, argv)) return NULL;
  if (!sys_arg_int64(env, argv[0], "pid", 1, INT_MAX, &pid)) return NULL;
  int st = 0;
  pid_t got;
  while ((got = waitpid((pid_t)pid, &st, WNOHANG)) < 0)
    if (errno != EINTR) return sys_throw_errno(env, errno, "waitpid", NULL, NULL, NULL);
  if (got == 0) {
    NAPI_CALL(env, napi_get_null(env, &out));
    return out;
  }
  if (WIFSIGNALED(st)) return exit_status(env, got, false, WTERMSIG(st), WCOREDUMP(st) != 0);
  return exit_status(env, got, true, WEXITSTATUS(st), false); /* without WUNTRACED only exits are reported */
}

/*
 * waitPidfd: a blocking waitid() may take as long as the child lives, so it runs on its own small
 * thread rather than in libuv's pool (4 threads shared with fs and crypto; a shim waiting on a few
 * containers would starve it). The result comes back through a thread-safe function, which also
 * keeps the event loop alive while the wait is pending.
 */
typedef struct {
  int fd;
  int err;
  siginfo_t si;
  napi_deferred deferred;
  napi_threadsafe_function tsfn;
} wait_req;

static void wait_settle(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)context;
  wait_req *r = data;
  if (env != NULL) { /* NULL when the environment is being torn down */
    napi_value v = NULL;
    if (r->err) {
      v = sys_errno_error(env, r->err, "waitid", NULL, NULL, NULL);
      if (v) napi_reject_deferred(env, r->deferred, v);
    } else {
      int code = r->si.si_code;
      bool exited = code == CLD_EXITED;
      v = exit_status(env, r->si.si_pid, exited, r->si.si_status, code == CLD_DUMPED);
      if (v) napi_resolve_deferred(env, r->deferred, v);
    }
    if (!v) sys_reject_pending(env, r->deferred); /* could not build the value */
  }
  free(r);
}

static void *wait_thread(void *arg) {
  wait_req *r = arg;
  napi_threadsafe_function tsfn = r->tsfn;
  memset(&r->si, 0, sizeof r->si);
  while (waitid((idtype_t)P_PIDFD, (id_t)r->fd, &r->si, WEXITED) != 0) {
    if (errno != EINTR) {
      r->err = errno;
      break;
    }
  }
  if (napi_call_threadsafe_function(tsfn, r, napi_tsfn_blocking) != napi_ok) free(r);
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  return NULL;
}

static napi_value js_wait_pidfd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t fd;
  if (!sys_args(env, info, 1, argv)) return NULL;
  if (!sys_arg_int64(env, argv[0], "pidfd", 0, INT_MAX, &fd)) return NULL;
  wait_req *r = calloc(1, sizeof *r);
  if (!r) return sys_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  r->fd = (int)fd;
  return sys_promise_on_thread(env, "berth:waitPidfd", r, &r->deferred, &r->tsfn, wait_settle, wait_thread);
}

bool sys_init_proc(napi_env env, napi_value exports) {
  return sys_export(env, exports, "pidfdOpen", js_pidfd_open) && sys_export(env, exports, "waitPidfd", js_wait_pidfd) &&
         sys_export(env, exports, "reapAll", js_reap_all) && sys_export(env, exports, "reapPid", js_reap_pid) &&
         sys_export(env, exports, "pidfdSendSignal", js_pidfd_send_signal);
}
