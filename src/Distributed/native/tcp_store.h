// A key-value store on rank 0's MASTER_ADDR:MASTER_PORT for Gloo's rendezvous (Debian's Gloo 2022 has file, hash,
// prefix and Redis stores but no TCP store). Rank 0 serves; every rank, rank 0 included, is a client. Only the
// rendezvous goes through it (each rank's address, read by the others); the collectives are Gloo's.
// Wire format, both directions little-endian: request = op (1 byte: 1 set, 2 get-when-present), key length (4),
// key, and for a set the value length (4) and value; a get's reply = value length (4) and value. A get waits on the
// server until the key is set; the client bounds every wait with a socket timeout.
#pragma once

#include <gloo/rendezvous/store.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bitdist {

class TcpStoreServer {
 public:
  explicit TcpStoreServer(int port);
  ~TcpStoreServer();

 private:
  void acceptLoop();
  void serve(int fd);

  int listenFd_ = -1;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::vector<char>> values_;
  std::vector<int> clients_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

class TcpStore : public gloo::rendezvous::Store {
 public:
  TcpStore(const std::string& host, int port, std::chrono::milliseconds timeout);
  ~TcpStore() override;

  void set(const std::string& key, const std::vector<char>& data) override;
  std::vector<char> get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;

 private:
  int fd_ = -1;
  std::mutex mutex_;
};

}  // namespace bitdist
