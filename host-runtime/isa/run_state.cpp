// The per-thread run state helpers reach through vm::current_run().
#include "host-runtime/vm.hpp"

namespace harmony::vm {

RunState &current_run()
{
    thread_local RunState state;
    return state;
}

} // namespace harmony::vm
