# wapc.cmake - corral_bench_wapc (bench_wapc.c): waPC round trips beside a
# native function, a round trip with a host call, and hot-replace pauses.
# Included by bench/CMakeLists.txt; uses the guests built by examples/ and
# tests/wapc (target corral_guests).
if(TARGET corral_wapc AND TARGET corral_guests)
  add_executable(corral_bench_wapc EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/bench_wapc.c)
  target_compile_definitions(corral_bench_wapc PRIVATE CORRAL_GUEST_DIR="${CMAKE_BINARY_DIR}/guests")
  target_link_libraries(corral_bench_wapc PRIVATE corral_wapc Threads::Threads)
  add_dependencies(corral_bench_wapc corral_guests)
  add_dependencies(bench corral_bench_wapc)
endif()
