# Build-time feature switches: which parts of lib/ go into the library.
# Sets INLET_LIB_SOURCES and INLET_FEATURE_DEFINITIONS for the top-level CMakeLists.
file(GLOB_RECURSE INLET_LIB_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/../lib/*.cc)
set(INLET_FEATURE_DEFINITIONS "")
