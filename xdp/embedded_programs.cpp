// The library's own BPF object (the AF_XDP redirect) travels inside it, so a `harmony`
// binary needs no install path to find it. HARMONY_XSK_OBJECT names the clang output.
#include "attach.hpp"

#define HARMONY_EMBED(symbol, file)                                                                                    \
    asm(".pushsection .rodata\n"                                                                                       \
        ".balign 8\n"                                                                                                  \
        ".global " #symbol "_start\n" #symbol "_start:\n"                                                              \
        ".incbin \"" file "\"\n"                                                                                       \
        ".global " #symbol "_end\n" #symbol "_end:\n"                                                                  \
        ".popsection\n")

HARMONY_EMBED(harmony_xsk_object, HARMONY_XSK_OBJECT);

extern "C" const uint8_t harmony_xsk_object_start[], harmony_xsk_object_end[];

namespace harmony::xdp {

ByteView xsk_program_image()
{
    return {harmony_xsk_object_start, harmony_xsk_object_end};
}

} // namespace harmony::xdp
