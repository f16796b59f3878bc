#define _GNU_SOURCE
#include "CBerthSys.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>
#include <string.h>

unsigned long berth_makedev(unsigned int major, unsigned int minor) { return makedev(major, minor); }

int berth_mknod(const char *path, unsigned int mode, unsigned int major, unsigned int minor) {
    return mknod(path, mode, makedev(major, minor));
}

int berth_set_opaque(const char *path) { return setxattr(path, "trusted.overlay.opaque", "y", 1, 0); }

long berth_statfs_type(const char *path) {
    struct statfs info;
    if (statfs(path, &info) != 0) return -1;
    return (long)info.f_type;
}

int berth_set_winsize(int fd, unsigned short rows, unsigned short cols) {
    struct winsize size = { .ws_row = rows, .ws_col = cols };
    return ioctl(fd, TIOCSWINSZ, &size);
}

int berth_open_pty(int *master, char *slave_name, size_t length) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return -1;
    if (grantpt(fd) != 0 || unlockpt(fd) != 0 || ptsname_r(fd, slave_name, length) != 0) { close(fd); return -1; }
    *master = fd;
    return 0;
}

int berth_wifexited(int status) { return WIFEXITED(status); }
int berth_wexitstatus(int status) { return WEXITSTATUS(status); }
int berth_wifsignaled(int status) { return WIFSIGNALED(status); }
int berth_wtermsig(int status) { return WTERMSIG(status); }

#include <spawn.h>
int berth_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
short berth_spawn_setsid_flag(void) { return POSIX_SPAWN_SETSID; }
int berth_spawn_close_from(void *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, lowest);
}
int berth_is_opaque(const char *path) {
    char value[4] = {0};
    return getxattr(path, "trusted.overlay.opaque", value, sizeof(value)) == 1 && value[0] == 'y';
}
int berth_get_winsize(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return -1;
    *rows = size.ws_row;
    *cols = size.ws_col;
    return 0;
}

int berth_make_raw(int fd, void *saved, size_t length) {
    if (length < sizeof(struct termios)) return -1;
    struct termios mode;
    if (tcgetattr(fd, &mode) != 0) return -1;
    memcpy(saved, &mode, sizeof(mode));
    cfmakeraw(&mode);
    return tcsetattr(fd, TCSANOW, &mode);
}

int berth_restore_terminal(int fd, const void *saved) { return tcsetattr(fd, TCSANOW, (const struct termios *)saved); }

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

int berth_connect_seqpacket(const char *path) { return berth_connect_unix(path, SOCK_SEQPACKET); }

int berth_connect_unix(const char *path, int type) {
    int target = open(path, O_PATH | O_CLOEXEC);
    if (target < 0) return -1;
    struct sockaddr_un address;
    memset(&address, 0, sizeof(address));
    address.sun_family = AF_UNIX;
    snprintf(address.sun_path, sizeof(address.sun_path), "/proc/self/fd/%d", target);
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        close(target);
        return -1;
    }
    int result = connect(fd, (struct sockaddr *)&address, sizeof(address));
    int saved = errno;
    close(target);
    if (result != 0) {
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/time.h>

struct netns_socket { const char *path; int domain, type, protocol; int fd; int error; };

static void *netns_socket_thread(void *argument) {
    struct netns_socket *job = argument;
    int ns = open(job->path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) { job->error = errno; return NULL; }
    if (setns(ns, CLONE_NEWNET) != 0) { job->error = errno; close(ns); return NULL; }
    close(ns);
    job->fd = socket(job->domain, job->type | SOCK_CLOEXEC, job->protocol);
    if (job->fd < 0) job->error = errno;
    return NULL;
}

int berth_socket_in_netns(const char *netns_path, int domain, int type, int protocol) {
    if (netns_path == NULL) {
        int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
        return fd < 0 ? -errno : fd;
    }
    struct netns_socket job = { netns_path, domain, type, protocol, -1, 0 };
    pthread_t thread;
    if (pthread_create(&thread, NULL, netns_socket_thread, &job) != 0) return -EAGAIN;
    pthread_join(thread, NULL);
    if (job.fd < 0) return -(job.error ? job.error : EIO);
    return job.fd;
}

int berth_connect_in_netns(const char *netns_path, int port, int timeout_ms) {
    int fd = berth_socket_in_netns(netns_path, AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return fd;
    struct timeval timeout = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    struct sockaddr_in address;
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    struct timeval none = { 0, 0 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
    return fd;
}
