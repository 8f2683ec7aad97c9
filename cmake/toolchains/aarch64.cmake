# Toolchain file: cross-compile for aarch64 (64-bit Arm: unsigned char, weaker
# memory ordering than x86) with Debian's g++-aarch64-linux-gnu; tests run
# under qemu-aarch64. Used by ./dev test --target aarch64.
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(INLET_CROSS_TRIPLE aarch64-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
