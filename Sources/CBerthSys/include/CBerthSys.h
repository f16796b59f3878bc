// Linux calls that `import Glibc` does not surface (macros, or declared only under _GNU_SOURCE).
// The header stays free of system includes so it cannot clash with other modules' views of them.
#pragma once
#include <stddef.h>

unsigned long berth_makedev(unsigned int major, unsigned int minor);
int berth_mknod(const char *path, unsigned int mode, unsigned int major, unsigned int minor);
/// Marks a directory opaque for overlayfs (xattr trusted.overlay.opaque=y).
int berth_set_opaque(const char *path);
/// The f_type of the file system holding `path`, or -1.
long berth_statfs_type(const char *path);
int berth_set_winsize(int fd, unsigned short rows, unsigned short cols);
/// Opens a pseudo-terminal pair: the master (close-on-exec) and the slave's path.
int berth_open_pty(int *master, char *slave_name, size_t length);
int berth_wifexited(int status);
int berth_wexitstatus(int status);
int berth_wifsignaled(int status);
int berth_wtermsig(int status);
/// pipe2(fds, O_CLOEXEC).
int berth_pipe_cloexec(int fds[2]);
/// POSIX_SPAWN_SETSID (a GNU extension).
short berth_spawn_setsid_flag(void);
/// Adds "close every descriptor from `lowest` up" to spawn file actions (glibc 2.34+), so a
/// child never inherits the parent's sockets.
int berth_spawn_close_from(void *actions, int lowest);
/// 1 when the directory carries trusted.overlay.opaque=y.
int berth_is_opaque(const char *path);
/// The terminal size of `fd` (0 on success).
int berth_get_winsize(int fd, unsigned short *rows, unsigned short *cols);
/// Puts a terminal into raw mode, saving the old settings in `saved` (a struct termios, 60+ bytes).
int berth_make_raw(int fd, void *saved, size_t length);
int berth_restore_terminal(int fd, const void *saved);
/// A SOCK_SEQPACKET connection to the unix socket at `path` (close-on-exec), however long the
/// path: it is reached through /proc/self/fd, as sun_path holds only 108 bytes. -1 on failure.
int berth_connect_seqpacket(const char *path);
/// A TCP connection to 127.0.0.1:`port` inside the network namespace at `netns_path` (made by a
/// short-lived thread that enters the namespace, so no other thread moves); the descriptor, or
/// -errno.
int berth_connect_in_netns(const char *netns_path, int port, int timeout_ms);
