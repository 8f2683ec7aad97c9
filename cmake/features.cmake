# Build-time feature switches: which parts of lib/ go into the library.
# Sets INLET_LIB_SOURCES and INLET_FEATURE_DEFINITIONS for the top-level CMakeLists.
#
# Every switch is ON by default (the full stack). Turning one OFF removes its
# sources from the library and, through `#if INLET_WITH_<NAME>` at the call
# sites (lib/core/features.h gives each macro its default of 1 for builds that
# do not go through CMake), the code that would call them. The `minimal`
# preset (CMakePresets.json) turns them all off; docs/footprint.md has the
# sizes. An API of a disabled feature is absent, not a stub that fails: a
# program that uses it does not compile.

option(INLET_WITH_FORWARDING "IPv4 forwarding, multicast routes (lib/ip/forward.cc)" ON)
option(INLET_WITH_BRIDGE "802.1D learning bridge (lib/link/bridge.cc)" ON)
option(INLET_WITH_VLAN "802.1Q sub-interfaces and tag demux" ON)
option(INLET_WITH_FILTER "the packet filter language (lib/filter)" ON)
option(INLET_WITH_TFO "TCP Fast Open, server side (lib/tcp/fastopen.cc)" ON)
option(INLET_WITH_SYNCOOKIES "TCP SYN cookies (lib/tcp/syn_cookies.cc)" ON)
option(INLET_WITH_REASSEMBLY "IPv4 fragmentation of output and reassembly (lib/ip/reassembly.cc)" ON)
option(INLET_WITH_FIB_POPTRIE "poptrie FIB; OFF = a small linear route table behind the same Fib" ON)
option(INLET_WITH_GRO "software GRO of TCP segments within a burst (lib/ip/gro.cc; inlet.gro)" ON)
option(INLET_WITH_URING "link the ports library with liburing (io_uring ports)" ON)
option(INLET_WITH_TEXT "names in text output that the data path could reach (drop reasons in trace notes)" ON)

set(INLET_FEATURES FORWARDING BRIDGE VLAN FILTER TFO SYNCOOKIES REASSEMBLY FIB_POPTRIE GRO URING TEXT)

get_filename_component(INLET_SOURCE_ROOT ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
file(GLOB_RECURSE INLET_LIB_SOURCES CONFIGURE_DEPENDS ${INLET_SOURCE_ROOT}/lib/*.cc)

# Sources that belong to one feature only.
set(INLET_SOURCES_FORWARDING "")
set(INLET_SOURCES_BRIDGE lib/link/bridge.cc)
set(INLET_SOURCES_VLAN "")
set(INLET_SOURCES_FILTER lib/filter/filter.cc)
set(INLET_SOURCES_TFO lib/tcp/fastopen.cc)
set(INLET_SOURCES_SYNCOOKIES lib/tcp/syn_cookies.cc)
set(INLET_SOURCES_REASSEMBLY lib/ip/reassembly.cc)
set(INLET_SOURCES_FIB_POPTRIE lib/ip/fib.cc)
set(INLET_SOURCES_GRO lib/ip/gro.cc)
set(INLET_SOURCES_URING "")
set(INLET_SOURCES_TEXT "")
# The linear route table replaces the poptrie when that is off.
set(INLET_SOURCES_NOT_FIB_POPTRIE lib/ip/fib_linear.cc)

set(INLET_FEATURE_DEFINITIONS "")
set(INLET_FEATURES_ON "")
set(INLET_FEATURES_OFF "")
foreach(feature IN LISTS INLET_FEATURES)
  if(INLET_WITH_${feature})
    list(APPEND INLET_FEATURE_DEFINITIONS INLET_WITH_${feature}=1)
    list(APPEND INLET_FEATURES_ON ${feature})
    set(gone ${INLET_SOURCES_NOT_${feature}})
  else()
    list(APPEND INLET_FEATURE_DEFINITIONS INLET_WITH_${feature}=0)
    list(APPEND INLET_FEATURES_OFF ${feature})
    set(gone ${INLET_SOURCES_${feature}})
  endif()
  foreach(src IN LISTS gone)
    list(REMOVE_ITEM INLET_LIB_SOURCES ${INLET_SOURCE_ROOT}/${src})
  endforeach()
endforeach()
message(STATUS "inlet features on: ${INLET_FEATURES_ON}")
if(INLET_FEATURES_OFF)
  message(STATUS "inlet features off: ${INLET_FEATURES_OFF}")
endif()
