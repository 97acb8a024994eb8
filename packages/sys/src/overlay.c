/*
 * overlayfs mounts through the new mount API: fsopen("overlay"), one fsconfig("lowerdir+") per
 * lower dir (Linux 6.8+, so no one-page limit), fsmount, move_mount. Older kernels get mount(2)
 * with one escaped option string, refused up front when it would not fit in a page.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

/* glibc < 2.36 lacks these; the values are the kernel UAPI's. */
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define FSOPEN_CLOEXEC 0x00000001
#define FSMOUNT_CLOEXEC 0x00000001
#define FSCONFIG_SET_FLAG 0
#define FSCONFIG_SET_STRING 1
#define FSCONFIG_CMD_CREATE 6
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#define MOUNT_ATTR_NOEXEC 0x00000008
#define MOUNT_ATTR_NOATIME 0x00000010
#define MOUNT_ATTR_STRICTATIME 0x00000020
#define MOUNT_ATTR_NODIRATIME 0x00000080
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef SYS_fsopen /* same numbers on every architecture (unified syscall table) */
#define SYS_move_mount 429
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif

static int sys_fsopen(const char *fs, unsigned flags) { return (int)syscall(SYS_fsopen, fs, flags); }
static int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *val, int aux) {
  return (int)syscall(SYS_fsconfig, fd, cmd, key, val, aux);
}
static int sys_fsmount(int fd, unsigned flags, unsigned attrs) {
  return (int)syscall(SYS_fsmount, fd, flags, attrs);
}
static int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned flags) {
  return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}


typedef struct {
  char **lowers;
  size_t nlowers;
  char *upper, *work, *target;
  char **opts;
  size_t nopts;
  uint32_t flags;
} overlay_spec;

static void spec_free(overlay_spec *s) {
  for (size_t i = 0; i < s->nlowers; i++) free(s->lowers[i]);
  for (size_t i = 0; i < s->nopts; i++) free(s->opts[i]);
  free(s->lowers);
  free(s->opts);
  free(s->upper);
  free(s->work);
  free(s->target);
}

static bool get_prop(napi_env env, napi_value obj, const char *key, napi_value *out) {
  if (napi_get_named_property(env, obj, key, out) != napi_ok) {
    sys_throw_napi_failure(env, "napi_get_named_property");
    return false;
  }
  return true;
}

/* A string[] property; `required` demands a non-empty array. */
static bool get_string_array(napi_env env, napi_value obj, const char *key, bool required,
                             char ***out, size_t *count) {
  napi_value arr;
  bool is_array = false;
  uint32_t n = 0;
  *out = NULL;
  *count = 0;
  if (!get_prop(env, obj, key, &arr)) return false;
  if (!required && sys_is_nullish(env, arr)) return true;
  if (napi_is_array(env, arr, &is_array) != napi_ok || !is_array) {
    sys_throw_type(env, "The \"spec.%s\" property must be an array of strings", key);
    return false;
  }
  napi_get_array_length(env, arr, &n);
  if (required && n == 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "spec.lowerdirs must name at least one directory");
    return false;
  }
  if (n == 0) return true;
  char **v = calloc(n, sizeof *v);
  if (!v) {
    sys_throw_errno(env, ENOMEM, "malloc", NULL, NULL, NULL);
    return false;
  }
  *out = v;
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    char name[64];
    snprintf(name, sizeof name, "spec.%s[%u]", key, i);
    if (napi_get_element(env, arr, i, &el) != napi_ok) {
      sys_throw_napi_failure(env, "napi_get_element");
      return false;
    }
    if (!sys_arg_string(env, el, name, &v[i])) return false;
    *count = i + 1;
    if (v[i][0] == '\0') {
      napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "overlay paths and options must not be empty");
      return false;
    }
  }
  return true;
}

