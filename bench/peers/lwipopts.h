// lwIP options for the side-by-side harness (bench/peers/lwip_harness.c):
// lwIP 2.1.3 as issue 5 describes it — NO_SYS, static pools, 1 MiB scaled window.
#ifndef INLET_PEERS_LWIPOPTS_H
#define INLET_PEERS_LWIPOPTS_H

// One thread, no OS: the harness calls the stack directly.
#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_TIMERS 1  // timeouts.c is linked; the harness never runs sys_check_timeouts()

// Static memory: pools and lwIP's own heap, no malloc per object.
#define MEM_LIBC_MALLOC 0
#define MEMP_MEM_MALLOC 0
#define MEM_ALIGNMENT 8
#define MEM_SIZE (256 * 1024)  // PBUF_RAM: the ACKs lwIP sends
// Pools sized for a 1 MiB window held out of order (718 segments) plus the
// harness's receive ring (a burst of up to 256 frames).
#define PBUF_POOL_SIZE 1280
#define MEMP_NUM_TCP_SEG 1024
#define MEMP_NUM_PBUF 64
#define MEMP_NUM_TCP_PCB 4
#define MEMP_NUM_TCP_PCB_LISTEN 2
#define MEMP_NUM_UDP_PCB 2
// PBUF_POOL_BUFSIZE keeps its default, MSS + 40 + 14 aligned (1520 bytes):
// one pool buffer holds a whole 1514-byte frame.

// Protocols.
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ICMP 1
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_RAW 0
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define IP_FORWARD 1
#define ARP_QUEUEING 0

// TCP: MSS 1460, out-of-order queue and SACK on, 1 MiB window scaled by 2^5
// (0xFFFF << 4 is 16 bytes short of 1 MiB, so 4 is not enough).
#define TCP_MSS 1460
#define TCP_QUEUE_OOSEQ 1
#define LWIP_TCP_SACK_OUT 1
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 5
#define TCP_WND (1024 * 1024)
#define TCP_SND_BUF (4 * TCP_MSS)

// Every checksum is verified in software (lwIP's portable C checksum,
// LWIP_CHKSUM_ALGORITHM 2, its default). INLET_PEERS_NO_CHECKSUM builds the
// informational variant without receive checks.
#ifdef INLET_PEERS_NO_CHECKSUM
#define CHECKSUM_CHECK_IP 0
#define CHECKSUM_CHECK_UDP 0
#define CHECKSUM_CHECK_TCP 0
#define CHECKSUM_CHECK_ICMP 0
#else
#define CHECKSUM_CHECK_IP 1
#define CHECKSUM_CHECK_UDP 1
#define CHECKSUM_CHECK_TCP 1
#define CHECKSUM_CHECK_ICMP 1
#endif
#define CHECKSUM_GEN_IP 1
#define CHECKSUM_GEN_UDP 1
#define CHECKSUM_GEN_TCP 1
#define CHECKSUM_GEN_ICMP 1

// Release build: no statistics, no debug output (assertions: see arch/cc.h).
#define LWIP_STATS 0
#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK 0

#endif  // INLET_PEERS_LWIPOPTS_H
