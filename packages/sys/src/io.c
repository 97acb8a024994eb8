/*
 * Pipes, ptys, window sizes and fd passing over unix sockets: what a shim needs for a container's
 * stdio (the stdin pipe, the console socket on which runc/crun send the pty master, resizes).
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static bool arg_fd(napi_env env, napi_value v, const char *name, int *out) {
  int64_t fd;
  if (!sys_arg_int64(env, v, name, 0, INT_MAX, &fd)) return false;
  *out = (int)fd;
  return true;
}

/* pipe2(O_CLOEXEC) → [readFd, writeFd] */
static napi_value js_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  napi_value arr, r, w;
  if (pipe2(fds, O_CLOEXEC) != 0) return sys_throw_errno(env, errno, "pipe2", NULL, NULL, NULL);
  if (napi_create_array_with_length(env, 2, &arr) != napi_ok || napi_create_int32(env, fds[0], &r) != napi_ok ||
      napi_create_int32(env, fds[1], &w) != napi_ok || napi_set_element(env, arr, 0, r) != napi_ok ||
      napi_set_element(env, arr, 1, w) != napi_ok) {
    close(fds[0]);
    close(fds[1]);
    sys_throw_napi_failure(env, "pipe result");
    return NULL;
  }
  return arr;
}

/* posix_openpt + grantpt + unlockpt + ptsname_r + open: {master, slave, slavePath} */
static napi_value js_open_pty(napi_env env, napi_callback_info info) {
  (void)info;
  char path[128];
  const char *failed;
  napi_value o, v;
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return sys_throw_errno(env, errno, "posix_openpt", NULL, NULL, NULL);
  if (grantpt(master) != 0) {
    failed = "grantpt";
    goto fail;
  }
  if (unlockpt(master) != 0) {
    failed = "unlockpt";
    goto fail;
  }
  int e = ptsname_r(master, path, sizeof path); /* returns the error number */
  if (e != 0) {
    errno = e;
    failed = "ptsname_r";
    goto fail;
  }
  int slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    int err = errno;
    close(master);
    return sys_throw_errno(env, err, "open", path, NULL, NULL);
  }
  if (napi_create_object(env, &o) != napi_ok || napi_create_int32(env, master, &v) != napi_ok ||
      napi_set_named_property(env, o, "master", v) != napi_ok || napi_create_int32(env, slave, &v) != napi_ok ||
      napi_set_named_property(env, o, "slave", v) != napi_ok ||
      napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &v) != napi_ok ||
      napi_set_named_property(env, o, "slavePath", v) != napi_ok) {
    close(master);
    close(slave);
    sys_throw_napi_failure(env, "openPty result");
    return NULL;
  }
  return o;
fail:;
  int err = errno;
  close(master);
  return sys_throw_errno(env, err, failed, NULL, NULL, NULL);
}

static napi_value js_set_winsize(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int fd;
  int64_t rows, cols;
  if (!sys_args(env, info, 3, argv)) return NULL;
  if (!arg_fd(env, argv[0], "fd", &fd) || !sys_arg_int64(env, argv[1], "rows", 0, USHRT_MAX, &rows) ||
      !sys_arg_int64(env, argv[2], "cols", 0, USHRT_MAX, &cols))
    return NULL;
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  if (ioctl(fd, TIOCSWINSZ, &ws) != 0) return sys_throw_errno(env, errno, "ioctl", NULL, NULL, "TIOCSWINSZ");
  return sys_undefined(env);
}

static napi_value js_get_winsize(napi_env env, napi_callback_info info) {
  napi_value argv[1], o, v;
  int fd;
  if (!sys_args(env, info, 1, argv)) return NULL;
  if (!arg_fd(env, argv[0], "fd", &fd)) return NULL;
  struct winsize ws;
  memset(&ws, 0, sizeof ws);
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return sys_throw_errno(env, errno, "ioctl", NULL, NULL, "TIOCGWINSZ");
  NAPI_CALL(env, napi_create_object(env, &o));
  NAPI_CALL(env, napi_create_uint32(env, ws.ws_row, &v));
  NAPI_CALL(env, napi_set_named_property(env, o, "rows", v));
  NAPI_CALL(env, napi_create_uint32(env, ws.ws_col, &v));
  NAPI_CALL(env, napi_set_named_property(env, o, "cols", v));
  return o;
}

