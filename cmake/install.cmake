# Installation and export: headers, the libraries, inlet-config.cmake with the
# inlet::inlet target, and inlet.pc. (Filled in by the packaging work.)
