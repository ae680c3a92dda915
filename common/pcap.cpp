#include "pcap.hpp"

#include <memory>
#include <pcap/pcap.h>

namespace harmony {

namespace {
struct PcapCloser {
    void operator()(pcap_t *p) const { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;
} // namespace

Result<std::vector<Bytes>> read_pcap(const std::string &path)
{
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    PcapHandle pcap(pcap_open_offline(path.c_str(), errbuf));
    if (!pcap) {
        return fail("read capture", path, errbuf);
    }
    if (pcap_datalink(pcap.get()) != DLT_EN10MB) {
        return fail("read capture", path,
                    std::string("link type ") + pcap_datalink_val_to_name(pcap_datalink(pcap.get())) +
                        " is not Ethernet");
    }
    std::vector<Bytes> frames;
    pcap_pkthdr *header = nullptr;
    const u_char *bytes = nullptr;
    int rc;
    while ((rc = pcap_next_ex(pcap.get(), &header, &bytes)) == 1) {
        frames.emplace_back(bytes, bytes + header->caplen);
    }
    if (rc == PCAP_ERROR) {
        return fail("read capture", path,
                    "packet " + std::to_string(frames.size()) + ": " + pcap_geterr(pcap.get()));
    }
    return frames;
}

Result<void> write_pcap(const std::string &path, const std::vector<Bytes> &frames)
{
    PcapHandle dead(pcap_open_dead(DLT_EN10MB, 65535));
    pcap_dumper_t *dumper = pcap_dump_open(dead.get(), path.c_str());
    if (!dumper) {
        return fail("write capture", path, pcap_geterr(dead.get()));
    }
    for (size_t i = 0; i < frames.size(); i++) {
        pcap_pkthdr header{};
        header.ts.tv_sec = 1700000000;
        header.ts.tv_usec = static_cast<suseconds_t>(i);
        header.caplen = header.len = static_cast<bpf_u_int32>(frames[i].size());
        pcap_dump(reinterpret_cast<u_char *>(dumper), &header, frames[i].data());
    }
    pcap_dump_close(dumper);
    return {};
}

} // namespace harmony
