/*
 * sealedCopy: a program's bytes in a sealed memfd, to be executed through /proc/<pid>/fd/<fd>.
 *
 * Why: runc and crun protect the host binary from a container that could overwrite it through
 * /proc/self/exe (CVE-2019-5736) by copying themselves into a sealed memfd and re-executing that
 * copy, on every invocation: ~1.5-2.5 ms of each create, start and delete. Both skip the copy
 * when the binary they run from is already a memfd sealed against writing, shrinking, growing
 * and further seals, which is what this makes, once, for a caller that runs them many times.
 * The copy cannot be changed by anyone (the seals cannot be removed), so it protects the host
 * binary exactly as their own copy does.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* Copies all of `in` into `out` (sendfile, falling back to read/write). Returns 0 or an errno. */
static int copy_all(int in, int out, off_t size) {
  off_t done = 0;
  while (done < size) {
    ssize_t n = sendfile(out, in, NULL, (size_t)(size - done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EINVAL || errno == ENOSYS)) break;
    if (n < 0) return errno;
    if (n == 0) return EIO; /* the file shrank under us */
    done += n;
  }
  char buf[65536];
  while (done < size) {
    size_t want = (size_t)(size - done) < sizeof buf ? (size_t)(size - done) : sizeof buf;
    ssize_t r = read(in, buf, want);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    if (r == 0) return EIO;
    for (ssize_t w = 0; w < r;) {
      ssize_t n = write(out, buf + w, (size_t)(r - w));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno;
      w += n;
    }
    done += r;
  }
  return 0;
}

/* sealedCopy(path, name) → fd: a close-on-exec, executable memfd named `name` holding the file at `path`, sealed. */
static napi_value js_sealed_copy(napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  char *path = NULL, *name = NULL;
  int in = -1, fd = -1, err = 0;
  const char *failed = NULL;
  if (!sys_args(env, info, 2, argv)) return NULL;
  if (!sys_arg_string(env, argv[0], "path", &path)) return NULL;
  if (!sys_arg_string(env, argv[1], "name", &name)) {
    free(path);
    return NULL;
  }
  struct stat st;
  in = open(path, O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    err = errno, failed = "open";
    goto done;
  }
  if (fstat(in, &st) != 0) {
    err = errno, failed = "fstat";
    goto done;
  }
  if (!S_ISREG(st.st_mode)) {
    err = EINVAL, failed = "sealedCopy";
    goto done;
  }
  /* MFD_EXEC: executable even where vm.memfd_noexec = 1 makes memfds non-executable by default
   * (kernels before 6.3 do not know the flag and refuse it with EINVAL; with vm.memfd_noexec = 2
   * it fails with EACCES, and so does sealedCopy). */
  fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && errno == EINVAL) fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    err = errno, failed = "memfd_create";
    goto done;
  }
  if ((err = copy_all(in, fd, st.st_size)) != 0) {
    failed = "copy";
    goto done;
  }
  if (fcntl(fd, F_ADD_SEALS, SEALS) != 0) {
    err = errno, failed = "fcntl(F_ADD_SEALS)";
    goto done;
  }

done:
  if (in >= 0) close(in);
  if (failed) {
    if (fd >= 0) close(fd);
    sys_throw_errno(env, err, failed, path, NULL, NULL);
    free(path);
    free(name);
    return NULL;
  }
  free(path);
  free(name);
  if (napi_create_int32(env, fd, &out) != napi_ok) {
    close(fd);
    sys_throw_napi_failure(env, "sealedCopy result");
    return NULL;
  }
  return out;
}

bool sys_init_sealed(napi_env env, napi_value exports) { return sys_export(env, exports, "sealedCopy", js_sealed_copy); }
