# sign_guest.cmake - signs example actors at build time with development keys.
#
# Included from CMake: corral_sign_guest(<name> NAME <actor name> [CAPS <id>...]
#   [ALIAS <call alias>] [REV <n>]) signs ${CORRAL_GUEST_DIR}/<name>.wasm (made by
#   corral_add_guest) into ${CORRAL_GUEST_DIR}/<name>_s.wasm with `corral claims sign`.
# The keys are made by `corral keys gen` on the first build and live only in
# the build tree (never committed): ${CORRAL_DEV_KEYS}/dev_account.nk (the
# issuer) and ${CORRAL_DEV_KEYS}/<name>.nk (the actor's module key, kept so a
# rebuild or a re-sign with a higher --rev is the same actor). Mode 0600.
#
# Run as a script (cmake -P) by the build to do the signing itself.
if(CMAKE_SCRIPT_MODE_FILE)
  function(ensure_key file type)
    if(EXISTS "${file}")
      return()
    endif()
    execute_process(COMMAND "${CORRAL}" keys gen ${type} --json
                    OUTPUT_VARIABLE out RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "corral keys gen ${type} failed (${rc})")
    endif()
    string(JSON seed GET "${out}" seed)
    get_filename_component(dir "${file}" DIRECTORY)
    file(MAKE_DIRECTORY "${dir}")
    file(WRITE "${file}.tmp" "${seed}\n")
    file(CHMOD "${file}.tmp" PERMISSIONS OWNER_READ OWNER_WRITE)
    file(RENAME "${file}.tmp" "${file}")
  endfunction()
  ensure_key("${KEYS}/dev_account.nk" account)
  ensure_key("${KEYS}/${KEYNAME}.nk" module)
  string(REPLACE "," ";" caps "${CAPS}")
  set(cap_args)
  foreach(c ${caps})
    list(APPEND cap_args --cap ${c})
  endforeach()
  set(alias_args)
  if(ALIAS)
    set(alias_args --call-alias ${ALIAS})
  endif()
  execute_process(COMMAND "${CORRAL}" claims sign "${IN}" --issuer "${KEYS}/dev_account.nk"
                          --subject "${KEYS}/${KEYNAME}.nk" --name "${NAME}" ${cap_args}
                          ${alias_args} --rev ${REV} --ver 0.1.0 -o "${OUT}"
                  RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "corral claims sign ${IN} failed (${rc})")
  endif()
  return()
endif()

include_guard(GLOBAL)
set(CORRAL_DEV_KEYS ${CMAKE_BINARY_DIR}/keys CACHE INTERNAL "development signing keys (build tree only)")
set(CORRAL_SIGN_SCRIPT ${CMAKE_CURRENT_LIST_FILE} CACHE INTERNAL "the signing script")

function(corral_sign_guest name)
  cmake_parse_arguments(S "" "NAME;ALIAS;REV" "CAPS" ${ARGN})
  if(NOT S_REV)
    set(S_REV 1)
  endif()
  string(REPLACE ";" "," caps "${S_CAPS}")
  set(in ${CORRAL_GUEST_DIR}/${name}.wasm)
  set(out ${CORRAL_GUEST_DIR}/${name}_s.wasm)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DCORRAL=$<TARGET_FILE:corral> -DKEYS=${CORRAL_DEV_KEYS}
            -DKEYNAME=${name} -DIN=${in} -DOUT=${out} -DNAME=${S_NAME} -DCAPS=${caps}
            -DALIAS=${S_ALIAS} -DREV=${S_REV} -P ${CORRAL_SIGN_SCRIPT}
    DEPENDS ${in} corral ${CORRAL_SIGN_SCRIPT}
    COMMENT "signing ${name}_s.wasm (development key)" VERBATIM)
  add_custom_target(guest_${name}_signed ALL DEPENDS ${out})
  add_dependencies(guest_${name}_signed guest_${name})
endfunction()