static bool parse_spec(napi_env env, napi_value obj, overlay_spec *s) {
  napi_valuetype t;
  napi_value v;
  memset(s, 0, sizeof *s);
  if (napi_typeof(env, obj, &t) != napi_ok || t != napi_object) {
    sys_throw_type(env, "The \"spec\" argument must be an object");
    return false;
  }
  if (!get_string_array(env, obj, "lowerdirs", true, &s->lowers, &s->nlowers)) return false;
  if (!get_prop(env, obj, "upperdir", &v) || !sys_arg_string_or_null(env, v, "spec.upperdir", &s->upper)) return false;
  if (!get_prop(env, obj, "workdir", &v) || !sys_arg_string_or_null(env, v, "spec.workdir", &s->work)) return false;
  if (!get_prop(env, obj, "target", &v) || !sys_arg_string(env, v, "spec.target", &s->target)) return false;
  if (!get_prop(env, obj, "flags", &v) || !sys_arg_flags(env, v, "spec.flags", true, &s->flags)) return false;
  if (!get_string_array(env, obj, "options", false, &s->opts, &s->nopts)) return false;
  if ((s->upper == NULL) != (s->work == NULL)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                          "spec.upperdir and spec.workdir must be given together (or neither, for a read-only overlay)");
    return false;
  }
  if (s->flags & (MS_REMOUNT | MS_BIND | MS_MOVE)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                          "mountOverlay does not take REMOUNT, BIND or MOVE; use mount()");
    return false;
  }
  return true;
}

/* Reads the error/warning messages the kernel left on an fs-context fd, joined by "; ". */
static char *read_fs_log(int fd) {
  char *out = NULL;
  size_t len = 0;
  char buf[1024];
  for (int i = 0; i < 16; i++) {
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n <= 0) break;
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n') buf[--n] = '\0';
    const char *m = buf;
    if (n > 2 && buf[1] == ' ' && (buf[0] == 'e' || buf[0] == 'w' || buf[0] == 'i')) m += 2;
    size_t ml = strlen(m);
    char *nb = realloc(out, len + ml + 3);
    if (!nb) break;
    out = nb;
    if (len) { memcpy(out + len, "; ", 2); len += 2; }
    memcpy(out + len, m, ml + 1);
    len += ml;
  }
  return out;
}

/* 1: fsconfig knows "lowerdir+" (6.8+); 0: fsopen works, no lowerdir+; -1: no new mount API; 2: not probed.
 * Only 1 uses the new API: without lowerdir+ the whole list is one option string anyway. */
static volatile int overlay_api = 2;

static void probe_overlay_api(void) {
  const char *force = getenv("BERTH_SYS_OVERLAY_LEGACY"); /* for tests of the pre-6.8 path */
  if (force && force[0] == '1') {
    overlay_api = 0;
    return;
  }
  int fd = sys_fsopen("overlay", FSOPEN_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOSYS) overlay_api = -1;
    return; /* other failures (EPERM, ENODEV): decide on a later call */
  }
  overlay_api = sys_fsconfig(fd, FSCONFIG_SET_STRING, "lowerdir+", "/", 0) == 0 ? 1 : 0;
  close(fd);
}

typedef struct {
  int err;
  const char *syscall;
  const char *path;
  char *detail; /* malloc'ed */
} fail_info;

static int fail(fail_info *f, int err, const char *syscall, const char *path, int fsfd) {
  f->err = err;
  f->syscall = syscall;
  f->path = path;
  f->detail = fsfd >= 0 ? read_fs_log(fsfd) : NULL;
  return -1;
}

/* Like fail(), with `what` ("option 'x'") in front of whatever the kernel logged. Some refusals
 * (conflicting options, unresolvable paths) go to dmesg only; the hint then names the step. */
static int fail_at(fail_info *f, int err, const char *path, int fsfd, const char *what, const char *name) {
  fail(f, err, "fsconfig", path, fsfd);
  const char *log = f->detail ? f->detail : "";
  size_t n = strlen(what) + (name ? strlen(name) : 0) + strlen(log) + 16;
  char *d = malloc(n);
  if (!d) return -1;
  if (name) snprintf(d, n, "%s '%s'%s%s", what, name, *log ? ": " : "", log);
  else snprintf(d, n, "%s%s%s", what, *log ? ": " : "", log);
  free(f->detail);
  f->detail = d;
  return -1;
}

