# Installs parley from BUILD_DIR into a scratch prefix, then builds and runs
# examples/embed twice: with find_package(parley) and with pkg-config.
set(prefix ${BUILD_DIR}/embed-test/prefix)
set(work ${BUILD_DIR}/embed-test)
file(REMOVE_RECURSE ${work})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# 1. find_package(parley)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/embed -B ${work}/cmake -G Ninja
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX})
run(${CMAKE_COMMAND} --build ${work}/cmake)
run(${work}/cmake/embed)
message(STATUS "find_package: ${last_output}")

# 2. pkg-config
set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
run(pkg-config --cflags --libs parley)
string(STRIP "${last_output}" flags)
separate_arguments(flags UNIX_COMMAND "${flags}")
run(${CXX} ${SOURCE_DIR}/examples/embed/main.cc -o ${work}/embed-pkgconfig ${flags})
run(${work}/embed-pkgconfig)
message(STATUS "pkg-config: ${last_output}")
