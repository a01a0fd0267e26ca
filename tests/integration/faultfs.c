/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultfs.c — an LD_PRELOAD shim that makes one directory fail the way a
 * disk does: full (ENOSPC) or remounted read-only after an error (EROFS).
 *
 * Why a shim: Linux refuses to remount a filesystem read-only while files
 * on it are open for writing (EBUSY), which is exactly the daemon's case,
 * and a real full disk needs mount privileges (test_store_faults.py also
 * fills a real tmpfs when it may mount one).  This works as root and not,
 * in any container.  It sits at the libc boundary, below SQLite: the real
 * vitalsd and the real SQLite see the same errno a kernel would give.
 *
 *   VITALS_FAULT_DIR=DIR   only descriptors of files under DIR are affected
 *   VITALS_FAULT_CTL=FILE  read on every call: "ENOSPC" or "EROFS" makes
 *                          writes, syncs and truncations fail with that
 *                          errno; "STALL" makes fsync and fdatasync hang
 *                          until the file says something else (a disk or
 *                          a network mount that stops answering); absent
 *                          or empty: no fault
 *
 * Intercepted: write, pwrite, pwrite64, fsync, fdatasync, ftruncate,
 * ftruncate64 (what libsqlite3 imports for its files; SQLite's -shm is
 * written through mmap and is not persistent data).
 */
/* The plain and the 64-bit names are separate symbols here: define both. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* The fault the control file names for fd: an errno, STALL, or 0. */
#define STALL (-1)

static int fault_errno(int fd)
{
        const char *ctl = getenv("VITALS_FAULT_CTL"), *dir = getenv("VITALS_FAULT_DIR");
        char buf[16] = "", link[64], path[4096];
        int saved = errno, e = 0;
        ssize_t n;
        int cfd;

        if (!ctl || !dir)
                return 0;
        /* Raw syscalls: no recursion through our own read/write wrappers. */
        cfd = (int)syscall(SYS_openat, AT_FDCWD, ctl, O_RDONLY | O_CLOEXEC);
        if (cfd < 0) {
                errno = saved;
                return 0;
        }
        n = syscall(SYS_read, cfd, buf, sizeof(buf) - 1);
        syscall(SYS_close, cfd);
        buf[n > 0 ? n : 0] = '\0';
        if (strncmp(buf, "ENOSPC", 6) == 0)
                e = ENOSPC;
        else if (strncmp(buf, "EROFS", 5) == 0)
                e = EROFS;
        else if (strncmp(buf, "STALL", 5) == 0)
                e = STALL;
        if (e) {
                snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
                n = readlink(link, path, sizeof(path) - 1);
                if (n <= 0)
                        e = 0;
                else {
                        size_t len = strlen(dir);
                        path[n] = '\0';
                        if (strncmp(path, dir, len) != 0 || (path[len] != '/' && path[len] != '\0'))
                                e = 0;
                }
        }
        errno = saved;
        return e;
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

#define FAIL_IF_FAULT(fd, ret)                                                                     \
        do {                                                                                       \
                int e_ = fault_errno(fd);                                                          \
                if (e_ > 0) {                                                                      \
                        errno = e_;                                                                \
                        return (ret);                                                              \
                }                                                                                  \
        } while (0)

ssize_t write(int fd, const void *buf, size_t n)
{
        FAIL_IF_FAULT(fd, -1);
        return REAL(write)(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
        FAIL_IF_FAULT(fd, -1);
        return REAL(pwrite)(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
        FAIL_IF_FAULT(fd, -1);
        return REAL(pwrite64)(fd, buf, n, off);
}

/* A sync that does not return while the control file says STALL. */
static void stall(int fd)
{
        const struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};

        while (fault_errno(fd) == STALL)
                nanosleep(&pause, NULL);
}

int fsync(int fd)
{
        stall(fd);
        FAIL_IF_FAULT(fd, -1);
        return REAL(fsync)(fd);
}

int fdatasync(int fd)
{
        stall(fd);
        FAIL_IF_FAULT(fd, -1);
        return REAL(fdatasync)(fd);
}

int ftruncate(int fd, off_t len)
{
        FAIL_IF_FAULT(fd, -1);
        return REAL(ftruncate)(fd, len);
}

int ftruncate64(int fd, off64_t len)
{
        FAIL_IF_FAULT(fd, -1);
        return REAL(ftruncate64)(fd, len);
}