/* Fills a sockaddr_un for `path`; false (errno ENAMETOOLONG) when it does not fit sun_path with its NUL. */
static bool unix_addr(const char *path, struct sockaddr_un *sa) {
  size_t n = strlen(path);
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (n == 0 || n >= sizeof sa->sun_path) {
    errno = n == 0 ? ENOENT : ENAMETOOLONG;
    return false;
  }
  memcpy(sa->sun_path, path, n + 1);
  return true;
}

/* socket + bind + listen; the listener is close-on-exec and non-blocking (receiveFd polls it). */
static napi_value js_listen_unix(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char *path = NULL;
  int64_t backlog;
  struct sockaddr_un sa;
  const char *failed = "bind";
  if (!sys_args(env, info, 2, argv)) return NULL;
  if (!sys_arg_string(env, argv[0], "path", &path)) return NULL;
  if (!sys_arg_int64_opt(env, argv[1], "backlog", 1, 4096, 1, &backlog)) {
    free(path);
    return NULL;
  }
  napi_value ret = NULL;
  int fd = -1;
  if (!unix_addr(path, &sa)) goto fail;
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    failed = "socket";
    goto fail;
  }
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) goto fail;
  if (listen(fd, (int)backlog) != 0) {
    int err = errno;
    close(fd);
    unlink(path); /* bound but not listening: leave no socket file behind */
    sys_throw_errno(env, err, "listen", path, NULL, NULL);
    free(path);
    return NULL;
  }
  if (napi_create_int32(env, fd, &ret) != napi_ok) {
    close(fd);
    unlink(path);
    sys_throw_napi_failure(env, "listenUnix result");
    ret = NULL;
  }
  free(path);
  return ret;
fail:;
  int err = errno;
  if (fd >= 0) close(fd);
  sys_throw_errno(env, err, failed, path, NULL, NULL);
  free(path);
  return NULL;
}

/* connect + sendmsg(SCM_RIGHTS) of one fd, with one byte of data (a stream needs some). */
static napi_value js_send_fd(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char *path = NULL;
  int fd;
  struct sockaddr_un sa;
  const char *failed = "connect";
  if (!sys_args(env, info, 2, argv)) return NULL;
  if (!sys_arg_string(env, argv[0], "path", &path)) return NULL;
  if (!arg_fd(env, argv[1], "fd", &fd)) {
    free(path);
    return NULL;
  }
  int sock = -1;
  if (!unix_addr(path, &sa)) goto fail;
  sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    failed = "socket";
    goto fail;
  }
  while (connect(sock, (struct sockaddr *)&sa, sizeof sa) != 0)
    if (errno != EINTR) goto fail;

  char byte = 0;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  failed = "sendmsg";
  ssize_t n;
  while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0)
    if (errno != EINTR) goto fail;
  close(sock);
  free(path);
  return sys_undefined(env);
fail:;
  int err = errno;
  if (sock >= 0) close(sock);
  sys_throw_errno(env, err, failed, path, NULL, NULL);
  free(path);
  return NULL;
}

/*
 * receiveFd: waiting for the runtime to connect may take seconds, so like waitPidfd it runs on a
 * small thread of its own, never in libuv's pool; a thread-safe function settles the promise and
 * keeps the event loop alive meanwhile.
 */
#define RECV_MAX_FDS 16

typedef struct {
  int listen_fd;
  int timeout_ms;
  int fd;               /* the fd received, or -1 */
  int err;              /* errno of the failure, or 0 */
  const char *syscall;  /* the call that failed */
  const char *detail;   /* text for the error (static, or detail_buf), or NULL */
  char detail_buf[96];
  napi_deferred deferred;
  napi_threadsafe_function tsfn;
} recv_req;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls `fd` for input until `deadline`: 1 ready, 0 timed out, -1 error (errno set). */
static int poll_until(int fd, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left < 0) left = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, (int)left);
    if (n > 0) return 1;
    if (n == 0) return 0;
    if (errno != EINTR) return -1;
  }
}

static void recv_fail(recv_req *r, int err, const char *syscall, const char *detail) {
  r->err = err;
  r->syscall = syscall;
  r->detail = detail;
}

