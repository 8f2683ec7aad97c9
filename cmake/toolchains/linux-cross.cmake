# Shared part of the Debian cross toolchain files (s390x.cmake, aarch64.cmake):
# the g++-<triple> cross compiler, the target's libraries from multiarch
# (/usr/lib/<triple>, e.g. libabsl-dev:s390x) and qemu-user to run what we build.
# ./dev test --target <arch> installs all of it.
# The including file sets INLET_CROSS_TRIPLE and CMAKE_SYSTEM_PROCESSOR.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${INLET_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${INLET_CROSS_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${INLET_CROSS_TRIPLE})

# Target libraries live in /usr/lib/<triple> (multiarch) and the cross libc in
# /usr/<triple>; look for packages and libraries there only, never at the host's.
set(CMAKE_FIND_ROOT_PATH /usr/${INLET_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(CMAKE_PREFIX_PATH /usr/lib/${INLET_CROSS_TRIPLE}/cmake)

# pkg-config must read the target's .pc files (liburing), not the host's.
# build-<target>/deps holds packages ./dev had to unpack rather than install
# (liburing-dev:s390x, see ensure_cross_packages in ./dev).
# try_compile re-reads this file from its own scratch dir, so the path is fixed
# on the first read and handed on to it.
if(NOT DEFINED INLET_CROSS_DEPS)
  set(INLET_CROSS_DEPS ${CMAKE_BINARY_DIR}/deps/usr/lib/${INLET_CROSS_TRIPLE})
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES INLET_CROSS_DEPS)
set(ENV{PKG_CONFIG_LIBDIR}
    ${INLET_CROSS_DEPS}/pkgconfig:/usr/lib/${INLET_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# ctest runs target binaries through qemu. The target's loader and libc are
# the multiarch ones (/lib/<triple>, libc6:<arch>, which libabsl-dev:<arch>
# brings), found at the paths the binary names: no `-L /usr/<triple>`, whose
# cross loader would pair with the multiarch libc of another glibc build
# (the tests then die with "stack smashing detected"). -E adds build-<target>/deps.
find_program(INLET_QEMU qemu-${CMAKE_SYSTEM_PROCESSOR} REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${INLET_QEMU} -E LD_LIBRARY_PATH=${INLET_CROSS_DEPS})
