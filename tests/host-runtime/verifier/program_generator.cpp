#include "program_generator.hpp"

#include <fmt/format.h>

namespace harmony::test {

namespace {

// Registers: r6 ctx, r7 data, r8 data_end, r9 last lookup result; r0-r5 scratch.
struct Builder {
    std::vector<bpf_insn> insns;
    std::vector<size_t> exit_jumps; ///< jumps whose offset is patched to the final exit
    std::vector<std::pair<size_t, int>> map_refs;
    std::vector<size_t> calls; ///< bpf-to-bpf calls, patched to the subprogram after the exit

    void add(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
    {
        insns.push_back(bpf_insn{code, dst, src, off, imm});
    }
    void jump_to_exit(uint8_t code, uint8_t dst, uint8_t src, int32_t imm)
    {
        exit_jumps.push_back(insns.size());
        add(code, dst, src, 0, imm);
    }
    void load_map(uint8_t dst, int map = 0)
    {
        map_refs.push_back({insns.size(), map});
        add(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, map);
        add(0, 0, 0, 0, 0);
    }
};

uint8_t size_code(int bytes)
{
    return bytes == 1 ? BPF_B : bytes == 2 ? BPF_H : bytes == 4 ? BPF_W : BPF_DW;
}

} // namespace

GeneratedProgram generate_program(std::mt19937_64 &rng)
{
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    Builder b;
    std::string recipe;
    b.add(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0);
    b.add(BPF_LDX | BPF_W | BPF_MEM, 7, 6, 0, 0);
    b.add(BPF_LDX | BPF_W | BPF_MEM, 8, 6, 4, 0);
    if (pick(0, 9) != 0) {
        b.add(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2);
    } else {
        recipe += "r0-unset ";
    }
    bool have_lookup = false;
    int snippets = pick(2, 8);
    for (int i = 0; i < snippets; i++) {
        int kind = pick(0, 26);
        int width = 1 << pick(0, 3);
        switch (kind) {
        case 0: { // bounds check
            int k = pick(0, 40);
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 4, 7, 0, 0);
            b.add(BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, k);
            b.jump_to_exit(BPF_JMP | (pick(0, 1) ? BPF_JGT : BPF_JGE) | BPF_X, 4, 8, 0);
            recipe += fmt::format("check({}) ", k);
            break;
        }
        case 1: { // packet read
            int k = pick(0, 40);
            b.add(BPF_LDX | size_code(width) | BPF_MEM, 0, 7, static_cast<int16_t>(k), 0);
            recipe += fmt::format("pkt_read({},{}) ", k, width);
            break;
        }
        case 2: { // stack store
            int k = pick(1, 66) * 8 - (pick(0, 3) == 0 ? pick(0, 7) : 0);
            b.add(BPF_ST | size_code(width) | BPF_MEM, 10, 0, static_cast<int16_t>(-k), pick(-5, 5));
            recipe += fmt::format("stack_store(-{},{}) ", k, width);
            break;
        }
        case 3: { // stack load
            int k = pick(1, 66) * 8;
            b.add(BPF_LDX | size_code(width) | BPF_MEM, 0, 10, static_cast<int16_t>(-k), 0);
            recipe += fmt::format("stack_load(-{},{}) ", k, width);
            break;
        }
        case 4: { // lookup
            bool init_key = pick(0, 5) != 0;
            if (init_key) {
                b.add(BPF_ST | BPF_W | BPF_MEM, 10, 0, -4, pick(0, 5));
            }
            b.load_map(1);
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0);
            b.add(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4);
            b.add(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 9, 0, 0, 0);
            b.add(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2);
            have_lookup = true;
            recipe += init_key ? "lookup " : "lookup(uninit key) ";
            break;
        }
        case 5: // null check
            if (have_lookup) {
                b.jump_to_exit(BPF_JMP | BPF_JEQ | BPF_K, 9, 0, 0);
                recipe += "null_check ";
            }
            break;
        case 6: // map value read
            if (have_lookup) {
                int k = pick(0, 12);
                b.add(BPF_LDX | size_code(width) | BPF_MEM, 0, 9, static_cast<int16_t>(k), 0);
                recipe += fmt::format("value_read({},{}) ", k, width);
            }
            break;
        case 7: // pointer into map value
            if (have_lookup) {
                b.add(BPF_STX | BPF_DW | BPF_MEM, 9, pick(0, 1) ? 7 : 10, 0, 0);
                recipe += "ptr_store ";
            }
            break;
        case 8: { // bounded or unbounded loop
            int n = pick(0, 3) == 0 ? 0 : pick(1, 300);
            b.add(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 0);
            b.add(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, n == 0 ? 0 : 1);
            b.add(BPF_JMP | BPF_JLT | BPF_K, 1, 0, -2, n == 0 ? 1 : n);
            recipe += n == 0 ? "loop(forever) " : fmt::format("loop({}) ", n);
            break;
        }
        case 9: // early exit on a context field
            b.add(BPF_LDX | BPF_W | BPF_MEM, 1, 6, 16, 0);
            b.jump_to_exit(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0);
            recipe += "exit_if_queue0 ";
            break;
        case 10: // packet pointer arithmetic then read
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 5, 7, 0, 0);
            b.add(BPF_ALU64 | BPF_ADD | BPF_K, 5, 0, 0, pick(0, 20));
            b.add(BPF_LDX | BPF_B | BPF_MEM, 0, 5, static_cast<int16_t>(pick(0, 20)), 0);
            recipe += "pkt_ptr_read ";
            break;
        case 11: // return a pointer
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 0, pick(0, 1) ? 7 : 10, 0, 0);
            recipe += "r0=ptr ";
            break;
        case 13: { // variable packet offset, checked through a copy, read through the original
            b.add(BPF_LDX | BPF_W | BPF_MEM, 1, 6, 16, 0);
            b.add(BPF_ALU64 | BPF_AND | BPF_K, 1, 0, 0, pick(0, 1) ? 0x3f : 0xffff);
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 5, 7, 0, 0);
            b.add(BPF_ALU64 | BPF_ADD | BPF_X, 5, 1, 0, 0);
            int k = pick(0, 8);
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 4, 5, 0, 0);
            b.add(BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, k);
            b.jump_to_exit(BPF_JMP | BPF_JGT | BPF_X, 4, 8, 0);
            int j = pick(0, 8);
            b.add(BPF_LDX | size_code(width) | BPF_MEM, 0, 5, static_cast<int16_t>(j), 0);
            recipe += fmt::format("var_pkt(check {}, read {}+{}) ", k, j, width);
            break;
        }
        case 14: { // two paths with different packet offsets meet, then one read
            b.add(BPF_LDX | BPF_W | BPF_MEM, 1, 6, 16, 0);
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 5, 7, 0, 0);
            b.add(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1, 0);
            b.add(BPF_ALU64 | BPF_ADD | BPF_K, 5, 0, 0, pick(1, 16));
            b.add(BPF_LDX | size_code(width) | BPF_MEM, 0, 5, static_cast<int16_t>(pick(0, 24)), 0);
            recipe += "join_pkt_read ";
            break;
        }
        case 15: { // ALU on a pointer
            static const uint8_t ops[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_AND, BPF_OR, BPF_LSH};
            uint8_t op = ops[pick(0, 5)];
            bool alu64 = pick(0, 3) != 0;
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 5, pick(0, 1) ? 7 : 10, 0, 0);
            b.add((alu64 ? BPF_ALU64 : BPF_ALU) | op | BPF_K, 5, 0, 0, pick(1, 4));
            b.add(BPF_ALU64 | BPF_MOV | BPF_K, 5, 0, 0, 0);
            recipe += fmt::format("ptr_alu({:#x},{}) ", op, alu64 ? 64 : 32);
            break;
        }
        case 16: { // packet write
            int k = pick(0, 40);
            b.add(BPF_ST | size_code(width) | BPF_MEM, 7, 0, static_cast<int16_t>(k), 1);
            recipe += fmt::format("pkt_write({},{}) ", k, width);
            break;
        }
        case 17: { // context read or write
            int k = pick(0, 7) * 4 - (pick(0, 4) == 0 ? pick(1, 3) : 0);
            if (pick(0, 3) == 0) {
                b.add(BPF_STX | size_code(width) | BPF_MEM, 6, 0, static_cast<int16_t>(k), 0);
                recipe += fmt::format("ctx_write({},{}) ", k, width);
            } else {
                b.add(BPF_LDX | size_code(width) | BPF_MEM, 1, 6, static_cast<int16_t>(k), 0);
                recipe += fmt::format("ctx_read({},{}) ", k, width);
            }
            break;
        }
        case 18: // map value write
            if (have_lookup) {
                int k = pick(0, 10);
                b.add(BPF_ST | size_code(width) | BPF_MEM, 9, 0, static_cast<int16_t>(k), 7);
                recipe += fmt::format("value_write({},{}) ", k, width);
            }
            break;
        case 19: { // read a register that may never have been written
            int r = pick(1, 5);
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 0, static_cast<uint8_t>(r), 0, 0);
            b.add(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2);
            recipe += fmt::format("read_r{} ", r);
            break;
        }
        case 20: { // division by a constant, maybe zero
            int d = pick(0, 3);
            b.add(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 9);
            b.add(BPF_ALU64 | (pick(0, 1) ? BPF_DIV : BPF_MOD) | BPF_K, 1, 0, 0, d);
            recipe += fmt::format("div({}) ", d);
            break;
        }
        case 21: { // ring-buffer reservation (sometimes of a size not known)
            b.load_map(1, pick(0, 7) == 0 ? 0 : 1);
            if (pick(0, 7) == 0) {
                b.add(BPF_LDX | BPF_B | BPF_MEM, 2, 6, 16, 0);
            } else {
                b.add(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, pick(1, 4) * 4);
            }
            b.add(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0);
            b.add(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_reserve);
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 9, 0, 0, 0);
            b.add(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2);
            have_lookup = true;
            recipe += "reserve ";
            break;
        }
        case 22: { // submit or discard whatever r9 holds
            if (have_lookup) {
                b.add(BPF_ALU64 | BPF_MOV | BPF_X, 1, 9, 0, 0);
                if (pick(0, 5) == 0) {
                    b.add(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, 4);
                }
                b.add(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0);
                b.add(BPF_JMP | BPF_CALL, 0, 0, 0, pick(0, 1) ? BPF_FUNC_ringbuf_submit : BPF_FUNC_ringbuf_discard);
                b.add(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2);
                recipe += "release ";
            }
            break;
        }
        case 23: { // ringbuf_output of stack or packet bytes
            b.load_map(1, 1);
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 2, pick(0, 1) ? 10 : 7, 0, 0);
            if (b.insns.back().src_reg == 10) {
                b.add(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -8 * pick(1, 4));
            }
            b.add(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, pick(0, 3) * 8);
            b.add(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0);
            b.add(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_output);
            b.add(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2);
            recipe += "output ";
            break;
        }
        case 24: { // lookup with a key that is not a stack pointer
            b.load_map(1);
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 2, pick(0, 1) ? 7 : 6, 0, 0);
            b.add(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
            b.add(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2);
            recipe += "lookup(odd key) ";
            break;
        }
        case 25: { // spill a pointer, fill it back (whole or in part), use it
            uint8_t ptr = pick(0, 1) ? 7 : 6;
            b.add(BPF_STX | BPF_DW | BPF_MEM, 10, ptr, -16, 0);
            b.add(BPF_LDX | (pick(0, 3) ? BPF_DW : BPF_W) | BPF_MEM, 5, 10, -16, 0);
            b.add(BPF_LDX | BPF_B | BPF_MEM, 0, 5, static_cast<int16_t>(pick(0, 20)), 0);
            recipe += ptr == 7 ? "spill_fill(pkt) " : "spill_fill(ctx) ";
            break;
        }
        case 26: { // call the subprogram with a stack or packet pointer
            bool stack = pick(0, 1);
            b.add(BPF_ALU64 | BPF_MOV | BPF_X, 1, stack ? 10 : 7, 0, 0);
            if (stack) {
                b.add(BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, -8 * pick(1, 3));
            }
            b.calls.push_back(b.insns.size());
            b.add(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 0);
            recipe += stack ? "call(stack) " : "call(pkt) ";
            break;
        }
        default: // scalar noise
            b.add(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, pick(0, 3));
            recipe += "r0=imm ";
            break;
        }
    }
    size_t exit_pc = b.insns.size();
    b.add(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    for (size_t j : b.exit_jumps) {
        b.insns[j].off = static_cast<int16_t>(exit_pc - j - 1);
    }
    if (!b.calls.empty()) { // the subprogram: reads one byte through its argument
        size_t sub_pc = b.insns.size();
        b.add(BPF_LDX | BPF_B | BPF_MEM, 0, 1, static_cast<int16_t>(pick(0, 9)), 0);
        b.add(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
        for (size_t c : b.calls) {
            b.insns[c].imm = static_cast<int32_t>(sub_pc - c - 1);
        }
    }
    return GeneratedProgram{std::move(b.insns), std::move(b.map_refs), recipe};
}

} // namespace harmony::test
