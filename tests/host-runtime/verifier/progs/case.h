/* Shared by the verifier's test programs: includes and one small array map. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct value8 {
	__u64 v;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct value8);
	__uint(max_entries, 4);
} values SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
