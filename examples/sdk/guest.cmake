# guest.cmake - corral_add_guest(): builds a wasm32 actor from C with clang-14
# and the C guest SDK (examples/sdk), into ${CMAKE_BINARY_DIR}/guests/<name>.wasm.
#   corral_add_guest(<name> SOURCES <c files...> [DEFINES -DX=1...] [NO_SDK])
# corral_add_wat(<name> <file.wat>) assembles a hand-written module with wat2wasm.
# Both add their output to the `corral_guests` target (built by default).
set(CORRAL_GUEST_DIR ${CMAKE_BINARY_DIR}/guests)
set(CORRAL_GUEST_SDK ${CMAKE_CURRENT_LIST_DIR})
find_program(CORRAL_CLANG_WASM NAMES clang-14 clang)
find_program(CORRAL_WAT2WASM NAMES wat2wasm)
if(NOT TARGET corral_guests)
  add_custom_target(corral_guests ALL)
endif()

function(corral_add_guest name)
  cmake_parse_arguments(G "NO_SDK" "" "SOURCES;DEFINES" ${ARGN})
  set(out ${CORRAL_GUEST_DIR}/${name}.wasm)
  set(srcs ${G_SOURCES})
  if(NOT G_NO_SDK)
    list(APPEND srcs ${CORRAL_GUEST_SDK}/wapc_guest.c ${CORRAL_GUEST_SDK}/wapc_msgpack.c
         ${CORRAL_GUEST_SDK}/wapc_contracts.c)
  endif()
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CORRAL_GUEST_DIR}
    COMMAND ${CORRAL_CLANG_WASM} --target=wasm32 -O2 -nostdlib -mbulk-memory
            -Wall -Wextra -Wno-unused-parameter -Werror ${G_DEFINES} -I${CORRAL_GUEST_SDK}
            -Wl,--no-entry -Wl,--export=__guest_call -o ${out} ${srcs}
    DEPENDS ${srcs} ${CORRAL_GUEST_SDK}/wapc_guest.h ${CORRAL_GUEST_SDK}/wapc_msgpack.h
            ${CORRAL_GUEST_SDK}/wapc_contracts.h
    COMMENT "wasm32 guest ${name}.wasm" VERBATIM)
  add_custom_target(guest_${name} DEPENDS ${out})
  add_dependencies(corral_guests guest_${name})
endfunction()

function(corral_add_wat name file)
  set(out ${CORRAL_GUEST_DIR}/${name}.wasm)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CORRAL_GUEST_DIR}
    COMMAND ${CORRAL_WAT2WASM} --enable-all -o ${out} ${file}
    DEPENDS ${file} COMMENT "wat2wasm ${name}.wasm" VERBATIM)
  add_custom_target(guest_${name} DEPENDS ${out})
  add_dependencies(corral_guests guest_${name})
endfunction()
