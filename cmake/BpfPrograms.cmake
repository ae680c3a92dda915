# build_bpf(NAME SOURCE [DEPENDS headers...]) compiles one BPF C file with clang into
# ${CMAKE_BINARY_DIR}/bpf/NAME.bpf.o and adds it to the 'bpf_programs' target.
#
# -mcpu=v2: no JMP32/ALU32 classes, because DPDK 22.11's rte_bpf has no JMP32 and the
# same object must run unmodified on every target (see bpf/README.md).
find_program(CLANG_BPF clang REQUIRED)
set(HARMONY_BPF_DIR "${CMAKE_BINARY_DIR}/bpf")
set(HARMONY_BPF_CFLAGS -target bpf -mcpu=v2 -O2 -g -Wall -Werror
    -I${CMAKE_SOURCE_DIR}/bpf -I/usr/include/x86_64-linux-gnu)
add_custom_target(bpf_programs ALL)

function(build_bpf name source)
    cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
    set(out "${HARMONY_BPF_DIR}/${name}.bpf.o")
    add_custom_command(OUTPUT ${out}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${HARMONY_BPF_DIR}
        COMMAND ${CLANG_BPF} ${HARMONY_BPF_CFLAGS} -c ${source} -o ${out}
        DEPENDS ${source} ${ARG_DEPENDS}
        COMMENT "clang -target bpf ${name}.bpf.c"
        VERBATIM)
    add_custom_target(bpf_${name} DEPENDS ${out})
    add_dependencies(bpf_programs bpf_${name})
endfunction()
