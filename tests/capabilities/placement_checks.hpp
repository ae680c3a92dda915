// Checks on a placement's exclusions, shared by the capabilities tests.
#pragma once

#include "capabilities/capabilities.hpp"

#include <string>
#include <vector>

namespace harmony::test {

/// Whether the placement excludes target `t` with a reason containing `text`.
inline bool names(const caps::Placement &p, caps::Target t, const std::string &text)
{
    const caps::Exclusion *e = p.exclusion(t);
    for (const std::string &reason : e ? e->reasons : std::vector<std::string>{}) {
        if (reason.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

} // namespace harmony::test
