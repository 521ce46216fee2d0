// What the sandbox's processes say to each other: frames on a Unix stream socket, a 4-byte length
// (host order: both ends are one machine) then the bytes; a file descriptor may ride on a frame
// (SCM_RIGHTS on its length, so it arrives with the frame it belongs to).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tollgate/unique_fd.h"

namespace tollgate::sandbox {

inline constexpr uint32_t kMaxFrameBytes = 64u << 20;

// Sends `payload` as one frame, with `fd` attached unless it is -1. False if the peer is gone.
bool SendFrame(int socket, std::string_view payload, int fd = -1);

// Reads one whole frame into `payload`; a descriptor that came with it goes to `fd` (close-on-exec),
// otherwise `fd` is reset. False at end of stream, on error or on a frame over kMaxFrameBytes.
bool ReceiveFrame(int socket, std::string& payload, UniqueFd& fd);

}  // namespace tollgate::sandbox
