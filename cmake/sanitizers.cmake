# libFuzzer and the sanitizers need clang, while the main build uses g++ (Debian's clang 14 cannot
# compile libstdc++ 12's <ranges>, which the main build may use). So they come from side builds of
# this same tree with clang (MINGUS_SIDE_BUILD) with the libraries, the daemons and the unit tests,
# instrumented: ${CMAKE_BINARY_DIR}/fuzz has ASan and UBSan, libFuzzer's coverage, and the fuzz
# targets; ${CMAKE_BINARY_DIR}/tsan has ThreadSanitizer. The main build's CTest runs their unit
# tests, some integration tests on their daemons and each fuzz target briefly
# (tests/CMakeLists.txt); `make fuzz` runs the fuzz targets for longer.
if(NOT MINGUS_FUZZ)
  return()
endif()
find_program(MINGUS_CLANGXX NAMES clang++ clang++-14 REQUIRED)
include(ExternalProject)

function(mingus_side_build name sanitizers)
  ExternalProject_Add(mingus_${name}
    SOURCE_DIR ${PROJECT_SOURCE_DIR}
    BINARY_DIR ${CMAKE_BINARY_DIR}/${name}
    CMAKE_ARGS
      -DCMAKE_CXX_COMPILER=${MINGUS_CLANGXX}
      -DCMAKE_BUILD_TYPE=RelWithDebInfo
      -DMINGUS_SIDE_BUILD=${name}
      -DMINGUS_SANITIZE=${sanitizers}
      -DMINGUS_WERROR=${MINGUS_WERROR}
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON
    USES_TERMINAL_BUILD ON)
endfunction()

mingus_side_build(fuzz address,undefined)
set(MINGUS_FUZZ_DIR ${CMAKE_BINARY_DIR}/fuzz)
# ThreadSanitizer cannot share a process with ASan, so the threads get a side build of their own.
mingus_side_build(tsan thread)
set(MINGUS_TSAN_DIR ${CMAKE_BINARY_DIR}/tsan)
