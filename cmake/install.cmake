# Installation and export: headers, the libraries, inlet-config.cmake with the
# inlet::* targets, and inlet.pc. Included from the top-level CMakeLists.txt.
#
# Installed layout (under the prefix):
#   include/inlet/{core,wire,link,ip,udp,tcp,api,filter}/*.h  #include "core/packet.h"
#   include/inlet/ports/{sim,tap,pcap,...}/*.h               #include "ports/sim/sim_port.h"
#   lib/libinlet.a, lib/libinlet.so (INLET_BUILD_SHARED), lib/libinlet_ports.a
#   lib/cmake/inlet/inlet-config.cmake, inlet-config-version.cmake, inlet-targets.cmake
#   lib/pkgconfig/inlet.pc
# Targets for find_package(inlet CONFIG) and for add_subdirectory(inlet) alike:
#   inlet::inlet (static), inlet::inlet_shared, inlet::ports (static; the sim,
#   TAP, pcap, AF_PACKET and fault ports, on top of inlet::inlet).

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

option(INLET_BUILD_SHARED "Also build libinlet.so (same sources, PIC) and install it" ON)

set(INLET_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/inlet)
set(INLET_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/inlet)

# Consumers compile our headers as C++20 whatever their own default is.
target_compile_features(inlet PUBLIC cxx_std_20)
target_compile_features(inlet_ports PUBLIC cxx_std_20)

# The build tree's include dirs are source paths; the installed targets use
# the installed headers instead.
set_property(TARGET inlet PROPERTY INTERFACE_INCLUDE_DIRECTORIES
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/lib> $<INSTALL_INTERFACE:${INLET_INSTALL_INCLUDEDIR}>)
set_property(TARGET inlet_ports PROPERTY INTERFACE_INCLUDE_DIRECTORIES
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}> $<INSTALL_INTERFACE:${INLET_INSTALL_INCLUDEDIR}>)
set_target_properties(inlet_ports PROPERTIES EXPORT_NAME ports)
add_library(inlet::ports ALIAS inlet_ports)

get_target_property(INLET_LINK_LIBRARIES inlet LINK_LIBRARIES)
set(INLET_INSTALL_TARGETS inlet inlet_ports)
if(INLET_BUILD_SHARED)
  # The in-tree `inlet` stays static (tests, examples and benchmarks link it);
  # libinlet.so is a second build of the same sources for dynamic consumers.
  add_library(inlet_shared SHARED ${INLET_LIB_SOURCES})
  add_library(inlet::inlet_shared ALIAS inlet_shared)
  set_target_properties(inlet_shared PROPERTIES
    OUTPUT_NAME inlet
    EXPORT_NAME inlet_shared
    POSITION_INDEPENDENT_CODE ON
    VERSION ${PROJECT_VERSION}
    # 0.x: any minor release may change the ABI.
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  target_compile_definitions(inlet_shared PUBLIC ${INLET_FEATURE_DEFINITIONS})
  target_compile_features(inlet_shared PUBLIC cxx_std_20)
  target_compile_options(inlet_shared PRIVATE ${INLET_WARNINGS})
  target_include_directories(inlet_shared PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/lib> $<INSTALL_INTERFACE:${INLET_INSTALL_INCLUDEDIR}>)
  target_link_libraries(inlet_shared PUBLIC ${INLET_LINK_LIBRARIES})
  list(APPEND INLET_INSTALL_TARGETS inlet_shared)
endif()

install(TARGETS ${INLET_INSTALL_TARGETS} EXPORT inlet-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lib/ DESTINATION ${INLET_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/ports/ DESTINATION ${INLET_INSTALL_INCLUDEDIR}/ports
  FILES_MATCHING PATTERN "*.h")
install(EXPORT inlet-targets NAMESPACE inlet:: DESTINATION ${INLET_INSTALL_CMAKEDIR})

# inlet-config.cmake finds what the targets link: Abseil always, liburing when
# the ports use it.
if(INLET_WITH_URING)
  set(INLET_CONFIG_WITH_URING ON)
else()
  set(INLET_CONFIG_WITH_URING OFF)
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/inlet-config.cmake.in
  ${PROJECT_BINARY_DIR}/inlet-config.cmake INSTALL_DESTINATION ${INLET_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/inlet-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/inlet-config.cmake ${PROJECT_BINARY_DIR}/inlet-config-version.cmake
  DESTINATION ${INLET_INSTALL_CMAKEDIR})

# inlet.pc: one module for the library and its ports. The prefix is found from
# the .pc file's own place (${pcfiledir}), so `cmake --install --prefix X`
# gives a usable file for any X.
if(IS_ABSOLUTE ${CMAKE_INSTALL_LIBDIR})
  set(INLET_PC_PREFIX ${CMAKE_INSTALL_PREFIX})
  set(INLET_PC_LIBDIR ${CMAKE_INSTALL_LIBDIR})
else()
  file(RELATIVE_PATH INLET_PC_UP /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
  string(REGEX REPLACE "/$" "" INLET_PC_UP ${INLET_PC_UP})
  set(INLET_PC_PREFIX "\${pcfiledir}/${INLET_PC_UP}")
  set(INLET_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
# Debian's Abseil ships one .pc per CMake target: absl::str_format → absl_str_format.
set(INLET_PC_REQUIRES "")
foreach(dep IN LISTS INLET_LINK_LIBRARIES)
  if(dep MATCHES "^absl::(.+)$")
    list(APPEND INLET_PC_REQUIRES absl_${CMAKE_MATCH_1})
  endif()
endforeach()
if(INLET_WITH_URING)
  list(APPEND INLET_PC_REQUIRES liburing)
endif()
list(JOIN INLET_PC_REQUIRES ", " INLET_PC_REQUIRES)
list(TRANSFORM INLET_FEATURE_DEFINITIONS PREPEND "-D" OUTPUT_VARIABLE INLET_PC_DEFINITIONS)
list(JOIN INLET_PC_DEFINITIONS " " INLET_PC_DEFINITIONS)
configure_file(${CMAKE_CURRENT_LIST_DIR}/inlet.pc.in ${PROJECT_BINARY_DIR}/inlet.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/inlet.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
