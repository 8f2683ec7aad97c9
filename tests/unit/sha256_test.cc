// The examples' SHA-256 against FIPS 180-4's published vectors.
#include <doctest/doctest.h>

#include <string>

#include "examples/common/sha256.h"

namespace {
std::string digest(const std::string& s) {
  inlet::examples::Sha256 h;
  h.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  return h.hex_digest();
}
}  // namespace

TEST_CASE("FIPS 180-4 SHA-256 test vectors") {
  CHECK(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Fed in uneven pieces, a million 'a's.
  inlet::examples::Sha256 h;
  std::string chunk(997, 'a');
  size_t left = 1000000;
  while (left > 0) {
    const size_t n = std::min(left, chunk.size());
    h.update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(chunk.data()), n));
    left -= n;
  }
  CHECK(h.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
