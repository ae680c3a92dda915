// Test scaffolding: the bytes of a string literal, for APIs that take a byte span.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace harmony::test {

inline std::span<const uint8_t> bytes(std::string_view s)
{
    return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

} // namespace harmony::test
