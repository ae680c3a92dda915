// Internal: forwarding mode (PASS -> egress through a devmap), see forward.cpp for why.
#pragma once

#include "xdp.hpp"

struct bpf_object;

namespace harmony::xdp {

/// A one-slot devmap holding the egress interface.
class EgressPort {
public:
    static Result<std::unique_ptr<EgressPort>> create(const std::string &interface, int ifindex);
    EgressPort(const EgressPort &) = delete;
    EgressPort &operator=(const EgressPort &) = delete;
    ~EgressPort();
    int fd() const { return fd_; }

private:
    explicit EgressPort(int fd) : fd_(fd) {}
    int fd_;
};

/// Rewrites the object's entry program (before load) so XDP_PASS redirects to `egress`.
Result<void> add_forward_epilogue(bpf_object *object, const EgressPort &egress);

} // namespace harmony::xdp
