// rtnetlink requests for one link's segmentation-offload sizes, by name, in this network
// namespace or another one. iproute2 6.1 (Debian 12) cannot set the IPv4 BIG TCP sizes, so the
// agent speaks netlink for them itself.
#define _GNU_SOURCE
#include "CBerthSys.h"
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// Attribute numbers from linux/if_link.h, spelled out: the build host's headers may predate them.
enum {
    LINK_IFNAME = 3,
    LINK_LINKINFO = 18,
    LINK_INFO_KIND = 1,
    LINK_GSO_MAX_SIZE = 41,
    LINK_TSO_MAX_SIZE = 59,
    LINK_GSO_IPV4_MAX_SIZE = 63,
    LINK_GRO_IPV4_MAX_SIZE = 64,
};

struct link_request {
    struct nlmsghdr header;
    struct ifinfomsg info;
    char attributes[128];
};

static void add_attribute(struct link_request *request, unsigned short type, const void *data, unsigned short length) {
    struct rtattr *attribute = (struct rtattr *)((char *)request + NLMSG_ALIGN(request->header.nlmsg_len));
    attribute->rta_type = type;
    attribute->rta_len = RTA_LENGTH(length);
    memcpy(RTA_DATA(attribute), data, length);
    request->header.nlmsg_len = NLMSG_ALIGN(request->header.nlmsg_len) + RTA_ALIGN(attribute->rta_len);
}

static int prepare(struct link_request *request, unsigned short type, unsigned short flags, const char *ifname) {
    size_t length = strlen(ifname);
    if (length == 0 || length >= 16) return -EINVAL;
    memset(request, 0, sizeof(*request));
    request->header.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    request->header.nlmsg_type = type;
    request->header.nlmsg_flags = NLM_F_REQUEST | flags;
    request->header.nlmsg_seq = 1;
    request->info.ifi_family = AF_UNSPEC;
    add_attribute(request, LINK_IFNAME, ifname, (unsigned short)(length + 1));
    return 0;
}

// Sends the request and reads the answer into `reply`; the answer's length, or -errno (an
// error message from the kernel included).
static int exchange(const char *netns_path, struct link_request *request, char *reply, size_t capacity) {
    int fd = berth_socket_in_netns(netns_path, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    if (fd < 0) return fd;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    if (sendto(fd, request, request->header.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    ssize_t length;
    do { length = recv(fd, reply, capacity, 0); } while (length < 0 && errno == EINTR);
    int error = errno;
    close(fd);
    if (length < 0) return -error;
    struct nlmsghdr *header = (struct nlmsghdr *)reply;
    if (!NLMSG_OK(header, (unsigned int)length)) return -EPROTO;
    if (header->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *answer = NLMSG_DATA(header);
        return answer->error;  // 0 for an acknowledgement, -errno otherwise
    }
    return (int)length;
}

int berth_link_sizes(const char *netns_path, const char *ifname, struct berth_link_sizes *sizes) {
    struct link_request request;
    int prepared = prepare(&request, RTM_GETLINK, 0, ifname);
    if (prepared != 0) return prepared;
    char reply[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
    int length = exchange(netns_path, &request, reply, sizeof(reply));
    if (length < 0) return length;
    if (length == 0) return -EPROTO;
    struct nlmsghdr *header = (struct nlmsghdr *)reply;
    if (header->nlmsg_type != RTM_NEWLINK) return -EPROTO;
    memset(sizes, 0, sizeof(*sizes));
    struct ifinfomsg *info = NLMSG_DATA(header);
    int remaining = (int)header->nlmsg_len - NLMSG_LENGTH(sizeof(*info));
    for (struct rtattr *attribute = IFLA_RTA(info); RTA_OK(attribute, remaining); attribute = RTA_NEXT(attribute, remaining)) {
        if (attribute->rta_type == LINK_LINKINFO) {
            int nested = (int)RTA_PAYLOAD(attribute);
            for (struct rtattr *inner = RTA_DATA(attribute); RTA_OK(inner, nested); inner = RTA_NEXT(inner, nested)) {
                if (inner->rta_type != LINK_INFO_KIND) continue;
                size_t length = RTA_PAYLOAD(inner) < sizeof(sizes->kind) - 1 ? RTA_PAYLOAD(inner) : sizeof(sizes->kind) - 1;
                memcpy(sizes->kind, RTA_DATA(inner), length);
                sizes->kind[length] = 0;
            }
            continue;
        }
        if (RTA_PAYLOAD(attribute) < sizeof(unsigned int)) continue;
        unsigned int value;
        memcpy(&value, RTA_DATA(attribute), sizeof(value));
        switch (attribute->rta_type) {
        case LINK_TSO_MAX_SIZE: sizes->tso_max_size = value; break;
        case LINK_GSO_MAX_SIZE: sizes->gso_max_size = value; break;
        case LINK_GSO_IPV4_MAX_SIZE: sizes->gso_ipv4_max_size = value; break;
        case LINK_GRO_IPV4_MAX_SIZE: sizes->gro_ipv4_max_size = value; break;
        default: break;
        }
    }
    return 0;
}

int berth_link_set_ipv4_offload_size(const char *netns_path, const char *ifname, unsigned int size) {
    struct link_request request;
    int prepared = prepare(&request, RTM_NEWLINK, NLM_F_ACK, ifname);
    if (prepared != 0) return prepared;
    add_attribute(&request, LINK_GSO_IPV4_MAX_SIZE, &size, sizeof(size));
    add_attribute(&request, LINK_GRO_IPV4_MAX_SIZE, &size, sizeof(size));
    char reply[1024] __attribute__((aligned(NLMSG_ALIGNTO)));
    int result = exchange(netns_path, &request, reply, sizeof(reply));
    return result > 0 ? -EPROTO : result;
}
