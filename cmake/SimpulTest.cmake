# simpul_cc_test(NAME name SRCS files... DEPS targets... [LABELS labels...] [COST seconds])
# Builds one GoogleTest binary and registers each test with ctest. Tests that start a real
# redis-server carry the label "redis", end-to-end tests also "e2e".
# gtest_discover_tests flattens its PROPERTIES into one list, so a second label would be read
# as a property name: several labels are joined into one ("redis:e2e"). `ctest -L` takes a
# regular expression, so `-L e2e` and `-L redis` both select such a test.
# COST (optional): ctest starts tests of a higher cost first, so a long test does not start
# last and run alone (a clean CI run has no timings of its own yet).
function(simpul_cc_test)
  cmake_parse_arguments(ARG "" "NAME;COST" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  list(JOIN ARG_LABELS ":" label)
  if(NOT ARG_COST)
    set(ARG_COST 0)
  endif()
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES LABELS "${label}" COST ${ARG_COST}
    DISCOVERY_TIMEOUT 60)
endfunction()