/* Takes the first fd from one message on `conn` (closing any others) into r->fd, or records why not. */
static void recv_one(recv_req *r, int conn, int64_t deadline) {
  int ready = poll_until(conn, deadline);
  if (ready < 0) {
    recv_fail(r, errno, "poll", NULL);
    return;
  }
  if (ready == 0) {
    snprintf(r->detail_buf, sizeof r->detail_buf, "the peer connected but sent nothing within %d ms", r->timeout_ms);
    recv_fail(r, ETIMEDOUT, "recvmsg", r->detail_buf);
    return;
  }

  char data[512]; /* runc sends the pty's name here; it is not needed */
  struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(RECV_MAX_FDS * sizeof(int))];
  } ctl;
  struct msghdr msg;
  ssize_t n;
  do {
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    recv_fail(r, errno, "recvmsg", NULL);
    return;
  }

  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (r->fd < 0) r->fd = fd;
      else close(fd);
    }
  }
  if (r->fd < 0)
    recv_fail(r, EBADMSG, "recvmsg",
              n == 0 ? "the peer closed the connection without passing a file descriptor"
                     : "the peer passed no file descriptor (SCM_RIGHTS)");
}

static void recv_work(recv_req *r) {
  int64_t deadline = now_ms() + r->timeout_ms;
  int conn;
  for (;;) {
    int ready = poll_until(r->listen_fd, deadline);
    if (ready < 0) {
      recv_fail(r, errno, "poll", NULL);
      return;
    }
    if (ready == 0) {
      snprintf(r->detail_buf, sizeof r->detail_buf, "no connection within %d ms", r->timeout_ms);
      recv_fail(r, ETIMEDOUT, "accept", r->detail_buf);
      return;
    }
    conn = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (conn >= 0) break;
    /* the connection went away between poll and accept, or a signal: wait again */
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
      recv_fail(r, errno, "accept", NULL);
      return;
    }
  }
  recv_one(r, conn, deadline);
  close(conn);
}

static void recv_settle(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)context;
  recv_req *r = data;
  if (env == NULL) { /* the environment is being torn down: nobody will take the fd */
    if (r->fd >= 0) close(r->fd);
    free(r);
    return;
  }
  napi_value v = NULL;
  if (r->err) {
    v = sys_errno_error(env, r->err, r->syscall, NULL, NULL, r->detail);
    if (v) napi_reject_deferred(env, r->deferred, v);
  } else if (napi_create_int32(env, r->fd, &v) == napi_ok) {
    napi_resolve_deferred(env, r->deferred, v);
  } else {
    v = NULL;
    close(r->fd);
  }
  if (!v) sys_reject_pending(env, r->deferred); /* could not build the value */
  free(r);
}

static void *recv_thread(void *arg) {
  recv_req *r = arg;
  napi_threadsafe_function tsfn = r->tsfn;
  recv_work(r);
  if (napi_call_threadsafe_function(tsfn, r, napi_tsfn_blocking) != napi_ok) {
    if (r->fd >= 0) close(r->fd);
    free(r);
  }
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  return NULL;
}

static napi_value js_receive_fd(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int listen_fd;
  int64_t timeout;
  if (!sys_args(env, info, 2, argv)) return NULL;
  if (!arg_fd(env, argv[0], "listenFd", &listen_fd)) return NULL;
  if (!sys_arg_int64(env, argv[1], "timeoutMs", 0, INT_MAX, &timeout)) return NULL;
  recv_req *r = calloc(1, sizeof *r);
  if (!r) return sys_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
  r->listen_fd = listen_fd;
  r->timeout_ms = (int)timeout;
  r->fd = -1;
  return sys_promise_on_thread(env, "berth:receiveFd", r, &r->deferred, &r->tsfn, recv_settle, recv_thread);
}

bool sys_init_io(napi_env env, napi_value exports) {
  return sys_export(env, exports, "pipe", js_pipe) && sys_export(env, exports, "openPty", js_open_pty) &&
         sys_export(env, exports, "setWinsize", js_set_winsize) &&
         sys_export(env, exports, "getWinsize", js_get_winsize) &&
         sys_export(env, exports, "listenUnix", js_listen_unix) && sys_export(env, exports, "sendFd", js_send_fd) &&
         sys_export(env, exports, "receiveFd", js_receive_fd);
}