/* Superblock flags fsconfig takes as FSCONFIG_SET_FLAG keys. */
static const struct { uint32_t ms; const char *key; } sb_flags[] = {
  {MS_RDONLY, "ro"}, {MS_SYNCHRONOUS, "sync"}, {MS_DIRSYNC, "dirsync"}, {MS_LAZYTIME, "lazytime"},
  {MS_MANDLOCK, "mand"},
};

static unsigned mount_attrs(uint32_t flags) {
  unsigned a = 0;
  if (flags & MS_RDONLY) a |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) a |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  if (flags & MS_NODIRATIME) a |= MOUNT_ATTR_NODIRATIME;
  if (flags & MS_NOSYMFOLLOW) a |= MOUNT_ATTR_NOSYMFOLLOW;
  if (flags & MS_NOATIME) a |= MOUNT_ATTR_NOATIME;
  else if (flags & MS_STRICTATIME) a |= MOUNT_ATTR_STRICTATIME;
  return a; /* MS_RELATIME is the default (MOUNT_ATTR_RELATIME == 0) */
}

static int set_option(int fd, const char *opt) {
  const char *eq = strchr(opt, '=');
  if (!eq) return sys_fsconfig(fd, FSCONFIG_SET_FLAG, opt, NULL, 0);
  char *key = strndup(opt, (size_t)(eq - opt));
  if (!key) { errno = ENOMEM; return -1; }
  int r = sys_fsconfig(fd, FSCONFIG_SET_STRING, key, eq + 1, 0);
  int e = errno;
  free(key);
  errno = e;
  return r;
}

