option(MINGUS_WERROR "Treat compiler warnings as errors (CI sets this)" OFF)
option(MINGUS_BUILD_TESTS "Build unit, integration, fuzz-smoke and benchmark tests" ON)
option(MINGUS_FUZZ "Build the libFuzzer targets and the sanitized tests in clang side builds" ON)
# Internal: which side build of cmake/sanitizers.cmake this is ("fuzz": ASan+UBSan and libFuzzer
# coverage; "tsan": ThreadSanitizer); empty in the main build.
set(MINGUS_SIDE_BUILD "" CACHE STRING "Internal: the side build this is (fuzz or tsan)")
set(MINGUS_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")
