// Runs a libFuzzer harness once over every file of the given files and directories, without
// libFuzzer: the unit-test build replays the committed corpus (and past reproducers) this way.
// Exit 1 when nothing was replayed (a missing or empty corpus must fail, not pass silently).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void replay(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                        std::istreambuf_iterator<char>()};
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    if (!std::filesystem::exists(arg)) {
      std::fprintf(stderr, "replay: %s does not exist\n", argv[i]);
      return 1;
    }
    if (!std::filesystem::is_directory(arg)) {
      replay(arg);
      ++n;
      continue;
    }
    for (const auto& e : std::filesystem::recursive_directory_iterator(arg)) {
      if (!e.is_regular_file()) continue;
      replay(e.path());
      ++n;
    }
  }
  std::printf("replayed %zu inputs\n", n);
  return n == 0 ? 1 : 0;
}
