// Build-time feature switches (cmake/features.cmake): each INLET_WITH_<NAME>
// is 1 (built in) or 0 (left out); a build that does not set one gets 1.
#pragma once

#ifndef INLET_WITH_FORWARDING
#define INLET_WITH_FORWARDING 1
#endif
#ifndef INLET_WITH_BRIDGE
#define INLET_WITH_BRIDGE 1
#endif
#ifndef INLET_WITH_VLAN
#define INLET_WITH_VLAN 1
#endif
#ifndef INLET_WITH_FILTER
#define INLET_WITH_FILTER 1
#endif
#ifndef INLET_WITH_TFO
#define INLET_WITH_TFO 1
#endif
#ifndef INLET_WITH_SYNCOOKIES
#define INLET_WITH_SYNCOOKIES 1
#endif
#ifndef INLET_WITH_REASSEMBLY
#define INLET_WITH_REASSEMBLY 1
#endif
#ifndef INLET_WITH_FIB_POPTRIE
#define INLET_WITH_FIB_POPTRIE 1
#endif
#ifndef INLET_WITH_GRO
#define INLET_WITH_GRO 1
#endif
#ifndef INLET_WITH_TEXT
#define INLET_WITH_TEXT 1
#endif
#ifndef INLET_WITH_URING
#define INLET_WITH_URING 1
#endif
