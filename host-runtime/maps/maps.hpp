// Host maps with the kernel's semantics: the types, flags (BPF_ANY, BPF_NOEXIST,
// BPF_EXIST) and errno values of the bpf() syscall and of the map helpers. Each map serves
// two callers at once: the control plane through common/target.hpp's Map (bytes in,
// bytes out, errors as values) and BPF programs through the fast in-process API below,
// which the helpers call with raw pointers and negative errno results.
//
// Concurrency: every map may be used from several packet threads and the control plane at
// once. Programs' lookups in array and hash/LRU maps take no lock and allocate nothing
// (hash chains are published with release stores; writers serialise on a per-map mutex);
// nor do LPM trie lookups (writers publish immutable versions of its index and free the
// old one after a grace period). Values live in a pool that is never freed while the map
// exists, so a pointer returned by lookup_elem stays valid memory. As with the kernel's
// preallocated maps, a deleted element's memory may be reused by a later insert.
#pragma once

#include "common/target.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace harmony::maps {

/// The number of per-CPU value slots (the possible CPUs, as libbpf counts them).
uint32_t possible_cpus();
/// This thread's per-CPU slot: threads take distinct slots while there are enough; beyond
/// that they share, which only loses per-CPU increments, never memory safety.
uint32_t current_cpu();

class HostMap : public Map {
public:
    explicit HostMap(MapInfo info) : info_(std::move(info)) {}
    const MapInfo &info() const final { return info_; }

    // Fast path for helpers. lookup_elem returns this CPU's value for per-CPU maps, or
    // nullptr; update/delete return 0 or a negative errno as the kernel's helpers do.
    virtual void *lookup_elem(const void *key) = 0;
    virtual long update_elem(const void *key, const void *value, uint64_t flags) = 0;
    virtual long delete_elem(const void *key) = 0;

    // Control plane (common/target.hpp): sizes checked here, the work done by the
    // copy_* operations below.
    Result<Bytes> lookup(ByteView key) final;
    Result<void> update(ByteView key, ByteView value, uint64_t flags) final;
    Result<void> erase(ByteView key) final;
    Result<std::optional<Bytes>> next_key(std::optional<ByteView> key) final;

    /// Bytes of a value as the control plane sees it (all CPUs for per-CPU maps).
    uint32_t control_value_size() const;

protected:
    /// The value (all CPUs) under the map's lock; 0 or -errno.
    virtual long copy_out(const uint8_t *key, uint8_t *value) = 0;
    /// Writes the value (all CPUs) with BPF_ANY/NOEXIST/EXIST; 0 or -errno.
    virtual long copy_in(const uint8_t *key, const uint8_t *value, uint64_t flags) = 0;
    /// The key after `key` (first when null) into `next`; -ENOENT at the end.
    virtual long next(const uint8_t *key, uint8_t *next) = 0;

    std::string which() const { return "map '" + info_.name + "'"; }

private:
    MapInfo info_;
};

/// BPF_MAP_TYPE_RINGBUF: one producer lock, records in submission order, as the kernel's.
class RingBuffer : public HostMap {
public:
    using HostMap::HostMap;
    /// bpf_ringbuf_reserve: `size` writable bytes or nullptr (too big, no room, bad flags).
    virtual void *reserve(uint64_t size, uint64_t flags) = 0;
    virtual void submit(void *record, uint64_t flags) = 0;
    virtual void discard(void *record, uint64_t flags) = 0;
    /// bpf_ringbuf_output: 0 or -errno.
    virtual long output(const void *data, uint64_t size, uint64_t flags) = 0;
    /// The ring buffer a reserved record belongs to (bpf_ringbuf_submit gets only the
    /// record, as in the kernel, which finds its buffer from the record header); nullptr
    /// for a pointer that is not a record.
    static RingBuffer *owner(void *record);
    /// Hands every committed record to `each`, in order, and frees them; returns how many
    /// (discarded records are skipped silently). One consumer at a time.
    virtual size_t consume(const std::function<void(ByteView)> &each) = 0;
};

/// BPF_MAP_TYPE_PROG_ARRAY: slots of opaque program handles for bpf_tail_call. The control
/// plane writes u32 program ids; `resolve` turns an id into a handle (the host target
/// passes its programs), returning nullptr for an unknown id (-EINVAL).
class ProgramArray : public HostMap {
public:
    using HostMap::HostMap;
    virtual const void *program(uint32_t index) const = 0;
    virtual void set_resolver(std::function<const void *(uint32_t id)> resolve) = 0;
};

/// BPF_MAP_TYPE_DEVMAP: index -> interface, for bpf_redirect_map.
class DeviceMap : public HostMap {
public:
    using HostMap::HostMap;
    virtual std::optional<uint32_t> ifindex(uint32_t index) const = 0;
};

/// The map as its type's interface when its type is that one, else nullptr: a check of
/// info().type instead of RTTI, since helpers ask on every packet.
RingBuffer *as_ring_buffer(HostMap *map);
ProgramArray *as_program_array(HostMap *map);
DeviceMap *as_device_map(HostMap *map);

/// Creates a map, refusing what the kernel would refuse (sizes, flags) with -EINVAL
/// and naming the map and the reason; unsupported types are refused by name.
Result<std::unique_ptr<HostMap>> create_map(const MapInfo &info);

} // namespace harmony::maps
