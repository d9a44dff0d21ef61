// The project's thin C shim over Gloo (Debian libgloo-dev): Gloo is a C++ library with no C API, and .NET can
// only P/Invoke C. Every entry point catches C++ exceptions and returns a status with a message, so a dead peer or a
// timeout becomes an error in C#, never an abort of the trainer. No collective is written here: Gloo does them.
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/transport/tcp/device.h>

#include "tcp_store.h"

#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

namespace {

thread_local std::string last_error;

struct Group {
  std::unique_ptr<bitdist::TcpStoreServer> server;  // rank 0 of a TCP rendezvous; lives as long as the group
  std::shared_ptr<gloo::transport::Device> device;
  std::shared_ptr<gloo::rendezvous::Context> context;
  std::chrono::milliseconds timeout;
  uint32_t tag = 0;
};

template <typename F>
int guarded(F&& body) {
  try {
    body();
    last_error.clear();
    return 0;
  } catch (const std::exception& e) {
    last_error = e.what();
    return -1;
  } catch (...) {
    last_error = "unknown C++ exception";
    return -1;
  }
}

}  // namespace

extern "C" {

// The message of the last failure on this thread (empty after a success).
const char* bitdist_last_error() { return last_error.c_str(); }

int bitdist_version() { return 1; }

// Joins a group: every rank sets its address under <prefix> in a file store at store_dir (a directory all ranks
// see), then connects to every other rank over TCP (full mesh) from `host`. timeout_ms bounds the rendezvous and every
// later collective.
int bitdist_init(const char* store_dir, const char* prefix, const char* host, int rank, int size, int timeout_ms, void** out) {
  *out = nullptr;
  return guarded([&] {
    if (size < 1 || rank < 0 || rank >= size) throw std::invalid_argument("rank must be in [0, size)");
    gloo::transport::tcp::attr attr;
    attr.hostname = host;
    auto group = std::make_unique<Group>();
    group->timeout = std::chrono::milliseconds(timeout_ms);
    group->device = gloo::transport::tcp::CreateDevice(attr);
    gloo::rendezvous::FileStore files(store_dir);
    gloo::rendezvous::PrefixStore store(prefix, files);
    group->context = std::make_shared<gloo::rendezvous::Context>(rank, size);
    group->context->setTimeout(group->timeout);
    group->context->connectFullMesh(store, group->device);
    *out = group.release();
  });
}

// The same over a TCP store on master_addr:master_port (torchrun's MASTER_ADDR/MASTER_PORT): rank 0 serves it.
int bitdist_init_tcp(const char* master_addr, int master_port, const char* prefix, const char* host, int rank, int size, int timeout_ms, void** out) {
  *out = nullptr;
  return guarded([&] {
    if (size < 1 || rank < 0 || rank >= size) throw std::invalid_argument("rank must be in [0, size)");
    auto group = std::make_unique<Group>();
    group->timeout = std::chrono::milliseconds(timeout_ms);
    if (rank == 0) group->server = std::make_unique<bitdist::TcpStoreServer>(master_port);
    gloo::transport::tcp::attr attr;
    attr.hostname = host;
    group->device = gloo::transport::tcp::CreateDevice(attr);
    bitdist::TcpStore tcp(master_addr, master_port, group->timeout);
    gloo::rendezvous::PrefixStore store(prefix, tcp);
    group->context = std::make_shared<gloo::rendezvous::Context>(rank, size);
    group->context->setTimeout(group->timeout);
    group->context->connectFullMesh(store, group->device);
    *out = group.release();
  });
}

// Sums `count` floats in place across the group (every rank ends with the same sum).
int bitdist_allreduce_sum_f32(void* handle, float* data, int64_t count) {
  return guarded([&] {
    auto* g = static_cast<Group*>(handle);
    gloo::AllreduceOptions opts(g->context);
    opts.setOutput(data, static_cast<size_t>(count));
    opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<float>));
    opts.setTag(g->tag++);
    opts.setTimeout(g->timeout);
    gloo::allreduce(opts);
  });
}

// Copies `bytes` bytes from rank `root` into every other rank's buffer.
int bitdist_broadcast(void* handle, void* data, int64_t bytes, int root) {
  return guarded([&] {
    auto* g = static_cast<Group*>(handle);
    gloo::BroadcastOptions opts(g->context);
    opts.setOutput(static_cast<uint8_t*>(data), static_cast<size_t>(bytes));
    opts.setRoot(root);
    opts.setTag(g->tag++);
    opts.setTimeout(g->timeout);
    gloo::broadcast(opts);
  });
}

int bitdist_barrier(void* handle) {
  return guarded([&] {
    auto* g = static_cast<Group*>(handle);
    gloo::BarrierOptions opts(g->context);
    opts.setTag(g->tag++);
    opts.setTimeout(g->timeout);
    gloo::barrier(opts);
  });
}

void bitdist_destroy(void* handle) {
  try {
    delete static_cast<Group*>(handle);
  } catch (...) {
  }
}

}  // extern "C"
