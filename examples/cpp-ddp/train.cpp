// Data-parallel training in C++ with libtorch and c10d's gloo process group, launched by smrun.
//
// smrun's native launcher (hyperparameter sagemaker_torch_distributed_enabled) starts this
// binary once per rank with torchrun's environment contract: RANK, WORLD_SIZE, MASTER_ADDR and
// MASTER_PORT are all a C++ program needs to rendezvous, exactly like Python's
// init_process_group("gloo") with the default env:// method. Rank 0 serves the TCPStore.
//
// Each rank fits y = 3*x1 - 2*x2 + 0.5 on its own shard of synthetic data; after every backward
// pass the gradients are all-reduced and averaged (what DistributedDataParallel does), so the
// replicas stay identical. Rank 0 saves the parameters to $SM_MODEL_DIR/model.pt.
//
// Hyperparameters arrive as argv (`--epochs 20 --lr 0.1`); unknown arguments are ignored, since
// SageMaker may pass hyperparameters meant for someone else. Test hook: `--fail-rank R
// --fail-code C` makes rank R exit with C after its first local step, before the gradient
// all-reduce, while the other ranks wait in that collective.

#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Args {
  int epochs = 20;
  double lr = 0.1;
  int fail_rank = -1;
  int fail_code = 3;
};

// Accepts `--name value` and `--name=value`; anything else is skipped.
Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    std::string value;
    const auto eq = name.find('=');
    if (name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[i + 1];
    }
    const bool known =
        name == "--epochs" || name == "--lr" || name == "--fail-rank" || name == "--fail-code";
    if (!known) continue;
    if (eq == std::string::npos) ++i;  // the value was the next element
    if (name == "--epochs") args.epochs = std::stoi(value);
    if (name == "--lr") args.lr = std::stod(value);
    if (name == "--fail-rank") args.fail_rank = std::stoi(value);
    if (name == "--fail-code") args.fail_code = std::stoi(value);
  }
  return args;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// Python prints a float that holds an integer as "10.0"; keep the example's output identical.
std::string py_float(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.1f", value);
  return buffer;
}

// The process group, rendezvousing the way torch.distributed's env:// method does. Without
// WORLD_SIZE (run by hand, not by a launcher) it is a group of one.
c10::intrusive_ptr<c10d::ProcessGroupGloo> make_process_group(int& rank, int& world) {
  rank = std::stoi(env_or("RANK", "0"));
  world = std::stoi(env_or("WORLD_SIZE", "1"));
  c10::intrusive_ptr<c10d::Store> store;
  if (world == 1) {
    store = c10::make_intrusive<c10d::HashStore>();
  } else {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(std::stoi(env_or("MASTER_PORT", "29500")));
    opts.isServer = rank == 0;
    opts.numWorkers = static_cast<std::size_t>(world);
    opts.multiTenant = true;
    store = c10::make_intrusive<c10d::TCPStore>(env_or("MASTER_ADDR", "127.0.0.1"), opts);
  }
  auto options = c10d::ProcessGroupGloo::Options::create();
  // GLOO_SOCKET_IFNAME picks the interface, as in Python; otherwise gloo binds to the address
  // this machine's hostname resolves to (loopback if it resolves to nothing usable).
  const std::string ifnames = env_or("GLOO_SOCKET_IFNAME", "");
  std::stringstream list(ifnames);
  for (std::string ifname; std::getline(list, ifname, ',');)
    if (!ifname.empty())
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
  if (options->devices.empty())
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  options->threads = static_cast<int>(options->devices.size()) * 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, options);
}

void allreduce_sum(c10d::ProcessGroup& pg, torch::Tensor& tensor) {
  std::vector<torch::Tensor> tensors{tensor};
  pg.allreduce(tensors)->wait();
}

int run(const Args& args) {
  int rank = 0, world = 1;
  auto pg = make_process_group(rank, world);
  const std::string host = env_or("SM_CURRENT_HOST", "?");

  // Sanity check every rank can see: the sum of (rank + 1) over all ranks.
  auto probe = torch::tensor({static_cast<float>(rank + 1)});
  allreduce_sum(*pg, probe);
  std::cout << "rank=" << rank << " world=" << world << " host=" << host
            << " allreduce=" << py_float(probe.item<double>()) << std::endl;

  torch::manual_seed(1234 + rank);
  const auto x = torch::rand({256, 2}) * 2 - 1;
  const auto y = (3 * x.select(1, 0) - 2 * x.select(1, 1) + 0.5).unsqueeze(1);
  torch::nn::Linear model(2, 1);
  // Start every replica from rank 0's parameters, as DDP's constructor does.
  for (auto& p : model->parameters()) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> tensors{p.data()};
    pg->broadcast(tensors)->wait();
  }
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(args.lr));
  torch::Tensor loss;
  for (int epoch = 0; epoch < args.epochs; ++epoch) {
    opt.zero_grad();
    loss = torch::mse_loss(model->forward(x), y);
    loss.backward();
    if (epoch == 0 && rank == args.fail_rank) {
      std::cerr << "rank " << rank << " failing on purpose with exit code " << args.fail_code
                << std::endl;
      std::cout.flush();
      std::_Exit(args.fail_code);  // no clean shutdown: the others are left in the collective
    }
    for (auto& p : model->parameters()) {
      auto grad = p.mutable_grad();
      allreduce_sum(*pg, grad);
      grad.div_(world);
    }
    opt.step();
  }

  // Averaged gradients keep the replicas identical; check it, so a broken all-reduce fails.
  auto params = torch::cat({model->weight.detach().flatten(), model->bias.detach().flatten()});
  auto total = params.clone();
  allreduce_sum(*pg, total);
  if (!torch::allclose(total, params * world)) {
    std::cerr << "rank " << rank << ": replicas diverged" << std::endl;
    return 1;
  }
  pg->barrier()->wait();
  if (rank == 0) {
    const std::string path = env_or("SM_MODEL_DIR", ".") + "/model.pt";
    torch::save(model->parameters(), path);
    const auto w = model->weight.detach().flatten();
    const double last_loss = loss.defined() ? loss.item<double>() : 0.0;  // --epochs 0
    std::printf("final loss=%.5f weights=[%.3f, %.3f] bias=%.3f saved=%s\n", last_loss,
                w[0].item<double>(), w[1].item<double>(), model->bias.item<double>(), path.c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "cpp-ddp: " << e.what() << std::endl;
    return 1;
  }
}
