# wapc.cmake - the waPC host protocol library (included by wapc/CMakeLists.txt
# once wapc.c exists). corral_wapc = module checks, instances, the waPC and
# WASI imports, pools; it depends on the engine (corral_vm) and libsodium
# (WASI random_get).
if(NOT TARGET corral_vm)
  return()  # the engine has no sources yet
endif()
add_library(corral_wapc STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/wapc.c
  ${CMAKE_CURRENT_SOURCE_DIR}/wasi.c
  ${CMAKE_CURRENT_SOURCE_DIR}/pool.c)
target_include_directories(corral_wapc PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(corral_wapc PUBLIC corral_vm corral_base PRIVATE PkgConfig::SODIUM Threads::Threads)
