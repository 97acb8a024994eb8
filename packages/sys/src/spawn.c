/*
 * spawn: starts a program without copying this process's memory. Node's child_process forks,
 * and fork copies the page tables of the whole process: ~2 ms per runtime call for a 55 MB
 * shim. Here the child is a clone(CLONE_VM | CLONE_VFORK) that only sets up its signals and
 * stdio and execs; this thread waits (the other threads go on) until the exec or the failure.
 *
 * The child gets: fds 0-2 as given (-1: /dev/null; each source must be >= 3 or its own slot),
 * every signal at its default and none blocked (as libuv does for its children; glibc's
 * posix_spawn would leave its two internal signals ignored through the exec, and they would
 * reach a container's processes), this environment and working directory. Every descriptor
 * opened close-on-exec (all of Node's and libuv's) closes at the exec. A /proc/<pid>/fd/<n>
 * path is executed by descriptor (execveat), so the process is named after the file.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define CHILD_STACK (64 * 1024)

typedef struct {
  const char *file;
  char **argv;
  int fds[3];
  int errpipe;
  /* `file` is a /proc/<pid>/fd/<n> path: exec the file it names by descriptor (see js_spawn). */
  bool by_fd;
} child_args;

/* The kernel's sigaction (rt_sigaction), which, unlike glibc's, accepts every signal number. */
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  uint64_t mask;
};

/* Runs in the child, on memory shared with the parent: raw system calls only (no malloc, no locks). */
static int child_main(void *p) {
  child_args *a = p;
  struct kernel_sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.handler = SIG_DFL;
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(uint64_t));
  }
  uint64_t none = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(uint64_t));
  int err = 0;
  for (int i = 0; i < 3 && !err; i++) {
    if (a->fds[i] == i) {
      if (fcntl(i, F_SETFD, 0) != 0) err = errno;
    } else if (dup2(a->fds[i], i) < 0) {
      err = errno;
    }
  }
  if (!err && a->by_fd) {
    int fd = open(a->file, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      syscall(SYS_execveat, fd, "", a->argv, environ, AT_EMPTY_PATH);
      err = errno;
      close(fd);
      if (err == ENOENT) err = 0; /* a script, whose interpreter cannot open a close-on-exec fd: by path */
    }
  }
  if (!err) {
    execve(a->file, a->argv, environ);
    err = errno;
  }
  while (write(a->errpipe, &err, sizeof err) < 0 && errno == EINTR) {
  }
  _exit(127);
}

static void free_strings(char **v, uint32_t n) {
  if (!v) return;
  for (uint32_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

/* spawn(file, argv, [fd0, fd1, fd2]) → {pid, pidfd}. argv[0] is the program name the child sees. */
static napi_value js_spawn(napi_env env, napi_callback_info info) {
  napi_value argv[3], out;
  char *file = NULL;
  char **args = NULL;
  uint32_t nargs = 0;
  child_args ca;
  int devnull = -1, ep[2] = {-1, -1};
  char *stack = NULL;
  napi_value ret = NULL;
  memset(&ca, 0, sizeof ca);
  if (!sys_args(env, info, 3, argv)) return NULL;
  if (!sys_arg_string(env, argv[0], "file", &file)) return NULL;

  bool is_array = false;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array) {
    free(file);
    return sys_throw_type(env, "The \"args\" argument must be an array of strings");
  }
  if (napi_get_array_length(env, argv[1], &nargs) != napi_ok || nargs == 0 || nargs > 4096) {
    free(file);
    return sys_throw_range(env, "spawn: args must hold 1 to 4096 strings");
  }
  args = calloc(nargs + 1, sizeof *args);
  if (!args) {
    free(file);
    return sys_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  }
  for (uint32_t i = 0; i < nargs; i++) {
    napi_value el;
    if (napi_get_element(env, argv[1], i, &el) != napi_ok || !sys_arg_string(env, el, "args[i]", &args[i])) goto done;
  }
  if (napi_is_array(env, argv[2], &is_array) != napi_ok || !is_array) {
    sys_throw_type(env, "The \"stdio\" argument must be an array of 3 descriptors (or null)");
    goto done;
  }
  bool need_null = false;
  for (int i = 0; i < 3; i++) {
    napi_value el;
    int64_t fd = -1;
    if (napi_get_element(env, argv[2], (uint32_t)i, &el) != napi_ok) goto done;
    if (!sys_is_nullish(env, el) && !sys_arg_int64(env, el, "stdio[i]", 0, INT32_MAX, &fd)) goto done;
    if (fd >= 0 && fd < 3 && fd != i) {
      sys_throw_range(env, "spawn: stdio[%d] must be %d or a descriptor >= 3, got %lld", i, i, (long long)fd);
      goto done;
    }
    ca.fds[i] = (int)fd;
    if (fd < 0) need_null = true;
  }
  if (need_null) {
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) {
      sys_throw_errno(env, errno, "open", "/dev/null", NULL, NULL);
      goto done;
    }
    for (int i = 0; i < 3; i++)
      if (ca.fds[i] < 0) ca.fds[i] = devnull;
  }
  if (pipe2(ep, O_CLOEXEC) != 0) {
    sys_throw_errno(env, errno, "pipe2", NULL, NULL, NULL);
    goto done;
  }
  stack = malloc(CHILD_STACK);
  if (!stack) {
    sys_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
    goto done;
  }
  ca.file = file;
  ca.argv = args;
  /* Executed through /proc/<pid>/fd/<n> (a sealed copy, say), a program would be named `<n>` in
   * ps: the kernel names it after the path's last part. By descriptor it is named after the
   * file itself (`memfd:crun` for a memfd called crun). */
  ca.by_fd = strncmp(file, "/proc/", 6) == 0 && strstr(file, "/fd/") != NULL;
  ca.errpipe = ep[1];

  /* No handler of this process may run in the child before it resets them (shared memory). */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1; /* CLONE_PIDFD: the child's pidfd (close-on-exec), with no window in which it could be reaped first */
  pid_t pid = clone(child_main, stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &ca, &pidfd);
  int clone_err = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(ep[1]);
  ep[1] = -1;
  if (pid < 0) {
    sys_throw_errno(env, clone_err, "clone", file, NULL, NULL);
    goto done;
  }
  int child_err = 0;
  ssize_t n;
  while ((n = read(ep[0], &child_err, sizeof child_err)) < 0 && errno == EINTR) {
  }
  if (n == (ssize_t)sizeof child_err) {
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    close(pidfd);
    sys_throw_errno(env, child_err, "spawn", file, NULL, NULL);
    goto done;
  }
  napi_value v;
  if (napi_create_object(env, &out) != napi_ok || napi_create_int32(env, pid, &v) != napi_ok ||
      napi_set_named_property(env, out, "pid", v) != napi_ok || napi_create_int32(env, pidfd, &v) != napi_ok ||
      napi_set_named_property(env, out, "pidfd", v) != napi_ok) {
    close(pidfd); /* the child stays a zombie: nothing can be done without its pidfd here */
    sys_throw_napi_failure(env, "spawn result");
    goto done;
  }
  ret = out;

done:
  if (ep[0] >= 0) close(ep[0]);
  if (ep[1] >= 0) close(ep[1]);
  if (devnull >= 0) close(devnull);
  free(stack);
  free(file);
  free_strings(args, nargs);
  return ret;
}

bool sys_init_spawn(napi_env env, napi_value exports) { return sys_export(env, exports, "spawn", js_spawn); }
