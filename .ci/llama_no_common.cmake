# Included by CMake right after llama.cpp's project() call (CMAKE_PROJECT_llama.cpp_INCLUDE,
# set in .ci/run). llama-cpp-python forces llama.cpp's "common" utilities on (chat parsers,
# downloads, an HTTP client: 60% of the compile, measured), but its Python bindings load only
# libllama and libggml. Turning them off here, after that force, leaves the wheel's
# libraries the same and the build 45% of the CPU time (user 6m42s against 14m51s; 227 s
# against 753 s of wall time in .ci/run on a quiet 2-core machine).
set(LLAMA_BUILD_COMMON OFF CACHE BOOL "llama: build common utils library" FORCE)
