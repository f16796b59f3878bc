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
/// The same for a socket of `type` (SOCK_STREAM: HAProxy's runtime API).
int berth_connect_unix(const char *path, int type);
/// A TCP connection to 127.0.0.1:`port` inside the network namespace at `netns_path` (made by a
/// short-lived thread that enters the namespace, so no other thread moves); the descriptor, or
/// -errno.
int berth_connect_in_netns(const char *netns_path, int port, int timeout_ms);
/// A socket made inside the network namespace at `netns_path` (NULL: this one) by a
/// short-lived thread, close-on-exec; the descriptor, or -errno.
int berth_socket_in_netns(const char *netns_path, int domain, int type, int protocol);

/// One link's segmentation-offload sizes (rtnetlink); 0 where the kernel does not report one
/// (gso_ipv4_max_size and gro_ipv4_max_size exist from Linux 6.3 on).
struct berth_link_sizes {
    unsigned int tso_max_size;
    unsigned int gso_max_size;
    unsigned int gso_ipv4_max_size;
    unsigned int gro_ipv4_max_size;
    /// The link's kind ("veth", "bridge", "vxlan"…), empty for a physical device or loopback.
    char kind[16];
};
/// Reads the sizes of the link named `ifname` in the namespace at `netns_path` (NULL: this
/// one); 0, or -errno.
int berth_link_sizes(const char *netns_path, const char *ifname, struct berth_link_sizes *sizes);
/// Sets gso_ipv4_max_size and gro_ipv4_max_size of the link (IPv4 BIG TCP); 0, or -errno.
int berth_link_set_ipv4_offload_size(const char *netns_path, const char *ifname, unsigned int size);

/// Broadcasts gratuitous ARP for `address` (host byte order) from the link named `ifname`: a
/// request and a reply with the link's MAC as sender, so neighbours update the entry they hold
/// for the address. 0, or -errno.
int berth_send_gratuitous_arp(const char *ifname, unsigned int address);
