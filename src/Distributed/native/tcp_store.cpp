#include "tcp_store.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace bitdist {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

void sendAll(int fd, const void* data, size_t n) {
  auto* p = static_cast<const char*>(data);
  while (n > 0) {
    auto sent = ::send(fd, p, n, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) fail("tcp store: send");
    p += sent;
    n -= static_cast<size_t>(sent);
  }
}

// False when the peer closed the connection before the first byte.
bool recvAll(int fd, void* data, size_t n) {
  auto* p = static_cast<char*>(data);
  size_t got = 0;
  while (got < n) {
    auto r = ::recv(fd, p + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) throw std::runtime_error("tcp store: timed out waiting for a key");
    if (r < 0) fail("tcp store: recv");
    if (r == 0) {
      if (got == 0) return false;
      throw std::runtime_error("tcp store: connection closed mid-message");
    }
    got += static_cast<size_t>(r);
  }
  return true;
}

void sendString(int fd, const std::string& s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  sendAll(fd, &n, 4);
  sendAll(fd, s.data(), s.size());
}

std::vector<char> recvBlob(int fd) {
  uint32_t n = 0;
  if (!recvAll(fd, &n, 4)) throw std::runtime_error("tcp store: connection closed");
  if (n > (64u << 20)) throw std::runtime_error("tcp store: value too large");
  std::vector<char> v(n);
  if (n > 0 && !recvAll(fd, v.data(), n)) throw std::runtime_error("tcp store: connection closed");
  return v;
}

}  // namespace

TcpStoreServer::TcpStoreServer(int port) {
  listenFd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listenFd_ < 0) fail("tcp store: socket");
  int one = 1;
  ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    auto e = errno;
    ::close(listenFd_);
    errno = e;
    fail("tcp store: cannot listen on port " + std::to_string(port));
  }
  if (::listen(listenFd_, 128) != 0) fail("tcp store: listen");
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TcpStoreServer::~TcpStoreServer() {
  stopping_ = true;
  ::shutdown(listenFd_, SHUT_RDWR);
  ::close(listenFd_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : clients_) ::shutdown(fd, SHUT_RDWR);
  }
  changed_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void TcpStoreServer::acceptLoop() {
  while (!stopping_) {
    int fd = ::accept(listenFd_, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    clients_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void TcpStoreServer::serve(int fd) {
  try {
    for (;;) {
      uint8_t op = 0;
      if (!recvAll(fd, &op, 1)) break;
      auto keyBlob = recvBlob(fd);
      std::string key(keyBlob.begin(), keyBlob.end());
      if (op == 1) {
        auto value = recvBlob(fd);
        {
          std::lock_guard<std::mutex> lock(mutex_);
          values_[key] = std::move(value);
        }
        changed_.notify_all();
        uint8_t ack = 1;
        sendAll(fd, &ack, 1);
      } else if (op == 2) {
        std::vector<char> value;
        {
          std::unique_lock<std::mutex> lock(mutex_);
          changed_.wait(lock, [&] { return stopping_ || values_.count(key) > 0; });
          if (stopping_) break;
          value = values_[key];
        }
        uint32_t n = static_cast<uint32_t>(value.size());
        sendAll(fd, &n, 4);
        if (n > 0) sendAll(fd, value.data(), n);
      } else {
        break;
      }
    }
  } catch (const std::exception&) {
    // A client that went away; the rendezvous fails on its side.
  }
  ::close(fd);
}

TcpStore::TcpStore(const std::string& host, int port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) throw std::runtime_error("tcp store: cannot resolve " + host + ": " + gai_strerror(rc));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // Rank 0 may not be listening yet: retry until the timeout.
  for (;;) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) {
      ::freeaddrinfo(found);
      fail("tcp store: socket");
    }
    if (::connect(fd_, found->ai_addr, found->ai_addrlen) == 0) break;
    auto e = errno;
    ::close(fd_);
    fd_ = -1;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::freeaddrinfo(found);
      errno = e;
      fail("tcp store: cannot connect to " + host + ":" + std::to_string(port) + " within the timeout");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::freeaddrinfo(found);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{};
  tv.tv_sec = static_cast<long>(timeout.count() / 1000);
  tv.tv_usec = static_cast<long>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

TcpStore::~TcpStore() {
  if (fd_ >= 0) ::close(fd_);
}

void TcpStore::set(const std::string& key, const std::vector<char>& data) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint8_t op = 1;
  sendAll(fd_, &op, 1);
  sendString(fd_, key);
  uint32_t n = static_cast<uint32_t>(data.size());
  sendAll(fd_, &n, 4);
  if (n > 0) sendAll(fd_, data.data(), n);
  uint8_t ack = 0;
  if (!recvAll(fd_, &ack, 1)) throw std::runtime_error("tcp store: connection closed");
}

std::vector<char> TcpStore::get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint8_t op = 2;
  sendAll(fd_, &op, 1);
  sendString(fd_, key);
  return recvBlob(fd_);
}

void TcpStore::wait(const std::vector<std::string>& keys) {
  for (const auto& key : keys) get(key);
}

void TcpStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds&) {
  // The socket's receive timeout (the group's) bounds each wait.
  wait(keys);
}

}  // namespace bitdist
