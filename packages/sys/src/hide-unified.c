/*
 * berth-hide-unified PATH [--argv0 NAME] PROGRAM [ARGS...]
 *
 * Runs PROGRAM in a new private mount namespace from which the mount at PATH is detached.
 * @berth/runtime uses it to run crun on hybrid cgroup hosts, where crun refuses to work while it
 * can see the cgroup2 mount at /sys/fs/cgroup/unified (see crun-wrapper.ts). One exec instead of
 * unshare(1) + sh + umount(8). PROGRAM's argv[0] is NAME when given (the runtime run from a
 * copy at /proc/<pid>/fd/<n> keeps its own path there), else PROGRAM. Exit status 125 with a
 * message on stderr when a step fails; otherwise PROGRAM's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static int fail(const char *what, const char *arg) {
  fprintf(stderr, "berth-hide-unified: %s %s: %s\n", what, arg, strerror(errno));
  return 125;
}

int main(int argc, char **argv) {
  int prog = 2;
  const char *argv0 = NULL;
  if (argc > 3 && strcmp(argv[2], "--argv0") == 0) {
    argv0 = argv[3];
    prog = 4;
  }
  if (argc < prog + 1) {
    fprintf(stderr, "usage: berth-hide-unified PATH [--argv0 NAME] PROGRAM [ARGS...]\n");
    return 125;
  }
  if (unshare(CLONE_NEWNS) != 0) return fail("unshare", "mount namespace");
  /* Nothing done here may propagate back to the host's mounts. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return fail("make private", "/");
  if (umount2(argv[1], MNT_DETACH) != 0) return fail("umount", argv[1]);
  const char *file = argv[prog];
  if (argv0) argv[prog] = (char *)argv0;
  /* A /proc/<pid>/fd/<n> program (a sealed copy) by descriptor, so that it is named after the
   * file rather than `<n>`; a script cannot be run that way (ENOENT), so by path then. */
  if (strncmp(file, "/proc/", 6) == 0 && strstr(file, "/fd/") != NULL) {
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      syscall(SYS_execveat, fd, "", argv + prog, environ, AT_EMPTY_PATH);
      if (errno != ENOENT) return fail("exec", file);
      close(fd);
    }
  }
  execvp(file, argv + prog);
  return fail("exec", file);
}
