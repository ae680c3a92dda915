#include "netlink.hpp"

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace harmony::caps::netlink {
namespace {

// The netdev family (include/uapi/linux/netdev.h, kernel >= 6.3). Debian 12's 6.1 headers
// predate it, so the UAPI constants are restated here; their values are ABI and never change.
constexpr const char *kNetdevFamilyName = "netdev";
constexpr uint8_t kNetdevFamilyVersion = 1;
constexpr uint8_t kNetdevCmdDevGet = 1;        // NETDEV_CMD_DEV_GET
constexpr uint16_t kNetdevAttrIfindex = 1;     // NETDEV_A_DEV_IFINDEX
constexpr uint16_t kNetdevAttrXdpFeatures = 3; // NETDEV_A_DEV_XDP_FEATURES

struct SocketCloser {
    void operator()(mnl_socket *s) const { mnl_socket_close(s); }
};
using Socket = std::unique_ptr<mnl_socket, SocketCloser>;

/// Sends `request` on a fresh socket of `protocol` and feeds each answer attribute set to
/// `on_message`. Netlink errors come back as the kernel's errno.
Result<void> transact(int protocol, nlmsghdr *request, const std::function<void(const nlmsghdr *)> &on_message,
                      const char *what)
{
    Socket sock(mnl_socket_open(protocol));
    if (!sock || mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        return fail(what, "netlink socket", errno_text(errno));
    }
    uint32_t portid = mnl_socket_get_portid(sock.get());
    request->nlmsg_seq = static_cast<uint32_t>(time(nullptr));
    if (mnl_socket_sendto(sock.get(), request, request->nlmsg_len) < 0) {
        return fail(what, "netlink send", errno_text(errno));
    }
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    auto callback = [](const nlmsghdr *nlh, void *data) -> int {
        (*static_cast<const std::function<void(const nlmsghdr *)> *>(data))(nlh);
        return MNL_CB_OK;
    };
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock.get(), buf.data(), buf.size());
        if (n < 0) {
            return fail(what, "netlink receive", errno_text(errno));
        }
        int ret = mnl_cb_run(buf.data(), n, request->nlmsg_seq, portid, callback,
                             const_cast<std::function<void(const nlmsghdr *)> *>(&on_message));
        if (ret < 0) {
            return fail(what, "netlink", errno_text(errno));
        }
        if (ret == MNL_CB_STOP) {
            return {};
        }
    }
}

/// libmnl's mnl_attr_for_each, without the C pointer conversions C++ refuses.
void for_each_attr(const nlmsghdr *msg, size_t header, const std::function<void(const nlattr *)> &fn)
{
    auto *attr = static_cast<const nlattr *>(mnl_nlmsg_get_payload_offset(msg, header));
    auto *tail = static_cast<const char *>(mnl_nlmsg_get_payload_tail(msg));
    while (mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char *>(attr)))) {
        fn(attr);
        attr = mnl_attr_next(attr);
    }
}

Result<uint16_t> netdev_family_id()
{
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = GENL_ID_CTRL;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    auto *genl = static_cast<genlmsghdr *>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
    genl->cmd = CTRL_CMD_GETFAMILY;
    genl->version = 1;
    mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, kNetdevFamilyName);
    uint16_t id = 0;
    auto done = transact(NETLINK_GENERIC, nlh, [&](const nlmsghdr *msg) {
        for_each_attr(msg, sizeof(genlmsghdr), [&](const nlattr *attr) {
            if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID) {
                id = mnl_attr_get_u16(attr);
            }
        });
    }, "resolve generic netlink family");
    if (!done) {
        return fail("resolve generic netlink family", kNetdevFamilyName, done.error().why);
    }
    if (id == 0) {
        return fail("resolve generic netlink family", kNetdevFamilyName, "not registered by this kernel (< 6.3)");
    }
    return id;
}

} // namespace

Result<uint64_t> xdp_features(uint32_t ifindex)
{
    auto family = netdev_family_id();
    if (!family) {
        return std::unexpected(family.error());
    }
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = *family;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    auto *genl = static_cast<genlmsghdr *>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
    genl->cmd = kNetdevCmdDevGet;
    genl->version = kNetdevFamilyVersion;
    mnl_attr_put_u32(nlh, kNetdevAttrIfindex, ifindex);
    std::optional<uint64_t> features;
    auto done = transact(NETLINK_GENERIC, nlh, [&](const nlmsghdr *msg) {
        for_each_attr(msg, sizeof(genlmsghdr), [&](const nlattr *attr) {
            if (mnl_attr_get_type(attr) == kNetdevAttrXdpFeatures) {
                features = mnl_attr_get_u64(attr);
            }
        });
    }, "NETDEV_CMD_DEV_GET");
    if (!done) {
        return std::unexpected(done.error());
    }
    if (!features) {
        return fail("NETDEV_CMD_DEV_GET", "ifindex " + std::to_string(ifindex), "no xdp-features attribute");
    }
    return *features;
}

Result<QueueCounts> queue_counts(uint32_t ifindex)
{
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_GETLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    auto *ifm = static_cast<ifinfomsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = static_cast<int>(ifindex);
    QueueCounts counts;
    auto done = transact(NETLINK_ROUTE, nlh, [&](const nlmsghdr *msg) {
        if (msg->nlmsg_type != RTM_NEWLINK) {
            return;
        }
        for_each_attr(msg, sizeof(ifinfomsg), [&](const nlattr *attr) {
            if (mnl_attr_get_type(attr) == IFLA_NUM_RX_QUEUES) {
                counts.rx = mnl_attr_get_u32(attr);
            } else if (mnl_attr_get_type(attr) == IFLA_NUM_TX_QUEUES) {
                counts.tx = mnl_attr_get_u32(attr);
            }
        });
    }, "RTM_GETLINK");
    if (!done) {
        return std::unexpected(done.error());
    }
    return counts;
}

} // namespace harmony::caps::netlink
