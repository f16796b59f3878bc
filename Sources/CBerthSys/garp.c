#define _GNU_SOURCE
#include "CBerthSys.h"
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/if_ether.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int berth_send_gratuitous_arp(const char *ifname, unsigned int address) {
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (fd < 0) return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof(request));
    strncpy(request.ifr_name, ifname, IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFINDEX, &request) != 0) { int e = errno; close(fd); return -e; }
    int index = request.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &request) != 0) { int e = errno; close(fd); return -e; }
    unsigned char mac[6];
    memcpy(mac, request.ifr_hwaddr.sa_data, 6);
    uint32_t network_order = htonl(address);

    struct sockaddr_ll destination;
    memset(&destination, 0, sizeof(destination));
    destination.sll_family = AF_PACKET;
    destination.sll_ifindex = index;
    destination.sll_protocol = htons(ETH_P_ARP);
    destination.sll_halen = 6;
    memset(destination.sll_addr, 0xff, 6);

    for (int operation = ARPOP_REQUEST; operation <= ARPOP_REPLY; operation++) {
        unsigned char frame[42];
        struct ether_header *ethernet = (struct ether_header *)frame;
        memset(ethernet->ether_dhost, 0xff, 6);
        memcpy(ethernet->ether_shost, mac, 6);
        ethernet->ether_type = htons(ETHERTYPE_ARP);
        struct ether_arp *arp = (struct ether_arp *)(frame + sizeof(struct ether_header));
        arp->arp_hrd = htons(ARPHRD_ETHER);
        arp->arp_pro = htons(ETHERTYPE_IP);
        arp->arp_hln = 6;
        arp->arp_pln = 4;
        arp->arp_op = htons(operation);
        memcpy(arp->arp_sha, mac, 6);
        memcpy(arp->arp_spa, &network_order, 4);
        // A request asks for no one's MAC; a reply names the sender's own as the answer.
        if (operation == ARPOP_REQUEST) memset(arp->arp_tha, 0, 6); else memcpy(arp->arp_tha, mac, 6);
        memcpy(arp->arp_tpa, &network_order, 4);
        if (sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&destination, sizeof(destination)) < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
    }
    close(fd);
    return 0;
}
