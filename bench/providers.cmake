# corral_bench_kv: keyvalue provider throughput (memory, SQLite NORMAL/FULL,
# Redis on a private redis-server) through the provider interface, with msgpack
# encode/decode included. Included from bench/CMakeLists.txt; not a test.
if(TARGET corral_providers)
  add_executable(corral_bench_kv EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/bench_kv.c
                 ${CMAKE_SOURCE_DIR}/tests/providers/redis_fixture.c)
  target_include_directories(corral_bench_kv PRIVATE ${CMAKE_SOURCE_DIR}/tests/providers)
  target_link_libraries(corral_bench_kv PRIVATE corral_providers Threads::Threads)
endif()
