#include "channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tollgate::sandbox {
namespace {

bool ReadAll(int fd, char* bytes, size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, bytes, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool SendAll(int fd, const char* bytes, size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, bytes, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

bool SendFrame(int socket, std::string_view payload, int fd) {
  if (payload.size() > kMaxFrameBytes) return false;
  uint32_t length = static_cast<uint32_t>(payload.size());
  iovec io{&length, sizeof length};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  if (fd >= 0) {
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  }
  ssize_t sent;
  do sent = ::sendmsg(socket, &message, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  // A stream socket sends all four bytes with the descriptor or fails: the length is tiny.
  if (sent != static_cast<ssize_t>(sizeof length)) return false;
  return SendAll(socket, payload.data(), payload.size());
}

bool ReceiveFrame(int socket, std::string& payload, UniqueFd& fd) {
  fd.reset();
  uint32_t length = 0;
  iovec io{&length, sizeof length};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr message{};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(socket, &message, MSG_WAITALL | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n != sizeof length) return false;
  if (const cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
      cmsg != nullptr && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
    int received;
    std::memcpy(&received, CMSG_DATA(cmsg), sizeof received);
    fd = UniqueFd(received);
  }
  if (length > kMaxFrameBytes) return false;
  payload.resize(length);
  return ReadAll(socket, payload.data(), length);
}

}  // namespace tollgate::sandbox
