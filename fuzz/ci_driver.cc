// A plain driver for the fuzz targets, built with the project's own compiler
// so every `./dev test` run exercises them: replays each input file in the
// given directories (seed corpus, regression inputs, ../shared captures), then
// mutates them at random for a bounded time (no coverage guidance: the long,
// guided campaigns are libFuzzer's job, `./dev fuzz`, docs/fuzzing.md).
//
//   inlet-fuzz-<target> [--seconds S] [--seed N] [--max-len N] DIR_OR_FILE...
//
// A target reports a broken invariant by aborting; under the sanitizers a
// memory error aborts too. Before each input runs, its bytes are kept in a
// buffer that a death callback writes to `<target>-crash-<seed>.bin` in the
// working directory, so a failure in CI leaves its reproducer behind.
#include <sanitizer/common_interface_defs.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<uint8_t> g_current;  // the input being run, for the death callback
std::string g_crash_path;

void write_current_input() {
  if (FILE* f = std::fopen(g_crash_path.c_str(), "wb")) {
    std::fwrite(g_current.data(), 1, g_current.size(), f);
    std::fclose(f);
    std::fprintf(stderr, "fuzz driver: the failing input (%zu bytes) is in %s\n", g_current.size(),
                 g_crash_path.c_str());
  }
}

void run(const std::vector<uint8_t>& input) {
  g_current = input;
  LLVMFuzzerTestOneInput(g_current.data(), g_current.size());
}

std::vector<uint8_t> read_file(const std::filesystem::path& p, size_t max_len) {
  std::ifstream in(p, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() > max_len) bytes.resize(max_len);
  return bytes;
}

// One random edit of the kinds libFuzzer's mutator starts from: flip a bit,
// set a byte to an interesting value, insert or erase a run, copy a run from
// another input, truncate.
void mutate(std::vector<uint8_t>& b, const std::vector<std::vector<uint8_t>>& pool, std::mt19937_64& rng,
            size_t max_len) {
  static constexpr uint8_t kInteresting[] = {0x00, 0x01, 0x02, 0x05, 0x0f, 0x10, 0x40, 0x45,
                                             0x7f, 0x80, 0xfe, 0xff};
  auto pick = [&rng](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  switch (rng() % 6) {
    case 0:
      if (!b.empty()) b[pick(b.size())] ^= static_cast<uint8_t>(1u << pick(8));
      break;
    case 1:
      if (!b.empty()) b[pick(b.size())] = kInteresting[pick(sizeof kInteresting)];
      break;
    case 2: {
      const size_t at = pick(b.size() + 1), n = 1 + pick(16);
      if (b.size() + n <= max_len) {
        std::vector<uint8_t> run(n);
        for (auto& x : run) x = static_cast<uint8_t>(rng());
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), run.begin(), run.end());
      }
      break;
    }
    case 3:
      if (!b.empty()) {
        const size_t at = pick(b.size()), n = 1 + pick(std::min<size_t>(16, b.size() - at));
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
      }
      break;
    case 4: {
      const auto& other = pool[pick(pool.size())];
      if (!other.empty() && !b.empty()) {
        const size_t from = pick(other.size()), at = pick(b.size());
        const size_t n = std::min({other.size() - from, b.size() - at, size_t{1} + pick(64)});
        std::memcpy(b.data() + at, other.data() + from, n);
      }
      break;
    }
    default:
      if (!b.empty()) b.resize(pick(b.size()) + 1);
      break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  uint64_t seed = 1;
  size_t max_len = 4096;
  std::vector<std::filesystem::path> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--seconds" || a == "--seed" || a == "--max-len") && i + 1 < argc) {
      const char* v = argv[++i];
      if (a == "--seconds") seconds = std::strtod(v, nullptr);
      if (a == "--seed") seed = std::strtoull(v, nullptr, 0);
      if (a == "--max-len") max_len = std::strtoull(v, nullptr, 0);
    } else if (a.rfind("--", 0) == 0) {
      std::fprintf(stderr, "usage: %s [--seconds S] [--seed N] [--max-len N] DIR_OR_FILE...\n", argv[0]);
      return 2;
    } else {
      paths.emplace_back(a);
    }
  }
  const std::string target = std::filesystem::path(argv[0]).filename().string();
  g_crash_path = target + "-crash-" + std::to_string(seed) + ".bin";
  __sanitizer_set_death_callback(write_current_input);

  // Inputs: every regular file under the given paths (missing ones are
  // skipped with a note: ../shared may be absent), in a fixed order.
  std::vector<std::vector<uint8_t>> inputs;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) {
      inputs.push_back(read_file(p, max_len));
      continue;
    }
    if (!std::filesystem::is_directory(p, ec)) {
      std::printf("fuzz driver: %s is absent, skipped\n", p.c_str());
      continue;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::recursive_directory_iterator(p, ec)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) inputs.push_back(read_file(f, max_len));
  }
  for (const auto& in : inputs) run(in);
  const size_t replayed = inputs.size();
  if (inputs.empty()) inputs.emplace_back();

  std::mt19937_64 rng(seed);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  std::vector<uint8_t> input;
  while (std::chrono::steady_clock::now() < deadline && runs < 50'000'000) {
    input = inputs[rng() % inputs.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) mutate(input, inputs, rng, max_len);
    run(input);
    ++runs;
  }
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: replayed %zu inputs, then %llu mutated runs in %.1f s (seed %llu): no failure\n",
              target.c_str(), replayed, static_cast<unsigned long long>(runs), took,
              static_cast<unsigned long long>(seed));
  return 0;
}
