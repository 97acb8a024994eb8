/*
 * berth-hide-unified PATH PROGRAM [ARGS...]
 *
 * Runs PROGRAM in a new private mount namespace from which the mount at PATH is detached.
 * @berth/runtime uses it to run crun on hybrid cgroup hosts, where crun refuses to work while it
 * can see the cgroup2 mount at /sys/fs/cgroup/unified (see crun-wrapper.ts). One exec instead of
 * unshare(1) + sh + umount(8). Exit status 125 with a message on stderr when a step fails;
 * otherwise PROGRAM's own.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static int fail(const char *what, const char *arg) {
  fprintf(stderr, "berth-hide-unified: %s %s: %s\n", what, arg, strerror(errno));
  return 125;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: berth-hide-unified PATH PROGRAM [ARGS...]\n");
    return 125;
  }
  if (unshare(CLONE_NEWNS) != 0) return fail("unshare", "mount namespace");
  /* Nothing done here may propagate back to the host's mounts. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return fail("make private", "/");
  if (umount2(argv[1], MNT_DETACH) != 0) return fail("umount", argv[1]);
  execvp(argv[2], argv + 2);
  return fail("exec", argv[2]);
}
