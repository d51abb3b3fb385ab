# Warnings for parley's own targets (not for third-party headers).
add_library(parley_warnings INTERFACE)
target_compile_options(parley_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                                 -Wimplicit-fallthrough)
if(PARLEY_WERROR)
  target_compile_options(parley_warnings INTERFACE -Werror)
endif()
