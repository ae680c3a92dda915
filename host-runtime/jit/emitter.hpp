// Translates a linked program into x86-64 code with asmjit, one BPF instruction at a time.
// Internal to the JIT: compiler.cpp drives it, the emit_*.cpp files hold the translations
// by instruction family.
#pragma once

#include "host-runtime/jit/register_map.hpp"
#include "host-runtime/vm.hpp"

#include <asmjit/x86.h>

#include <functional>
#include <vector>

namespace harmony::jit {

class Emitter {
public:
    Emitter(x86::Assembler &as, const vm::LinkedProgram &program, bool has_bmi2);

    /// Emits the entry code, every instruction, then the cold paths. The program must have
    /// passed check_structure(); asmjit's own errors surface through the CodeHolder's handler.
    void emit_program();

    /// Where instruction `pc`'s code starts (bound once emit_program() has run).
    asmjit::Label insn_label(size_t pc) const { return insn_labels_[pc]; }

private:
    void emit_entry();
    void emit_insn(size_t pc, const isa::Insn &insn);
    /// Emits `body` after the program, out of the hot path, and returns its label.
    asmjit::Label cold(std::function<void()> body);
    void call_native(const void *function);

    // emit_alu.cpp
    void emit_alu(const isa::Insn &insn);
    void emit_simple_alu(const isa::Insn &insn);
    void emit_divmod(const isa::Insn &insn);
    void emit_divide(const isa::Insn &insn);
    void emit_guarded_divide(const isa::Insn &insn);
    void emit_shift(const isa::Insn &insn);
    void emit_mov(const isa::Insn &insn);
    void emit_movsx(const isa::Insn &insn);
    void emit_endian(const isa::Insn &insn);

    // emit_memory.cpp
    void emit_load(const isa::Insn &insn);
    void emit_store(const isa::Insn &insn);
    void emit_store_imm(const isa::Insn &insn);
    void emit_atomic(const isa::Insn &insn);
    void emit_atomic_fetch_loop(const isa::Insn &insn);
    void emit_legacy_load(const isa::Insn &insn);

    // emit_control.cpp
    void emit_jump(size_t pc, const isa::Insn &insn);
    void emit_helper_call(size_t pc);
    void emit_callx(size_t pc, const isa::Insn &insn);
    void emit_local_call(size_t pc, const isa::Insn &insn);

    /// Around calls into C++ that BPF does not see as calls: r1-r5 survive.
    void save_argument_registers();
    void restore_argument_registers();

    struct ColdPath {
        asmjit::Label label;
        std::function<void()> body;
    };

    x86::Assembler &as_;
    const vm::LinkedProgram &program_;
    bool has_bmi2_;
    std::vector<asmjit::Label> insn_labels_; ///< one per slot: jump and call targets
    asmjit::Label leave_run_;                ///< unwinds to the trampoline's caller (tail call, fault)
    std::vector<ColdPath> cold_paths_;
};

} // namespace harmony::jit
