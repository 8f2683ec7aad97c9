# Toolchain file: cross-compile for s390x (big-endian, 64-bit) with Debian's
# g++-s390x-linux-gnu; tests run under qemu-s390x. Used by ./dev test --target s390x.
set(CMAKE_SYSTEM_PROCESSOR s390x)
set(INLET_CROSS_TRIPLE s390x-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
