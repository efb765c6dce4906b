# Every target links mingus_flags; compiler flags live here and nowhere else.
add_library(mingus_flags INTERFACE)
add_library(mingus::flags ALIAS mingus_flags)
# Designated initializers that leave fields to their defaults are the point, not a mistake.
target_compile_options(mingus_flags INTERFACE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
if(MINGUS_WERROR)
  target_compile_options(mingus_flags INTERFACE -Werror)
endif()
if(MINGUS_SANITIZE)
  target_compile_options(mingus_flags INTERFACE -fsanitize=${MINGUS_SANITIZE} -fno-omit-frame-pointer
                                                -fno-sanitize-recover=all)
  target_link_options(mingus_flags INTERFACE -fsanitize=${MINGUS_SANITIZE})
endif()
if(MINGUS_SIDE_BUILD STREQUAL "fuzz")
  # Coverage for libFuzzer in everything; the fuzz targets add the fuzzer's main, the other
  # programs run with the sanitizer runtime's empty coverage callbacks.
  target_compile_options(mingus_flags INTERFACE -fsanitize=fuzzer-no-link)
endif()

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()
