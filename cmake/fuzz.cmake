# libFuzzer needs clang, while the main build uses g++ (Debian's clang 14 cannot compile
# libstdc++ 12's <ranges>, which the main build may use). So the fuzz targets come from a side
# build of this same tree with clang, ASan and UBSan, in ${CMAKE_BINARY_DIR}/fuzz; the main
# build's CTest runs each target briefly (tests/CMakeLists.txt), `make fuzz` for longer.
if(NOT MINGUS_FUZZ)
  return()
endif()
find_program(MINGUS_CLANGXX NAMES clang++ clang++-14 REQUIRED)
include(ExternalProject)
set(MINGUS_FUZZ_DIR ${CMAKE_BINARY_DIR}/fuzz)
ExternalProject_Add(mingus_fuzz
  SOURCE_DIR ${PROJECT_SOURCE_DIR}
  BINARY_DIR ${MINGUS_FUZZ_DIR}
  CMAKE_ARGS
    -DCMAKE_CXX_COMPILER=${MINGUS_CLANGXX}
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
    -DMINGUS_FUZZ_ONLY=ON
    -DMINGUS_SANITIZE=address,undefined
    -DMINGUS_WERROR=${MINGUS_WERROR}
  INSTALL_COMMAND ""
  BUILD_ALWAYS ON
  USES_TERMINAL_BUILD ON)