static int overlay_new_api(overlay_spec *s, fail_info *f) {
  int fd = sys_fsopen("overlay", FSOPEN_CLOEXEC), mfd = -1, rc = -1;
  if (fd < 0) return fail(f, errno, "fsopen", s->target, -1);
  /* the source column of mountinfo, as mount(2) users write it */
  if (sys_fsconfig(fd, FSCONFIG_SET_STRING, "source", "overlay", 0) != 0) {
    fail(f, errno, "fsconfig", s->target, fd);
    goto out;
  }
  for (size_t i = 0; i < s->nlowers; i++)
    if (sys_fsconfig(fd, FSCONFIG_SET_STRING, "lowerdir+", s->lowers[i], 0) != 0) {
      fail(f, errno, "fsconfig", s->lowers[i], fd);
      goto out;
    }
  if (s->upper) {
    if (sys_fsconfig(fd, FSCONFIG_SET_STRING, "upperdir", s->upper, 0) != 0) {
      fail(f, errno, "fsconfig", s->upper, fd);
      goto out;
    }
    if (sys_fsconfig(fd, FSCONFIG_SET_STRING, "workdir", s->work, 0) != 0) {
      fail(f, errno, "fsconfig", s->work, fd);
      goto out;
    }
  }
  for (size_t i = 0; i < s->nopts; i++)
    if (set_option(fd, s->opts[i]) != 0) {
      fail_at(f, errno, s->target, fd, "overlay option", s->opts[i]);
      goto out;
    }
  for (size_t i = 0; i < sizeof sb_flags / sizeof sb_flags[0]; i++)
    if ((s->flags & sb_flags[i].ms) && sys_fsconfig(fd, FSCONFIG_SET_FLAG, sb_flags[i].key, NULL, 0) != 0) {
      fail(f, errno, "fsconfig", s->target, fd);
      goto out;
    }
  if (sys_fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) {
    fail_at(f, errno, s->target, fd, "overlay refused the configuration (see dmesg)", NULL);
    goto out;
  }
  mfd = sys_fsmount(fd, FSMOUNT_CLOEXEC, mount_attrs(s->flags));
  if (mfd < 0) { fail(f, errno, "fsmount", s->target, fd); goto out; }
  if (sys_move_mount(mfd, "", AT_FDCWD, s->target, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    fail(f, errno, "move_mount", s->target, -1);
    goto out;
  }
  rc = 0;
out:
  if (mfd >= 0) close(mfd);
  close(fd);
  return rc;
}

/* Appends `s` with overlay's separators (\ : ,) backslash-escaped. */
static char *put_escaped(char *p, const char *s) {
  for (; *s; s++) {
    if (*s == '\\' || *s == ':' || *s == ',') *p++ = '\\';
    *p++ = *s;
  }
  return p;
}

static int overlay_classic(overlay_spec *s, fail_info *f) {
  size_t n = 64;
  for (size_t i = 0; i < s->nlowers; i++) n += 2 * strlen(s->lowers[i]) + 1;
  for (size_t i = 0; i < s->nopts; i++) n += strlen(s->opts[i]) + 1;
  if (s->upper) n += 2 * (strlen(s->upper) + strlen(s->work)) + 32;
  char *data = malloc(n), *p = data;
  if (!data) return fail(f, ENOMEM, "malloc", NULL, -1);
  /* upperdir/workdir first: a too-long string must never silently lose them */
  if (s->upper) {
    p += sprintf(p, "upperdir=");
    p = put_escaped(p, s->upper);
    p += sprintf(p, ",workdir=");
    p = put_escaped(p, s->work);
    *p++ = ',';
  }
  for (size_t i = 0; i < s->nopts; i++) p += sprintf(p, "%s,", s->opts[i]);
  p += sprintf(p, "lowerdir=");
  for (size_t i = 0; i < s->nlowers; i++) {
    if (i) *p++ = ':';
    p = put_escaped(p, s->lowers[i]);
  }
  *p = '\0';
  long page = sysconf(_SC_PAGESIZE);
  if (page > 0 && (size_t)(p - data) + 1 > (size_t)page) {
    /* mount(2) copies one page and would silently cut the string (and with it layers) */
    char msg[160];
    snprintf(msg, sizeof msg, "overlay options are %zu bytes, over mount(2)'s %ld-byte limit; this kernel has no lowerdir+",
             (size_t)(p - data) + 1, page);
    free(data);
    f->err = ENAMETOOLONG;
    f->syscall = "mount";
    f->path = s->target;
    f->detail = strdup(msg);
    return -1;
  }
  int r = mount("overlay", s->target, "overlay", (unsigned long)(s->flags & ~(MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE | MS_REC)), data);
  int e = errno;
  free(data);
  if (r != 0) return fail(f, e, "mount", s->target, -1);
  return 0;
}

napi_value sys_js_mount_overlay(napi_env env, napi_callback_info info) {
  napi_value argv[1], ret = NULL;
  overlay_spec s;
  fail_info f = {0, NULL, NULL, NULL};
  if (!sys_args(env, info, 1, argv)) return NULL;
  if (!parse_spec(env, argv[0], &s)) goto out;

  if (overlay_api == 2) probe_overlay_api();
  int rc;
  if (overlay_api == 1) rc = overlay_new_api(&s, &f);
  else rc = overlay_classic(&s, &f); /* before 6.8 one joined "lowerdir=" option: mount(2) takes a page */
  if (rc == 0) {
    uint32_t prop = s.flags & (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE);
    if (prop && mount(NULL, s.target, NULL, prop | (s.flags & MS_REC), NULL) != 0) {
      int e = errno;
      umount2(s.target, MNT_DETACH);
      rc = fail(&f, e, "mount", s.target, -1);
    }
  }
  if (rc != 0) sys_throw_errno(env, f.err, f.syscall, f.path, NULL, f.detail);
  else ret = sys_undefined(env);
out:
  free(f.detail);
  spec_free(&s);
  return ret;
}

